//! HS256 tokens carrying the user id in the `id` claim, as the old server issued.

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
    iat: u64,
    exp: u64,
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
    pub fn new(secret: &SecretString, expires_in: &str) -> Result<Self, String> {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            ttl: parse_expires_in(expires_in)?,
        })
    }

    pub fn issue(&self, user_id: ObjectId) -> Result<String, ApiError> {
        let iat = now_secs();
        let claims = Claims {
            id: user_id.to_hex(),
            iat,
            exp: iat + self.ttl.as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// The user id inside a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Result<ObjectId, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::unauthorized("Token expired"),
                _ => ApiError::unauthorized("Invalid token"),
            })?;
        ObjectId::parse_str(&data.claims.id).map_err(|_| ApiError::unauthorized("Invalid token"))
    }

    /// A token with an arbitrary expiry, for tests of expiry handling.
    pub fn issue_with_exp(&self, user_id: ObjectId, exp: u64) -> Result<String, ApiError> {
        let claims = Claims {
            id: user_id.to_hex(),
            iat: now_secs(),
            exp,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(
            &SecretString::from("0123456789abcdef0123456789abcdef"),
            "2d",
        )
        .unwrap()
    }

    #[test]
    fn expires_in_forms() {
        assert_eq!(
            parse_expires_in("2d").unwrap(),
            Duration::from_secs(172_800)
        );
        assert_eq!(
            parse_expires_in("12h").unwrap(),
            Duration::from_secs(43_200)
        );
        assert_eq!(parse_expires_in("3600").unwrap(), Duration::from_secs(3600));
        for bad in ["", "d", "2y", "0", "-5", "99999999999999999999w"] {
            assert!(parse_expires_in(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn round_trip_and_tamper() {
        let k = keys();
        let id = ObjectId::new();
        let token = k.issue(id).unwrap();
        assert_eq!(k.verify(&token).unwrap(), id);
        let other = JwtKeys::new(
            &SecretString::from("another-secret-another-secret-xx"),
            "2d",
        )
        .unwrap();
        assert!(
            matches!(other.verify(&token), Err(ApiError::Unauthorized { message, .. }) if message == "Invalid token")
        );
    }

    #[test]
    fn expired_token_is_reported_as_expired() {
        let k = keys();
        let token = k.issue_with_exp(ObjectId::new(), now_secs() - 10).unwrap();
        assert!(
            matches!(k.verify(&token), Err(ApiError::Unauthorized { message, .. }) if message == "Token expired")
        );
    }
}
