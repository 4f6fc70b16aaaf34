//! The conversion of one expense the old Node server wrote to Splitlyr's
//! format: amounts from floats in major units to integer minor units, one
//! payer, `participants`. Pure: no database.

use mongodb::bson::{oid::ObjectId, Bson, DateTime, Document};

use crate::domain::category::StoredCategory;
use crate::domain::legacy::convert_amounts;
use crate::domain::money::{format_major, Currency, Decimal};
use crate::store::upgrade::report::{ExpenseCounts, MovedExpense, MovedSplit};
use crate::store::{now, ExpenseDoc, PayerDoc, SplitDoc};

/// What becomes of one old expense document.
pub(super) enum Conversion {
    Converted(Box<ExpenseDoc>, Option<MovedExpense>),
    AlreadyCurrent,
    Unconvertible(String),
}

/// An amount as the old server stored it: a double, an int32/int64 (whole
/// major units), a Decimal128 or a numeric string.
fn old_amount(value: Option<&Bson>) -> Option<(Decimal, String)> {
    let text = match value? {
        Bson::Double(f) if f.is_finite() => format!("{f}"),
        Bson::Int32(n) => n.to_string(),
        Bson::Int64(n) => n.to_string(),
        Bson::Decimal128(d) => d.to_string(),
        Bson::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    Some((Decimal::parse(&text).ok()?, text))
}

fn date_or(doc: &Document, key: &str, fallback: DateTime) -> DateTime {
    doc.get_datetime(key).copied().unwrap_or(fallback)
}

/// Converts one expense written by the old server to Splitlyr's format.
pub(super) fn convert_expense(old: &Document) -> Conversion {
    // Only Splitlyr writes `participants`: such a document was written by a
    // Splitlyr that ran on this database before the upgrade was recorded.
    if old.contains_key("participants") {
        return Conversion::AlreadyCurrent;
    }
    let Ok(id) = old.get_object_id("_id") else {
        return Conversion::Unconvertible("no ObjectId _id".into());
    };
    let Ok(paid_by) = old.get_object_id("paidBy") else {
        return Conversion::Unconvertible("no payer (paidBy)".into());
    };
    let Some((amount, amount_text)) = old_amount(old.get("amount")) else {
        return Conversion::Unconvertible("the amount is not a number".into());
    };
    let currency = old
        .get_str("currency")
        .ok()
        .and_then(|c| Currency::parse(c).ok())
        .unwrap_or(Currency::USD);
    let mut splits = Vec::new();
    for entry in old
        .get_array("splitWith")
        .map(|a| a.as_slice())
        .unwrap_or(&[])
    {
        let Some(split) = entry.as_document() else {
            return Conversion::Unconvertible("a split is not a document".into());
        };
        let (Ok(user), Some((share, text))) =
            (split.get_object_id("user"), old_amount(split.get("amount")))
        else {
            return Conversion::Unconvertible("a split has no user or no numeric amount".into());
        };
        splits.push((split, user, share, text));
    }
    let shares: Vec<Decimal> = splits.iter().map(|(_, _, share, _)| *share).collect();
    let converted = match convert_amounts(amount, &shares, currency) {
        Ok(c) => c,
        Err(e) => return Conversion::Unconvertible(e.to_string()),
    };
    let created_at = date_or(old, "createdAt", now());
    let split_with: Vec<SplitDoc> = splits
        .iter()
        .zip(&converted.parts)
        .map(|((split, user, _, _), amount)| SplitDoc {
            id: split
                .get_object_id("_id")
                .unwrap_or_else(|_| ObjectId::new()),
            user: *user,
            amount: *amount,
            settled: split.get_bool("settled").unwrap_or(false),
            settled_at: split.get_datetime("settledAt").ok().copied(),
            weight: None,
        })
        .collect();
    let text = |key: &str| old.get_str(key).ok().map(str::to_owned);
    let mut expense = ExpenseDoc {
        kind: Default::default(),
        id,
        description: text("description").unwrap_or_default(),
        amount: converted.total,
        currency,
        created_by: old.get_object_id("createdBy").unwrap_or(paid_by),
        paid_by,
        payers: vec![PayerDoc {
            user: paid_by,
            amount: converted.total,
            weight: None,
        }],
        payers_split_type: None,
        split_type: Default::default(),
        split_with,
        category: StoredCategory::from_stored(
            text("category")
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| "other".into()),
        ),
        date: date_or(old, "date", created_at),
        group: old.get_object_id("group").ok(),
        notes: text("notes"),
        is_settled: old.get_bool("isSettled").unwrap_or(false),
        settled_at: old.get_datetime("settledAt").ok().copied(),
        participants: Vec::new(),
        receipt: None,
        recurring: None,
        created_at,
        updated_at: date_or(old, "updatedAt", created_at),
        exchange: None,
        conversion: None,
        version: 1,
    };
    expense.refresh_participants();
    let magnitude = |minor: i64| format_major(minor.unsigned_abs(), currency);
    let moved = (!converted.moved.is_empty()).then(|| MovedExpense {
        expense: id,
        description: expense.description.clone(),
        currency: expense.currency.code().to_owned(),
        amount_before: amount_text,
        amount_after: magnitude(converted.total),
        splits: converted
            .moved
            .iter()
            .map(|&i| MovedSplit {
                user: splits[i].1,
                before: splits[i].3.clone(),
                after: magnitude(converted.parts[i]),
            })
            .collect(),
    });
    Conversion::Converted(Box::new(expense), moved)
}

impl ExpenseCounts {
    /// Counts one expense by what its conversion came to.
    pub(super) fn tally(&mut self, conversion: &Conversion) {
        match conversion {
            Conversion::Converted(..) => self.converted += 1,
            Conversion::AlreadyCurrent => self.already_current += 1,
            Conversion::Unconvertible(_) => self.quarantined += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    fn old_dinner(amount: Bson, splits: Vec<Bson>) -> Document {
        let ana = ObjectId::parse_str("6b0d6752c87e30f972b51e5f").expect("hex");
        let split_docs: Vec<Document> = splits
            .into_iter()
            .map(|a| doc! { "user": ObjectId::new(), "amount": a, "settled": false, "_id": ObjectId::new() })
            .collect();
        doc! {
            "_id": ObjectId::new(), "description": "Dinner", "amount": amount,
            "createdBy": ana, "paidBy": ana, "splitWith": split_docs, "date": DateTime::now(),
            "group": Bson::Null, "isSettled": false, "__v": 0,
        }
    }

    #[test]
    fn an_int32_amount_is_whole_major_units() {
        let old = old_dinner(Bson::Int32(100), vec![Bson::Int32(60), Bson::Double(40.0)]);
        let Conversion::Converted(e, moved) = convert_expense(&old) else {
            panic!("converts")
        };
        assert_eq!(e.amount, 10_000);
        assert_eq!(
            e.split_with.iter().map(|s| s.amount).collect::<Vec<_>>(),
            vec![6000, 4000]
        );
        assert_eq!((e.currency.code(), e.category.as_str()), ("USD", "other"));
        assert_eq!(
            e.payers,
            vec![PayerDoc {
                user: e.paid_by,
                amount: 10_000,
                weight: None,
            }]
        );
        assert!(moved.is_none());
        assert!(!mongodb::bson::to_document(&*e)
            .expect("bson")
            .contains_key("__v"));
    }

    #[test]
    fn moved_splits_are_reported_with_before_and_after() {
        let third = Bson::Double(100.0 / 3.0);
        let old = old_dinner(Bson::Int32(100), vec![third.clone(), third.clone(), third]);
        let Conversion::Converted(_, Some(moved)) = convert_expense(&old) else {
            panic!("converts with a report")
        };
        assert_eq!(moved.splits.len(), 1);
        assert_eq!(moved.splits[0].before, "33.333333333333336");
        assert_eq!(moved.splits[0].after, "33.34");
        assert_eq!(
            (moved.amount_before.as_str(), moved.amount_after.as_str()),
            ("100", "100.00")
        );
    }

    #[test]
    fn splitlyr_documents_and_broken_ones_are_told_apart() {
        let mut current = old_dinner(Bson::Int64(100), vec![Bson::Int64(100)]);
        current.insert("participants", vec![ObjectId::new()]);
        assert!(matches!(
            convert_expense(&current),
            Conversion::AlreadyCurrent
        ));
        let broken = old_dinner(Bson::String("lots".into()), vec![Bson::Int32(1)]);
        assert!(matches!(
            convert_expense(&broken),
            Conversion::Unconvertible(_)
        ));
        let zero_splits = old_dinner(Bson::Int32(10), vec![Bson::Int32(0)]);
        assert!(matches!(
            convert_expense(&zero_splits),
            Conversion::Unconvertible(_)
        ));
    }
}
