//! `[server]`, `[cors]` and `[log]`: the listeners, what a request may
//! send, and how the server logs.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// The admin listener: `/metrics` and the detailed `/v1/healthz`, for
    /// operators only. Loopback by default; 0 as the port picks a free one.
    pub admin_host: String,
    pub admin_port: u16,
    /// Also serve `/metrics` on the public port (as before the admin port).
    pub public_metrics: bool,
    pub shutdown_grace_seconds: u64,
    /// How long an API request that arrives while the database is being
    /// prepared waits for it before the 503 `DATABASE_NOT_READY`.
    pub ready_wait_ms: u64,
    pub body_limit_bytes: usize,
    /// A large body (a picture upload) must arrive within this, counted from
    /// when it is admitted; otherwise 408 and the connection is dropped.
    pub body_read_timeout_ms: u64,
    /// Memory all large bodies being read may take at once: each reserves
    /// its declared length (its route's maximum when undeclared) before a
    /// byte of it is read.
    pub large_body_memory_mib: u32,
    /// How long a large body waits for room in that budget before a 503.
    pub large_body_wait_ms: u64,
    pub workers: usize,
    pub hsts: bool,
}

impl ServerSettings {
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_millis(self.body_read_timeout_ms)
    }

    pub fn large_body_wait(&self) -> Duration {
        Duration::from_millis(self.large_body_wait_ms)
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        if !(100..=600_000).contains(&self.body_read_timeout_ms) {
            return Err("server.body_read_timeout_ms must be between 100 and 600000".into());
        }
        if !(1..=4096).contains(&self.large_body_memory_mib) {
            return Err("server.large_body_memory_mib must be between 1 and 4096".into());
        }
        if self.large_body_wait_ms > 60_000 {
            return Err("server.large_body_wait_ms must be at most 60000".into());
        }
        if self.admin_host.trim().is_empty() {
            return Err("server.admin_host must not be empty".into());
        }
        if self.admin_port != 0 && self.admin_port == self.port {
            return Err("server.admin_port must differ from server.port".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CorsSettings {
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// A `tracing` filter (`info`, `warn,splitlyr=debug`); `RUST_LOG` wins.
    pub level: String,
    pub format: LogFormat,
}

/// `log.format`: `json` is one JSON object a line; anything else (`pretty`)
/// is the compact human-readable form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum LogFormat {
    Json,
    Compact,
}

impl From<String> for LogFormat {
    fn from(s: String) -> Self {
        if s == "json" {
            Self::Json
        } else {
            Self::Compact
        }
    }
}
