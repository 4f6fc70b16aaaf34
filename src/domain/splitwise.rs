//! Splitwise's per-group CSV export, the format Splitlyr imports and
//! writes back (`GET /v1/groups/:id/export.csv`):
//!
//! ```text
//! Date,Description,Category,Cost,Currency,<one column per member>
//!
//! 2026-03-01,Dinner,Dining out,60.00,USD,40.00,-20.00,-20.00
//! 2026-03-02,Bo paid Al,Payment,20.00,USD,-20.00,20.00,0.00
//!
//! 2026-12-07,Total balance, , ,USD,20.00,0.00,-20.00
//! ```
//!
//! A member's cell is their net in that row (what they paid minus their
//! share), in major units with the currency's decimals; a `Payment` row is
//! money handed from the member with the positive net to the one with the
//! negative net (amounts as `money::format_signed` writes them). This
//! module owns the fixed columns, the category names in both directions and
//! the spreadsheet-formula guard of text cells; reading a file and what each row books is
//! [`super::splitwise_import`], importing one `app::imports`, writing one
//! `app::exports`.

use std::borrow::Cow;

use super::category::Category;

/// The columns before the members'.
pub const FIXED_COLUMNS: [&str; 5] = ["Date", "Description", "Category", "Cost", "Currency"];
/// The description of the closing rows, one per currency.
pub const TOTAL_BALANCE: &str = "Total balance";
/// The category of a payment row.
pub const PAYMENT: &str = "Payment";

/// Splitwise's categories (its subcategory names, as the export writes
/// them, and its parent names) that have a counterpart here; any other
/// becomes `other`, its name kept by the importer.
const FROM_SPLITWISE: &[(&str, Category)] = &[
    ("Dining out", Category::Food),
    ("Food and drink", Category::Food),
    ("Liquor", Category::Food),
    ("Groceries", Category::Groceries),
    ("Transportation", Category::Transport),
    ("Bicycle", Category::Transport),
    ("Bus/train", Category::Transport),
    ("Car", Category::Transport),
    ("Gas/fuel", Category::Transport),
    ("Parking", Category::Transport),
    ("Taxi", Category::Transport),
    ("Travel", Category::Travel),
    ("Hotel", Category::Travel),
    ("Plane", Category::Travel),
    ("Entertainment", Category::Entertainment),
    ("Games", Category::Entertainment),
    ("Movies", Category::Entertainment),
    ("Music", Category::Entertainment),
    ("Sports", Category::Entertainment),
    ("Utilities", Category::Utilities),
    ("Electricity", Category::Utilities),
    ("Heat/gas", Category::Utilities),
    ("Water", Category::Utilities),
    ("TV/Phone/Internet", Category::Utilities),
    ("Trash", Category::Utilities),
    ("Shopping", Category::Shopping),
    ("Clothing", Category::Shopping),
    ("Electronics", Category::Shopping),
    ("Furniture", Category::Shopping),
    ("Household supplies", Category::Shopping),
    ("Medical expenses", Category::Healthcare),
    ("Healthcare", Category::Healthcare),
    ("Education", Category::Education),
    ("General", Category::Other),
    ("Other", Category::Other),
];

/// Ours for a Splitwise category name (case and spaces ignored), also
/// accepting our own codes and labels; None when there is none.
pub fn category_from_splitwise(name: &str) -> Option<Category> {
    let wanted = name.split_whitespace().collect::<Vec<_>>().join(" ");
    FROM_SPLITWISE
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&wanted))
        .map(|(_, c)| *c)
        .or_else(|| Category::parse(&wanted).ok())
}

/// The Splitwise name written for one of ours (it imports back as it).
pub const fn splitwise_category(c: Category) -> &'static str {
    match c {
        Category::Food => "Dining out",
        Category::Transport => "Transportation",
        Category::Entertainment => "Entertainment",
        Category::Shopping => "Shopping",
        Category::Utilities => "Utilities",
        Category::Travel => "Travel",
        Category::Groceries => "Groceries",
        Category::Healthcare => "Medical expenses",
        Category::Education => "Education",
        Category::Other => "General",
    }
}

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A text cell safe to open in a spreadsheet: one starting like a formula
/// gets a leading `'` (shown as text, never executed). Amount cells are
/// written by us as numbers and never pass through here.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_START) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The text of a cell [`neutralize`] guarded, as it was.
pub fn unneutralize(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_of_ours_imports_back_as_itself() {
        for c in Category::ALL {
            assert_eq!(category_from_splitwise(splitwise_category(c)), Some(c));
            assert_eq!(category_from_splitwise(c.code()), Some(c));
        }
        assert_eq!(
            category_from_splitwise("  gas/FUEL "),
            Some(Category::Transport)
        );
        assert_eq!(category_from_splitwise("Pets"), None);
    }

    #[test]
    fn formula_cells_are_guarded_and_read_back() {
        for cell in ["=1+1", "+A1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            let guarded = neutralize(cell);
            assert_eq!(guarded, format!("'{cell}"));
            assert_eq!(unneutralize(&guarded), cell);
        }
        assert_eq!(neutralize("Taxi, airport"), "Taxi, airport");
        assert_eq!(unneutralize("'quoted"), "'quoted");
    }
}
