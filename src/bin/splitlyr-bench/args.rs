//! Command-line arguments (clap): one subcommand per step of
//! `scripts/bench.sh`, with the flag names and defaults it passes.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use splitlyr::configuration::get_configuration;

use crate::Result;

const NOTES: &str = "\
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

/// The helper binary of `scripts/bench.sh`.
#[derive(Parser)]
#[command(name = "splitlyr-bench", after_help = NOTES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Writes a realistic data set straight into MongoDB and a Lua data file for wrk.
    Seed(SeedArgs),
    /// The raw bcrypt verification rate on all cores.
    BcryptRate(BcryptRateArgs),
    /// Times the settle-up solver in-process (no database).
    SettleSolver(SolverArgs),
    /// The JPEG that the picture scenarios upload, and the bytes varied per upload.
    Picture(PictureArgs),
    /// Samples a process's resident memory until told to stop.
    RssWatch(RssWatchArgs),
    /// Large uploads that stall half-way, and the server's memory meanwhile.
    StalledBodies(StalledArgs),
    /// Writes the export scenario's database: one group with --rows expenses.
    ExportSeed(ExportSeedArgs),
    /// Downloads the group's export.csv, timed, with the server's VmRSS sampled.
    Export(ExportArgs),
    /// Writes the body of a Splitwise import of --rows rows for the export group.
    SplitwiseFile(SplitwiseFileArgs),
    /// Writes --series active recurring series into the export database.
    RecurringSeed(RecurringSeedArgs),
    /// Prints a free loopback TCP port.
    FreePort,
    /// Turns a run directory into `latest.json` and `latest.md`.
    Report(ReportArgs),
}

impl Command {
    /// The subcommand's name, for error messages.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Seed(_) => "seed",
            Self::BcryptRate(_) => "bcrypt-rate",
            Self::SettleSolver(_) => "settle-solver",
            Self::Picture(_) => "picture",
            Self::RssWatch(_) => "rss-watch",
            Self::StalledBodies(_) => "stalled-bodies",
            Self::ExportSeed(_) => "export-seed",
            Self::Export(_) => "export",
            Self::SplitwiseFile(_) => "splitwise-file",
            Self::RecurringSeed(_) => "recurring-seed",
            Self::FreePort => "free-port",
            Self::Report(_) => "report",
        }
    }
}

#[derive(Args)]
pub(crate) struct SeedArgs {
    #[arg(long)]
    pub(crate) db_uri: String,
    #[arg(long)]
    pub(crate) db_name: String,
    #[arg(long)]
    pub(crate) jwt_secret: String,
    #[arg(long)]
    pub(crate) out: PathBuf,
    #[arg(long, default_value_t = 1000)]
    pub(crate) users: usize,
    #[arg(long, default_value_t = 20)]
    pub(crate) friends: usize,
    #[arg(long, default_value_t = 200)]
    pub(crate) groups: usize,
    #[arg(long, default_value_t = 100_000)]
    pub(crate) expenses: usize,
    #[arg(long, default_value_t = 20)]
    pub(crate) focus_users: usize,
    #[arg(long, default_value_t = 10)]
    pub(crate) focus_groups: usize,
    /// Every expense involves a focus user or a focus group.
    #[arg(long)]
    pub(crate) concentrate: bool,
    /// Writes the documents as the old Node server stored them.
    #[arg(long)]
    pub(crate) legacy: bool,
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    #[arg(long, default_value_t = 2000)]
    pub(crate) batch: usize,
    #[arg(long)]
    pub(crate) bcrypt_cost: Option<u32>,
    /// Drops the database first.
    #[arg(long)]
    pub(crate) drop: bool,
}

#[derive(Args)]
pub(crate) struct BcryptRateArgs {
    #[arg(long)]
    pub(crate) cost: Option<u32>,
    #[arg(long, default_value_t = 5.0)]
    pub(crate) seconds: f64,
    /// Default: one per core.
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct SolverArgs {
    #[arg(long, default_value_t = 5)]
    pub(crate) repeats: usize,
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct PictureArgs {
    #[arg(long)]
    pub(crate) out: PathBuf,
    #[arg(long, default_value_t = 1600)]
    pub(crate) width: u32,
    #[arg(long, default_value_t = 1200)]
    pub(crate) height: u32,
    #[arg(long, default_value_t = 90)]
    pub(crate) quality: u8,
    #[arg(long, default_value_t = 300.0)]
    pub(crate) target_kb: f64,
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    #[arg(long, default_value_t = 22)]
    pub(crate) slots: usize,
    #[arg(long, default_value_t = 0)]
    pub(crate) copies: usize,
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct RssWatchArgs {
    #[arg(long)]
    pub(crate) pid: u32,
    #[arg(long)]
    pub(crate) out: PathBuf,
    #[arg(long)]
    pub(crate) stop_file: PathBuf,
    #[arg(long, default_value_t = 50)]
    pub(crate) interval_ms: u64,
    #[arg(long, default_value_t = 900.0)]
    pub(crate) max_seconds: f64,
    #[arg(long)]
    pub(crate) series: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct ExportSeedArgs {
    #[arg(long)]
    pub(crate) db_uri: String,
    /// Dropped and written again.
    #[arg(long)]
    pub(crate) db_name: String,
    #[arg(long)]
    pub(crate) jwt_secret: String,
    /// Where export.json (the group and a member's token) goes.
    #[arg(long)]
    pub(crate) out: PathBuf,
    #[arg(long, default_value_t = 100_000)]
    pub(crate) rows: usize,
    #[arg(long, default_value_t = 8)]
    pub(crate) members: usize,
    #[arg(long, default_value_t = 5000)]
    pub(crate) batch: usize,
}

#[derive(Args)]
pub(crate) struct ExportArgs {
    /// http://HOST:PORT of the server.
    #[arg(long)]
    pub(crate) base: String,
    /// The server's process, whose VmRSS is sampled.
    #[arg(long)]
    pub(crate) pid: u32,
    /// export.json of export-seed.
    #[arg(long)]
    pub(crate) data: PathBuf,
    #[arg(long)]
    pub(crate) out: PathBuf,
    #[arg(long, default_value_t = 3)]
    pub(crate) runs: u32,
    #[arg(long, default_value_t = 20)]
    pub(crate) interval_ms: u64,
}

#[derive(Args)]
pub(crate) struct RecurringSeedArgs {
    #[arg(long)]
    pub(crate) db_uri: String,
    /// The export scenario's database (its group's members take part).
    #[arg(long)]
    pub(crate) db_name: String,
    #[arg(long, default_value_t = 10_000)]
    pub(crate) series: usize,
    /// Starting today, due at once (else from tomorrow on).
    #[arg(long)]
    pub(crate) due: bool,
    /// Follow `occurrences` until each new series has one, timed.
    #[arg(long)]
    pub(crate) wait: bool,
    #[arg(long, default_value_t = 300)]
    pub(crate) max_seconds: u64,
}

#[derive(Args)]
pub(crate) struct SplitwiseFileArgs {
    /// export.json of export-seed (the group's people).
    #[arg(long)]
    pub(crate) data: PathBuf,
    /// The JSON body to write.
    #[arg(long)]
    pub(crate) out: PathBuf,
    #[arg(long, default_value_t = 10_000)]
    pub(crate) rows: usize,
    #[arg(long, default_value_t = 7)]
    pub(crate) seed: u64,
}

#[derive(Args)]
pub(crate) struct StalledArgs {
    #[arg(long)]
    pub(crate) base: String,
    #[arg(long)]
    pub(crate) pid: u32,
    #[arg(long)]
    pub(crate) tokens: PathBuf,
    #[arg(long)]
    pub(crate) out: PathBuf,
    #[arg(long, default_value_t = 12)]
    pub(crate) connections: usize,
    #[arg(long, default_value_t = 10)]
    pub(crate) body_mib: usize,
    #[arg(long, default_value_t = 5.0)]
    pub(crate) sent_mib: f64,
    #[arg(long, default_value_t = 20.0)]
    pub(crate) hold_seconds: f64,
    #[arg(long, default_value_t = 10)]
    pub(crate) interval_ms: u64,
    #[arg(long, default_value_t = 12.0)]
    pub(crate) target_mib: f64,
}

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// The run directory `scripts/bench.sh` filled.
    #[arg(long)]
    pub(crate) run: PathBuf,
    #[arg(long)]
    pub(crate) out: PathBuf,
}

/// `given` (the value of `--{flag}`) if any, else `auth.bcrypt_cost` of the
/// configuration the server would load.
pub(crate) fn bcrypt_cost(given: Option<u32>, flag: &str) -> Result<u32> {
    if let Some(cost) = given {
        return Ok(cost);
    }
    get_configuration()
        .map(|s| s.auth.bcrypt_cost)
        .map_err(|e| format!("pass --{flag} or a loadable configuration: {e}").into())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    /// What `scripts/bench.sh` passes parses, with the old defaults.
    #[test]
    fn the_bench_script_invocations_parse() {
        let parse = |line: &str| Cli::try_parse_from(line.split_whitespace()).map(|c| c.command);
        let Ok(Command::Seed(s)) = parse(
            "splitlyr-bench seed --db-uri mongodb://x --db-name n --users 1000 --friends 20 \
             --groups 200 --expenses 1000 --focus-users 20 --focus-groups 10 --concentrate \
             --out dir --jwt-secret s --drop",
        ) else {
            panic!("seed")
        };
        assert!(s.concentrate && s.drop && !s.legacy);
        assert_eq!((s.seed, s.batch, s.bcrypt_cost), (42, 2000, None));
        let Ok(Command::BcryptRate(b)) = parse("x bcrypt-rate --seconds 2 --json") else {
            panic!("bcrypt-rate")
        };
        assert!(b.json && b.seconds == 2.0 && b.threads.is_none() && b.cost.is_none());
        let Ok(Command::SettleSolver(s)) = parse("x settle-solver --json") else {
            panic!("settle-solver")
        };
        assert_eq!((s.repeats, s.seed, s.json), (5, 42, true));
        let Ok(Command::Picture(p)) = parse("x picture --out d --copies 20 --json") else {
            panic!("picture")
        };
        assert_eq!(
            (p.width, p.height, p.quality, p.slots, p.copies),
            (1600, 1200, 90, 22, 20)
        );
        assert_eq!((p.target_kb, p.seed), (300.0, 42));
        let Ok(Command::RssWatch(r)) =
            parse("x rss-watch --pid 7 --interval-ms 50 --stop-file s --out o --series t")
        else {
            panic!("rss-watch")
        };
        assert_eq!((r.pid, r.interval_ms, r.max_seconds), (7, 50, 900.0));
        assert_eq!(r.series, Some(PathBuf::from("t")));
        let Ok(Command::StalledBodies(s)) = parse(
            "x stalled-bodies --base http://h:1 --pid 7 --tokens t --out o --hold-seconds 45",
        ) else {
            panic!("stalled-bodies")
        };
        assert_eq!((s.connections, s.body_mib, s.interval_ms), (12, 10, 10));
        assert_eq!(
            (s.sent_mib, s.hold_seconds, s.target_mib),
            (5.0, 45.0, 12.0)
        );
        assert!(matches!(parse("x free-port"), Ok(Command::FreePort)));
        let Ok(Command::Report(r)) = parse("x report --run=r --out bench-results") else {
            panic!("report")
        };
        assert_eq!((r.run, r.out), ("r".into(), "bench-results".into()));
        assert!(parse("x report --run r").is_err(), "--out is required");
    }
}
