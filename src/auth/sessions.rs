//! Refresh tokens: opaque strings `<key>.<secret>`. The key (128 random bits)
//! names the session's family and stays the same through rotations; the
//! secret (256 bits) changes at every refresh and only its SHA-256 is stored.
//!
//! A rotation's new secret is an HMAC of the old token under a key derived
//! from the server's secret: the server can tell a retried refresh (the same
//! old token, within the grace window) the very token it answered the first
//! time without ever storing a token, and nobody without the server's secret
//! can compute a successor.
//!
//! The same chain tells a rotated token from a forged one without storing
//! the rotated ones: a token the session had `k` rotations ago leads to the
//! current one in `k` successors. Only such a token ends the family when it
//! comes back (someone else holds it); a secret that never belonged to the
//! session is a plain refusal, so knowing a key (it is in the logs) is not
//! enough to log its owner out.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::configuration::SessionSettings;
use crate::error::ApiError;
use crate::random;
use crate::ratelimit::KeyedLimit;

/// How many rotations back a presented token is still recognised as one the
/// session had: a walk of at most this many successors (1.5 µs each, measured
/// in a release build), so a wrong secret costs at most ~15 ms of CPU, a
/// sixteenth of a login's bcrypt.
/// With 15-minute access tokens that is 104 days of refreshes; an older
/// token is refused without ending the session.
pub const REUSE_DEPTH: u32 = 10_000;

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
            ttl: settings.refresh_ttl(),
            max_per_user: settings.max_per_user,
            grace: settings.reuse_grace(),
            refreshes: KeyedLimit::new(
                "refreshes of this session",
                limit,
                settings.refresh_burst,
                settings.refresh_period(),
            ),
        }
    }
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// A key's length, and a secret's (32 bytes in unpadded base64url).
const KEY_LEN: usize = 32;
const SECRET_LEN: usize = 43;

/// The key rotations are derived with, as a keyed HMAC ready to be cloned
/// (the key's padding is hashed once, not at every rotation).
#[derive(Clone)]
pub struct RotationKey(Hmac<Sha256>);

impl RotationKey {
    /// Derived from the JWT secret under a label of its own, so the two
    /// uses never share a key.
    pub fn derive(server_secret: &SecretString) -> Self {
        let mut mac = keyed(server_secret.expose_secret().as_bytes());
        mac.update(b"splitlyr refresh-token rotation v1");
        Self(keyed(&mac.finalize().into_bytes()))
    }
}

fn keyed(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
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

    /// How many rotations ago the session's current token (whose hash is
    /// `current`) was this one: `Some(k)` when `k` successors of this token,
    /// `1 ≤ k ≤ depth`, lead to it. None for any secret that was never in
    /// the chain (a forgery, or older than `depth` rotations).
    pub fn rotations_behind(
        &self,
        rotation: &RotationKey,
        current: &str,
        depth: u32,
    ) -> Option<u32> {
        let mut token = self.successor(rotation);
        for k in 1..=depth {
            if token.hash() == current {
                return Some(k);
            }
            token = token.successor(rotation);
        }
        None
    }

    /// The token a refresh of this one hands out (always the same one).
    pub fn successor(&self, rotation: &RotationKey) -> Self {
        let mut mac = rotation.0.clone();
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

    #[test]
    fn a_rotated_token_is_found_behind_the_current_one_and_a_forged_one_is_not() {
        let r = rotation();
        let first = RefreshToken::new().unwrap();
        let third = first.successor(&r).successor(&r);
        let current = third.successor(&r).hash();
        assert_eq!(third.rotations_behind(&r, &current, 10), Some(1));
        assert_eq!(first.rotations_behind(&r, &current, 10), Some(3));
        assert_eq!(
            first.rotations_behind(&r, &current, 2),
            None,
            "deeper than asked"
        );
        assert_eq!(first.rotations_behind(&r, &current, 0), None);
        let forged = RefreshToken::parse(&format!("{}.{}", first.key, "x".repeat(43))).unwrap();
        assert_eq!(forged.rotations_behind(&r, &current, 1000), None);
        let current_token = third.successor(&r);
        assert_eq!(
            current_token.rotations_behind(&r, &current, 10),
            None,
            "not behind itself"
        );
    }
}
