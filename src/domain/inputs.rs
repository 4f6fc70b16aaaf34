//! The bounded text a request carries, each kind one type with one
//! `TryFrom`: parsed at the edge, so a value of the type is always valid
//! (trimmed, within its length, no control or only-invisible characters).
//! The error is the sentence the app shows under the field.

use super::text;

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $label:literal, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MIN: usize = $min;
            pub const MAX: usize = $max;

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl TryFrom<&str> for $name {
            type Error = String;

            fn try_from(raw: &str) -> Result<Self, String> {
                text::bounded(raw, $label, $min, $max).map(Self)
            }
        }
    };
}

bounded_text!(
    /// A person's name (registration, profile, a pending friend).
    UserName, "Name", 1, 50
);
bounded_text!(
    /// A group's name.
    GroupName, "Group name", 1, 100
);
bounded_text!(
    /// A group's description (may be empty).
    GroupDescription, "Description", 0, 500
);
bounded_text!(
    /// An expense's description.
    Description, "Description", 1, 200
);
bounded_text!(
    /// An expense's notes (may be empty).
    Notes, "Notes", 0, 500
);
bounded_text!(
    /// A payment's note (may be empty).
    PaymentNote, "Note", 0, 500
);
bounded_text!(
    /// The first name on a contact-form message.
    FirstName, "First name", 1, 50
);
bounded_text!(
    /// The last name on a contact-form message.
    LastName, "Last name", 1, 50
);
bounded_text!(
    /// The text of a contact-form message.
    MessageText, "Message", 1, 2000
);
bounded_text!(
    /// A comment on an expense or a payment.
    CommentText, "Comment", 1, 1000
);
bounded_text!(
    /// The label of a session's device ("Pixel 8").
    DeviceLabel, "Device", 1, 100
);

/// Shortest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 6;
/// Longest password, in bytes (bcrypt reads no more).
pub const MAX_PASSWORD_BYTES: usize = 72;

/// A new password: at least [`MIN_PASSWORD_CHARS`] characters and at most
/// [`MAX_PASSWORD_BYTES`] bytes. Never trimmed: spaces are part of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl TryFrom<String> for Password {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        if raw.chars().count() < MIN_PASSWORD_CHARS {
            Err(format!(
                "Password must be at least {MIN_PASSWORD_CHARS} characters"
            ))
        } else if raw.len() > MAX_PASSWORD_BYTES {
            Err(format!(
                "Password cannot be longer than {MAX_PASSWORD_BYTES} bytes"
            ))
        } else {
            Ok(Self(raw))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_bounds_and_label() {
        assert_eq!(UserName::try_from("  Ann ").unwrap().as_str(), "Ann");
        assert_eq!(UserName::try_from(" ").unwrap_err(), "Name is required");
        assert_eq!(
            UserName::try_from("x".repeat(51).as_str()).unwrap_err(),
            "Name cannot be more than 50 characters"
        );
        assert!(GroupName::try_from("g".repeat(100).as_str()).is_ok());
        assert_eq!(
            GroupName::try_from("g".repeat(101).as_str()).unwrap_err(),
            "Group name cannot be more than 100 characters"
        );
        assert_eq!(GroupDescription::try_from("").unwrap().as_str(), "");
        assert_eq!(
            Description::try_from("\u{200B}").unwrap_err(),
            "Description is required"
        );
        assert_eq!(
            Description::try_from("d".repeat(201).as_str()).unwrap_err(),
            "Description cannot be more than 200 characters"
        );
        assert!(Notes::try_from("").is_ok());
        assert_eq!(
            PaymentNote::try_from("n".repeat(501).as_str()).unwrap_err(),
            "Note cannot be more than 500 characters"
        );
        assert_eq!(DeviceLabel::try_from("").unwrap_err(), "Device is required");
    }

    #[test]
    fn passwords_count_characters_up_and_bytes_down() {
        assert!(Password::try_from("12345".to_string()).is_err());
        assert!(Password::try_from("ééééé ".to_string()).is_ok());
        assert_eq!(
            Password::try_from("x".repeat(73)).unwrap_err(),
            "Password cannot be longer than 72 bytes"
        );
        assert_eq!(
            format!("{:?}", Password::try_from("secret".to_string()).unwrap()),
            "Password(..)"
        );
    }
}
