//! The upgrade lease: one process at a time upgrades, holding a document in
//! `meta` with an expiry that it renews while it works. A process that dies
//! holding it is replaced once the lease expires.

use std::time::Duration;

use mongodb::bson::{doc, DateTime};

use crate::store::is_duplicate_key;
use crate::store::{now, Store};

const LEASE: &str = "upgrade-lease";
const LEASE_TTL_MS: i64 = 30_000;
pub(super) const WAIT_POLL: Duration = Duration::from_secs(1);

/// The name a process holds the lease under: pod or host, process, random.
pub(super) fn owner_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}/{}/{}", std::process::id(), &nonce[..8])
}

fn later(ms: i64) -> DateTime {
    DateTime::from_millis(now().timestamp_millis() + ms)
}

impl Store {
    /// Takes or renews the upgrade lease; false while another process holds it.
    pub(super) async fn take_lease(&self, owner: &str) -> mongodb::error::Result<bool> {
        let taken = self
            .meta()
            .update_one(
                doc! { "_id": LEASE, "$or": [ { "until": { "$lt": now() } }, { "owner": owner } ] },
                doc! { "$set": { "owner": owner, "until": later(LEASE_TTL_MS) } },
            )
            .upsert(true)
            .await;
        match taken {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn release_lease(&self, owner: &str) -> mongodb::error::Result<()> {
        self.meta()
            .delete_one(doc! { "_id": LEASE, "owner": owner })
            .await?;
        Ok(())
    }

    pub(super) fn renew_lease_in_background(&self, owner: String) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis((LEASE_TTL_MS / 3) as u64)).await;
                if let Err(e) = store.take_lease(&owner).await {
                    tracing::warn!(error = %e, "could not renew the upgrade lease");
                }
            }
        })
    }
}
