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
//! - `export-seed`: the export scenario's database, one group with 100,000
//!   expenses and payments, written in large batches.
//! - `splitwise-file`: the body of a Splitwise import of 10,000 rows for
//!   that group (the import scenario).
//! - `export`: downloads that group's `export.csv`, timing the first byte
//!   and the whole, counting bytes and rows, sampling the server's VmRSS.
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
mod export;
mod legacy;
mod pictures;
mod recurring;
mod report;
mod rng;
mod rss;
mod seed;
mod solver;
mod splitwise_file;
mod stalled;

use args::{bcrypt_cost, BcryptRateArgs, Cli, Command};
use clap::Parser;

type BoxError = Box<dyn Error + Send + Sync>;
type Result<T> = std::result::Result<T, BoxError>;

/// The password every seeded user has (also written into the Lua data file).
const PASSWORD: &str = "bench-Passw0rd!";
/// ObjectId timestamp of seeded users and groups: fixed, so that two databases
/// seeded with the same shape have the same ids (one data file fits both).
const ID_EPOCH_SECS: u32 = 1_700_000_000;
const DAY_MS: i64 = 86_400_000;

#[tokio::main]
async fn main() -> ExitCode {
    let Cli { command } = Cli::parse();
    let name = command.name();
    let result = match &command {
        Command::Seed(args) => seed::seed(args).await,
        Command::BcryptRate(args) => bcrypt_rate(args),
        Command::SettleSolver(args) => solver::settle_solver(args),
        Command::Picture(args) => pictures::picture(args),
        Command::RssWatch(args) => rss::rss_watch(args),
        Command::StalledBodies(args) => stalled::stalled_bodies(args),
        Command::ExportSeed(args) => export::export_seed(args).await,
        Command::Export(args) => export::export(args),
        Command::SplitwiseFile(args) => splitwise_file::splitwise_file(args),
        Command::RecurringSeed(args) => recurring::recurring_seed(args).await,
        Command::FreePort => free_port(),
        Command::Report(args) => report::report(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("splitlyr-bench {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------- bcrypt-rate ----------

fn bcrypt_rate(args: &BcryptRateArgs) -> Result<()> {
    let cost = bcrypt_cost(args.cost, "cost")?;
    let seconds = args.seconds;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.threads.unwrap_or(cores);
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
    if args.json {
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
