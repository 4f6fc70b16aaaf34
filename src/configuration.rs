//! Settings: layered from `config/default.toml`, `config/{APP_ENVIRONMENT}.toml`,
//! `APP__SECTION__KEY` variables and the old Node server's variable names.
//! Validation happens here so a misconfigured server refuses to start.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

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

#[derive(Debug, Clone, Deserialize)]
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
    #[serde(skip, default = "default_environment")]
    pub environment: Environment,
}

fn default_environment() -> Environment {
    Environment::Local
}

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

    fn validate(&self) -> Result<(), String> {
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
pub struct DatabaseSettings {
    pub uri: SecretString,
    pub name: String,
    pub server_selection_timeout_ms: u64,
    pub health_timeout_ms: u64,
    pub max_pool_size: u32,
    /// Expenses converted per transaction when upgrading old documents.
    pub upgrade_batch_size: usize,
    /// Acknowledgement every write waits for: `majority` (the default) or a
    /// number of members (`1`). An acknowledged write survives the loss of
    /// a minority of the replica set only with `majority`.
    pub write_concern: String,
    /// Writes are acknowledged only once in the database's journal, so a
    /// database crash cannot lose a write answered 201.
    pub journal: bool,
}

impl DatabaseSettings {
    pub fn health_timeout(&self) -> Duration {
        Duration::from_millis(self.health_timeout_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct JwtSettings {
    pub secret: Option<SecretString>,
    pub expires_in: String,
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

#[derive(Debug, Clone, Deserialize)]
pub struct CorsSettings {
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    pub enabled: bool,
    pub general_burst: u32,
    pub general_period_ms: u64,
    pub auth_burst: u32,
    pub auth_period_ms: u64,
    pub contact_burst: u32,
    pub contact_period_ms: u64,
    /// Everything outside the `/v1` API: `/metrics`, `/`, unknown paths.
    pub other_burst: u32,
    pub other_period_ms: u64,
    /// Failed logins of one email from one client (the pair) before that
    /// pair is locked (shared by all replicas).
    pub login_max_failures: u32,
    /// A pair's failure is forgotten this long after its last one (or the
    /// end of its lock).
    pub login_window_seconds: u64,
    /// A pair's first lock; each further failure doubles it, up to the maximum.
    pub login_lockout_seconds: u64,
    pub login_lockout_max_seconds: u64,
    /// Failures of one email from all clients together after which every
    /// attempt on it is delayed: `login_email_delay_ms` for each failure from
    /// this one on, up to `login_email_delay_max_ms`.
    pub login_email_slow_after: u32,
    pub login_email_delay_ms: u64,
    pub login_email_delay_max_ms: u64,
    /// Failures of one email from all clients together that lock it for
    /// every client, for `login_email_lockout_seconds`.
    pub login_email_max_failures: u32,
    pub login_email_lockout_seconds: u64,
    /// An email's count is forgotten this long after its last failure (or
    /// the end of its lock).
    pub login_email_window_seconds: u64,
    pub trusted_proxies: Vec<ProxyRange>,
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
    fn validate(&self) -> Result<(), String> {
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

/// Pictures: profile photos and receipts (see `crate::images`).
#[derive(Debug, Clone, Deserialize)]
pub struct ImageSettings {
    /// Largest upload, decoded (a data URI's base64 is a third larger).
    pub max_upload_bytes: usize,
    /// Largest image accepted, in pixels (width × height), checked from the
    /// header before anything is decoded.
    pub max_pixels: u64,
    /// Memory that decoding may use at once, all uploads together; an upload
    /// waits for its share, and one that alone needs more is refused.
    pub decode_memory_mib: u32,
    /// Decodes running at once (on blocking threads, never the API's workers).
    pub decode_concurrency: usize,
    /// Longest side of a stored avatar and of a stored receipt, in pixels.
    pub avatar_max_side: u32,
    pub receipt_max_side: u32,
    /// Bytes of stored pictures a user may own (avatar and receipts).
    pub quota_bytes_per_user: u64,
    /// Per user, on top of the general limit: a burst, then one upload
    /// every `upload_period_ms`.
    pub upload_burst: u32,
    pub upload_period_ms: u64,
    /// `https://api.example.com`: picture URLs in responses become absolute.
    /// Empty: they are paths (`/v1/images/<id>`).
    pub public_base_url: String,
    /// How often stored bytes no picture refers to are looked for and removed
    /// (also once at startup).
    pub sweep_interval_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub level: String,
    pub format: String,
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
/// variables. Validation runs on the result.
pub fn load(dir: &std::path::Path, environment: Environment) -> Result<Settings, String> {
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
    let mut settings: Settings = builder
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| format!("Invalid configuration in {}: {e}", dir.display()))?;
    settings.environment = environment;
    let operator_name = std::env::var("APP__DATABASE__NAME").ok();
    settings.database.name = database_name(
        operator_name.as_deref(),
        settings.database.uri.expose_secret(),
        &settings.database.name,
    );
    settings.validate()?;
    Ok(settings)
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

/// The JWT secrets of `config/local.toml` and `config/test.toml`: public
/// (they are in the repository), so a server outside those environments
/// refuses to start with one (a unit test keeps this list equal to the files).
const DEVELOPMENT_JWT_SECRETS: [&str; 2] = [
    "local-development-secret-not-for-production-use",
    "test-secret-test-secret-test-secret-0123",
];

impl Settings {
    /// Rules that make the server refuse to start rather than run unsafely.
    pub fn validate(&self) -> Result<(), String> {
        let secret = self.jwt.secret.as_ref().map(|s| s.expose_secret());
        let secret_len = secret.map_or(0, str::len);
        if secret_len == 0 {
            return Err("No JWT secret configured: set APP__JWT__SECRET or JWT_SECRET".into());
        }
        let development = matches!(self.environment, Environment::Local | Environment::Test);
        if !development && secret.is_some_and(|s| DEVELOPMENT_JWT_SECRETS.contains(&s.trim())) {
            return Err(format!(
                "The JWT secret is a development secret from the repository (config/local.toml or \
                 config/test.toml); it is refused in {}: set a secret of your own in \
                 APP__JWT__SECRET or JWT_SECRET",
                self.environment.as_str()
            ));
        }
        if self.environment == Environment::Production && secret_len < 32 {
            return Err("The JWT secret must be at least 32 bytes in production".into());
        }
        if self.database.uri.expose_secret().trim().is_empty() {
            return Err("No database URI configured: set APP__DATABASE__URI or MONGO_URL".into());
        }
        if !(4..=31).contains(&self.auth.bcrypt_cost) {
            return Err("auth.bcrypt_cost must be between 4 and 31".into());
        }
        if self.environment == Environment::Production && self.auth.bcrypt_cost < 10 {
            return Err("auth.bcrypt_cost below 10 is not allowed in production".into());
        }
        if !(1..=10_000).contains(&self.database.upgrade_batch_size) {
            return Err("database.upgrade_batch_size must be between 1 and 10000".into());
        }
        let w = self.database.write_concern.as_str();
        if w != "majority" && !w.parse::<u32>().is_ok_and(|n| (1..=50).contains(&n)) {
            return Err(
                "database.write_concern must be \"majority\" or a member count from 1 to 50 \
                 (unacknowledged writes are never allowed)"
                    .into(),
            );
        }
        if self.environment == Environment::Production
            && (w != "majority" || !self.database.journal)
        {
            tracing::warn!(
                write_concern = w,
                journal = self.database.journal,
                "production without majority, journaled writes: a database failure can lose acknowledged writes"
            );
        }
        crate::auth::jwt::parse_expires_in(&self.jwt.expires_in)
            .map_err(|e| format!("jwt.expires_in: {e}"))?;
        let rl = &self.rate_limit;
        if [
            rl.general_burst,
            rl.auth_burst,
            rl.contact_burst,
            rl.other_burst,
        ]
        .contains(&0)
            || [
                rl.general_period_ms,
                rl.auth_period_ms,
                rl.contact_period_ms,
                rl.other_period_ms,
            ]
            .contains(&0)
        {
            return Err("rate_limit bursts and periods must be positive".into());
        }
        rl.validate_login_lockout()?;
        self.server.validate()?;
        self.sessions.validate()?;
        self.images.validate()
    }
}

impl ImageSettings {
    fn validate(&self) -> Result<(), String> {
        const MIB: usize = 1 << 20;
        if !(1024..=64 * MIB).contains(&self.max_upload_bytes) {
            return Err("images.max_upload_bytes must be between 1024 and 67108864".into());
        }
        if !(16..=4096).contains(&self.decode_memory_mib) {
            return Err("images.decode_memory_mib must be between 16 and 4096".into());
        }
        if !(1..=64).contains(&self.decode_concurrency) {
            return Err("images.decode_concurrency must be between 1 and 64".into());
        }
        if self.max_pixels == 0 {
            return Err("images.max_pixels must be positive".into());
        }
        for (name, side) in [
            ("avatar_max_side", self.avatar_max_side),
            ("receipt_max_side", self.receipt_max_side),
        ] {
            if !(16..=8192).contains(&side) {
                return Err(format!("images.{name} must be between 16 and 8192"));
            }
        }
        if self.upload_burst == 0 || self.upload_period_ms == 0 {
            return Err("images.upload_burst and upload_period_ms must be positive".into());
        }
        if self.sweep_interval_seconds == 0 {
            return Err("images.sweep_interval_seconds must be positive".into());
        }
        let base = self.public_base_url.trim();
        let scheme = base.starts_with("https://") || base.starts_with("http://");
        if !base.is_empty() && (!scheme || base.ends_with('/')) {
            return Err(
                "images.public_base_url must be empty or an http(s):// URL without a trailing /"
                    .into(),
            );
        }
        Ok(())
    }
}

impl RateLimitSettings {
    fn validate_login_lockout(&self) -> Result<(), String> {
        const DAY: u64 = 86_400;
        if !(1..=1000).contains(&self.login_max_failures) {
            return Err("rate_limit.login_max_failures must be between 1 and 1000".into());
        }
        if !(1..=DAY).contains(&self.login_window_seconds) {
            return Err("rate_limit.login_window_seconds must be between 1 and 86400".into());
        }
        if !(1..=DAY).contains(&self.login_lockout_max_seconds)
            || !(1..=self.login_lockout_max_seconds).contains(&self.login_lockout_seconds)
        {
            return Err(
                "rate_limit.login_lockout_seconds must be at least 1 and at most \
                 rate_limit.login_lockout_max_seconds, itself at most 86400"
                    .into(),
            );
        }
        if !(1..=100_000).contains(&self.login_email_max_failures)
            || self.login_email_slow_after > 100_000
        {
            return Err(
                "rate_limit.login_email_max_failures must be between 1 and 100000, \
                 rate_limit.login_email_slow_after at most 100000"
                    .into(),
            );
        }
        // A delay holds the request: a minute at most.
        if self.login_email_delay_ms > 60_000 || self.login_email_delay_max_ms > 60_000 {
            return Err(
                "rate_limit.login_email_delay_ms and login_email_delay_max_ms must be at most 60000"
                    .into(),
            );
        }
        if !(1..=DAY).contains(&self.login_email_window_seconds)
            || !(1..=DAY).contains(&self.login_email_lockout_seconds)
        {
            return Err(
                "rate_limit.login_email_window_seconds and login_email_lockout_seconds must be \
                 between 1 and 86400"
                    .into(),
            );
        }
        Ok(())
    }
}

/// A trusted proxy: one address (`10.0.0.7`) or a range (`10.0.0.0/8`), as
/// load balancers and ingress controllers come from address ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct ProxyRange(IpNet);

impl ProxyRange {
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.contains(ip)
    }
}

impl TryFrom<String> for ProxyRange {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let s = s.trim();
        s.parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map(Self)
            .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))
    }
}

impl std::str::FromStr for ProxyRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::try_from(s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(environment: Environment) -> Settings {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut s = load(&dir, Environment::Test).expect("test config loads");
        s.environment = environment;
        s
    }

    #[test]
    fn test_configuration_is_valid() {
        assert!(settings(Environment::Test).validate().is_ok());
    }

    #[test]
    fn production_requires_a_long_jwt_secret() {
        let mut s = settings(Environment::Production);
        s.auth.bcrypt_cost = 12;
        s.jwt.secret = None;
        assert!(s.validate().unwrap_err().contains("No JWT secret"));
        s.jwt.secret = Some(SecretString::from("short-secret"));
        assert!(s.validate().unwrap_err().contains("at least 32 bytes"));
        s.jwt.secret = Some(SecretString::from("x".repeat(32)));
        assert!(s.validate().is_ok());
    }

    #[test]
    fn production_refuses_cheap_bcrypt_and_missing_database() {
        let mut s = settings(Environment::Production);
        s.jwt.secret = Some(SecretString::from("x".repeat(40)));
        s.auth.bcrypt_cost = 4;
        assert!(s.validate().is_err());
        s.auth.bcrypt_cost = 12;
        s.database.uri = SecretString::from(" ");
        assert!(s.validate().unwrap_err().contains("database URI"));
    }

    /// The JWT secret a development config file sets.
    fn file_secret(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("config")
            .join(name);
        config::Config::builder()
            .add_source(config::File::from(path))
            .build()
            .and_then(|c| c.get_string("jwt.secret"))
            .unwrap_or_else(|e| panic!("{name}: no jwt.secret: {e}"))
    }

    #[test]
    fn development_secrets_are_refused_outside_development() {
        for file in ["local.toml", "test.toml"] {
            let secret = file_secret(file);
            assert!(
                DEVELOPMENT_JWT_SECRETS.contains(&secret.as_str()),
                "{file}'s secret is missing from DEVELOPMENT_JWT_SECRETS"
            );
            for environment in [Environment::Local, Environment::Test] {
                let mut s = settings(environment);
                s.jwt.secret = Some(SecretString::from(secret.clone()));
                assert!(s.validate().is_ok(), "{file} in {environment:?}");
            }
            let mut s = settings(Environment::Production);
            s.auth.bcrypt_cost = 12;
            s.jwt.secret = Some(SecretString::from(format!(" {secret}\n")));
            let e = s.validate().unwrap_err();
            assert!(
                e.contains("development secret") && e.contains("production"),
                "{file}: {e}"
            );
        }
        // What the test configuration loads, as it is, is refused too.
        let mut s = settings(Environment::Production);
        s.auth.bcrypt_cost = 12;
        assert!(s.validate().unwrap_err().contains("development secret"));
    }

    #[test]
    fn server_limits_and_the_admin_port_are_checked() {
        type Tweak = fn(&mut ServerSettings);
        let bad: [Tweak; 5] = [
            |s| s.body_read_timeout_ms = 10,
            |s| s.large_body_memory_mib = 0,
            |s| s.large_body_wait_ms = 600_000,
            |s| s.admin_host = " ".into(),
            |s| {
                s.port = 3000;
                s.admin_port = 3000;
            },
        ];
        for (i, tweak) in bad.iter().enumerate() {
            let mut s = settings(Environment::Test);
            tweak(&mut s.server);
            let e = s.validate().unwrap_err();
            assert!(e.contains("server."), "case {i}: {e}");
        }
        let mut s = settings(Environment::Test);
        (s.server.port, s.server.admin_port) = (0, 0);
        assert!(s.validate().is_ok(), "both on free ports (tests)");
    }

    #[test]
    fn bad_values_are_refused() {
        let mut s = settings(Environment::Test);
        s.jwt.expires_in = "forever".into();
        assert!(s.validate().is_err());
        let mut s = settings(Environment::Test);
        s.rate_limit.auth_burst = 0;
        assert!(s.validate().is_err());
        let mut s = settings(Environment::Test);
        s.rate_limit.other_period_ms = 0;
        assert!(s.validate().is_err());
    }

    #[test]
    fn login_lockout_settings_are_bounded() {
        type Tweak = fn(&mut RateLimitSettings);
        let bad: [Tweak; 11] = [
            |r| r.login_max_failures = 0,
            |r| r.login_window_seconds = 0,
            |r| r.login_lockout_seconds = 0,
            |r| r.login_lockout_seconds = r.login_lockout_max_seconds + 1,
            |r| r.login_lockout_max_seconds = 86_401,
            |r| r.login_email_max_failures = 0,
            |r| r.login_email_slow_after = 100_001,
            |r| r.login_email_delay_ms = 60_001,
            |r| r.login_email_delay_max_ms = 60_001,
            |r| r.login_email_window_seconds = 0,
            |r| r.login_email_lockout_seconds = 86_401,
        ];
        for (i, tweak) in bad.iter().enumerate() {
            let mut s = settings(Environment::Test);
            tweak(&mut s.rate_limit);
            let e = s.validate().unwrap_err();
            assert!(e.contains("rate_limit.login_"), "case {i}: {e}");
        }
    }

    #[test]
    fn database_name_comes_from_operator_then_uri_then_files() {
        let old = "mongodb://db.internal:27017/coinbreakr?retryWrites=true";
        assert_eq!(database_name(None, old, "splitlyr_local"), "coinbreakr");
        assert_eq!(database_name(Some("other"), old, "splitlyr_local"), "other");
        assert_eq!(database_name(Some(" "), old, "x"), "coinbreakr");
        for bare in [
            "mongodb://127.0.0.1:27017/?directConnection=true",
            "mongodb://127.0.0.1:27017",
            "mongodb://u:p@h1,h2/?replicaSet=rs",
        ] {
            assert_eq!(
                database_name(None, bare, "splitlyr_local"),
                "splitlyr_local"
            );
            assert_eq!(database_name(None, bare, ""), "splitlyr");
        }
        assert_eq!(
            database_name(
                None,
                "mongodb+srv://u:p@cluster0.example.net/coinbreakr",
                ""
            ),
            "coinbreakr"
        );
    }

    #[test]
    fn environment_names() {
        assert_eq!(
            Environment::try_from("PRODUCTION".to_string()),
            Ok(Environment::Production)
        );
        assert!(Environment::try_from("staging".to_string()).is_err());
    }
}
