//! Schema 3 → 4: pictures are stored files, not inline data URIs.

use mongodb::bson::{doc, Bson, Document};

use crate::store::{Store, StoreError};

/// The record of this step in `migrations`.
pub(super) const V4_MIGRATION: &str = "v4-pictures";

/// A user whose profile photo is inline: a data URI.
fn inline_photo() -> Document {
    doc! { "profileImage": { "$regex": "^data:", "$options": "i" } }
}

impl Store {
    /// Schema 3 → 4: profile photos the old server kept inline (the app's
    /// whole data URI in the user document, embedded in every response that
    /// names the user) become stored pictures, re-encoded like an upload at
    /// the default avatar size. One user at a time, each in the transaction
    /// of a photo change, picked while the data URI is still there: a crash
    /// midway resumes with the next. A photo that is not a picture we accept
    /// is removed (logged with the user's id, counted).
    pub(super) async fn upgrade_to_v4(&self) -> Result<(), StoreError> {
        use crate::images::{input, process};
        const BOUNDS: process::Bounds = process::Bounds {
            max_pixels: 40_000_000,
            max_alloc: 256 << 20,
        };
        const AVATAR_SIDE: u32 = 512;
        let users = self.db.collection::<Document>("users");
        let (mut stored, mut dropped) = (0_i64, 0_i64);
        // One document at a time: an inline photo may be megabytes.
        loop {
            let next = users
                .find_one(inline_photo())
                .projection(doc! { "profileImage": 1 })
                .await?;
            let Some(user) = next else { break };
            let id = user.get_object_id("_id").map_err(StoreError::internal)?;
            let uri = user.get_str("profileImage").unwrap_or_default().to_owned();
            let picture = tokio::task::spawn_blocking(move || {
                let bytes = input::data_uri_bytes(&uri, "profileImage", 64 << 20)
                    .map_err(|e| e.to_string())?;
                let probe = process::probe(&bytes, &BOUNDS).map_err(|e| e.to_string())?;
                process::reencode(&bytes, &probe, AVATAR_SIDE, &BOUNDS).map_err(|e| e.to_string())
            })
            .await
            .map_err(StoreError::internal)?;
            match picture {
                Ok(picture) => {
                    // The same transaction as a photo change from the API.
                    // Its future is not `Send` (the driver's transaction
                    // closure trips rustc's higher-ranked `Send` inference)
                    // and this runs in a spawned task, so it is driven on a
                    // blocking thread.
                    let store = self.clone();
                    let runtime = tokio::runtime::Handle::current();
                    tokio::task::spawn_blocking(move || {
                        let change = crate::store::PhotoChange::Stored(picture);
                        runtime.block_on(store.change_photo(id, Document::new(), change, u64::MAX))
                    })
                    .await
                    .map_err(StoreError::internal)??;
                    stored += 1;
                }
                Err(reason) => {
                    tracing::warn!(user_id = %id, reason, "upgrade (schema 3 -> 4): an inline profile photo is not a picture we accept; removed");
                    users
                        .update_one(
                            doc! { "_id": id, "profileImage": user.get("profileImage").cloned().unwrap_or(Bson::Null) },
                            doc! { "$unset": { "profileImage": "" } },
                        )
                        .await?;
                    dropped += 1;
                }
            }
        }
        let counts = doc! { "inlinePhotos": stored, "droppedPhotos": dropped };
        self.record_step(V4_MIGRATION, counts).await?;
        tracing::info!(
            stored,
            dropped,
            "upgrade (schema 3 -> 4): inline profile photos stored as pictures"
        );
        Ok(())
    }

    /// The dry run of this step: how many inline photos there are.
    pub(super) async fn inline_photo_count(&self) -> mongodb::error::Result<u64> {
        self.db
            .collection::<Document>("users")
            .count_documents(inline_photo())
            .await
    }
}
