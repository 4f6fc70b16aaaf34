use std::time::Instant;

use image::{ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

use super::*;

const BOUNDS: Bounds = Bounds {
    max_pixels: 40_000_000,
    max_alloc: 128 << 20,
};

/// A photo-like picture: gradients and a little texture.
fn photo(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let t = ((x * 7 + y * 13) % 23) as u8;
        Rgb([(x % 256) as u8, (y % 256) as u8, 128u8.wrapping_add(t)])
    })
}

fn jpeg(image: &RgbImage, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
    if let Some(exif) = exif {
        encoder.set_exif_metadata(exif).unwrap();
    }
    encoder
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn png_rgba(image: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgba8,
        )
        .unwrap();
    out
}

fn webp(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn run(bytes: &[u8], max_side: u32) -> Result<Picture, Refusal> {
    let probe = probe(bytes, &BOUNDS)?;
    reencode(bytes, &probe, max_side, &BOUNDS)
}

fn decoded(picture: &Picture) -> DynamicImage {
    image::load_from_memory(&picture.bytes).unwrap()
}

#[test]
fn each_accepted_format_is_reencoded_within_the_size() {
    let opaque = photo(1200, 600);
    for (name, bytes) in [("jpeg", jpeg(&opaque, None)), ("webp", webp(&opaque))] {
        let p = run(&bytes, 512).unwrap();
        assert_eq!((p.width, p.height), (512, 256), "{name}");
        assert_eq!(p.content_type, "image/jpeg", "{name}");
        assert_eq!(image::guess_format(&p.bytes).unwrap(), ImageFormat::Jpeg);
        assert_eq!(decoded(&p).width(), 512);
    }
    // Small pictures keep their size.
    let p = run(&jpeg(&photo(300, 200), None), 512).unwrap();
    assert_eq!((p.width, p.height), (300, 200));
}

#[test]
fn transparency_is_kept_as_png_and_an_opaque_alpha_channel_is_not() {
    let clear = RgbaImage::from_fn(64, 64, |x, _| {
        Rgba([200, 10, 10, if x < 32 { 0 } else { 255 }])
    });
    let p = run(&png_rgba(&clear), 512).unwrap();
    assert_eq!(p.content_type, "image/png");
    assert!(decoded(&p).color().has_alpha());

    let screenshot = RgbaImage::from_pixel(64, 64, Rgba([1, 2, 3, 255]));
    assert_eq!(
        run(&png_rgba(&screenshot), 512).unwrap().content_type,
        "image/jpeg"
    );
}

/// A big-endian TIFF (the body of an EXIF segment): IFD0 with the
/// orientation, a camera serial in the description, and a pointer to a GPS
/// IFD with a latitude.
pub(crate) fn exif_with_gps(orientation: u16) -> Vec<u8> {
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

#[test]
fn metadata_is_stripped_and_the_orientation_applied_to_the_pixels() {
    let source = jpeg(&photo(400, 200), Some(exif_with_gps(6)));
    assert!(memchr::memmem::find(&source, b"SERIAL-CAM-0042").is_some());
    assert!(memchr::memmem::find(&source, b"Exif").is_some());
    let p = run(&source, 512).unwrap();
    // Orientation 6 is "rotate 90° clockwise to display": the stored
    // picture is upright, so portrait.
    assert_eq!((p.width, p.height), (200, 400));
    assert!(memchr::memmem::find(&p.bytes, b"SERIAL-CAM-0042").is_none());
    assert!(memchr::memmem::find(&p.bytes, b"Exif").is_none());
    let mut d = image::codecs::jpeg::JpegDecoder::new(Cursor::new(&p.bytes)).unwrap();
    assert_eq!(d.exif_metadata().unwrap(), None);
}

/// A real PNG of 20000×20000 one-bit pixels: about 50 KB of file, 400 MB once
/// decoded to 8 bits a pixel.
pub(crate) fn png_bomb() -> Vec<u8> {
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

#[test]
fn a_decompression_bomb_is_refused_from_its_header() {
    let bomb = png_bomb();
    assert!(bomb.len() < 200_000, "{} bytes", bomb.len());
    let started = Instant::now();
    let refused = probe(&bomb, &BOUNDS).unwrap_err();
    assert!(matches!(refused, Refusal::TooLarge(_)), "{refused:?}");
    assert!(refused.to_string().contains("20000×20000"), "{refused}");
    assert!(
        started.elapsed().as_millis() < 200,
        "{:?}",
        started.elapsed()
    );
    // Within the pixel limit, the allocation limit still holds.
    let tight = Bounds {
        max_pixels: u64::MAX,
        max_alloc: 64 << 20,
    };
    assert!(matches!(probe(&bomb, &tight), Err(Refusal::TooLarge(_))));
}

#[test]
fn documents_other_formats_and_polyglots_are_refused_by_content() {
    let refused = |bytes: &[u8]| match probe(bytes, &BOUNDS) {
        Err(Refusal::Unsupported(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(refused(b"  <svg xmlns='http://www.w3.org/2000/svg'></svg>").contains("SVG"));
    assert!(refused(b"<!DOCTYPE html><html><body>hi</body></html>").contains("HTML"));
    assert!(refused(b"%PDF-1.7\n1 0 obj\n").contains("PDF"));
    assert!(refused(b"GIF89a\x01\0\x01\0\0\0\0").contains("GIF"));
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
    assert!(refused(heic).contains("HEIC"));
    assert!(refused(b"just some text").contains("not an image"));

    let picture = jpeg(&photo(64, 64), None);
    let mut with_script = picture.clone();
    with_script.extend_from_slice(b"<script>alert(1)</script>");
    assert!(refused(&with_script).contains("polyglot"));
    let mut png_and_zip = png_rgba(&RgbaImage::from_pixel(8, 8, Rgba([0, 0, 0, 255])));
    png_and_zip.extend_from_slice(b"PK\x03\x04 a zip file follows");
    assert!(refused(&png_and_zip).contains("polyglot"));
    // A JPEG followed by more JPEG (what phones append) is fine.
    let mut mpf = picture.clone();
    mpf.extend_from_slice(&picture);
    assert!(run(&mpf, 512).is_ok());
}

#[test]
fn content_that_claims_a_format_but_does_not_decode_is_undecodable() {
    let png = png_rgba(&RgbaImage::from_pixel(300, 300, Rgba([9, 9, 9, 128])));
    let refused = run(&png[..png.len() / 2], 512).unwrap_err();
    assert!(matches!(refused, Refusal::Undecodable(_)), "{refused:?}");
    let mut garbage = b"\xFF\xD8\xFF\xE0".to_vec();
    garbage.extend((0..2000u32).map(|i| (i * 31 % 251) as u8));
    let refused = run(&garbage, 512).unwrap_err();
    assert!(matches!(refused, Refusal::Undecodable(_)), "{refused:?}");
    // zune-jpeg fills a JPEG cut short with grey rather than failing: such an
    // upload is stored as what arrived.
    let jpeg = jpeg(&photo(300, 300), None);
    assert!(run(&jpeg[..jpeg.len() / 2], 512).is_ok());
}
