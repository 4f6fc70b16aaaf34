//! `rss-watch`: a process's resident memory, sampled while the picture
//! scenarios run; [`status_kb`] reads it (`stalled-bodies` samples with it
//! too).

use std::io::Write as _;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::args::RssWatchArgs;
use crate::{round3, Result};

/// A field of /proc/<pid>/status, in kB.
pub(crate) fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Samples a process's VmRSS every `--interval-ms` until `--stop-file`
/// exists (or the process ends, or `--max-seconds` pass), then writes the
/// largest and the mean to `--out` as JSON; with `--series FILE`, every
/// sample too (milliseconds since the start, then kB, a line each).
pub(crate) fn rss_watch(args: &RssWatchArgs) -> Result<()> {
    let (pid, out, stop) = (args.pid, &args.out, &args.stop_file);
    let interval = Duration::from_millis(args.interval_ms);
    let max = Duration::from_secs_f64(args.max_seconds);
    let mut series = match &args.series {
        Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => None,
    };
    let started = Instant::now();
    let first = status_kb(pid, "VmRSS").ok_or_else(|| format!("no process {pid}"))?;
    let (mut samples, mut sum, mut peak, mut last) = (0u64, 0u64, 0u64, first);
    let mut peak_at = 0.0;
    let mut ended = false;
    loop {
        match status_kb(pid, "VmRSS") {
            Some(kb) => {
                if let Some(out) = series.as_mut() {
                    writeln!(out, "{}\t{kb}", started.elapsed().as_millis())?;
                }
                samples += 1;
                sum += kb;
                last = kb;
                if kb > peak {
                    peak = kb;
                    peak_at = started.elapsed().as_secs_f64();
                }
            }
            None => {
                ended = true;
                break;
            }
        }
        if stop.exists() || started.elapsed() >= max {
            break;
        }
        std::thread::sleep(interval);
    }
    if let Some(mut out) = series {
        out.flush()?;
    }
    let mib = |kb: u64| round3(kb as f64 / 1024.0);
    let summary = json!({
        "pid": pid,
        "interval_ms": interval.as_millis() as u64,
        "seconds": round3(started.elapsed().as_secs_f64()),
        "samples": samples,
        "first_mib": mib(first),
        "last_mib": mib(last),
        "max_mib": mib(peak),
        "max_at_s": round3(peak_at),
        "mean_mib": mib(sum.checked_div(samples).unwrap_or(0)),
        // The kernel's high-water mark of the whole process so far: an upper
        // bound of what sampling could miss between two samples.
        "hwm_mib": status_kb(pid, "VmHWM").map(mib),
        "process_ended": ended,
    });
    std::fs::write(out, summary.to_string() + "\n")?;
    Ok(())
}
