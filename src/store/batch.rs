//! One transaction's writes sent as one `bulkWrite` command: the changed
//! document, every projection's commands and the journal entry travel to the
//! database together, so a change costs one round trip (and one command)
//! before its commit however many collections it touches.
//!
//! Projections describe their writes as ordinary `insert`/`update`/`delete`
//! commands ([`Batch::command`] translates them); the store adds its own
//! writes with [`Batch::insert`], [`Batch::update`] and [`Batch::delete`].
//! A write that must find its document (a version-checked replace, say) is
//! marked with [`Batch::require_match`]: when it matches nothing the batch
//! reports a miss and [`Store::run_batch`] fails with [`Missed`], which makes
//! the transaction abort, so nothing of the batch stays.

use mongodb::bson::{doc, Bson, Document};
use mongodb::ClientSession;

use super::Store;

/// The error a transaction's closure returns when a required write matched
/// nothing (the document changed or went): the transaction aborts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Missed;

/// The error of a batch that met a concurrent transaction's write (a
/// `WriteConflict` reported for one of its operations rather than for the
/// command, as secantusd-rs does): the whole transaction is tried again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conflicted;

/// Whether `e` is the [`Conflicted`] of [`Store::run_batch`].
pub(crate) fn conflicted(e: &mongodb::error::Error) -> bool {
    matches!(&*e.kind, mongodb::error::ErrorKind::Custom(c) if c.is::<Conflicted>())
}

/// Whether `e` is the [`Missed`] of [`Store::run_batch`].
pub(crate) fn missed(e: &mongodb::error::Error) -> bool {
    matches!(&*e.kind, mongodb::error::ErrorKind::Custom(c) if c.is::<Missed>())
}

/// The writes of one transaction, in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Batch {
    namespaces: Vec<String>,
    ops: Vec<Document>,
    required: Vec<usize>,
    /// What the change did, from its journal entry: `{event, k, id}`, kept
    /// with an idempotency key so a retry learns the outcome.
    pub(crate) outcome: Option<Document>,
}

impl Batch {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    fn namespace(&mut self, collection: &str) -> i32 {
        let at = match self.namespaces.iter().position(|c| c == collection) {
            Some(at) => at,
            None => {
                self.namespaces.push(collection.to_owned());
                self.namespaces.len() - 1
            }
        };
        i32::try_from(at).unwrap_or(i32::MAX)
    }

    pub(crate) fn insert(&mut self, collection: &str, document: Document) -> &mut Self {
        let ns = self.namespace(collection);
        self.ops.push(doc! { "insert": ns, "document": document });
        self
    }

    /// An update (`mods` an update document or pipeline) or, when `mods` has
    /// no operators, a replacement.
    pub(crate) fn update(
        &mut self,
        collection: &str,
        filter: Document,
        mods: impl Into<Bson>,
    ) -> &mut Self {
        let ns = self.namespace(collection);
        self.ops
            .push(doc! { "update": ns, "filter": filter, "updateMods": mods.into() });
        self
    }

    pub(crate) fn delete(&mut self, collection: &str, filter: Document, multi: bool) -> &mut Self {
        let ns = self.namespace(collection);
        self.ops
            .push(doc! { "delete": ns, "filter": filter, "multi": multi });
        self
    }

    /// Options of the last write: `multi`, `upsert`, `arrayFilters`.
    pub(crate) fn with(&mut self, key: &str, value: impl Into<Bson>) -> &mut Self {
        if let Some(last) = self.ops.last_mut() {
            last.insert(key, value.into());
        }
        self
    }

    /// The last write must match (or delete) a document, else the batch
    /// missed.
    pub(crate) fn require_match(&mut self) -> &mut Self {
        if !self.ops.is_empty() {
            self.required.push(self.ops.len() - 1);
        }
        self
    }

    /// Adds the writes of an `insert`, `update` or `delete` command, as the
    /// projections describe them.
    pub(crate) fn command(&mut self, command: Document) -> &mut Self {
        let name = command.keys().next().cloned().unwrap_or_default();
        let collection = command.get_str(&name).unwrap_or_default().to_owned();
        let list = |key: &str| -> Vec<Document> {
            command
                .get_array(key)
                .map(|a| a.iter().filter_map(|d| d.as_document().cloned()).collect())
                .unwrap_or_default()
        };
        match name.as_str() {
            "insert" => {
                for d in list("documents") {
                    self.insert(&collection, d);
                }
            }
            "update" => {
                for u in list("updates") {
                    let filter = u.get_document("q").cloned().unwrap_or_default();
                    let mods = u.get("u").cloned().unwrap_or(Bson::Null);
                    self.update(&collection, filter, mods);
                    for option in ["multi", "upsert", "arrayFilters"] {
                        if let Some(v) = u.get(option) {
                            self.with(option, v.clone());
                        }
                    }
                }
            }
            "delete" => {
                for d in list("deletes") {
                    let filter = d.get_document("q").cloned().unwrap_or_default();
                    // `limit: 0` deletes every match.
                    let multi = d.get("limit").and_then(super::as_int) == Some(0);
                    self.delete(&collection, filter, multi);
                }
            }
            other => unreachable!("a projection wrote a `{other}` command"),
        }
        self
    }
}

impl Store {
    /// Sends the batch as one `bulkWrite` in the session's transaction. A
    /// write error fails it; a required write that matched nothing fails it
    /// with [`Missed`], so the caller's transaction aborts.
    pub(crate) async fn run_batch(
        &self,
        session: &mut ClientSession,
        batch: &Batch,
    ) -> mongodb::error::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        // A request with an Idempotency-Key records it in its change.
        let batch = &match super::idempotency::claim_op() {
            Some((collection, filter, mut update)) => {
                let mut marked = batch.clone();
                if let (Some(outcome), Ok(set)) = (&batch.outcome, update.get_document_mut("$set"))
                {
                    set.insert("outcome", outcome.clone());
                }
                marked.update(collection, filter, update).require_match();
                std::borrow::Cow::Owned(marked)
            }
            None => std::borrow::Cow::Borrowed(batch),
        };
        let db = self.db.name();
        let ns_info: Vec<Document> = batch
            .namespaces
            .iter()
            .map(|c| doc! { "ns": format!("{db}.{c}") })
            .collect();
        let reply = self
            .client
            .database("admin")
            .run_command(doc! {
                "bulkWrite": 1,
                "ops": batch.ops.clone(),
                "nsInfo": ns_info,
                "ordered": true,
            })
            .session(&mut *session)
            .await?;
        let results = reply
            .get_document("cursor")
            .and_then(|c| c.get_array("firstBatch"))
            .map_err(|e| mongodb::error::Error::custom(format!("bulkWrite reply: {e}")))?;
        for r in results.iter().filter_map(Bson::as_document) {
            let ok = r
                .get("ok")
                .and_then(|v| v.as_f64().or_else(|| super::as_int(v).map(|i| i as f64)));
            if ok != Some(1.0) {
                let code = r.get("code").and_then(super::as_int).unwrap_or(0);
                if code == WRITE_CONFLICT {
                    return Err(mongodb::error::Error::custom(Conflicted));
                }
                let message = r.get_str("errmsg").unwrap_or("write error").to_owned();
                return Err(write_error(code, message));
            }
            let idx = r.get("idx").and_then(super::as_int).unwrap_or(-1);
            let n = r.get("n").and_then(super::as_int).unwrap_or(0);
            if n == 0 && batch.required.iter().any(|i| i64::try_from(*i) == Ok(idx)) {
                return Err(mongodb::error::Error::custom(Missed));
            }
        }
        if batch.outcome.is_some() {
            self.journal_written();
        }
        Ok(())
    }
}

impl Store {
    /// Runs the writes in one transaction, once, by hand rather than with
    /// `and_run2` (for spawned background tasks, which must be `Send`):
    /// false when a required write missed or another transaction
    /// conflicted (nothing was written; the caller tries again later).
    pub(crate) async fn write_batch_once(&self, batch: Batch) -> Result<bool, super::StoreError> {
        use mongodb::error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
        let mut session = self
            .client
            .start_session()
            .causal_consistency(false)
            .await?;
        session.start_transaction().await?;
        let done = match self.run_batch(&mut session, &batch).await {
            Ok(()) => session.commit_transaction().await,
            Err(e) => {
                let _ = session.abort_transaction().await;
                Err(e)
            }
        };
        match done {
            Ok(()) => Ok(true),
            Err(e)
                if missed(&e)
                    || conflicted(&e)
                    || e.contains_label(TRANSIENT_TRANSACTION_ERROR)
                    || e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The server's code for a write that met another transaction's.
const WRITE_CONFLICT: i64 = 112;

/// A write error of one operation, as the driver reports one of `insert`.
fn write_error(code: i64, message: String) -> mongodb::error::Error {
    let mut reply = doc! { "ok": 0, "code": code, "errmsg": message, "codeName": "" };
    if code == 11000 {
        reply.insert("codeName", "DuplicateKey");
    }
    mongodb::bson::from_document::<mongodb::error::CommandError>(reply)
        .map(|c| mongodb::error::Error::from(mongodb::error::ErrorKind::Command(c)))
        .unwrap_or_else(|e| mongodb::error::Error::custom(format!("write error {code}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_commands_become_bulk_writes_in_order() {
        let mut b = Batch::new();
        b.insert("expenses", doc! { "_id": 1 }).require_match();
        b.command(doc! { "insert": "timeline", "documents": [{ "_id": "a" }, { "_id": "b" }] });
        b.command(doc! { "update": "ledger", "updates": [{ "q": { "_id": 2 }, "u": { "$inc": { "n": 1 } }, "upsert": true }] });
        b.command(doc! { "delete": "timeline", "deletes": [{ "q": { "_id": "c" }, "limit": 0 }] });
        assert_eq!(b.namespaces, ["expenses", "timeline", "ledger"]);
        assert_eq!(b.ops.len(), 5);
        assert_eq!(b.ops[1], doc! { "insert": 1, "document": { "_id": "a" } });
        assert_eq!(
            b.ops[3],
            doc! { "update": 2, "filter": { "_id": 2 }, "updateMods": { "$inc": { "n": 1 } }, "upsert": true }
        );
        assert_eq!(
            b.ops[4],
            doc! { "delete": 1, "filter": { "_id": "c" }, "multi": true }
        );
        assert_eq!(b.required, [0]);
    }
}
