//! Getting an upload's bytes out of a request, bounded: a `data:` URI (what
//! the app sends), the raw body, or a `multipart/form-data` file field.

use actix_multipart::Multipart;
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest};
use base64::Engine;
use futures_util::{Stream, StreamExt};

use crate::error::ApiError;

/// True for a `data:` URI, whatever its case.
pub fn is_data_uri(s: &str) -> bool {
    s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("data:"))
}

/// The bytes of a base64 `data:` URI, at most `max` of them. The media type
/// it names is ignored: the content says what it is.
pub fn data_uri_bytes(uri: &str, field: &str, max: usize) -> Result<Vec<u8>, ApiError> {
    let malformed = || {
        ApiError::bad_request(format!(
            "{field} must be a base64 data URI (data:image/jpeg;base64,...)"
        ))
    };
    let (head, data) = uri.split_once(',').ok_or_else(malformed)?;
    if !head
        .get(head.len().saturating_sub(7)..)
        .is_some_and(|t| t.eq_ignore_ascii_case(";base64"))
    {
        return Err(malformed());
    }
    // Four characters per three bytes: refuse before decoding anything.
    if data.len() / 4 * 3 > max + 3 {
        return Err(too_large(max));
    }
    let data = data.trim_end();
    let decoded = if data.bytes().any(|b| b.is_ascii_whitespace()) {
        let compact: Vec<u8> = data.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        base64::engine::general_purpose::STANDARD.decode(compact)
    } else {
        base64::engine::general_purpose::STANDARD.decode(data)
    }
    .map_err(|_| malformed())?;
    if decoded.len() > max {
        return Err(too_large(max));
    }
    Ok(decoded)
}

pub fn too_large(max: usize) -> ApiError {
    ApiError::too_large(format!(
        "The image is larger than {} MiB",
        (max as f64 / f64::from(1 << 20) * 10.0).round() / 10.0
    ))
}

/// The names under which a multipart upload's file is looked for (the first
/// part with a file name is taken otherwise).
const FILE_FIELDS: [&str; 4] = ["image", "file", "photo", "receipt"];
/// Parts read at most, the file's included.
const MAX_PARTS: usize = 8;
/// Each part other than the file (a caption, a name): at most this much.
const MAX_FIELD_BYTES: usize = 8 * 1024;
/// What a multipart body may carry besides the file: the other parts, part
/// headers and boundaries.
const MULTIPART_ROOM: usize = 64 * 1024;

/// The largest body a `PUT` of a picture of at most `max` bytes may have, by
/// its form: multipart (the file and a few small fields) or a raw body or
/// JSON (a data URI's base64 is a third larger than what it carries).
pub fn upload_body_limit(req: &HttpRequest, max: usize) -> usize {
    if is_multipart(req) {
        max + MULTIPART_ROOM
    } else {
        max / 3 * 4 + 4096
    }
}

fn content_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn is_multipart(req: &HttpRequest) -> bool {
    content_type(req).starts_with("multipart/form-data")
}

/// An upload from a `PUT`: a multipart file, a JSON `{"image": "data:..."}`,
/// a data URI as the body, or the raw image bytes. Reading stops with a 413
/// as soon as more than `max` bytes have arrived.
pub async fn upload_bytes(
    req: &HttpRequest,
    payload: web::Payload,
    max: usize,
) -> Result<Vec<u8>, ApiError> {
    if is_multipart(req) {
        return multipart_file(req.headers(), payload, max).await;
    }
    let content_type = content_type(req);
    let body = read_limited(req.headers(), payload, upload_body_limit(req, max)).await?;
    if content_type.starts_with("application/json") {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(alias = "receipt", alias = "profileImage")]
            image: Option<String>,
        }
        let parsed: Body = serde_json::from_slice(&body)
            .map_err(|_| ApiError::bad_request("Request body must be valid JSON"))?;
        let uri = parsed
            .image
            .ok_or_else(|| ApiError::bad_request("image is required (a base64 data URI)"))?;
        return data_uri_bytes(&uri, "image", max);
    }
    if body
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"data:"))
    {
        let uri = std::str::from_utf8(&body)
            .map_err(|_| ApiError::bad_request("A data URI must be ASCII text"))?;
        return data_uri_bytes(uri, "body", max);
    }
    if body.len() > max {
        return Err(too_large(max));
    }
    if body.is_empty() {
        return Err(ApiError::bad_request("The request has no image"));
    }
    Ok(body)
}

/// The whole body, refusing with 413 a declared or actual length over `max`.
async fn read_limited(
    headers: &HeaderMap,
    mut payload: web::Payload,
    max: usize,
) -> Result<Vec<u8>, ApiError> {
    let declared = declared_length(headers);
    if declared.is_some_and(|n| n > max) {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("The upload was interrupted"))?;
        if body.len() + chunk.len() > max {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The body's declared length: its `Content-Length`, when it is sent as is
/// (a compressed body's length says nothing of what it holds).
pub fn declared_length(headers: &HeaderMap) -> Option<usize> {
    let encoded = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("identity"));
    if encoded {
        return None;
    }
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Appends the body to `into` until it ends (true) or `into` holds more than
/// `max` bytes (false; the rest is not read).
pub async fn read_up_to<S>(
    payload: &mut S,
    max: usize,
    into: &mut Vec<u8>,
) -> Result<bool, ApiError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            PayloadError::Overflow => ApiError::PayloadTooLarge,
            _ => ApiError::bad_request("The upload was interrupted"),
        })?;
        into.extend_from_slice(&chunk);
        if into.len() > max {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn multipart_file(
    headers: &HeaderMap,
    payload: web::Payload,
    max: usize,
) -> Result<Vec<u8>, ApiError> {
    if declared_length(headers).is_some_and(|n| n > max + MULTIPART_ROOM) {
        return Err(ApiError::PayloadTooLarge);
    }
    let bad = |what: &str| ApiError::bad_request(format!("Invalid multipart upload: {what}"));
    let mut parts = Multipart::new(headers, payload);
    for _ in 0..MAX_PARTS {
        let Some(part) = parts.next().await else {
            return Err(ApiError::bad_request(
                "No file in the multipart upload (send it as the field \"image\")",
            ));
        };
        let mut part = part.map_err(|e| bad(&e.to_string()))?;
        let wanted = part.content_disposition().is_some_and(|cd| {
            cd.get_filename().is_some() || cd.get_name().is_some_and(|n| FILE_FIELDS.contains(&n))
        });
        // The file up to the largest upload; any other part is small.
        let (limit, refusal): (usize, fn(usize) -> ApiError) = if wanted {
            (max, too_large)
        } else {
            (MAX_FIELD_BYTES, field_too_large)
        };
        let (mut bytes, mut size) = (Vec::new(), 0);
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(|e| bad(&e.to_string()))?;
            size += chunk.len();
            if size > limit {
                return Err(refusal(limit));
            }
            if wanted {
                bytes.extend_from_slice(&chunk);
            }
        }
        if wanted {
            if bytes.is_empty() {
                return Err(ApiError::bad_request("The uploaded file is empty"));
            }
            return Ok(bytes);
        }
    }
    Err(ApiError::bad_request(format!(
        "Too many parts before the file in the multipart upload (at most {MAX_PARTS} parts)"
    )))
}

fn field_too_large(limit: usize) -> ApiError {
    ApiError::too_large(format!(
        "A multipart field other than the image is larger than {} KiB",
        limit / 1024
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_uris_decode_whatever_their_case_and_whitespace() {
        let bytes = data_uri_bytes("data:image/jpeg;base64,AAEC/w==", "f", 100).unwrap();
        assert_eq!(bytes, [0, 1, 2, 255]);
        let wrapped = data_uri_bytes("DATA:image/png;BASE64,AAEC\r\n/w==\n", "f", 100).unwrap();
        assert_eq!(wrapped, [0, 1, 2, 255]);
        assert!(is_data_uri("Data:x"));
        assert!(!is_data_uri("https://x"));
    }

    #[test]
    fn malformed_or_oversized_data_uris_are_refused() {
        for bad in [
            "data:image/jpeg,notbase64",
            "data:image/jpeg;base64",
            "data:image/jpeg;base64,!!!!",
        ] {
            let e = data_uri_bytes(bad, "profileImage", 100).unwrap_err();
            assert!(e.to_string().contains("profileImage"), "{bad}: {e}");
        }
        let big = format!("data:image/jpeg;base64,{}", "A".repeat(200));
        assert!(matches!(
            data_uri_bytes(&big, "f", 100),
            Err(ApiError::TooLarge { .. })
        ));
        // Exactly at the limit passes.
        let exact = format!("data:;base64,{}", "AAAA".repeat(25));
        assert_eq!(data_uri_bytes(&exact, "f", 75).unwrap().len(), 75);
    }
}
