//! `splitlyr-bench`: the helper binary of `scripts/bench.sh`.
//!
//! - `seed`: writes a realistic data set straight into MongoDB (users with
//!   mutual friends, groups, expenses) with the server's own document types,
//!   and a Lua data file for wrk (ids, tokens, a friend, a group, and the
//!   focus users and groups that the balance scenarios rotate over). With
//!   `--concentrate` every expense involves a focus user or a focus group, so
//!   a small history gives them as many non-zero balances as a long one.
//! - `bcrypt-rate`: the raw bcrypt verification rate on all cores.
//! - `settle-solver`: times the settle-up solver in-process (no database).
//! - `picture`: the JPEG that the picture scenarios upload (generated, a
//!   given size) and the bytes the wrk script varies per upload.
//! - `rss-watch`: samples a process's resident memory until told to stop.
//! - `stalled-bodies`: large uploads that stall half-way, and the server's
//!   memory meanwhile.
//! - `free-port`: a free loopback TCP port.
//! - `report`: turns a run directory into `latest.json` and `latest.md`.
//!
//! Nothing here is used by the server; it only shares its types.

use std::error::Error;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;

mod args;
mod dataset;
mod legacy;
mod pictures;
mod report;
mod seed;
mod solver;
mod stalled;

use args::{bcrypt_cost, Args};

type BoxError = Box<dyn Error + Send + Sync>;
type Result<T> = std::result::Result<T, BoxError>;

/// The password every seeded user has (also written into the Lua data file).
const PASSWORD: &str = "bench-Passw0rd!";
/// ObjectId timestamp of seeded users and groups: fixed, so that two databases
/// seeded with the same shape have the same ids (one data file fits both).
const ID_EPOCH_SECS: u32 = 1_700_000_000;
const DAY_MS: i64 = 86_400_000;

const USAGE: &str = "usage:
  splitlyr-bench seed --db-uri URI --db-name NAME --jwt-secret SECRET --out DIR
                      [--users 1000] [--friends 20] [--groups 200] [--expenses 100000]
                      [--focus-users 20] [--focus-groups 10] [--concentrate] [--legacy]
                      [--seed 42] [--batch 2000] [--bcrypt-cost C] [--drop]
  splitlyr-bench bcrypt-rate [--cost C] [--seconds 5] [--threads N] [--json]
  splitlyr-bench settle-solver [--repeats 5] [--seed 42] [--json]
  splitlyr-bench picture --out DIR [--width 1600] [--height 1200] [--quality 90]
                         [--target-kb 300] [--seed 42] [--slots 22] [--copies N] [--json]
  splitlyr-bench rss-watch --pid PID --out FILE --stop-file FILE
                           [--interval-ms 50] [--max-seconds 900] [--series FILE]
  splitlyr-bench stalled-bodies --base URL --pid PID --tokens FILE --out FILE
                           [--connections 12] [--body-mib 10] [--sent-mib 5]
                           [--hold-seconds 20] [--interval-ms 10] [--target-mib 12]
  splitlyr-bench free-port
  splitlyr-bench report --run DIR --out DIR

The focus users are the first --focus-users users, the focus groups the first
--focus-groups groups (the same ids in every database of the same shape). With
--concentrate all expenses are theirs: group expenses only in the focus groups,
friend expenses only created by a focus user or by a friend with a focus user.

picture writes DIR/photo.jpg (noise scaled until the JPEG is about --target-kb
KB), DIR/upload.lua for the wrk script (the photo and the --slots bytes of its
quantization table that each upload varies, every one checked to change the
server's re-encoding) and, with --copies N, N distinct variants photo-01.jpg...

rss-watch samples /proc/PID/status VmRSS until FILE of --stop-file exists (or
the process ends) and writes the max, the mean and the final VmHWM as JSON.

stalled-bodies opens --connections connections, one per token of FILE (one
user each), each sending the head of a --body-mib upload (the app's PATCH
/v1/users/profile with a data URI, or a raw PUT /v1/users/profile/image, in
turn) and up to --sent-mib of its body, then stalling; it samples the
server's VmRSS until every connection is answered or --hold-seconds pass, and
writes the growth of the peak over the RSS before, and the answers, as JSON.

--bcrypt-cost / --cost default to auth.bcrypt_cost of the configuration the
server would load (APP_ENVIRONMENT, APP_CONFIG_DIR and the variables).";

#[tokio::main]
async fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = argv.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let args = match Args::parse(rest) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("splitlyr-bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command.as_str() {
        "seed" => seed::seed(&args).await,
        "bcrypt-rate" => bcrypt_rate(&args),
        "settle-solver" => solver::settle_solver(&args),
        "picture" => pictures::picture(&args),
        "rss-watch" => pictures::rss_watch(&args),
        "stalled-bodies" => stalled::stalled_bodies(&args),
        "free-port" => free_port(),
        "report" => report::report(&args),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}").into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("splitlyr-bench {command}: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------- bcrypt-rate ----------

fn bcrypt_rate(args: &Args) -> Result<()> {
    let cost = bcrypt_cost(args, "cost")?;
    let seconds: f64 = args.get_or("seconds", 5.0)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads: usize = args.get_or("threads", cores)?;
    if threads == 0 || seconds <= 0.0 {
        return Err("--threads and --seconds must be positive".into());
    }
    let hash = bcrypt::hash(PASSWORD, cost)?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let hash = hash.clone();
            std::thread::spawn(move || -> std::result::Result<u64, String> {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    if !bcrypt::verify(PASSWORD, &hash).map_err(|e| e.to_string())? {
                        return Err("bcrypt verification failed".into());
                    }
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    let mut verifies = 0u64;
    for h in handles {
        verifies += h.join().map_err(|_| "a bcrypt thread panicked")??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = verifies as f64 / elapsed;
    if args.flag("json") {
        println!(
            "{}",
            json!({ "cost": cost, "threads": threads, "verifies": verifies,
                    "seconds": round3(elapsed), "verifies_per_s": round3(rate) })
        );
    } else {
        println!(
            "{rate:.2} verifies/s (bcrypt cost {cost}, {threads} threads, {verifies} verifies in {elapsed:.2} s)"
        );
    }
    Ok(())
}

fn free_port() -> Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?.port());
    Ok(())
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub(crate) fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| round3(a / b))
}
