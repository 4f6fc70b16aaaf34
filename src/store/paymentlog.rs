//! The `paymentlog` collection: one small entry per (party, payment),
//! `{_id: "<user>:<payment>", u, d, e, w, g}` with `d` the payment's date,
//! `w` the other party and `g` its group, under a `{u: 1, d: 1, e: 1}`
//! index. `GET /v1/payments` reads my entries (filtered by `w` or `g`), then
//! the payments by id, so listing costs my payments, not my whole history.
//!
//! Payments live in `expenses` with the rest; a partial index there
//! (`type: "payment"`) would have done the same job, but SecantusDB slows
//! every concurrent write to the collection to a crawl once it holds one
//! (measured: mixed load at 100,000 expenses from 825 to 4 req/s). The log is
//! a projection of the expenses (see `projection`): kept in the payment's
//! transaction with the ledger and rebuilt with it.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde::Deserialize;

use super::{sort_by_id, ExpenseDoc, Kind, Refill, Store};
use crate::store::StoreError;

const COLLECTION: &str = "paymentlog";

fn entry_id(user: ObjectId, payment: ObjectId) -> String {
    format!("{}:{}", user.to_hex(), payment.to_hex())
}

/// The two parties of a payment: the payer and the payee.
fn parties(p: &Payment) -> [(ObjectId, ObjectId); 2] {
    [(p.from, p.to), (p.to, p.from)]
}

/// What an entry needs of a payment.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Payment {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[serde(rename = "paidBy")]
    from: ObjectId,
    #[serde(rename = "splitWith", deserialize_with = "payee")]
    to: ObjectId,
    #[serde(default)]
    group: Option<ObjectId>,
    date: DateTime,
}

/// The payee: the one split of a payment.
fn payee<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ObjectId, D::Error> {
    #[derive(Deserialize)]
    struct Split {
        user: ObjectId,
    }
    let splits = Vec::<Split>::deserialize(d)?;
    splits
        .first()
        .map(|s| s.user)
        .ok_or_else(|| serde::de::Error::custom("a payment without a payee"))
}

impl Payment {
    fn of(e: &ExpenseDoc) -> Option<Payment> {
        (e.kind == Kind::Payment).then(|| Payment {
            id: e.id,
            from: e.paid_by,
            to: e.payee(),
            group: e.group,
            date: e.date,
        })
    }

    fn entries(&self) -> Vec<Document> {
        parties(self)
            .into_iter()
            .map(|(user, other)| {
                doc! {
                    "_id": entry_id(user, self.id), "u": user, "d": self.date,
                    "e": self.id, "w": other, "g": self.group,
                }
            })
            .collect()
    }
}

/// The log as a projection (see `projection`): the commands moving it from
/// `old` to `new` (either may be absent or not a payment), run inside the
/// document's transaction: the old entries go, the new ones come.
pub(super) fn changes(old: Option<&ExpenseDoc>, new: Option<&ExpenseDoc>) -> Vec<Document> {
    let (old, new) = (old.and_then(Payment::of), new.and_then(Payment::of));
    if old == new {
        return Vec::new();
    }
    let mut commands = Vec::new();
    if let Some(old) = old {
        let ids: Vec<String> = parties(&old)
            .iter()
            .map(|(u, _)| entry_id(*u, old.id))
            .collect();
        commands.push(doc! {
            "delete": COLLECTION,
            "deletes": [{ "q": { "_id": { "$in": ids } }, "limit": 0 }],
        });
    }
    if let Some(new) = new {
        commands.push(doc! { "insert": COLLECTION, "documents": new.entries(), "ordered": true });
    }
    commands
}

/// Which of my payments a listing covers.
#[derive(Debug, Clone, Copy)]
pub struct PaymentFilter {
    pub user: ObjectId,
    pub with: Option<ObjectId>,
    pub group: Option<ObjectId>,
}

impl Store {
    fn paymentlog(&self) -> mongodb::Collection<Document> {
        self.db.collection(COLLECTION)
    }

    async fn payments_stored(&self) -> mongodb::error::Result<mongodb::Cursor<Payment>> {
        self.expenses()
            .clone_with_type::<Payment>()
            .find(doc! { "type": Kind::Payment.code() })
            .projection(doc! { "paidBy": 1, "splitWith.user": 1, "group": 1, "date": 1 })
            .batch_size(1000)
            .await
    }

    /// Rewrites the log from the payments (with the ledger's rebuild).
    pub(super) async fn rebuild_paymentlog(&self) -> mongodb::error::Result<()> {
        let mut refill = Refill::start(self.paymentlog()).await?;
        let mut cursor = self.payments_stored().await?;
        while let Some(p) = cursor.try_next().await? {
            refill.extend(p.entries()).await?;
        }
        refill.finish().await
    }

    /// A page of my payments, newest first, and how many there are.
    pub async fn payment_page(
        &self,
        f: PaymentFilter,
        skip: u64,
        limit: i64,
    ) -> Result<(Vec<ExpenseDoc>, u64), StoreError> {
        let mut filter = doc! { "u": f.user };
        if let Some(with) = f.with {
            filter.insert("w", with);
        }
        if let Some(group) = f.group {
            filter.insert("g", group);
        }
        let total = self.paymentlog().count_documents(filter.clone()).await?;
        let entries: Vec<Document> = self
            .paymentlog()
            .find(filter)
            .sort(doc! { "d": -1, "e": -1 })
            .skip(skip)
            .limit(limit)
            .projection(doc! { "_id": 0, "e": 1 })
            .await?
            .try_collect()
            .await?;
        let ids: Vec<ObjectId> = entries
            .iter()
            .filter_map(|d| d.get_object_id("e").ok())
            .collect();
        Ok((self.expenses_in_order(&ids).await?, total))
    }

    /// The log as stored and as it follows from the payments, sorted. For
    /// consistency checks.
    pub async fn paymentlog_stored_and_expected(
        &self,
    ) -> Result<(Vec<Document>, Vec<Document>), StoreError> {
        let mut expected = Vec::new();
        let mut cursor = self.payments_stored().await?;
        while let Some(p) = cursor.try_next().await? {
            expected.extend(p.entries());
        }
        let mut stored: Vec<Document> =
            self.paymentlog().find(doc! {}).await?.try_collect().await?;
        for list in [&mut stored, &mut expected] {
            sort_by_id(list);
        }
        Ok((stored, expected))
    }
}
