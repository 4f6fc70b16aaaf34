//! A source row as the expense or payment it becomes.

use mongodb::bson::{oid::ObjectId, DateTime};

use crate::app::expenses::input::parse_date;
use crate::domain::category::{Category, StoredCategory};
use crate::domain::inputs::Description;
use crate::domain::modes::SplitMode;
use crate::domain::money::format_signed;
use crate::domain::splitwise_import::{Booking, SourceRow};
use crate::store::{ExpenseDoc, GroupDoc, Kind, PayerDoc, SplitDoc};

/// The longest description kept (ours); a longer one is cut.
const DESCRIPTION_CHARS: usize = 200;

/// The document `row` (booked as `b`, columns mapped to `people`) becomes
/// in `group`, recorded by `importer`.
pub fn expense_of(
    group: &GroupDoc,
    importer: ObjectId,
    row: &SourceRow,
    b: &Booking,
    people: &[ObjectId],
) -> ExpenseDoc {
    let now = DateTime::now();
    let payment = row.is_payment();
    let kind = if payment {
        Kind::Payment
    } else {
        Kind::Expense
    };
    let amount: i64 = b.payers.iter().map(|p| p.1).sum();
    let payers: Vec<PayerDoc> = b
        .payers
        .iter()
        .map(|&(i, paid)| PayerDoc {
            user: people[i],
            amount: paid,
            weight: None,
        })
        .collect();
    let split_with = b
        .shares
        .iter()
        .map(|&(i, owed)| SplitDoc {
            id: ObjectId::new(),
            user: people[i],
            amount: owed,
            settled: false,
            settled_at: None,
            weight: None,
        })
        .collect();
    let (category, notes) = match crate::domain::splitwise::category_from_splitwise(&row.category) {
        _ if payment => (StoredCategory::Known(Category::Other), None),
        Some(c) => (StoredCategory::Known(c), None),
        None => (
            StoredCategory::Known(Category::Other),
            Some(format!(
                "Splitwise category: {}",
                row.category.chars().take(100).collect::<String>()
            )),
        ),
    };
    let mut doc = ExpenseDoc {
        description: description(&row.description, payment),
        amount,
        currency: row.currency,
        paid_by: payers.first().map_or(importer, |p| p.user),
        payers_split_type: (payers.len() > 1).then_some(SplitMode::Exact),
        payers,
        split_type: SplitMode::Exact,
        split_with,
        category,
        // Checked as YYYY-MM-DD when the row was read.
        date: parse_date(&row.date).unwrap_or(now),
        group: Some(group.id),
        notes,
        // As recorded by hand: a payment leaves nothing to settle.
        is_settled: payment,
        ..ExpenseDoc::blank(kind, ObjectId::new(), importer, now)
    };
    doc.refresh_participants();
    doc
}

/// The row's description by our rules: cut to our length; none → a
/// placeholder.
fn description(text: &str, payment: bool) -> String {
    let cut: String = text.chars().take(DESCRIPTION_CHARS).collect();
    match Description::try_from(cut.as_str()) {
        Ok(d) => d.into_string(),
        Err(_) if payment => "Payment".into(),
        Err(_) => "Imported expense".into(),
    }
}

/// A row as a dry run shows it: what would be stored.
pub fn preview(e: &ExpenseDoc, row: &SourceRow) -> serde_json::Value {
    let money = |minor: i64| format_signed(minor, e.currency);
    serde_json::json!({
        "line": row.line,
        "type": e.kind.code(),
        "description": e.description,
        "amount": money(e.amount),
        "currency": e.currency.code(),
        "date": row.date,
        "category": e.category.as_str(),
        "notes": e.notes,
        "payers": e.payers.iter().map(|p| serde_json::json!({
            "user": p.user.to_hex(), "amount": money(p.amount)
        })).collect::<Vec<_>>(),
        "splitWith": e.split_with.iter().map(|s| serde_json::json!({
            "user": s.user.to_hex(), "amount": money(s.amount)
        })).collect::<Vec<_>>(),
    })
}
