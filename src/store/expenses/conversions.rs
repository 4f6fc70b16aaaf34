//! The `conversions` collection: a balance moved from one currency to
//! another, recorded as ordinary payments (each with `conversion` set to
//! the conversion's id) that cancel the balance in `from` and open its
//! converted amount in `to`. The payments and the conversion document are
//! written, deleted (to the trash, as any payment) and restored together,
//! each time in one transaction, so the ledger, the journal and the lists
//! see payments and no new kind of booking.

use mongodb::bson::{doc, oid::ObjectId, DateTime};
use serde::{Deserialize, Serialize};

use super::trash::{self, TrashedDoc};
use super::{created, deleted, journal, to_document, ExpenseChange, ExpenseDoc, COLLECTION};
use crate::domain::money::Currency;
use crate::store::batch::Batch;
use crate::store::{now, RateSource, Store, StoreError};

const CONVERSIONS: &str = "conversions";

/// What one person's balance became.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MovedDoc {
    pub user: ObjectId,
    /// Minor units of `from` the person was owed (> 0) or owed (< 0).
    pub from: i64,
    /// The same in minor units of `to`.
    pub to: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversionDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub created_by: ObjectId,
    /// A conversion between the creator and this friend...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friend: Option<ObjectId>,
    /// ...or of every member's balance in this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<ObjectId>,
    #[serde(with = "crate::domain::money::stored_currency")]
    pub from: Currency,
    #[serde(with = "crate::domain::money::stored_currency")]
    pub to: Currency,
    /// Units of `to` per unit of `from`, exact decimal text.
    pub rate: String,
    pub source: RateSource,
    /// The rate's day, `YYYY-MM-DD`.
    pub rate_date: String,
    pub moved: Vec<MovedDoc>,
    /// The payments that carry it, in the order they were made.
    pub payments: Vec<ObjectId>,
    pub created_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime>,
}

/// A balance in `from` as it was read when the conversion was decided: the
/// conversion is written only if it still is (a write meanwhile, say a new
/// expense, makes the transaction miss, and nothing is written).
pub enum ReadBalance {
    /// What `other` owes `me` (< 0: what I owe them), all groups included.
    Pair {
        me: ObjectId,
        other: ObjectId,
        owed_to_me: i64,
    },
    /// A member's balance in a group (> 0: owed).
    Member {
        group: ObjectId,
        user: ObjectId,
        net: i64,
    },
}

impl ReadBalance {
    /// The ledger document it is, as a filter, and its collection.
    fn filter(&self, currency: Currency) -> (&'static str, mongodb::bson::Document) {
        let code = currency.code();
        match *self {
            ReadBalance::Pair {
                me,
                other,
                owed_to_me,
            } => {
                // `net` is what `b` owes `a` (a < b).
                let (a, b, net) = if me < other {
                    (me, other, owed_to_me)
                } else {
                    (other, me, -owed_to_me)
                };
                (
                    "balances",
                    doc! { "a": a, "b": b, "currency": code, "net": net },
                )
            }
            ReadBalance::Member { group, user, net } => (
                "groupbalances",
                doc! { "group": group, "user": user, "currency": code, "net": net },
            ),
        }
    }
}

impl Store {
    fn conversions(&self) -> mongodb::Collection<ConversionDoc> {
        self.db.collection(CONVERSIONS)
    }

    pub async fn conversion_by_id(
        &self,
        id: ObjectId,
    ) -> Result<Option<ConversionDoc>, StoreError> {
        Ok(self.conversions().find_one(doc! { "_id": id }).await?)
    }

    /// Records the conversion and inserts its payments (booked and
    /// journaled as any payment), atomically, if every balance in `read` is
    /// still as read; false (nothing written) otherwise.
    pub async fn insert_conversion(
        &self,
        conversion: &ConversionDoc,
        read: &[ReadBalance],
        payments: &[ExpenseDoc],
        actor: ObjectId,
    ) -> Result<bool, StoreError> {
        let mut batch = Batch::new();
        for balance in read {
            let (collection, filter) = balance.filter(conversion.from);
            batch
                .update(collection, filter, doc! { "$inc": { "net": 0_i64 } })
                .require_match();
        }
        for payment in payments {
            created(&mut batch, payment, actor)?;
        }
        let document = mongodb::bson::to_document(conversion).map_err(StoreError::internal)?;
        batch.insert(CONVERSIONS, document);
        self.write_batch(batch).await
    }

    /// Moves the conversion's payments (as read) to the trash, unbooks and
    /// journals them, and marks the conversion deleted, atomically; false
    /// when any of it changed meanwhile (nothing was written).
    pub async fn delete_conversion(
        &self,
        conversion: &ConversionDoc,
        payments: &[ExpenseDoc],
        actor: ObjectId,
    ) -> Result<bool, StoreError> {
        let at = now();
        let mut batch = Batch::new();
        for old in payments {
            deleted(&mut batch, old, actor, at)?;
        }
        batch
            .update(
                CONVERSIONS,
                doc! { "_id": conversion.id, "deletedAt": { "$exists": false } },
                doc! { "$set": { "deletedAt": at } },
            )
            .require_match();
        self.write_batch(batch).await
    }

    /// Brings the conversion's payments back from the trash as their next
    /// versions, books and journals them, and marks the conversion live,
    /// atomically; None when any left the trash meanwhile.
    pub async fn restore_conversion(
        &self,
        conversion: &ConversionDoc,
        trashed: &[TrashedDoc],
        actor: ObjectId,
    ) -> Result<Option<Vec<ExpenseDoc>>, StoreError> {
        let mut batch = Batch::new();
        let mut restored = Vec::with_capacity(trashed.len());
        for t in trashed {
            let mut payment = t.doc.clone();
            payment.version = t.doc.version + 1;
            payment.updated_at = now();
            batch
                .delete(
                    trash::COLLECTION,
                    doc! { "_id": t.id, "deletedAt": t.deleted_at },
                    false,
                )
                .require_match();
            batch.insert(COLLECTION, to_document(&payment)?);
            batch.project(None, Some(&payment));
            journal(
                &mut batch,
                ExpenseChange::Restored,
                actor,
                None,
                Some(&payment),
            );
            restored.push(payment);
        }
        batch
            .update(
                CONVERSIONS,
                doc! { "_id": conversion.id, "deletedAt": conversion.deleted_at },
                doc! { "$unset": { "deletedAt": "" } },
            )
            .require_match();
        Ok(self.write_batch(batch).await?.then_some(restored))
    }
}
