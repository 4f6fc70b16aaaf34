//! The one application state value every handler reads: the store, the
//! services built from settings at startup, and the facts the health
//! endpoints report. Built once in `startup`, shared by the public and the
//! admin listeners.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::auth::sessions::SessionPolicy;
use crate::auth::{JwtKeys, UserStatusCache};
use crate::images::Pictures;
use crate::metrics::Metrics;
use crate::ratelimit::{ClientIp, ClientLimit};
use crate::store::readiness::Readiness;
use crate::store::Store;

pub struct AppState {
    pub store: Store,
    pub pictures: Pictures,
    pub jwt: JwtKeys,
    pub auth: AuthConfig,
    pub status_cache: UserStatusCache,
    pub sessions: SessionPolicy,
    pub info: AppInfo,
    pub readiness: Readiness,
    /// How long an API request waits for the database to become ready
    /// before it is answered 503.
    pub ready_wait: Duration,
    pub metrics: Metrics,
    pub client_ip: ClientIp,
    /// The per-client `/v1/auth` limit that login checks itself.
    pub auth_limit: ClientLimit,
    pub links: Links,
    /// Wakes the recurring-expense scheduler (a series just created or
    /// resumed may be due at once).
    pub recurring_wake: tokio::sync::Notify,
}

/// Process-wide facts the health endpoint reports.
pub struct AppInfo {
    pub started: Instant,
    pub environment: &'static str,
    pub database_name: String,
    pub health_timeout: Duration,
}

/// Tunables handlers read per request.
#[derive(Clone)]
pub struct AuthConfig {
    pub bcrypt_cost: u32,
    /// A hash verified when the email is unknown, so both failures take as long.
    pub dummy_hash: String,
    /// The per-email login lockout; none when rate limiting is off.
    pub login_policy: Option<crate::store::logins::LoginPolicy>,
    /// Whether tokens without a session (the old server's) are accepted.
    pub accept_legacy_tokens: bool,
}

/// How stored picture paths become the URLs clients read: absolute under
/// `images.public_base_url` when one is configured, else as stored. An
/// explicit value passed to whatever renders, so a view built anywhere (a
/// worker, a background task) renders the same links.
#[derive(Clone, Debug, Default)]
pub struct Links {
    public_base: Option<Arc<str>>,
}

impl Links {
    pub fn new(public_base: &str) -> Self {
        let base = public_base.trim();
        Self {
            public_base: (!base.is_empty()).then(|| Arc::from(base)),
        }
    }

    /// `profileImage` as a client reads it: a stored picture's path becomes
    /// absolute when a public base URL is configured; other URLs are as stored.
    pub fn picture(&self, stored: &str) -> String {
        match &self.public_base {
            Some(base) if stored.starts_with(crate::images::IMAGE_PATH) => {
                format!("{base}{stored}")
            }
            _ => stored.to_owned(),
        }
    }

    /// The link of an invite's token: the API path that previews it,
    /// absolute when a public base URL is configured.
    pub fn invite(&self, token: &str) -> String {
        let path = format!("/v1/invites/{token}");
        match &self.public_base {
            Some(base) => format!("{base}{path}"),
            None => path,
        }
    }

    /// The URL of the picture `id`.
    pub fn image(&self, id: &str) -> String {
        self.picture(&format!("{}{id}", crate::images::IMAGE_PATH))
    }
}

#[cfg(test)]
mod tests {
    use super::Links;

    #[test]
    fn picture_links_are_absolute_only_under_a_configured_base() {
        let none = Links::new("  ");
        assert_eq!(none.image("abc"), "/v1/images/abc");
        let base = Links::new("https://api.example.com");
        assert_eq!(base.image("abc"), "https://api.example.com/v1/images/abc");
        assert_eq!(
            base.picture("https://elsewhere.example/p.png"),
            "https://elsewhere.example/p.png"
        );
    }
}
