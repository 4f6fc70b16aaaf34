//! The `healthcheck` subcommand: a tiny HTTP/1.1 GET of the local
//! `/v1/healthz`, so images need no curl.

use std::process::ExitCode;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub async fn run(port: u16) -> ExitCode {
    match tokio::time::timeout(Duration::from_secs(3), status(port)).await {
        Ok(Ok(200)) => ExitCode::SUCCESS,
        Ok(Ok(code)) => {
            eprintln!("healthcheck: /v1/healthz answered {code}");
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("healthcheck: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("healthcheck: timed out");
            ExitCode::FAILURE
        }
    }
}

async fn status(port: u16) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(b"GET /v1/healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut head = [0u8; 32];
    let n = stream.read(&mut head).await?;
    // "HTTP/1.1 200 OK": the status code is the second word.
    std::str::from_utf8(&head[..n])
        .ok()
        .and_then(|s| s.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("unreadable HTTP response"))
}
