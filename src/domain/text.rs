//! Bounded, trimmed text fields (names, descriptions, phone numbers).

/// Trims `raw` and checks its length in characters is within `min..=max`.
/// `label` names the field in the message the app shows. A value that shows
/// nothing (only spaces and [invisible] characters) is empty.
pub fn bounded(raw: &str, label: &str, min: usize, max: usize) -> Result<String, String> {
    let value = raw.trim();
    let value = if value.chars().all(invisible) {
        ""
    } else {
        value
    };
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

/// Characters that show nothing, which people paste to get a name that looks
/// empty: whitespace, Unicode's `Default_Ignorable_Code_Point` set (as of
/// Unicode 15; zero-width and bidi controls, fillers, variation selectors,
/// tags) and the braille blank. Listed explicitly so the set is reviewable;
/// the other `Cf` characters (Arabic number signs, ...) are visible.
pub fn invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(c,
            '\u{00AD}'                    // soft hyphen
            | '\u{034F}'                  // combining grapheme joiner
            | '\u{061C}'                  // Arabic letter mark
            | '\u{115F}' | '\u{1160}'     // Hangul choseong/jungseong fillers
            | '\u{17B4}' | '\u{17B5}'     // Khmer inherent vowels
            | '\u{180B}'..='\u{180F}'     // Mongolian variation selectors, vowel separator
            | '\u{200B}'..='\u{200F}'     // zero-width space, (non-)joiner, LRM, RLM
            | '\u{202A}'..='\u{202E}'     // bidi embeddings and overrides
            | '\u{2060}'..='\u{206F}'     // word joiner, invisible operators, bidi isolates
            | '\u{2800}'                  // braille pattern blank
            | '\u{3164}'                  // Hangul filler
            | '\u{FE00}'..='\u{FE0F}'     // variation selectors
            | '\u{FEFF}'                  // zero-width no-break space (BOM)
            | '\u{FFA0}'                  // halfwidth Hangul filler
            | '\u{FFF0}'..='\u{FFF8}'     // reserved default-ignorables
            | '\u{1BCA0}'..='\u{1BCA3}'   // shorthand format controls
            | '\u{1D173}'..='\u{1D17A}'   // musical symbol format controls
            | '\u{E0000}'..='\u{E0FFF}'   // tags, variation selectors supplement
        )
}

/// Phone numbers: digits with optional leading `+` and common separators,
/// 5–20 digits. Stored as typed, trimmed.
pub fn phone(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value.char_indices().all(|(i, c)| {
        c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.') || (c == '+' && i == 0)
    });
    // At most 32 characters in all: the digits are bounded, and so must be
    // the separators (a phone is stored, indexed and echoed back).
    if allowed && (5..=20).contains(&digits) && value.chars().count() <= 32 {
        Ok(value.to_string())
    } else {
        Err("Please provide a valid phone number".into())
    }
}

/// A name folded for prefix search: trimmed, lower case, runs of spaces as
/// one, so "  Ann  Lee" is found by "ann l".
pub fn search_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The exclusive upper end of the keys that start with `prefix`: the prefix
/// followed by the highest code point, which sorts (as UTF-8 bytes) after
/// every continuation of it.
pub fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_bounded() {
        assert!(phone("+1 (555) 010-2222").is_ok());
        assert!(
            phone(&format!("1234 5{}", " ".repeat(30))).is_ok(),
            "trimmed"
        );
        assert!(phone(&format!("12{}345", "-".repeat(40))).is_err());
    }

    #[test]
    fn search_keys_fold_case_and_spaces() {
        assert_eq!(search_key("  Ann   Lee "), "ann lee");
        assert_eq!(search_key("ÉMILE"), "émile");
        let end = prefix_end("ann");
        for name in ["ann", "ann lee", "annabel", "ann\u{FFFF}"] {
            assert!(name >= "ann" && name < end.as_str(), "{name}");
        }
        assert!("ano" > end.as_str());
    }

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
    fn values_that_show_nothing_are_empty() {
        for blank in [
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D}",
            " \u{2060} ",
            "\u{FEFF}",
            "\u{00AD}\u{00AD}",
            "\u{3164}\u{115F}",
            "\u{2800}",
            "\u{E0020}\u{FE0F}",
            "\u{00A0}\u{2003}\u{200B}",
        ] {
            assert_eq!(
                bounded(blank, "Name", 1, 50).unwrap_err(),
                "Name is required",
                "{blank:?}"
            );
            assert_eq!(bounded(blank, "Description", 0, 500).unwrap(), "");
        }
        // Invisible characters inside visible text are kept as they are:
        // emoji sequences need the zero-width joiner.
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        assert_eq!(bounded(family, "Name", 1, 50).unwrap(), family);
        assert_eq!(bounded("Al\u{200B}", "Name", 1, 50).unwrap(), "Al\u{200B}");
    }

    #[test]
    fn the_invisible_set() {
        for c in [
            '\u{200B}', '\u{2060}', '\u{FEFF}', '\u{00AD}', '\u{202E}', ' ', '\u{3000}',
        ] {
            assert!(invisible(c), "{c:?}");
        }
        for c in [
            'a',
            '.',
            '_',
            '\u{00E9}',
            '\u{1F600}',
            '\u{0301}',
            '\u{0661}',
        ] {
            assert!(!invisible(c), "{c:?}");
        }
    }

    #[test]
    fn phone_numbers() {
        assert!(phone("+1 (555) 010-9999").is_ok());
        assert!(phone("12").is_err());
        assert!(phone("555-abc-1234").is_err());
        assert!(phone("1+5551234").is_err());
    }
}
