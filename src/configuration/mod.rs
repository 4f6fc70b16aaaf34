//! Settings: layered from `config/default.toml`, `config/{APP_ENVIRONMENT}.toml`,
//! `APP__SECTION__KEY` variables and the old Node server's variable names.
//!
//! Everything is parsed into typed values once, here (the write concern into
//! [`WriteConcern`], the token lifetime into a `Duration`, the log format
//! into [`LogFormat`]), and validated, so a misconfigured server refuses to
//! start and no consumer reads a setting from a string again. What is allowed
//! but risky comes back from [`Settings::warnings`] for `main` to log once
//! logging is up. This module imports nothing of the crate: every other
//! module may depend on it.

mod auth;
mod database;
mod images;
mod limits;
mod rates;
mod server;

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use serde::Deserialize;

pub use auth::{parse_expires_in, AuthSettings, JwtSettings, SessionSettings};
pub use database::{database_name, DatabaseSettings, WriteConcern};
pub use images::ImageSettings;
pub use limits::{ProxyRange, RateLimitSettings};
pub use rates::RatesSettings;
pub use server::{CorsSettings, LogFormat, LogSettings, ServerSettings};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Local,
    Test,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Local => "local",
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }
}

impl TryFrom<String> for Environment {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        match s.to_lowercase().as_str() {
            "local" | "development" => Ok(Self::Local),
            "test" => Ok(Self::Test),
            "production" => Ok(Self::Production),
            other => Err(format!(
                "{other} is not a supported environment: use local, test or production"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub jwt: JwtSettings,
    pub auth: AuthSettings,
    pub cors: CorsSettings,
    pub rate_limit: RateLimitSettings,
    pub images: ImageSettings,
    pub sessions: SessionSettings,
    pub log: LogSettings,
    pub rates: RatesSettings,
    pub environment: Environment,
}

/// The settings as the files and variables say them, before validation:
/// the sections holding a setting that still has to be parsed are layers.
#[derive(Debug, Deserialize)]
struct Layers {
    server: ServerSettings,
    database: database::DatabaseLayer,
    jwt: auth::JwtLayer,
    auth: AuthSettings,
    cors: CorsSettings,
    rate_limit: RateLimitSettings,
    images: ImageSettings,
    sessions: SessionSettings,
    log: LogSettings,
    #[serde(default)]
    rates: RatesSettings,
}

impl Layers {
    /// Parses and validates, refusing with the same message, in the same
    /// order, as [`Settings::validate`] does for the typed settings.
    fn parse(self, environment: Environment, database_name: String) -> Result<Settings, String> {
        auth::check_secret_and_cost(
            environment,
            self.jwt.secret.as_ref(),
            &self.auth,
            &self.database.uri,
        )?;
        check_upgrade_batch_size(self.database.upgrade_batch_size)?;
        let settings = Settings {
            database: self.database.parse(database_name)?,
            jwt: self.jwt.parse()?,
            server: self.server,
            auth: self.auth,
            cors: self.cors,
            rate_limit: self.rate_limit,
            images: self.images,
            sessions: self.sessions,
            log: self.log,
            rates: self.rates,
            environment,
        };
        settings.validate()?;
        Ok(settings)
    }
}

/// Reads the layered configuration. The directory comes from `APP_CONFIG_DIR`
/// (default `./config`), the environment from `APP_ENVIRONMENT` (default `local`).
pub fn get_configuration() -> Result<Settings, String> {
    let dir = std::env::var("APP_CONFIG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("config"));
    let environment: Environment = std::env::var("APP_ENVIRONMENT")
        .unwrap_or_else(|_| "local".into())
        .try_into()?;
    load(&dir, environment)
}

/// Reads the configuration of `environment` from `dir`, then the environment
/// variables. Parsing and validation run on the result.
pub fn load(dir: &Path, environment: Environment) -> Result<Settings, String> {
    let layers = read_layers(dir, environment)?;
    let operator_name = std::env::var("APP__DATABASE__NAME").ok();
    let name = database_name(
        operator_name.as_deref(),
        layers.database.uri.expose_secret(),
        &layers.database.name,
    );
    layers.parse(environment, name)
}

fn read_layers(dir: &Path, environment: Environment) -> Result<Layers, String> {
    let env_file = dir.join(format!("{}.toml", environment.as_str()));
    let mut builder = config::Config::builder()
        .add_source(config::File::from(dir.join("default.toml")))
        .add_source(config::File::from(env_file).required(false))
        .add_source(
            config::Environment::with_prefix("APP")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("cors.allowed_origins")
                .with_list_parse_key("rate_limit.trusted_proxies"),
        );
    // The old Node server's variable names keep working for drop-in use; the
    // APP__ names win when both are set.
    for (legacy, key) in [
        ("MONGO_URL", "database.uri"),
        ("JWT_SECRET", "jwt.secret"),
        ("JWT_EXPIRES_IN", "jwt.expires_in"),
        ("PORT", "server.port"),
    ] {
        let modern = format!("APP__{}", key.replace('.', "__").to_uppercase());
        if let (Ok(value), Err(_)) = (std::env::var(legacy), std::env::var(&modern)) {
            builder = builder
                .set_override(key, value)
                .map_err(|e| format!("{legacy}: {e}"))?;
        }
    }
    builder
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| format!("Invalid configuration in {}: {e}", dir.display()))
}

fn check_upgrade_batch_size(size: usize) -> Result<(), String> {
    if !(1..=10_000).contains(&size) {
        return Err("database.upgrade_batch_size must be between 1 and 10000".into());
    }
    Ok(())
}

/// A setting that is allowed but risky: [`Settings::warnings`] lists them and
/// `main` logs them once logging is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// Production writes that do not wait for a journaled majority.
    WeakWrites {
        write_concern: WriteConcern,
        journal: bool,
    },
}

impl Warning {
    /// Logs the warning (at `warn`, with the settings as fields).
    pub fn log(&self) {
        match self {
            Self::WeakWrites {
                write_concern,
                journal,
            } => tracing::warn!(
                write_concern = %write_concern,
                journal,
                "production without majority, journaled writes: a database failure can lose acknowledged writes"
            ),
        }
    }
}

impl Settings {
    /// Rules that make the server refuse to start rather than run unsafely.
    /// Settings changed after [`load`] (tests do) are checked again here.
    pub fn validate(&self) -> Result<(), String> {
        auth::check_secret_and_cost(
            self.environment,
            self.jwt.secret.as_ref(),
            &self.auth,
            &self.database.uri,
        )?;
        check_upgrade_batch_size(self.database.upgrade_batch_size)?;
        self.database.write_concern.validate()?;
        database::check_request_deadline(self.database.request_deadline_ms)?;
        if self.jwt.expires_in.as_secs() == 0 {
            return Err("jwt.expires_in: less than a second is not a usable token lifetime".into());
        }
        self.rate_limit.validate()?;
        self.server.validate()?;
        self.sessions.validate()?;
        self.rates.validate()?;
        self.images.validate()
    }

    /// What is allowed but risky in these settings, to be logged at startup.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut warnings = Vec::new();
        if self.environment == Environment::Production && !self.database.durable_writes() {
            warnings.push(Warning::WeakWrites {
                write_concern: self.database.write_concern,
                journal: self.database.journal,
            });
        }
        warnings
    }
}

#[cfg(test)]
mod tests;
