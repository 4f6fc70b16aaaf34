//! Persistence: one concrete `Store` around `mongodb::Database`, with one file
//! per collection. Indexes are created at startup, idempotently.

pub mod contacts;
pub mod expenses;
pub mod groups;
pub mod ledger;
pub mod pending;
pub mod timeline;
pub mod users;

use std::time::Duration;

use mongodb::bson::{doc, Document};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use secrecy::ExposeSecret;

pub use contacts::ContactDoc;
pub use expenses::{ExpenseDoc, ExpenseFilter, PayerDoc, SplitDoc};
pub use groups::{GroupDoc, MemberDoc};
pub use pending::PendingFriendDoc;
pub use users::{ProfileChanges, UserDoc, UserSummary};

use crate::configuration::DatabaseSettings;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct Store {
    client: Client,
    db: Database,
}

impl Store {
    /// Builds the client. Connecting is lazy: the server starts even when the
    /// database is down, and reconnects on its own when it comes back.
    pub async fn connect(
        settings: &DatabaseSettings,
        metrics: Option<&Metrics>,
    ) -> Result<Self, mongodb::error::Error> {
        let mut options = ClientOptions::parse(settings.uri.expose_secret()).await?;
        options.app_name = Some("splitlyr".into());
        options.server_selection_timeout =
            Some(Duration::from_millis(settings.server_selection_timeout_ms));
        options.connect_timeout = Some(Duration::from_millis(settings.server_selection_timeout_ms));
        options.max_pool_size = Some(settings.max_pool_size);
        if let Some(metrics) = metrics {
            options.command_event_handler = Some(metrics.command_event_handler());
        }
        let client = Client::with_options(options)?;
        let db = client.database(&settings.name);
        Ok(Self { client, db })
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

    /// One `ping`, bounded by `timeout`; false when the database does not answer.
    pub async fn ping(&self, timeout: Duration) -> bool {
        matches!(
            tokio::time::timeout(timeout, self.db.run_command(doc! { "ping": 1 })).await,
            Ok(Ok(_))
        )
    }

    /// Creates every index the queries rely on. Safe to run on every start.
    pub async fn ensure_indexes(&self) -> Result<(), mongodb::error::Error> {
        let index = |keys: Document, options: Option<IndexOptions>| {
            IndexModel::builder().keys(keys).options(options).build()
        };
        let unique = IndexOptions::builder().unique(true).build();
        self.users()
            .create_indexes([
                index(doc! { "email": 1 }, Some(unique)),
                index(doc! { "phoneNumber": 1 }, None),
            ])
            .await?;
        self.groups()
            .create_indexes([index(doc! { "members.user": 1, "isActive": 1 }, None)])
            .await?;
        // Date windows (`$gte`..`$lt`) run on ascending indexes, scanned
        // backwards for newest-first pages: SecantusDB 0.7 (Python) drops the
        // entries equal to an inclusive bound at the far end of a scan over a
        // compound index, which on a `date: -1` index is the window's start.
        self.expenses()
            .create_indexes([
                index(doc! { "participants": 1, "date": -1, "_id": -1 }, None),
                index(doc! { "group": 1, "date": 1, "_id": 1 }, None),
            ])
            .await?;
        let replaced = "group_1_date_-1__id_-1";
        if self
            .expenses()
            .list_index_names()
            .await?
            .iter()
            .any(|n| n == replaced)
        {
            self.expenses().drop_index(replaced).await?;
        }
        self.pending()
            .create_indexes([
                index(doc! { "email": 1 }, None),
                index(doc! { "phoneNumber": 1 }, None),
                index(doc! { "addedBy": 1 }, None),
            ])
            .await?;
        self.contacts()
            .create_indexes([index(doc! { "createdAt": -1 }, None)])
            .await?;
        let balances = self.db.collection::<Document>("balances");
        balances
            .create_indexes([index(doc! { "a": 1 }, None), index(doc! { "b": 1 }, None)])
            .await?;
        self.db
            .collection::<Document>("groupbalances")
            .create_indexes([index(doc! { "group": 1 }, None)])
            .await?;
        self.timeline()
            .create_indexes([index(doc! { "u": 1, "d": 1, "e": 1 }, None)])
            .await?;
        Ok(())
    }

    /// Everything the database needs before serving: indexes, then the ledger.
    pub async fn prepare(&self) -> Result<(), mongodb::error::Error> {
        self.ensure_indexes().await?;
        self.ensure_ledger().await
    }
}

/// An integer as the database may store it (int32 or int64).
fn as_int(v: &mongodb::bson::Bson) -> Option<i64> {
    v.as_i64().or_else(|| v.as_i32().map(i64::from))
}

/// The current time as stored in documents (millisecond precision).
pub(crate) fn now() -> mongodb::bson::DateTime {
    mongodb::bson::DateTime::now()
}
