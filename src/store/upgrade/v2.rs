//! Schema 1 → 2: expenses and groups carry a `version` (optimistic
//! concurrency), and a user has at most one pending friend per email and per
//! phone number (the unique indexes are built once the duplicates are gone).

use futures_util::TryStreamExt;
use mongodb::action::Find;
use mongodb::bson::{doc, oid::ObjectId, Document};
use mongodb::Collection;

use super::Step;
use crate::store::{now, Store};

/// The record of this step in `migrations`.
pub(super) const V2_MIGRATION: &str = "v2-versions";

/// The pending records (oldest first) that repeat an earlier one's adder and
/// email, or adder and phone number.
fn duplicate_pending(records: &[Document]) -> Vec<ObjectId> {
    let mut seen = std::collections::HashSet::new();
    let mut duplicates = Vec::new();
    for record in records {
        let (Ok(id), Ok(adder)) = (record.get_object_id("_id"), record.get_object_id("addedBy"))
        else {
            continue;
        };
        let keys: Vec<(ObjectId, &str, &str)> = ["email", "phoneNumber"]
            .into_iter()
            .filter_map(|field| Some((adder, field, record.get_str(field).ok()?)))
            .filter(|(_, _, value)| !value.is_empty())
            .collect();
        if keys.iter().any(|k| seen.contains(k)) {
            duplicates.push(id);
        } else {
            seen.extend(keys);
        }
    }
    duplicates
}

/// Every pending record's adder, email and phone number, oldest first.
fn oldest_first(pending: &Collection<Document>) -> Find<'_, Document> {
    pending
        .find(doc! {})
        .projection(doc! { "addedBy": 1, "email": 1, "phoneNumber": 1 })
        .sort(doc! { "createdAt": 1, "_id": 1 })
}

impl Store {
    /// Schema 1 → 2: every expense and group starts at version 1, and
    /// duplicate pending friends go. Each step is idempotent, so a crash
    /// midway is resumed by running it again.
    pub(super) async fn upgrade_to_v2(&self) -> mongodb::error::Result<()> {
        let unversioned = doc! { "version": { "$exists": false } };
        let first = doc! { "$set": { "version": 1_i64 } };
        for collection in ["expenses", "groups"] {
            let n = self
                .db
                .collection::<Document>(collection)
                .update_many(unversioned.clone(), first.clone())
                .await?
                .modified_count;
            tracing::info!(
                collection,
                documents = n,
                "upgrade (schema 1 -> 2): versions start at 1"
            );
        }
        self.in_transaction(Step::PendingDuplicates).await?;
        Ok(())
    }

    /// Keeps the oldest pending record per adder and email, and per adder and
    /// phone number (an empty one, the old server's default, is no number),
    /// and unlinks the others from their adders.
    pub(super) async fn remove_duplicate_pending(
        &self,
        s: &mut mongodb::ClientSession,
    ) -> mongodb::error::Result<()> {
        let pending = self.db.collection::<Document>("pendingfriends");
        for field in ["email", "phoneNumber"] {
            pending
                .update_many(doc! { field: "" }, doc! { "$unset": { field: "" } })
                .session(&mut *s)
                .await?;
        }
        let records: Vec<Document> = oldest_first(&pending)
            .session(&mut *s)
            .await?
            .stream(&mut *s)
            .try_collect()
            .await?;
        let duplicates = duplicate_pending(&records);
        self.migrations()
            .update_one(
                doc! { "_id": V2_MIGRATION },
                doc! { "$set": { "pendingDuplicates": duplicates.len() as i64, "finishedAt": now() } },
            )
            .upsert(true)
            .session(&mut *s)
            .await?;
        if duplicates.is_empty() {
            return Ok(());
        }
        tracing::info!(
            records = duplicates.len(),
            "upgrade (schema 1 -> 2): duplicate pending friends removed"
        );
        pending
            .delete_many(doc! { "_id": { "$in": &duplicates } })
            .session(&mut *s)
            .await?;
        self.db
            .collection::<Document>("users")
            .update_many(
                doc! { "pendingFriends": { "$in": &duplicates } },
                doc! { "$pull": { "pendingFriends": { "$in": &duplicates } } },
            )
            .session(&mut *s)
            .await?;
        Ok(())
    }

    /// The dry run of this step: how many pending records would go.
    pub(super) async fn duplicate_pending_count(&self) -> mongodb::error::Result<u64> {
        let pending = self.db.collection::<Document>("pendingfriends");
        let records: Vec<Document> = oldest_first(&pending).await?.try_collect().await?;
        Ok(duplicate_pending(&records).len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_pending_record_per_adder_and_contact_is_kept() {
        let (al, bo) = (ObjectId::new(), ObjectId::new());
        let ids: Vec<ObjectId> = (0..6).map(|_| ObjectId::new()).collect();
        let record = |i: usize, adder, email: Option<&str>, phone: Option<&str>| {
            let mut d = doc! { "_id": ids[i], "addedBy": adder };
            if let Some(e) = email {
                d.insert("email", e);
            }
            if let Some(p) = phone {
                d.insert("phoneNumber", p);
            }
            d
        };
        let records = [
            record(0, al, Some("gus@example.com"), None),
            // Same person added by someone else: kept.
            record(1, bo, Some("gus@example.com"), None),
            // Al again, by email: removed.
            record(2, al, Some("gus@example.com"), Some("+15550100")),
            record(3, al, None, Some("+15550199")),
            // Al again, by phone: removed.
            record(4, al, Some("hana@example.com"), Some("+15550199")),
            // An empty phone (the old default) is no phone: kept.
            record(5, al, Some("ivy@example.com"), Some("")),
        ];
        assert_eq!(duplicate_pending(&records), vec![ids[2], ids[4]]);
    }
}
