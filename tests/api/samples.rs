//! Real pictures made in the tests: photos, transparent PNGs, WebP, a JPEG
//! with EXIF (a GPS position and a camera serial), and a decompression bomb.
//! Shared with the unit tests of `images::process`.
#![allow(dead_code)]

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage, RgbaImage};

/// A photo-like picture: gradients and a little texture.
pub fn photo(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let t = ((x * 7 + y * 13) % 23) as u8;
        Rgb([(x % 256) as u8, (y % 256) as u8, 128u8.wrapping_add(t)])
    })
}

pub fn jpeg(image: &RgbImage, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
    if let Some(exif) = exif {
        encoder.set_exif_metadata(exif).unwrap();
    }
    write(
        encoder,
        image.as_raw(),
        image.dimensions(),
        ExtendedColorType::Rgb8,
    );
    out
}

pub fn png_rgba(image: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = PngEncoder::new(&mut out);
    write(
        encoder,
        image.as_raw(),
        image.dimensions(),
        ExtendedColorType::Rgba8,
    );
    out
}

pub fn webp(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = image::codecs::webp::WebPEncoder::new_lossless(&mut out);
    write(
        encoder,
        image.as_raw(),
        image.dimensions(),
        ExtendedColorType::Rgb8,
    );
    out
}

fn write(encoder: impl ImageEncoder, pixels: &[u8], (w, h): (u32, u32), color: ExtendedColorType) {
    encoder.write_image(pixels, w, h, color).unwrap();
}

/// A big-endian TIFF (the body of an EXIF segment): IFD0 with the
/// orientation, a camera serial in the description, and a pointer to a GPS
/// IFD with a latitude.
pub fn exif_with_gps(orientation: u16) -> Vec<u8> {
    let mut t: Vec<u8> = b"MM\0\x2A\0\0\0\x08".to_vec();
    let serial = b"SERIAL-CAM-0042\0";
    // IFD0 at 8: 3 entries (2 + 3*12 + 4 = 42 bytes) → data from 50.
    let serial_at = 50u32;
    let gps_at = serial_at + serial.len() as u32;
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&kind.to_be_bytes());
        t.extend_from_slice(&count.to_be_bytes());
        t.extend_from_slice(&value.to_be_bytes());
    };
    t.extend_from_slice(&3u16.to_be_bytes());
    entry(&mut t, 0x010E, 2, serial.len() as u32, serial_at);
    entry(&mut t, 0x0112, 3, 1, u32::from(orientation) << 16);
    entry(&mut t, 0x8825, 4, 1, gps_at);
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(serial);
    // GPS IFD: latitude ref "N" and latitude 48/1, 51/1, 2964/100.
    let rationals_at = gps_at + 2 + 2 * 12 + 4;
    t.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut t, 0x0001, 2, 2, u32::from_be_bytes(*b"N\0\0\0"));
    entry(&mut t, 0x0002, 5, 3, rationals_at);
    t.extend_from_slice(&0u32.to_be_bytes());
    for (n, d) in [(48u32, 1u32), (51, 1), (2964, 100)] {
        t.extend_from_slice(&n.to_be_bytes());
        t.extend_from_slice(&d.to_be_bytes());
    }
    t
}

/// A real PNG of 20000×20000 one-bit pixels: about 50 KB of file, 400 MB once
/// decoded to 8 bits a pixel.
pub fn png_bomb() -> Vec<u8> {
    let (w, h) = (20_000u32, 20_000u32);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(Cursor::new(&mut out), w, h);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().unwrap();
    let mut stream = writer.stream_writer().unwrap();
    let row = vec![0u8; (w / 8) as usize];
    for _ in 0..h {
        std::io::Write::write_all(&mut stream, &row).unwrap();
    }
    stream.finish().unwrap();
    writer.finish().unwrap();
    out
}
