//! `stalled-bodies`: what large uploads that stall half-way cost the
//! server's memory. `--connections` connections (12) each send the head of
//! a `--body-mib` (10 MiB) upload, alternately the app's `PATCH
//! /v1/users/profile` with a data URI and a raw `PUT
//! /v1/users/profile/image`, as different users, then up to `--sent-mib`
//! (5) of its body as fast as the server takes it, and stop sending. The
//! server's VmRSS is sampled every `--interval-ms` until every connection
//! has its answer (408, 429, 503) or `--hold-seconds` pass. Target: the
//! peak grows less than `--target-mib` over the RSS before.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::args::StalledArgs;
use crate::pictures::status_kb;
use crate::{round3, Result};

const MIB: usize = 1 << 20;

/// The head and the start of one stalled upload.
fn request(i: usize, host: &str, token: &str, length: usize) -> (String, Vec<u8>) {
    let (method, path, kind, start): (_, _, _, &[u8]) = if i.is_multiple_of(2) {
        (
            "PATCH",
            "/v1/users/profile",
            "application/json",
            br#"{"profileImage":"data:image/jpeg;base64,"#,
        )
    } else {
        (
            "PUT",
            "/v1/users/profile/image",
            "image/jpeg",
            b"\xFF\xD8\xFF\xE0",
        )
    };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {kind}\r\nContent-Length: {length}\r\n\r\n"
    );
    (head, start.to_vec())
}

/// What one connection sent and got.
struct Outcome {
    sent: usize,
    status: Option<u16>,
    answered_s: Option<f64>,
}

/// Opens the connection, sends the head and up to `send` bytes of body (until
/// a write blocks for 300 ms: the server is not reading), then waits for the
/// answer until `deadline`.
fn stall(addr: &str, (head, start): (String, Vec<u8>), send: usize, deadline: Instant) -> Outcome {
    let opened = Instant::now();
    let mut outcome = Outcome {
        sent: 0,
        status: None,
        answered_s: None,
    };
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return outcome;
    };
    let _ = stream.set_write_timeout(Some(Duration::from_millis(300)));
    if stream.write_all(head.as_bytes()).is_err() || stream.write_all(&start).is_err() {
        return outcome;
    }
    outcome.sent = start.len();
    let filler = vec![b'A'; 64 * 1024];
    while outcome.sent < send {
        let n = filler.len().min(send - outcome.sent);
        match stream.write(&filler[..n]) {
            Ok(0) => break,
            Ok(n) => outcome.sent += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let _ = stream.set_read_timeout(Some(left.max(Duration::from_millis(1))));
        match stream.read(&mut buf) {
            Ok(n) if n > 0 => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            _ => break,
        }
    }
    outcome.status = String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok());
    if outcome.status.is_some() {
        outcome.answered_s = Some(round3(opened.elapsed().as_secs_f64()));
    }
    outcome
}

pub(crate) fn stalled_bodies(args: &StalledArgs) -> Result<()> {
    let base = &args.base;
    let addr = base
        .strip_prefix("http://")
        .ok_or("--base must be http://host:port")?
        .trim_end_matches('/')
        .to_string();
    let (pid, tokens_file, out) = (args.pid, &args.tokens, &args.out);
    let (connections, body_mib, sent_mib) = (args.connections, args.body_mib, args.sent_mib);
    let hold = Duration::from_secs_f64(args.hold_seconds);
    let interval = Duration::from_millis(args.interval_ms);
    let target_mib = args.target_mib;
    let tokens: Vec<String> = std::fs::read_to_string(tokens_file)?
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    if tokens.len() < connections {
        return Err(format!(
            "{} holds {} tokens, {connections} needed (one user per connection)",
            tokens_file.display(),
            tokens.len()
        )
        .into());
    }
    let send = (sent_mib * MIB as f64) as usize;
    let before = status_kb(pid, "VmRSS").ok_or_else(|| format!("no process {pid}"))?;

    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut peak, mut samples) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                if let Some(kb) = status_kb(pid, "VmRSS") {
                    peak = peak.max(kb);
                    samples += 1;
                }
                std::thread::sleep(interval);
            }
            (peak, samples)
        })
    };
    let started = Instant::now();
    let deadline = started + hold;
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = tokens[..connections]
            .iter()
            .enumerate()
            .map(|(i, token)| {
                let request = request(i, &addr, token, body_mib * MIB);
                let addr = addr.as_str();
                scope.spawn(move || stall(addr, request, send, deadline))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or(Outcome {
                    sent: 0,
                    status: None,
                    answered_s: None,
                })
            })
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (peak, samples) = sampler.join().map_err(|_| "the sampler panicked")?;
    let after = status_kb(pid, "VmRSS").unwrap_or(0);

    let mib = |kb: u64| round3(kb as f64 / 1024.0);
    let growth = mib(peak.saturating_sub(before));
    let mut answers = std::collections::BTreeMap::<String, u64>::new();
    for o in &outcomes {
        let key = o.status.map_or("none".to_string(), |s| s.to_string());
        *answers.entry(key).or_default() += 1;
    }
    let all_answered = outcomes
        .iter()
        .all(|o| o.status.is_some_and(|s| [408, 429, 503].contains(&s)));
    let summary = json!({
        "connections": connections,
        "body_mib": body_mib,
        "sent_mib_each": sent_mib,
        "routes": ["PATCH /v1/users/profile (JSON data URI)", "PUT /v1/users/profile/image (raw)"],
        "sent_kib": outcomes.iter().map(|o| o.sent / 1024).collect::<Vec<_>>(),
        "rss_before_mib": mib(before),
        "rss_peak_mib": mib(peak),
        "rss_after_mib": mib(after),
        "growth_mib": growth,
        "samples": samples,
        "interval_ms": interval.as_millis() as u64,
        "answers": answers,
        "last_answer_s": outcomes.iter().filter_map(|o| o.answered_s).fold(0.0, f64::max),
        "all_answered": all_answered,
        "seconds": round3(seconds),
        "target_growth_mib": target_mib,
        "pass": growth < target_mib && all_answered,
    });
    std::fs::write(out, summary.to_string() + "\n")?;
    println!("{summary}");
    Ok(())
}

/// The report's line for this scenario: (target, measured, threshold, pass).
pub(crate) fn target(result: &Value) -> (String, String, String, bool) {
    let num = |k: &str| result[k].as_f64().unwrap_or(f64::NAN);
    (
        format!(
            "10. {} uploads of {} MiB stalled after {} MiB each: server RSS growth < {} MiB, every one answered and dropped",
            result["connections"],
            result["body_mib"],
            result["sent_mib_each"],
            result["target_growth_mib"],
        ),
        if result.is_null() {
            "not measured".into()
        } else {
            format!(
                "+{:.1} MiB ({:.1} → peak {:.1} MiB, {} samples every {} ms); answers {}, the last after {:.1} s",
                num("growth_mib"),
                num("rss_before_mib"),
                num("rss_peak_mib"),
                result["samples"],
                result["interval_ms"],
                result["answers"],
                num("last_answer_s"),
            )
        },
        format!("< {} MiB; all 408/429/503", result["target_growth_mib"]),
        result["pass"].as_bool().unwrap_or(false),
    )
}
