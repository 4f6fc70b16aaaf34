//! Schema 4 → 5: people are found by a name prefix on an index, so every
//! user gets `nameKey` (the folded name). Friendships need no rewrite: an
//! entry in `friends` that is in neither `friendsOut` nor `friendsIn` is
//! mutual, which is what every friendship of an older database was.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Document};

use crate::domain::text::search_key;
use crate::store::Store;

/// The record of this step in `migrations`.
pub(super) const V5_MIGRATION: &str = "v5-privacy";
const BATCH: i64 = 500;

impl Store {
    /// Gives every user without one its `nameKey`, a batch at a time; each
    /// write matches the name it was computed from, so a rename meanwhile
    /// is left to the rename (which sets the key itself). Resumable: only
    /// users still without a key are read.
    pub(super) async fn upgrade_to_v5(&self) -> mongodb::error::Result<()> {
        let users = self.db.collection::<Document>("users");
        let missing = doc! { "nameKey": { "$exists": false } };
        let mut keyed = 0_i64;
        loop {
            let batch: Vec<Document> = users
                .find(missing.clone())
                .projection(doc! { "name": 1 })
                .limit(BATCH)
                .await?
                .try_collect()
                .await?;
            if batch.is_empty() {
                break;
            }
            for user in &batch {
                let Ok(id) = user.get_object_id("_id") else {
                    continue;
                };
                // A user without a name string gets an empty key (found by
                // exact email or phone only), so the loop ends.
                let name = user.get_str("name").unwrap_or_default();
                let filter = match user.get("name") {
                    Some(v) => doc! { "_id": id, "name": v.clone() },
                    None => doc! { "_id": id, "name": { "$exists": false } },
                };
                let done = users
                    .update_one(filter, doc! { "$set": { "nameKey": search_key(name) } })
                    .await?;
                keyed += done.modified_count as i64;
            }
        }
        self.record_step(V5_MIGRATION, doc! { "nameKeys": keyed })
            .await?;
        tracing::info!(
            users = keyed,
            "upgrade (schema 4 -> 5): names keyed for prefix search; friendships stay mutual"
        );
        Ok(())
    }
}
