//! `[jwt]`, `[auth]` and `[sessions]`: tokens, passwords and refresh sessions.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::Environment;

#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub secret: Option<SecretString>,
    /// Access token lifetime, from `jwt.expires_in` (`2d`, `12h`, `3600`).
    pub expires_in: Duration,
}

/// `[jwt]` as the files and variables say it, before validation.
#[derive(Debug, Deserialize)]
pub(super) struct JwtLayer {
    pub(super) secret: Option<SecretString>,
    pub(super) expires_in: String,
}

impl JwtLayer {
    pub(super) fn parse(self) -> Result<JwtSettings, String> {
        Ok(JwtSettings {
            expires_in: parse_expires_in(&self.expires_in)
                .map_err(|e| format!("jwt.expires_in: {e}"))?,
            secret: self.secret,
        })
    }
}

/// Parses the old server's `JWT_EXPIRES_IN` forms: `2d`, `12h`, `30m`, `45s`,
/// `1w` or a bare number of seconds.
pub fn parse_expires_in(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 2d, 12h or 3600"))?;
    let unit_secs = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("{s:?} has an unknown unit (use s, m, h, d or w)")),
    };
    match n.checked_mul(unit_secs) {
        Some(0) | None => Err(format!("{s:?} is not a usable token lifetime")),
        Some(secs) => Ok(Duration::from_secs(secs)),
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub bcrypt_cost: u32,
    pub status_cache_seconds: u64,
    /// Whether tokens without a session (`sid`), as the old server issued
    /// them, are still accepted (until those from before a logout-all, a
    /// password change or a deactivation). Off once the switch-over is over.
    pub accept_legacy_tokens: bool,
}

/// The JWT secrets of `config/local.toml` and `config/test.toml`: public
/// (they are in the repository), so a server outside those environments
/// refuses to start with one (a unit test keeps this list equal to the files).
pub(super) const DEVELOPMENT_JWT_SECRETS: [&str; 2] = [
    "local-development-secret-not-for-production-use",
    "test-secret-test-secret-test-secret-0123",
];

/// The JWT secret and the bcrypt cost: the first rules a configuration must
/// pass (before the database's), in this order.
pub(super) fn check_secret_and_cost(
    environment: Environment,
    secret: Option<&SecretString>,
    auth: &AuthSettings,
    database_uri: &SecretString,
) -> Result<(), String> {
    let secret = secret.map(|s| s.expose_secret());
    let secret_len = secret.map_or(0, str::len);
    if secret_len == 0 {
        return Err("No JWT secret configured: set APP__JWT__SECRET or JWT_SECRET".into());
    }
    let development = matches!(environment, Environment::Local | Environment::Test);
    if !development && secret.is_some_and(|s| DEVELOPMENT_JWT_SECRETS.contains(&s.trim())) {
        return Err(format!(
            "The JWT secret is a development secret from the repository (config/local.toml or \
             config/test.toml); it is refused in {}: set a secret of your own in \
             APP__JWT__SECRET or JWT_SECRET",
            environment.as_str()
        ));
    }
    if environment == Environment::Production && secret_len < 32 {
        return Err("The JWT secret must be at least 32 bytes in production".into());
    }
    if database_uri.expose_secret().trim().is_empty() {
        return Err("No database URI configured: set APP__DATABASE__URI or MONGO_URL".into());
    }
    if !(4..=31).contains(&auth.bcrypt_cost) {
        return Err("auth.bcrypt_cost must be between 4 and 31".into());
    }
    if environment == Environment::Production && auth.bcrypt_cost < 10 {
        return Err("auth.bcrypt_cost below 10 is not allowed in production".into());
    }
    Ok(())
}

/// Sessions: the refresh tokens a login hands out (see `crate::auth::sessions`).
#[derive(Debug, Clone, Deserialize)]
pub struct SessionSettings {
    /// A refresh token works this long after its session was last used.
    pub refresh_ttl_days: u64,
    /// Live sessions per user; a new login evicts the least recently used.
    pub max_per_user: u32,
    /// How long an already-rotated refresh token still returns the pair its
    /// rotation gave (a phone retrying after a lost response).
    pub reuse_grace_seconds: u64,
    /// Refreshes per session: a burst, then one every `refresh_period_ms`.
    pub refresh_burst: u32,
    pub refresh_period_ms: u64,
}

impl SessionSettings {
    pub fn refresh_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_ttl_days.saturating_mul(86_400))
    }

    pub fn reuse_grace(&self) -> Duration {
        Duration::from_secs(self.reuse_grace_seconds)
    }

    pub fn refresh_period(&self) -> Duration {
        Duration::from_millis(self.refresh_period_ms)
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        if !(1..=365).contains(&self.refresh_ttl_days) {
            return Err("sessions.refresh_ttl_days must be between 1 and 365".into());
        }
        if !(1..=1000).contains(&self.max_per_user) {
            return Err("sessions.max_per_user must be between 1 and 1000".into());
        }
        if self.reuse_grace_seconds > 300 {
            return Err("sessions.reuse_grace_seconds must be at most 300".into());
        }
        if self.refresh_burst == 0 || self.refresh_period_ms == 0 {
            return Err("sessions.refresh_burst and refresh_period_ms must be positive".into());
        }
        Ok(())
    }
}
