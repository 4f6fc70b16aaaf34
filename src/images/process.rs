//! From untrusted bytes to a picture we are willing to store and serve.
//!
//! The order is the defence: the type is told by the content (never by a
//! data-URI prefix, a file name or a `Content-Type`); documents and files
//! built to be read as two things are refused; the header is read and its
//! dimensions checked before a single pixel buffer is allocated; the decoder
//! runs under `image`'s allocation limits; and what is stored is a fresh
//! encoding of the pixels alone, at a bounded size, turned the right way up,
//! so no metadata (EXIF GPS position, camera serials) and no trailing payload
//! survives.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageFormat};

/// What a picture is for: it decides the stored size and who may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A profile photo: public to whoever has its URL.
    Avatar,
    /// A receipt on an expense: only for people who may see the expense.
    Receipt,
}

impl Purpose {
    pub fn code(self) -> &'static str {
        match self {
            Purpose::Avatar => "avatar",
            Purpose::Receipt => "receipt",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "avatar" => Some(Purpose::Avatar),
            "receipt" => Some(Purpose::Receipt),
            _ => None,
        }
    }
}

/// The formats we decode, named in every refusal.
pub const ACCEPTED: &str = "JPEG, PNG or WebP";

/// Why bytes were refused; each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 400: claims to be an accepted format but does not decode.
    #[error("The image could not be decoded ({0}); send a JPEG, PNG or WebP file")]
    Undecodable(String),
    /// 415: not an image we accept (another format, a document, a polyglot).
    #[error("{0}")]
    Unsupported(String),
    /// 413: more pixels (or decoding memory) than allowed.
    #[error("{0}")]
    TooLarge(String),
}

/// What decoding may cost.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Width × height.
    pub max_pixels: u64,
    /// Bytes a decode may hold at once (all of the decoding budget).
    pub max_alloc: u64,
}

/// Longest side any decoder is allowed to even consider (a strict limit in
/// `image`: decoders refuse such headers themselves).
const MAX_SIDE: u32 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
}

impl Format {
    fn image_format(self) -> ImageFormat {
        match self {
            Format::Jpeg => ImageFormat::Jpeg,
            Format::Png => ImageFormat::Png,
            Format::WebP => ImageFormat::WebP,
        }
    }
}

/// What the header says, read without decoding any pixel.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// The decoded pixel buffer's size.
    pub decoded_bytes: u64,
}

impl Probe {
    /// Memory a decode of this image may hold at its peak: the decoded
    /// buffer, plus as much again for a colour conversion or a rotation.
    pub fn peak_bytes(&self) -> u64 {
        self.decoded_bytes.saturating_mul(2)
    }
}

/// A picture as it is stored: freshly encoded pixels and nothing else.
#[derive(Debug, Clone)]
pub struct Picture {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Tells the format from the content and reads the header. Cheap: no pixel is
/// decoded, so it may run before waiting for a decoding slot.
pub fn probe(bytes: &[u8], bounds: &Bounds) -> Result<Probe, Refusal> {
    let format = sniff(bytes)?;
    let decoder = decoder(bytes, format, bounds)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > bounds.max_pixels {
        return Err(Refusal::TooLarge(format!(
            "The image is {width}×{height} pixels; at most {} megapixels are accepted",
            bounds.max_pixels / 1_000_000
        )));
    }
    let probe = Probe {
        format,
        width,
        height,
        decoded_bytes: decoder.total_bytes(),
    };
    if probe.peak_bytes() > bounds.max_alloc {
        return Err(Refusal::TooLarge(format!(
            "The image is {width}×{height} pixels: decoding it needs more memory than allowed"
        )));
    }
    Ok(probe)
}

/// Decodes (under the allocation limit), shrinks to at most `max_side` on the
/// longest side, applies the EXIF orientation to the pixels, and encodes
/// afresh: PNG when some pixel is transparent, JPEG otherwise. CPU-bound:
/// run it on a blocking thread.
pub fn reencode(
    bytes: &[u8],
    probe: &Probe,
    max_side: u32,
    bounds: &Bounds,
) -> Result<Picture, Refusal> {
    let mut decoder = decoder(bytes, probe.format, bounds)?;
    // The tag is dropped with the rest of the metadata, so it is applied to
    // the pixels: a portrait phone photo stays upright.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let full = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    let mut image = if full.width() > max_side || full.height() > max_side {
        full.thumbnail(max_side, max_side)
    } else {
        full
    };
    image.apply_orientation(orientation);
    encode(&image)
}

fn decoder<'a>(
    bytes: &'a [u8],
    format: Format,
    bounds: &Bounds,
) -> Result<impl ImageDecoder + 'a, Refusal> {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(bounds.max_alloc);
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format.image_format());
    reader.limits(limits);
    reader.into_decoder().map_err(|e| match e {
        image::ImageError::Limits(_) => Refusal::TooLarge(format!(
            "The image is larger than this server decodes (at most {MAX_SIDE} pixels a side, \
             {} MiB decoded)",
            bounds.max_alloc >> 20
        )),
        other => undecodable(other),
    })
}

fn undecodable(e: image::ImageError) -> Refusal {
    match e {
        image::ImageError::Limits(_) => {
            Refusal::TooLarge("The image needs more memory to decode than allowed".into())
        }
        other => Refusal::Undecodable(first_line(&other.to_string())),
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(120)
        .collect()
}

fn encode(image: &DynamicImage) -> Result<Picture, Refusal> {
    let (width, height) = (image.width(), image.height());
    let mut bytes = Vec::new();
    let failed = |e: image::ImageError| Refusal::Undecodable(first_line(&e.to_string()));
    let content_type = if is_transparent(image) {
        let rgba = image.to_rgba8();
        PngEncoder::new(&mut bytes)
            .write_image(rgba.as_raw(), width, height, ExtendedColorType::Rgba8)
            .map_err(failed)?;
        "image/png"
    } else {
        let rgb = image.to_rgb8();
        JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
            .write_image(rgb.as_raw(), width, height, ExtendedColorType::Rgb8)
            .map_err(failed)?;
        "image/jpeg"
    };
    Ok(Picture {
        bytes,
        content_type,
        width,
        height,
    })
}

/// Good enough that nobody sees the difference on a phone, a fraction of the size.
const JPEG_QUALITY: u8 = 85;

/// Some pixel is not fully opaque (an alpha channel alone is not enough:
/// screenshots carry one that is opaque everywhere).
fn is_transparent(image: &DynamicImage) -> bool {
    match image {
        DynamicImage::ImageRgba8(buf) => buf.pixels().any(|p| p.0[3] != u8::MAX),
        other if other.color().has_alpha() => other.to_rgba8().pixels().any(|p| p.0[3] != u8::MAX),
        _ => false,
    }
}

/// The format, told by the content alone. Documents and markup are refused
/// by name, other image formats as such; an accepted image that also carries
/// markup or a PDF, or bytes after a PNG's or WebP's end, is a polyglot.
fn sniff(bytes: &[u8]) -> Result<Format, Refusal> {
    if let Some(kind) = document_kind(bytes) {
        return Err(Refusal::Unsupported(format!(
            "{kind} is not accepted: send a {ACCEPTED} image"
        )));
    }
    let format = match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Format::Jpeg,
        Ok(ImageFormat::Png) => Format::Png,
        Ok(ImageFormat::WebP) => Format::WebP,
        Ok(other) => {
            let name = other.extensions_str().first().copied().unwrap_or("this");
            return Err(Refusal::Unsupported(format!(
                "{} images are not accepted: send {ACCEPTED}",
                name.to_uppercase()
            )));
        }
        Err(_) => {
            return Err(Refusal::Unsupported(match heif_brand(bytes) {
                Some(brand) => format!(
                    "{brand} photos are not accepted (no well-kept Rust decoder): send {ACCEPTED} \
                     (phones convert when sharing as \"Most Compatible\")"
                ),
                None => format!("The content is not an image: send {ACCEPTED}"),
            }))
        }
    };
    if has_embedded_document(bytes) || has_trailing_payload(bytes, format) {
        return Err(Refusal::Unsupported(format!(
            "The file is both an image and something else (a polyglot): send a plain {ACCEPTED} \
             image"
        )));
    }
    Ok(format)
}

/// A document whose first bytes say what it is.
fn document_kind(bytes: &[u8]) -> Option<&'static str> {
    let start = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    let start = &start[start
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(start.len())..];
    if start.starts_with(b"%PDF") {
        Some("A PDF document")
    } else if start.starts_with(b"<") {
        let head = &start[..start.len().min(1024)];
        if contains_ignore_case(head, b"<svg") {
            Some("An SVG image")
        } else {
            Some("An HTML or XML document")
        }
    } else {
        None
    }
}

/// Markup a browser would run, or a PDF header, anywhere in the file. The
/// patterns are long enough that compressed pixel data matches them by chance
/// about once in 10^4 files of the largest size accepted, and far more rarely
/// for a phone photo.
fn has_embedded_document(bytes: &[u8]) -> bool {
    const AFTER_LT: [&[u8]; 5] = [b"script", b"html", b"!doctype", b"?php", b"iframe"];
    if memchr::memmem::find(bytes, b"%PDF-").is_some() {
        return true;
    }
    memchr::memchr_iter(b'<', bytes).any(|at| {
        let rest = &bytes[at + 1..];
        AFTER_LT.iter().any(|p| {
            rest.get(..p.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(p))
        }) || rest.get(..4).is_some_and(|head| {
            head[..3].eq_ignore_ascii_case(b"svg") && matches!(head[3], b' ' | b'>' | b'\n')
        })
    })
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Bytes after the end of a PNG (its `IEND` chunk) or of a WebP (its RIFF
/// size): the classic way to glue a second file to an image. JPEGs are let
/// through: phones append further JPEGs (MPF depth maps) after the end
/// marker, and the re-encoding drops whatever follows.
fn has_trailing_payload(bytes: &[u8], format: Format) -> bool {
    match format {
        Format::Png => png_end(bytes).is_some_and(|end| end < bytes.len()),
        Format::WebP => bytes
            .get(4..8)
            .and_then(|s| s.try_into().ok())
            .map(u32::from_le_bytes)
            .is_some_and(|size| {
                let end = 8 + size as usize + (size as usize & 1);
                end < bytes.len()
            }),
        Format::Jpeg => false,
    }
}

/// Where a PNG's `IEND` chunk ends, walking the chunk lengths.
fn png_end(bytes: &[u8]) -> Option<usize> {
    let mut at = 8;
    loop {
        let len = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
        let kind = bytes.get(at + 4..at + 8)?;
        let next = at.checked_add(12)?.checked_add(len)?;
        if kind == b"IEND" {
            return Some(next);
        }
        at = next;
    }
}

/// HEIF-family brands in an ISO-BMFF `ftyp` box.
fn heif_brand(bytes: &[u8]) -> Option<&'static str> {
    if bytes.get(4..8)? != b"ftyp" {
        return None;
    }
    match bytes.get(8..12)? {
        b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => {
            Some("HEIC")
        }
        b"avif" | b"avis" => Some("AVIF"),
        _ => None,
    }
}

#[cfg(test)]
#[path = "process_tests.rs"]
mod tests;
