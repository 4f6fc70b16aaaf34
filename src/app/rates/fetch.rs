//! One HTTP/1.1 GET, over TLS for `https`: all the rate source needs, once
//! a day. Built on what the database driver already brings (tokio, rustls
//! with the webpki roots) rather than a client library, whose stack alone
//! would have grown the binary, and the container image, by about a
//! megabyte. Follows up to 3 redirects; reads at most `max` bytes of body
//! (plain or chunked); the whole exchange is bounded by `timeout`.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Room for the status line and headers on top of the body's limit.
const HEAD_ROOM: usize = 64 * 1024;
const REDIRECTS: usize = 3;

/// An `http` or `https` URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// With its query, from the first `/`.
    pub path: String,
}

pub fn parse_url(raw: &str) -> Result<Url, String> {
    let bad = || format!("not an http(s) URL: {raw}");
    let (tls, rest) = if let Some(r) = raw.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = raw.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
            (h, p.parse::<u16>().map_err(|_| bad())?)
        }
        _ => (authority, if tls { 443 } else { 80 }),
    };
    Ok(Url {
        tls,
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
        port,
        path: path.to_owned(),
    })
}

/// The body of `GET url` answered 2xx, at most `max` bytes.
pub async fn get(url: &str, max: usize, timeout: Duration) -> Result<Vec<u8>, String> {
    tokio::time::timeout(timeout, async {
        let mut current = parse_url(url)?;
        for _ in 0..=REDIRECTS {
            match once(&current, max).await? {
                Answer::Body(body) => return Ok(body),
                Answer::Redirect(location) => {
                    current = if location.starts_with('/') {
                        Url {
                            path: location,
                            ..current
                        }
                    } else {
                        parse_url(&location)?
                    };
                }
            }
        }
        Err(format!("{url}: more than {REDIRECTS} redirects"))
    })
    .await
    .map_err(|_| format!("{url}: no answer within {} ms", timeout.as_millis()))?
}

enum Answer {
    Body(Vec<u8>),
    Redirect(String),
}

async fn once(url: &Url, max: usize) -> Result<Answer, String> {
    let tcp = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|e| format!("{}: {e}", url.host))?;
    if !url.tls {
        return exchange(tcp, url, max).await;
    }
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(url.host.clone())
        .map_err(|e| format!("{}: {e}", url.host))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("{}: {e}", url.host))?;
    exchange(tls, url, max).await
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    url: &Url,
    max: usize,
) -> Result<Answer, String> {
    let default_port = if url.tls { 443 } else { 80 };
    let host = if url.port == default_port {
        url.host.clone()
    } else {
        format!("{}:{}", url.host, url.port)
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\nAccept-Encoding: identity\r\nUser-Agent: splitlyr\r\nConnection: close\r\n\r\n",
        url.path
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let limit = max.saturating_add(HEAD_ROOM);
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        if raw.len() + n > limit {
            return Err(format!("{}: answered more than {max} bytes", url.host));
        }
        raw.extend_from_slice(&chunk[..n]);
    }
    parse_answer(&raw, max)
}

/// Status, headers and body of a whole answer read until the connection
/// closed.
fn parse_answer(raw: &[u8], max: usize) -> Result<Answer, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("an answer without the end of its headers")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "headers that are not text")?;
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("an answer without a status")?;
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    if matches!(status, 301 | 302 | 303 | 307 | 308) {
        return header("location")
            .map(Answer::Redirect)
            .ok_or_else(|| "a redirect without a location".into());
    }
    if !(200..300).contains(&status) {
        return Err(format!("answered {status}"));
    }
    let chunked = header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(body)?
    } else if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.get(..n)
            .ok_or("an answer shorter than its length")?
            .to_vec()
    } else {
        body.to_vec()
    };
    if body.len() > max {
        return Err(format!("answered more than {max} bytes"));
    }
    Ok(Answer::Body(body))
}

/// A chunked body, joined.
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk without its size line")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).map_err(|_| "a bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "a bad chunk size")?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let data = rest.get(..size).ok_or("a chunk cut short")?;
        out.extend_from_slice(data);
        rest = rest.get(size + 2..).ok_or("a chunk cut short")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_host_port_and_path() {
        assert_eq!(
            parse_url("https://rates.example.com/latest?x=1").unwrap(),
            Url {
                tls: true,
                host: "rates.example.com".into(),
                port: 443,
                path: "/latest?x=1".into()
            }
        );
        let local = parse_url("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            (local.tls, local.port, local.path.as_str()),
            (false, 8080, "/")
        );
        assert!(parse_url("ftp://x/").is_err());
        assert!(parse_url("http://user@host/").is_err());
        assert!(parse_url("http://host:99999/").is_err());
    }

    #[test]
    fn answers_plain_chunked_redirected_refused_and_too_long() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert!(matches!(parse_answer(plain, 10), Ok(Answer::Body(b)) if b == b"hello"));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n";
        assert!(matches!(parse_answer(chunked, 10), Ok(Answer::Body(b)) if b == b"hello"));
        let moved = b"HTTP/1.1 301 Moved\r\nLocation: /v1/latest\r\n\r\n";
        assert!(matches!(parse_answer(moved, 10), Ok(Answer::Redirect(l)) if l == "/v1/latest"));
        assert!(parse_answer(b"HTTP/1.1 503 Busy\r\n\r\n", 10).is_err());
        assert!(parse_answer(plain, 4).is_err());
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello", 10).is_err());
    }
}
