//! The indexes the queries rely on, created at startup. An existing index
//! that is equivalent to a wanted one (same keys in the same order, same
//! uniqueness; other options such as mongoose's `background: true` differ)
//! is accepted as it is. A real conflict (an index of the wanted name with
//! other keys or uniqueness) never blocks startup: it is logged with what to
//! do and reported by `/v1/healthz`.

use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::error::ErrorKind;
use mongodb::options::IndexOptions;
use mongodb::IndexModel;

use super::Store;
use crate::store::is_duplicate_key;
use crate::store::StoreError;

/// One index a query (or a uniqueness rule) needs.
struct Wanted {
    collection: &'static str,
    keys: Document,
    unique: bool,
    /// Only documents matching this are indexed (`partialFilterExpression`).
    partial: Option<Document>,
    /// The schema version from which the documents satisfy the index (a
    /// unique index can only be built once the upgrade removed duplicates).
    from_schema: i32,
    /// A TTL index: documents go this long after the date in its one key.
    expire_after: Option<Duration>,
}

fn wanted() -> Vec<Wanted> {
    let index = |collection, keys, unique| Wanted {
        collection,
        keys,
        unique,
        partial: None,
        from_schema: 0,
        expire_after: None,
    };
    // One pending record per person a user added: concurrent adds of the
    // same email or phone cannot both insert one.
    let pending_by = |field: &str| Wanted {
        collection: "pendingfriends",
        keys: doc! { "addedBy": 1, field: 1 },
        unique: true,
        partial: Some(doc! { field: { "$type": "string" } }),
        from_schema: 2,
        expire_after: None,
    };
    vec![
        index("users", doc! { "email": 1 }, true),
        index("users", doc! { "phoneNumber": 1 }, false),
        // Search by name prefix (`nameKey`, schema 5).
        index("users", doc! { "nameKey": 1, "_id": 1 }, false),
        index("groups", doc! { "members.user": 1, "isActive": 1 }, false),
        // Date windows (`$gte`..`$lt`) run on ascending indexes, scanned
        // backwards for newest-first pages: SecantusDB 0.7 (Python) drops the
        // entries equal to an inclusive bound at the far end of a scan over a
        // compound index, which on a `date: -1` index is the window's start.
        index(
            "expenses",
            doc! { "participants": 1, "date": -1, "_id": -1 },
            false,
        ),
        index("expenses", doc! { "group": 1, "date": 1, "_id": 1 }, false),
        index("pendingfriends", doc! { "email": 1 }, false),
        index("pendingfriends", doc! { "phoneNumber": 1 }, false),
        index("pendingfriends", doc! { "addedBy": 1 }, false),
        pending_by("email"),
        pending_by("phoneNumber"),
        index("contacts", doc! { "createdAt": -1 }, false),
        // Comments: an expense's or a payment's, oldest first.
        index("comments", doc! { "on": 1, "_id": 1 }, false),
        index("balances", doc! { "a": 1 }, false),
        index("balances", doc! { "b": 1 }, false),
        index("groupbalances", doc! { "group": 1 }, false),
        index("grouppairs", doc! { "group": 1 }, false),
        index("paymentlog", doc! { "u": 1, "d": 1, "e": 1 }, false),
        // Pictures: which blob a GridFS file belongs to (sweep, discarded
        // uploads); whose pictures (quota repair, account export).
        index("imageblobs", doc! { "file": 1 }, false),
        // Sessions: by refresh-token key; a user's, most recently used first;
        // gone once expired or revoked.
        index("sessions", doc! { "key": 1 }, true),
        index("sessions", doc! { "user": 1, "lastUsedAt": -1 }, false),
        Wanted {
            expire_after: Some(Duration::ZERO),
            ..index("sessions", doc! { "expiresAt": 1 }, false)
        },
        index("images", doc! { "owner": 1 }, false),
        index("timeline", doc! { "u": 1, "d": 1, "e": 1 }, false),
        // The journal: an expense's or payment's history; entries not yet
        // numbered (`q: 0`) for the sequencer. (Someone's activity, whole
        // or filtered, reads their `feed` by its ids.)
        index("journal", doc! { "e": 1, "_id": 1 }, false),
        index("journal", doc! { "q": 1, "_id": 1 }, false),
        // Recurring series: the scheduler's due ones (`status` active,
        // `due` up to now), a person's list; the occurrences of a series.
        index("recurring", doc! { "status": 1, "due": 1 }, false),
        index(
            "recurring",
            doc! { "people": 1, "status": 1, "_id": -1 },
            false,
        ),
        index("occurrences", doc! { "series": 1, "sequence": 1 }, false),
        // Invite links by their token's hash; a group's, newest first.
        index("invites", doc! { "hash": 1 }, true),
        index("invites", doc! { "group": 1, "_id": 1 }, false),
        // Deleted expenses and payments, oldest deletion first (the purge).
        index("trash", doc! { "deletedAt": 1 }, false),
        Wanted {
            expire_after: Some(Duration::ZERO),
            ..index("loginfailures", doc! { "expiresAt": 1 }, false)
        },
        // Idempotency keys and their answers, gone 24 hours after the first
        // attempt (`store::idempotency`).
        Wanted {
            expire_after: Some(Duration::ZERO),
            ..index("idempotency", doc! { "expiresAt": 1 }, false)
        },
    ]
}

/// Indexes of earlier releases that a wanted one replaces.
const REPLACED: [(&str, &str); 1] = [("expenses", "group_1_date_-1__id_-1")];

/// An index's keys in order, with numeric directions normalised (int32,
/// int64 and double `1` are the same direction).
fn key_spec(keys: &Document) -> Vec<(String, String)> {
    keys.iter()
        .map(|(field, value)| {
            let direction = match value {
                Bson::Int32(n) => n.to_string(),
                Bson::Int64(n) => n.to_string(),
                Bson::Double(n) => format!("{}", *n as i64),
                other => other.to_string(),
            };
            (field.clone(), direction)
        })
        .collect()
}

/// The server's default name for an index on `keys` (`participants_1_date_-1`).
fn default_name(keys: &Document) -> String {
    key_spec(keys)
        .into_iter()
        .map(|(field, direction)| format!("{field}_{direction}"))
        .collect::<Vec<_>>()
        .join("_")
}

fn is_unique(index: &IndexModel) -> bool {
    index
        .options
        .as_ref()
        .and_then(|o| o.unique)
        .unwrap_or(false)
}

fn expire_after(index: &IndexModel) -> Option<Duration> {
    index.options.as_ref().and_then(|o| o.expire_after)
}

fn name_of(index: &IndexModel) -> Option<&str> {
    index.options.as_ref().and_then(|o| o.name.as_deref())
}

/// What to do about one wanted index, given the collection's indexes.
#[derive(Debug, PartialEq)]
enum Plan {
    Present,
    Create,
    Conflict(String),
}

fn plan(want: &Wanted, existing: &[IndexModel]) -> Plan {
    let spec = key_spec(&want.keys);
    if existing.iter().any(|ix| {
        key_spec(&ix.keys) == spec
            && is_unique(ix) == want.unique
            && expire_after(ix) == want.expire_after
    }) {
        return Plan::Present;
    }
    let name = default_name(&want.keys);
    match existing.iter().find(|ix| name_of(ix) == Some(&name)) {
        Some(ix) => Plan::Conflict(format!(
            "index {name} on {} has keys {} (unique: {}) but keys {} (unique: {}) are needed; \
             drop it (db.{}.dropIndex(\"{name}\")) and restart, and Splitlyr creates the right one",
            want.collection,
            ix.keys,
            is_unique(ix),
            want.keys,
            want.unique,
            want.collection
        )),
        None => Plan::Create,
    }
}

/// Server error codes of index conflicts (IndexOptionsConflict, IndexKeySpecsConflict).
fn is_index_conflict(e: &mongodb::error::Error) -> bool {
    matches!(&*e.kind, ErrorKind::Command(c) if c.code == 85 || c.code == 86)
}

impl Store {
    /// The indexes of `collection`; none when it does not exist yet.
    async fn indexes_of(&self, collection: &str) -> mongodb::error::Result<Vec<IndexModel>> {
        let coll = self.db.collection::<Document>(collection);
        match coll.list_indexes().await {
            Ok(cursor) => cursor.try_collect().await,
            // NamespaceNotFound: a new database.
            Err(e) if matches!(&*e.kind, ErrorKind::Command(c) if c.code == 26) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Creates every missing index the queries rely on that documents of
    /// schema version `schema` satisfy, and drops the ones they replaced.
    /// Safe on every start. Returns the conflicts it could not resolve (each
    /// already logged); an unreachable database is an error.
    pub async fn ensure_indexes(&self, schema: i32) -> Result<Vec<String>, StoreError> {
        let mut conflicts = Vec::new();
        let mut wanted = wanted();
        wanted.retain(|w| w.from_schema <= schema);
        let mut collections: Vec<&str> = wanted.iter().map(|w| w.collection).collect();
        collections.dedup();
        for collection in collections {
            let existing = self.indexes_of(collection).await?;
            for want in wanted.iter().filter(|w| w.collection == collection) {
                let problem = match plan(want, &existing) {
                    Plan::Present => None,
                    Plan::Conflict(problem) => Some(problem),
                    Plan::Create => {
                        let options = IndexOptions::builder()
                            .unique(want.unique)
                            .partial_filter_expression(want.partial.clone())
                            .expire_after(want.expire_after)
                            .build();
                        let model = IndexModel::builder()
                            .keys(want.keys.clone())
                            .options(options)
                            .build();
                        match self
                            .db
                            .collection::<Document>(collection)
                            .create_index(model)
                            .await
                        {
                            Ok(_) => None,
                            Err(e) if is_index_conflict(&e) => Some(format!(
                                "index on {collection} {} conflicts with an existing one ({e}); \
                                 drop the existing index and restart",
                                want.keys
                            )),
                            Err(e) if is_duplicate_key(&e) => Some(format!(
                                "unique index on {collection} {} cannot be built: documents \
                                 repeat a key ({e}); remove the duplicates and restart",
                                want.keys
                            )),
                            Err(e) => return Err(e.into()),
                        }
                    }
                };
                if let Some(problem) = problem {
                    tracing::error!(collection, %problem, "index conflict: queries may be slow or unchecked until it is resolved");
                    conflicts.push(problem);
                }
            }
            for (_, name) in REPLACED.iter().filter(|(c, _)| *c == collection) {
                if existing.iter().any(|ix| name_of(ix) == Some(name)) {
                    self.db
                        .collection::<Document>(collection)
                        .drop_index(*name)
                        .await?;
                }
            }
        }
        Ok(conflicts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index as listed by the server (`background` is not in the
    /// driver's options any more: it is ignored like every other option).
    fn existing(keys: Document, name: &str, unique: Option<bool>) -> IndexModel {
        let mut options = IndexOptions::builder().name(name.to_string()).build();
        options.unique = unique;
        IndexModel::builder().keys(keys).options(options).build()
    }

    fn email() -> Wanted {
        Wanted {
            collection: "users",
            keys: doc! { "email": 1 },
            unique: true,
            partial: None,
            from_schema: 0,
            expire_after: None,
        }
    }

    #[test]
    fn an_equivalent_index_is_accepted_whatever_its_other_options() {
        // The old server's mongoose index: same keys and uniqueness, background.
        let old = existing(doc! { "email": 1_i32 }, "email_1", Some(true));
        assert_eq!(plan(&email(), &[old]), Plan::Present);
        let other_name = existing(doc! { "email": 1.0 }, "by_email", Some(true));
        assert_eq!(plan(&email(), &[other_name]), Plan::Present);
    }

    #[test]
    fn a_missing_index_is_created() {
        let unrelated = existing(doc! { "createdAt": -1 }, "createdAt_-1", None);
        assert_eq!(plan(&email(), &[unrelated]), Plan::Create);
        assert_eq!(plan(&email(), &[]), Plan::Create);
    }

    #[test]
    fn same_name_with_other_keys_or_uniqueness_is_a_conflict() {
        let not_unique = existing(doc! { "email": 1 }, "email_1", None);
        let Plan::Conflict(problem) = plan(&email(), &[not_unique]) else {
            panic!("expected a conflict");
        };
        assert!(problem.contains("dropIndex(\"email_1\")"), "{problem}");
        let other_keys = existing(doc! { "email": -1 }, "email_1", Some(true));
        assert!(matches!(plan(&email(), &[other_keys]), Plan::Conflict(_)));
    }

    #[test]
    fn key_order_matters_and_names_follow_the_server() {
        let want = Wanted {
            collection: "expenses",
            keys: doc! { "participants": 1, "date": -1, "_id": -1 },
            unique: false,
            partial: None,
            from_schema: 0,
            expire_after: None,
        };
        assert_eq!(default_name(&want.keys), "participants_1_date_-1__id_-1");
        let reordered = existing(doc! { "date": -1, "participants": 1, "_id": -1 }, "x", None);
        assert_eq!(plan(&want, &[reordered]), Plan::Create);
    }

    #[test]
    fn a_ttl_index_needs_its_expiry() {
        let want = Wanted {
            collection: "loginfailures",
            keys: doc! { "expiresAt": 1 },
            unique: false,
            partial: None,
            from_schema: 0,
            expire_after: Some(Duration::ZERO),
        };
        let plain = existing(doc! { "expiresAt": 1 }, "by_expiry", None);
        assert_eq!(plan(&want, std::slice::from_ref(&plain)), Plan::Create);
        let mut ttl = plain;
        ttl.options.as_mut().unwrap().expire_after = Some(Duration::ZERO);
        assert_eq!(plan(&want, &[ttl]), Plan::Present);
    }
}
