//! The entry of a change of an expense or payment: a pure function of the
//! document before and after, like the projections (see `projection`).

use mongodb::bson::{doc, oid::ObjectId, Bson, Document};

use super::{EntryDoc, FieldChange, ObjectRef};
use crate::domain::money::format_signed;
use crate::store::{ExpenseDoc, Kind, PayerDoc, SplitDoc};

/// What happened to an expense or payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpenseChange {
    Created,
    Updated,
    Deleted,
    Restored,
    /// One share (the actor's) settled.
    Settled,
    ReceiptAdded,
    ReceiptRemoved,
}

impl ExpenseChange {
    fn verb(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
            Self::Restored => "restored",
            Self::Settled => "settled",
            Self::ReceiptAdded => "receipt_added",
            Self::ReceiptRemoved => "receipt_removed",
        }
    }
}

/// The entry of `change`, made by `actor`, moving the document from `old`
/// to `new` (at least one present). The audience: everyone in either.
pub fn expense_entry(
    change: ExpenseChange,
    actor: ObjectId,
    old: Option<&ExpenseDoc>,
    new: Option<&ExpenseDoc>,
) -> Option<EntryDoc> {
    let e = new.or(old)?;
    let kind = e.kind.code();
    let audience: Vec<ObjectId> = old
        .into_iter()
        .chain(new)
        .flat_map(|d| d.participants.iter().copied())
        .collect();
    let mut entry = EntryDoc::new(
        &format!("{kind}.{}", change.verb()),
        actor,
        ObjectRef {
            kind: kind.to_owned(),
            id: e.id,
        },
        audience,
    )
    .in_group(e.group)
    .with_subject(subject(e));
    entry.expense = Some(e.id);
    entry.version = match change {
        ExpenseChange::Deleted => None,
        _ => new.map(|n| n.version),
    };
    if let (ExpenseChange::Updated, Some(old), Some(new)) = (change, old, new) {
        entry.changes = changes(old, new);
    }
    if change == ExpenseChange::Settled {
        if let Some(new) = new {
            entry.subject.insert("closed", new.is_settled);
        }
    }
    Some(entry)
}

/// What a summary names: the description, the amount and currency, and
/// for a payment who paid whom.
fn subject(e: &ExpenseDoc) -> Document {
    let mut s = doc! {
        "d": e.description.as_str(),
        "amt": e.amount,
        "cur": e.currency.code(),
    };
    if e.kind == Kind::Payment {
        s.insert("from", e.paid_by);
        s.insert("to", e.payee());
    }
    s
}

fn people<T>(list: &[T], user: impl Fn(&T) -> ObjectId, amount: impl Fn(&T) -> i64) -> Bson {
    Bson::Array(
        list.iter()
            .map(|x| Bson::Document(doc! { "u": user(x), "a": amount(x) }))
            .collect(),
    )
}

fn splits(s: &[SplitDoc]) -> Bson {
    people(s, |x| x.user, |x| x.amount)
}

fn payers(p: &[PayerDoc]) -> Bson {
    people(p, |x| x.user, |x| x.amount)
}

/// Every field an edit changed, old → new, in a fixed order.
fn changes(old: &ExpenseDoc, new: &ExpenseDoc) -> Vec<FieldChange> {
    let opt = |s: &Option<String>| s.clone().map(Bson::String);
    // "92.54 EUR at 0.9254": what an expense is booked as in another currency.
    let exchange = |e: &ExpenseDoc| {
        e.exchange.as_ref().map(|x| {
            Bson::String(format!(
                "{} {} at {}",
                format_signed(x.amount, x.currency),
                x.currency,
                x.rate
            ))
        })
    };
    let fields: [(&str, Option<Bson>, Option<Bson>); 11] = [
        (
            "description",
            Some(old.description.clone().into()),
            Some(new.description.clone().into()),
        ),
        ("amount", Some(old.amount.into()), Some(new.amount.into())),
        (
            "currency",
            Some(old.currency.code().into()),
            Some(new.currency.code().into()),
        ),
        ("date", Some(old.date.into()), Some(new.date.into())),
        (
            "category",
            Some(old.category.as_str().into()),
            Some(new.category.as_str().into()),
        ),
        ("notes", opt(&old.notes), opt(&new.notes)),
        ("paidBy", Some(old.paid_by.into()), Some(new.paid_by.into())),
        (
            "payers",
            Some(payers(&old.payers)),
            Some(payers(&new.payers)),
        ),
        (
            "splitType",
            mongodb::bson::to_bson(&old.split_type).ok(),
            mongodb::bson::to_bson(&new.split_type).ok(),
        ),
        (
            "splits",
            Some(splits(&old.split_with)),
            Some(splits(&new.split_with)),
        ),
        ("exchange", exchange(old), exchange(new)),
    ];
    // With one payer before and after, the payer's amount is the total's:
    // `paidBy` and `amount` say it all.
    let one_payer = old.payers.len() <= 1 && new.payers.len() <= 1;
    fields
        .into_iter()
        .filter(|(field, a, b)| a != b && !(one_payer && *field == "payers"))
        .map(|(field, from, to)| FieldChange {
            field: field.to_owned(),
            from,
            to,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::DateTime;

    fn taxi(a: ObjectId, b: ObjectId) -> ExpenseDoc {
        let mut e = ExpenseDoc {
            description: "Taxi".into(),
            amount: 2000,
            payers: vec![PayerDoc {
                user: a,
                amount: 2000,
                weight: None,
            }],
            split_with: [a, b]
                .map(|u| SplitDoc {
                    id: ObjectId::new(),
                    user: u,
                    amount: 1000,
                    settled: false,
                    settled_at: None,
                    weight: None,
                })
                .to_vec(),
            ..ExpenseDoc::blank(Kind::Expense, ObjectId::new(), a, DateTime::now())
        };
        e.refresh_participants();
        e
    }

    #[test]
    fn an_edit_lists_each_changed_field_old_to_new() {
        let [a, b] = [ObjectId::new(), ObjectId::new()];
        let old = taxi(a, b);
        let mut new = old.clone();
        new.description = "Airport taxi".into();
        new.amount = 2400;
        new.split_with[0].amount = 1200;
        new.split_with[1].amount = 1200;
        new.payers[0].amount = 2400;
        new.version = 2;
        let e = expense_entry(ExpenseChange::Updated, b, Some(&old), Some(&new)).unwrap();
        assert_eq!(e.kind, "expense.updated");
        assert_eq!(e.actor, b);
        assert_eq!(e.version, Some(2));
        let fields: Vec<&str> = e.changes.iter().map(|c| c.field.as_str()).collect();
        // One payer: the payer's amount follows the total, not listed.
        assert_eq!(fields, ["description", "amount", "splits"]);
        assert_eq!(e.changes[0].from, Some(Bson::String("Taxi".into())));
        assert_eq!(e.changes[0].to, Some(Bson::String("Airport taxi".into())));
        assert_eq!(e.changes[1].from, Some(Bson::Int64(2000)));
        let mut audience = vec![a, b];
        audience.sort();
        assert_eq!(e.audience, audience);
    }

    #[test]
    fn the_audience_covers_people_leaving_and_joining() {
        let [a, b, c] = [ObjectId::new(), ObjectId::new(), ObjectId::new()];
        let old = taxi(a, b);
        let mut new = old.clone();
        new.split_with[1].user = c;
        new.refresh_participants();
        let e = expense_entry(ExpenseChange::Updated, a, Some(&old), Some(&new)).unwrap();
        for who in [a, b, c] {
            assert!(e.audience.contains(&who));
        }
        let deleted = expense_entry(ExpenseChange::Deleted, a, Some(&new), None).unwrap();
        assert_eq!(deleted.kind, "expense.deleted");
        assert_eq!(deleted.version, None);
        assert!(deleted.changes.is_empty());
    }
}
