//! HS256 tokens carrying the user id in the `id` claim, as the old server
//! issued, and the session they belong to in `sid` (tokens issued before
//! sessions, or by the old server, have none).

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use mongodb::bson::oid::ObjectId;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    iat: u64,
    exp: u64,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub user: ObjectId,
    pub session: Option<String>,
    /// `iat`: when it was issued (seconds since the epoch).
    pub issued_at: u64,
}

/// Signing and verification keys plus the token lifetime.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl JwtKeys {
    /// Keys for `secret`, issuing tokens that live `ttl` (`jwt.expires_in`).
    pub fn new(secret: &SecretString, ttl: Duration) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            ttl,
        }
    }

    /// A token of `session` issued at `iat` (seconds since the epoch): the
    /// same arguments give the same token, which lets a retried refresh get
    /// the very pair the first one got.
    pub fn issue(&self, user_id: ObjectId, session: &str, iat: u64) -> Result<String, ApiError> {
        self.sign(&Claims {
            id: user_id.to_hex(),
            sid: Some(session.to_owned()),
            iat,
            exp: iat + self.ttl.as_secs(),
        })
    }

    /// The access token lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The user and session of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Result<Verified, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::unauthorized("Token expired"),
                _ => ApiError::unauthorized("Invalid token"),
            })?;
        let user = ObjectId::parse_str(&data.claims.id)
            .map_err(|_| ApiError::unauthorized("Invalid token"))?;
        Ok(Verified {
            user,
            session: data.claims.sid,
            issued_at: data.claims.iat,
        })
    }

    /// A token without a session, as the old server (and releases before
    /// sessions) issued them.
    pub fn issue_without_session(&self, user_id: ObjectId, exp: u64) -> Result<String, ApiError> {
        self.sign(&Claims {
            id: user_id.to_hex(),
            sid: None,
            iat: now_secs(),
            exp,
        })
    }

    fn sign(&self, claims: &Claims) -> Result<String, ApiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(ApiError::internal)
    }
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_DAYS: Duration = Duration::from_secs(2 * 86_400);

    fn keys() -> JwtKeys {
        JwtKeys::new(
            &SecretString::from("0123456789abcdef0123456789abcdef"),
            TWO_DAYS,
        )
    }

    #[test]
    fn round_trip_and_tamper() {
        let k = keys();
        let id = ObjectId::new();
        let token = k.issue(id, "s1", now_secs()).unwrap();
        let verified = k.verify(&token).unwrap();
        assert_eq!(
            (verified.user, verified.session.as_deref()),
            (id, Some("s1"))
        );
        let legacy = k.issue_without_session(id, now_secs() + 60).unwrap();
        assert_eq!(k.verify(&legacy).unwrap().session, None);
        // Deterministic: a retried refresh gets the same token.
        assert_eq!(
            k.issue(id, "s1", 1_000).unwrap(),
            k.issue(id, "s1", 1_000).unwrap()
        );
        let other = JwtKeys::new(
            &SecretString::from("another-secret-another-secret-xx"),
            TWO_DAYS,
        );
        assert!(
            matches!(other.verify(&token), Err(ApiError::Unauthorized { message, .. }) if message == "Invalid token")
        );
    }

    #[test]
    fn expired_token_is_reported_as_expired() {
        let k = keys();
        let token = k
            .issue_without_session(ObjectId::new(), now_secs() - 10)
            .unwrap();
        assert!(
            matches!(k.verify(&token), Err(ApiError::Unauthorized { message, .. }) if message == "Token expired")
        );
    }
}
