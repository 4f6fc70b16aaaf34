use std::time::Instant;

use image::{Rgba, RgbaImage};

use super::*;

/// The sample pictures the HTTP tests use too.
#[path = "../../tests/api/samples.rs"]
mod samples;
use samples::{exif_with_gps, jpeg, photo, png_bomb, png_rgba, webp};

const BOUNDS: Bounds = Bounds {
    max_pixels: 40_000_000,
    max_alloc: 128 << 20,
};

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
