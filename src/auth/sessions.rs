//! Refresh tokens: opaque strings `<key>.<secret>`. The key (128 random bits)
//! names the session's family and stays the same through rotations; the
//! secret (256 bits) changes at every refresh and only its SHA-256 is stored.
//!
//! A rotation's new secret is an HMAC of the old token under a key derived
//! from the server's secret: the server can tell a retried refresh (the same
//! old token, within the grace window) the very token it answered the first
//! time without ever storing a token, and nobody without the server's secret
//! can compute a successor.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::configuration::SessionSettings;
use crate::error::ApiError;
use crate::random;
use crate::ratelimit::KeyedLimit;

/// How sessions behave: their lifetime, how many a user may have, the grace
/// window of a retried refresh, the rotation key and the per-session refresh
/// limit.
pub struct SessionPolicy {
    pub rotation: RotationKey,
    /// Sliding: from the last refresh.
    pub ttl: Duration,
    pub max_per_user: u32,
    pub grace: Duration,
    /// Refreshes per session, keyed by the refresh token's key once it is
    /// known to be a session's.
    pub refreshes: KeyedLimit<String>,
}

impl SessionPolicy {
    pub fn new(settings: &SessionSettings, server_secret: &SecretString, limit: bool) -> Self {
        Self {
            rotation: RotationKey::derive(server_secret),
            ttl: Duration::from_secs(settings.refresh_ttl_days * 86_400),
            max_per_user: settings.max_per_user,
            grace: Duration::from_secs(settings.reuse_grace_seconds),
            refreshes: KeyedLimit::new(
                "refreshes of this session",
                limit,
                settings.refresh_burst,
                Duration::from_millis(settings.refresh_period_ms),
            ),
        }
    }
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// A key's length, and a secret's (32 bytes in unpadded base64url).
const KEY_LEN: usize = 32;
const SECRET_LEN: usize = 43;

/// The key rotations are derived with.
#[derive(Clone)]
pub struct RotationKey([u8; 32]);

impl RotationKey {
    /// Derived from the JWT secret under a label of its own, so the two
    /// uses never share a key.
    pub fn derive(server_secret: &SecretString) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(server_secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"splitlyr refresh-token rotation v1");
        Self(mac.finalize().into_bytes().into())
    }
}

/// A refresh token, parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub key: String,
    secret: String,
}

impl std::fmt::Debug for RefreshToken {
    /// Never the secret, in logs or anywhere else.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RefreshToken({}.…)", self.key)
    }
}

impl RefreshToken {
    /// A new family's first token.
    pub fn new() -> Result<Self, ApiError> {
        Ok(Self {
            key: random::hex_id()?,
            secret: B64.encode(random::bytes::<32>()?),
        })
    }

    /// Anything not shaped like one of ours is None (and never reaches the
    /// database).
    pub fn parse(raw: &str) -> Option<Self> {
        let (key, secret) = raw.trim().split_once('.')?;
        let well_formed = random::is_hex_id(key)
            && key.len() == KEY_LEN
            && secret.len() == SECRET_LEN
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| Self {
            key: key.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// What is stored: the SHA-256 of the secret, hex.
    pub fn hash(&self) -> String {
        random::hex(&Sha256::digest(self.secret.as_bytes()))
    }

    /// The token a refresh of this one hands out (always the same one).
    pub fn successor(&self, rotation: &RotationKey) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(&rotation.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(self.key.as_bytes());
        mac.update(b".");
        mac.update(self.secret.as_bytes());
        Self {
            key: self.key.clone(),
            secret: B64.encode(mac.finalize().into_bytes()),
        }
    }

    /// The string the client holds.
    pub fn expose(&self) -> String {
        format!("{}.{}", self.key, self.secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rotation() -> RotationKey {
        RotationKey::derive(&SecretString::from("0123456789abcdef0123456789abcdef"))
    }

    #[test]
    fn tokens_parse_back_and_anything_else_is_refused() {
        let t = RefreshToken::new().unwrap();
        let shown = t.expose();
        assert_eq!(shown.len(), KEY_LEN + 1 + SECRET_LEN);
        assert_eq!(RefreshToken::parse(&shown), Some(t.clone()));
        for bad in [
            "",
            "abc.def",
            &shown.replace('.', ""),
            &format!("{shown}x"),
            &format!("{}.{}", "g".repeat(32), "a".repeat(43)),
            &format!("{}.{}", "a".repeat(32), "*".repeat(43)),
        ] {
            assert_eq!(RefreshToken::parse(bad), None, "{bad}");
        }
        assert!(!format!("{t:?}").contains(&shown[33..]));
    }

    #[test]
    fn a_successor_is_deterministic_keeps_the_key_and_needs_the_server_key() {
        let t = RefreshToken::new().unwrap();
        let next = t.successor(&rotation());
        assert_eq!(next, t.successor(&rotation()));
        assert_eq!(next.key, t.key);
        assert_ne!(next.hash(), t.hash());
        assert_eq!(RefreshToken::parse(&next.expose()), Some(next.clone()));
        let other = RotationKey::derive(&SecretString::from("another-secret-another-secret-xx"));
        assert_ne!(t.successor(&other), next);
        assert_ne!(next.successor(&rotation()), next);
    }
}
