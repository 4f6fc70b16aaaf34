//! Persistence: one concrete `Store` around `mongodb::Database`, with one file
//! per collection. Indexes are created at startup, idempotently. Every
//! public function answers [`StoreError`]; steps that run inside a driver
//! transaction keep the driver's error, whose labels drive its retries.

mod batch;
pub mod comments;
pub mod contacts;
mod error;
pub mod expenses;
pub mod exports;
pub mod friendships;
pub mod groups;
pub mod idempotency;
pub mod images;
pub mod imports;
mod indexes;
pub mod invites;
pub mod journal;
pub mod ledger;
pub mod logins;
pub mod paymentlog;
pub mod pending;
pub mod people;
mod projection;
pub mod rates;
pub mod readiness;
pub mod recurring;
pub mod sessions;
pub mod timeline;
pub mod upgrade;
pub mod users;

use std::time::Duration;

use mongodb::bson::{doc, Document};
use mongodb::options::{Acknowledgment, ClientOptions, WriteConcern};
use mongodb::{Client, Collection, Database};
use secrecy::ExposeSecret;

pub use comments::CommentDoc;
pub use contacts::ContactDoc;
pub use error::{is_duplicate_key, BoxError, StoreError};
pub use expenses::{
    ExchangeDoc, ExpenseDoc, ExpenseFilter, Kind, PayerDoc, RateSource, RecurringRef, SplitDoc,
};
pub use friendships::{Candidate, Request};
pub use groups::{GroupDoc, MemberDoc};
pub use images::{ImageDoc, PhotoChange, ReceiptRef, Replacing};
pub use invites::{InviteDoc, Join};
pub use paymentlog::PaymentFilter;
pub use pending::{FriendsAdded, PendingFriendDoc};
pub use people::Person;
pub use users::{LegacyTokens, ProfileChanges, SearchBy, UserDoc, UserStatus, UserSummary};

use crate::configuration::DatabaseSettings;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct Store {
    client: Client,
    db: Database,
    /// Told when this process wrote a journal entry, so the sequencer
    /// numbers it soon without polling an idle database
    /// (`journal::sequence`).
    journal_wake: std::sync::Arc<tokio::sync::Notify>,
}

impl Store {
    /// Builds the client. Connecting is lazy: the server starts even when the
    /// database is down, and reconnects on its own when it comes back.
    pub async fn connect(
        settings: &DatabaseSettings,
        metrics: Option<&Metrics>,
    ) -> Result<Self, StoreError> {
        let mut options = ClientOptions::parse(settings.uri.expose_secret()).await?;
        options.app_name = Some("splitlyr".into());
        options.server_selection_timeout =
            Some(Duration::from_millis(settings.server_selection_timeout_ms));
        options.connect_timeout = Some(Duration::from_millis(settings.server_selection_timeout_ms));
        options.max_pool_size = Some(settings.max_pool_size);
        // Transactions inherit it at commit.
        options.write_concern = Some(write_concern(settings));
        if let Some(metrics) = metrics {
            options.command_event_handler = Some(metrics.command_event_handler());
        }
        let client = Client::with_options(options)?;
        let db = client.database(&settings.name);
        Ok(Self {
            client,
            db,
            journal_wake: Default::default(),
        })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    fn users(&self) -> Collection<UserDoc> {
        self.db.collection("users")
    }
    fn groups(&self) -> Collection<GroupDoc> {
        self.db.collection("groups")
    }
    fn expenses(&self) -> Collection<ExpenseDoc> {
        self.db.collection("expenses")
    }
    fn pending(&self) -> Collection<PendingFriendDoc> {
        self.db.collection("pendingfriends")
    }
    fn contacts(&self) -> Collection<ContactDoc> {
        self.db.collection("contacts")
    }
    /// Versions and leases: `ledger`, `schema`, `upgrade-lease`.
    fn meta(&self) -> Collection<Document> {
        self.db.collection("meta")
    }

    /// One `ping`, bounded by `timeout`; false when the database does not answer.
    pub async fn ping(&self, timeout: Duration) -> bool {
        matches!(
            tokio::time::timeout(timeout, self.db.run_command(doc! { "ping": 1 })).await,
            Ok(Ok(_))
        )
    }
}

/// The acknowledgement writes wait for (validated by the configuration).
fn write_concern(settings: &DatabaseSettings) -> WriteConcern {
    let w = match settings.write_concern {
        crate::configuration::WriteConcern::Nodes(n) => Acknowledgment::Nodes(n),
        crate::configuration::WriteConcern::Majority => Acknowledgment::Majority,
    };
    WriteConcern::builder()
        .w(w)
        .journal(settings.journal)
        .build()
}

/// Empties a collection and refills it a thousand documents per `insert`,
/// so a rebuild never holds more than one batch of what it writes.
struct Refill {
    collection: Collection<Document>,
    batch: Vec<Document>,
}

impl Refill {
    const BATCH: usize = 1000;

    async fn start(collection: Collection<Document>) -> mongodb::error::Result<Refill> {
        collection.delete_many(doc! {}).await?;
        Ok(Refill {
            collection,
            batch: Vec::with_capacity(Self::BATCH),
        })
    }

    async fn extend(
        &mut self,
        docs: impl IntoIterator<Item = Document> + Send,
    ) -> mongodb::error::Result<()> {
        for doc in docs {
            self.batch.push(doc);
            if self.batch.len() >= Self::BATCH {
                let full = std::mem::replace(&mut self.batch, Vec::with_capacity(Self::BATCH));
                self.collection.insert_many(full).await?;
            }
        }
        Ok(())
    }

    async fn finish(self) -> mongodb::error::Result<()> {
        if !self.batch.is_empty() {
            self.collection.insert_many(self.batch).await?;
        }
        Ok(())
    }
}

/// Matches a document still at version `read`. Version 0 is a document
/// without the field: written by a replica of the release before versions
/// while this one was rolling out (after the upgrade had run), so it matches
/// a missing field; the write that follows gives it version 1.
fn at_version(read: i64) -> mongodb::bson::Bson {
    if read == 0 {
        doc! { "$exists": false }.into()
    } else {
        read.into()
    }
}

/// The documents of `collection` with these ids, in this order (missing
/// ones left out), in one `$in` read.
async fn in_order<T>(
    collection: &Collection<T>,
    ids: &[mongodb::bson::oid::ObjectId],
    id_of: impl Fn(&T) -> mongodb::bson::oid::ObjectId,
) -> Result<Vec<T>, StoreError>
where
    T: serde::de::DeserializeOwned + Send + Sync,
{
    use futures_util::TryStreamExt;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut by_id: std::collections::HashMap<_, T> = collection
        .find(doc! { "_id": { "$in": ids } })
        .await?
        .map_ok(|d| (id_of(&d), d))
        .try_collect()
        .await?;
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// An integer as the database may store it (int32 or int64).
fn as_int(v: &mongodb::bson::Bson) -> Option<i64> {
    v.as_i64().or_else(|| v.as_i32().map(i64::from))
}

/// Sorts documents by their string `_id`, for comparisons.
fn sort_by_id(list: &mut [Document]) {
    list.sort_by(|a, b| {
        a.get_str("_id")
            .unwrap_or("")
            .cmp(b.get_str("_id").unwrap_or(""))
    });
}

/// The current time as stored in documents (millisecond precision).
/// The `name` of each document of `collection` with one of `ids` (missing
/// ones left out), in one query.
async fn names_by_id(
    db: &mongodb::Database,
    collection: &str,
    ids: &[mongodb::bson::oid::ObjectId],
) -> Result<std::collections::HashMap<mongodb::bson::oid::ObjectId, String>, StoreError> {
    use futures_util::TryStreamExt;
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let docs: Vec<mongodb::bson::Document> = db
        .collection::<mongodb::bson::Document>(collection)
        .find(mongodb::bson::doc! { "_id": { "$in": ids } })
        .projection(mongodb::bson::doc! { "name": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(docs
        .iter()
        .filter_map(|d| {
            Some((
                d.get_object_id("_id").ok()?,
                d.get_str("name").ok()?.to_owned(),
            ))
        })
        .collect())
}

pub(crate) fn now() -> mongodb::bson::DateTime {
    mongodb::bson::DateTime::now()
}
