//! Bounded, trimmed text fields (names, descriptions, phone numbers).

/// Trims `raw` and checks its length in characters is within `min..=max`.
/// `label` names the field in the message the app shows.
pub fn bounded(raw: &str, label: &str, min: usize, max: usize) -> Result<String, String> {
    let value = raw.trim();
    let len = value.chars().count();
    if len < min {
        return Err(if min <= 1 {
            format!("{label} is required")
        } else {
            format!("{label} must be at least {min} characters")
        });
    }
    if len > max {
        return Err(format!("{label} cannot be more than {max} characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(format!("{label} contains invalid characters"));
    }
    Ok(value.to_string())
}

/// Phone numbers: digits with optional leading `+` and common separators,
/// 5–20 digits. Stored as typed, trimmed.
pub fn phone(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value.char_indices().all(|(i, c)| {
        c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.') || (c == '+' && i == 0)
    });
    if allowed && (5..=20).contains(&digits) {
        Ok(value.to_string())
    } else {
        Err("Please provide a valid phone number".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_trims_and_checks_length() {
        assert_eq!(bounded("  Trip ", "Name", 1, 50).unwrap(), "Trip");
        assert_eq!(
            bounded("   ", "Name", 1, 50).unwrap_err(),
            "Name is required"
        );
        assert!(bounded(&"x".repeat(51), "Name", 1, 50).is_err());
        assert!(bounded(&"é".repeat(50), "Name", 1, 50).is_ok());
        assert!(bounded("a\u{0}b", "Name", 1, 50).is_err());
    }

    #[test]
    fn phone_numbers() {
        assert!(phone("+1 (555) 010-9999").is_ok());
        assert!(phone("12").is_err());
        assert!(phone("555-abc-1234").is_err());
        assert!(phone("1+5551234").is_err());
    }
}
