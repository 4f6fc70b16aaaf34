//! Expense categories: the codes stored and returned, and the labels the
//! app's expense edit screen sends ("Food & Dining", "Bills & Utilities", ...).

use std::fmt;

/// The category of an expense; stored and returned as its [`code`](Self::code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Food,
    Transport,
    Entertainment,
    Shopping,
    Utilities,
    Travel,
    Groceries,
    Healthcare,
    Education,
    Other,
}

impl Category {
    pub const ALL: [Category; 10] = [
        Category::Food,
        Category::Transport,
        Category::Entertainment,
        Category::Shopping,
        Category::Utilities,
        Category::Travel,
        Category::Groceries,
        Category::Healthcare,
        Category::Education,
        Category::Other,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Category::Food => "food",
            Category::Transport => "transport",
            Category::Entertainment => "entertainment",
            Category::Shopping => "shopping",
            Category::Utilities => "utilities",
            Category::Travel => "travel",
            Category::Groceries => "groceries",
            Category::Healthcare => "healthcare",
            Category::Education => "education",
            Category::Other => "other",
        }
    }

    /// The label the app's edit screen offers for this category.
    pub const fn label(self) -> &'static str {
        match self {
            Category::Food => "Food & Dining",
            Category::Transport => "Transportation",
            Category::Entertainment => "Entertainment",
            Category::Shopping => "Shopping",
            Category::Utilities => "Bills & Utilities",
            Category::Travel => "Travel",
            Category::Groceries => "Groceries",
            Category::Healthcare => "Healthcare",
            Category::Education => "Education",
            Category::Other => "Other",
        }
    }

    /// A code or a label, ignoring case and surrounding or repeated spaces.
    pub fn parse(raw: &str) -> Result<Category, UnknownCategory> {
        let wanted = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        Category::ALL
            .into_iter()
            .find(|c| c.is_named(&wanted))
            .ok_or(UnknownCategory)
    }

    /// `name` is this category's code or label, in any case.
    fn is_named(self, name: &str) -> bool {
        name.eq_ignore_ascii_case(self.code()) || name.eq_ignore_ascii_case(self.label())
    }
}

/// An expense's category as stored: one of ours, or — in a document the old
/// server wrote, which the upgrade keeps as it was — that server's own text
/// (it accepted any). Written and read as the text itself, so stored
/// documents and answers are unchanged; requests only ever make a
/// [`Category`] (`Category::parse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredCategory {
    Known(Category),
    Legacy(String),
}

impl StoredCategory {
    /// What is stored and shown: the code, or the old text as it was.
    pub fn as_str(&self) -> &str {
        match self {
            StoredCategory::Known(c) => c.code(),
            StoredCategory::Legacy(text) => text,
        }
    }

    /// Stored text: one of our codes exactly, else kept as it is.
    pub fn from_stored(text: String) -> Self {
        match Category::ALL.into_iter().find(|c| c.code() == text) {
            Some(c) => StoredCategory::Known(c),
            None => StoredCategory::Legacy(text),
        }
    }
}

impl From<Category> for StoredCategory {
    fn from(c: Category) -> Self {
        StoredCategory::Known(c)
    }
}

impl serde::Serialize for StoredCategory {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for StoredCategory {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <String as serde::Deserialize>::deserialize(d).map(StoredCategory::from_stored)
    }
}

/// Neither a code nor a label; `Display` is the sentence shown in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownCategory;

impl fmt::Display for UnknownCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<&str> = Category::ALL.iter().map(|c| c.code()).collect();
        write!(f, "Category must be one of: {}", codes.join(", "))
    }
}

impl std::error::Error for UnknownCategory {}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(raw: &str) -> Result<&'static str, UnknownCategory> {
        Category::parse(raw).map(Category::code)
    }

    #[test]
    fn codes_parse_to_themselves_in_any_case() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.code()), Ok(c));
            assert_eq!(Category::parse(&c.code().to_uppercase()), Ok(c));
        }
        assert_eq!(code(" Transport "), Ok("transport"));
    }

    #[test]
    fn the_edit_screen_labels_map_to_codes() {
        let labels = [
            ("Food & Dining", "food"),
            ("Transportation", "transport"),
            ("Shopping", "shopping"),
            ("Entertainment", "entertainment"),
            ("Bills & Utilities", "utilities"),
            ("Travel", "travel"),
            ("Healthcare", "healthcare"),
            ("Education", "education"),
            ("Groceries", "groceries"),
            ("Other", "other"),
        ];
        for (label, expected) in labels {
            assert_eq!(code(label), Ok(expected), "{label}");
        }
        assert_eq!(code("  food &  dining "), Ok("food"));
        assert_eq!(code("BILLS & UTILITIES"), Ok("utilities"));
        assert_eq!(code("\tTransportation\n"), Ok("transport"));
    }

    #[test]
    fn anything_else_is_refused_with_the_codes_listed() {
        for bad in [
            "",
            "bribes",
            "Food &",
            "Food and Dining",
            "food&dining",
            "Bills",
        ] {
            assert_eq!(Category::parse(bad), Err(UnknownCategory), "{bad:?}");
        }
        assert_eq!(
            UnknownCategory.to_string(),
            "Category must be one of: food, transport, entertainment, shopping, utilities, \
             travel, groceries, healthcare, education, other"
        );
    }

    #[test]
    fn stored_text_reads_as_ours_or_as_it_was() {
        assert_eq!(
            StoredCategory::from_stored("food".into()),
            StoredCategory::Known(Category::Food)
        );
        // A label or another case is not what we store: the old server's text.
        let legacy = StoredCategory::from_stored("Food".into());
        assert_eq!(legacy, StoredCategory::Legacy("Food".into()));
        assert_eq!(legacy.as_str(), "Food");
        let json = serde_json::to_string(&StoredCategory::from(Category::Travel)).unwrap();
        assert_eq!(json, r#""travel""#);
        let back: StoredCategory = serde_json::from_str(r#""misc""#).unwrap();
        assert_eq!(back.as_str(), "misc");
    }

    #[test]
    fn every_code_and_label_names_one_category() {
        for a in Category::ALL {
            for name in [a.code(), a.label()] {
                let owners: Vec<Category> = Category::ALL
                    .into_iter()
                    .filter(|b| b.is_named(name))
                    .collect();
                assert_eq!(owners, [a], "{name}");
            }
        }
    }
}
