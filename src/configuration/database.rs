//! `[database]`: where the data lives and what a write waits for.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub uri: SecretString,
    pub name: String,
    pub server_selection_timeout_ms: u64,
    pub health_timeout_ms: u64,
    pub max_pool_size: u32,
    /// Expenses converted per transaction when upgrading old documents.
    pub upgrade_batch_size: usize,
    /// Acknowledgement every write waits for. An acknowledged write survives
    /// the loss of a minority of the replica set only with `majority`.
    pub write_concern: WriteConcern,
    /// Writes are acknowledged only once in the database's journal, so a
    /// database crash cannot lose a write answered 201.
    pub journal: bool,
    /// The longest an API request waits on the database: past it the
    /// request answers 503 (`OUTCOME_UNKNOWN` for a write), and an
    /// idempotency key's lease (twice this) lets a retry take over.
    pub request_deadline_ms: u64,
    /// For how long after the journal's upgrade (schema 6, in a database
    /// a release before it wrote) its back-fill runs: the length of that
    /// rolling deploy; and how often: see `store::journal::backfill`.
    /// 0 minutes: never.
    pub backfill_minutes: u64,
    pub backfill_interval_ms: u64,
}

impl DatabaseSettings {
    /// The back-fill's window and interval.
    pub fn backfill(&self) -> (Duration, Duration) {
        (
            Duration::from_secs(self.backfill_minutes * 60),
            Duration::from_millis(self.backfill_interval_ms.max(100)),
        )
    }

    pub fn request_deadline(&self) -> Duration {
        Duration::from_millis(self.request_deadline_ms)
    }

    pub fn health_timeout(&self) -> Duration {
        Duration::from_millis(self.health_timeout_ms)
    }

    /// The `majority`-and-journal durability that production expects.
    pub fn durable_writes(&self) -> bool {
        self.write_concern == WriteConcern::Majority && self.journal
    }
}

/// `database.write_concern`: `majority` (the default) or a number of members
/// (`1`). Unacknowledged writes (`0`) are never allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteConcern {
    Majority,
    Nodes(u32),
}

impl WriteConcern {
    const REFUSED: &'static str = "database.write_concern must be \"majority\" or a member count \
                                   from 1 to 50 (unacknowledged writes are never allowed)";

    /// The configured form: `majority` or a member count from 1 to 50.
    pub fn parse(s: &str) -> Result<Self, String> {
        let parsed = match s {
            "majority" => Some(Self::Majority),
            _ => s.parse::<u32>().ok().map(Self::Nodes),
        };
        parsed
            .filter(|w| w.validate().is_ok())
            .ok_or_else(|| Self::REFUSED.into())
    }

    /// A member count is between 1 and 50.
    pub(super) fn validate(self) -> Result<(), String> {
        match self {
            Self::Nodes(n) if !(1..=50).contains(&n) => Err(Self::REFUSED.into()),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for WriteConcern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Majority => f.write_str("majority"),
            Self::Nodes(n) => write!(f, "{n}"),
        }
    }
}

/// Compares with a configured form (`"majority"`, `"1"`).
impl PartialEq<&str> for WriteConcern {
    fn eq(&self, other: &&str) -> bool {
        Self::parse(other).is_ok_and(|w| w == *self)
    }
}

/// `[database]` as the files and variables say it, before validation.
#[derive(Debug, Deserialize)]
pub(super) struct DatabaseLayer {
    pub(super) uri: SecretString,
    pub(super) name: String,
    server_selection_timeout_ms: u64,
    health_timeout_ms: u64,
    max_pool_size: u32,
    pub(super) upgrade_batch_size: usize,
    pub(super) write_concern: String,
    pub(super) journal: bool,
    request_deadline_ms: u64,
    backfill_minutes: u64,
    backfill_interval_ms: u64,
}

impl DatabaseLayer {
    /// Typed settings; `name` is the database chosen by [`database_name`].
    pub(super) fn parse(self, name: String) -> Result<DatabaseSettings, String> {
        Ok(DatabaseSettings {
            write_concern: WriteConcern::parse(&self.write_concern)?,
            uri: self.uri,
            name,
            server_selection_timeout_ms: self.server_selection_timeout_ms,
            health_timeout_ms: self.health_timeout_ms,
            max_pool_size: self.max_pool_size,
            upgrade_batch_size: self.upgrade_batch_size,
            journal: self.journal,
            request_deadline_ms: check_request_deadline(self.request_deadline_ms)?,
            backfill_minutes: self.backfill_minutes.min(7 * 24 * 60),
            backfill_interval_ms: self.backfill_interval_ms.clamp(100, 3_600_000),
        })
    }
}

/// `database.request_deadline_ms` is between 100 ms and 10 minutes.
pub(super) fn check_request_deadline(ms: u64) -> Result<u64, String> {
    if !(100..=600_000).contains(&ms) {
        return Err("database.request_deadline_ms must be between 100 and 600000".into());
    }
    Ok(ms)
}

/// The database to open, as the old server chose it: the operator's
/// `APP__DATABASE__NAME`, else the connection string's path
/// (`mongodb://host/coinbreakr`), else the name in the config files, else
/// `splitlyr`. The URI beats the shipped config files, so pointing `MONGO_URL`
/// at the old server's database opens that database in every environment.
pub fn database_name(operator: Option<&str>, uri: &str, configured: &str) -> String {
    [operator, uri_database(uri), Some(configured)]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|name| !name.is_empty())
        .unwrap_or("splitlyr")
        .to_owned()
}

/// The database named in a `mongodb://` or `mongodb+srv://` URI's path, if
/// any. Hosts cannot contain `/` (socket paths are percent-encoded), so the
/// path starts at the first `/` after the scheme and ends at `?`.
fn uri_database(uri: &str) -> Option<&str> {
    let (_, rest) = uri.trim().split_once("://")?;
    let (_, path) = rest.split_once('/')?;
    let name = path.split('?').next().unwrap_or_default();
    (!name.is_empty()).then_some(name)
}
