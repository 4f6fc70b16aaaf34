//! Unguessable values from the operating system's generator: picture and
//! session ids, refresh token secrets.

use crate::error::ApiError;

/// `N` random bytes.
pub fn bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(out)
}

/// 128 random bits as 32 lowercase hex digits.
pub fn hex_id() -> Result<String, ApiError> {
    Ok(hex(&bytes::<16>()?))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An id as [`hex_id`] makes them.
pub fn is_hex_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_128_bits_of_hex_and_differ() {
        let (a, b) = (hex_id().unwrap(), hex_id().unwrap());
        assert!(is_hex_id(&a) && is_hex_id(&b));
        assert_ne!(a, b);
        assert!(!is_hex_id("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_hex_id("abc"));
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
