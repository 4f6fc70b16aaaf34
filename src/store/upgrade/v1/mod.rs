//! Schema 0 → 1: the old Node server's documents become Splitlyr's. Users
//! lose the old server's placeholders; expenses are converted (see
//! `convert`) in `_id` order in batches, each batch in one transaction with
//! its progress in `migrations`, so a crash resumes after the last committed
//! batch and no document is converted twice. An expense that cannot be
//! converted is moved to a quarantine collection with the reason.

mod convert;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};

use self::convert::{convert_expense, Conversion};
use super::report::{ExpenseCounts, MovedExpense, UpgradeReport};
use super::{Step, V1_MIGRATION};
use crate::store::{now, Store, StoreError};

/// The old server's default profile image (its default phone number is "").
pub const OLD_PLACEHOLDER_IMAGE: &str = "https://via.placeholder.com/150";
/// Expenses that cannot be converted are moved here, with the reason.
const QUARANTINE: &str = "upgradequarantine";

/// One batch of conversions, ready to write.
#[derive(Default)]
struct Batch {
    last_id: Option<ObjectId>,
    replacements: Vec<Document>,
    quarantined: Vec<Document>,
    moved: Vec<MovedExpense>,
    counts: ExpenseCounts,
}

impl Batch {
    fn add(&mut self, old: Document) -> mongodb::error::Result<()> {
        self.last_id = old.get_object_id("_id").ok().or(self.last_id);
        let conversion = convert_expense(&old);
        self.counts.tally(&conversion);
        match conversion {
            Conversion::Converted(expense, moved) => {
                let replacement = mongodb::bson::to_document(&*expense)?;
                self.replacements
                    .push(doc! { "q": { "_id": expense.id }, "u": replacement });
                self.moved.extend(moved);
            }
            Conversion::AlreadyCurrent => {}
            Conversion::Unconvertible(reason) => {
                tracing::warn!(expense = ?old.get("_id"), %reason, "expense cannot be converted; moved to {QUARANTINE}");
                self.quarantined.push(doc! {
                    "_id": old.get("_id").cloned().unwrap_or(Bson::Null),
                    "reason": reason,
                    "migration": V1_MIGRATION,
                    "original": old,
                });
            }
        }
        Ok(())
    }
}

impl Store {
    /// Schema 0 → 1: users' placeholders, then expenses in resumable
    /// batches. Returns the report also kept in `migrations`.
    pub(super) async fn upgrade_to_v1(
        &self,
        owner: &str,
        batch: usize,
    ) -> Result<UpgradeReport, StoreError> {
        let migrations = self.migrations();
        migrations
            .update_one(
                doc! { "_id": V1_MIGRATION },
                doc! {
                    "$setOnInsert": { "fromVersion": 0, "toVersion": 1, "startedAt": now(), "state": "running" },
                    "$set": { "owner": owner },
                },
            )
            .upsert(true)
            .await?;
        let documents = self.document_counts().await?;
        self.in_transaction(Step::Users).await?;
        while let Some(moved) = self.in_transaction(Step::Expenses(batch)).await? {
            for expense in &moved {
                tracing::info!(expense = %expense, "upgrade rounded an expense's splits by more than half a minor unit");
            }
        }
        migrations
            .update_one(
                doc! { "_id": V1_MIGRATION },
                doc! { "$set": {
                    "state": "done",
                    "finishedAt": now(),
                    "documents": documents.iter().map(|(k, n)| (k.clone(), Bson::Int64(*n as i64))).collect::<Document>(),
                } },
            )
            .await?;
        self.upgrade_report().await
    }

    /// Unsets the old server's placeholders, once, atomically with the record.
    pub(super) async fn upgrade_v1_users(
        &self,
        s: &mut mongodb::ClientSession,
    ) -> mongodb::error::Result<()> {
        let pending = self
            .migrations()
            .find_one(doc! { "_id": V1_MIGRATION, "usersDone": { "$ne": true } })
            .session(&mut *s)
            .await?;
        if pending.is_none() {
            return Ok(());
        }
        let users = self.db.collection::<Document>("users");
        let images = users
            .update_many(
                doc! { "profileImage": OLD_PLACEHOLDER_IMAGE },
                doc! { "$unset": { "profileImage": "" } },
            )
            .session(&mut *s)
            .await?
            .modified_count;
        let phones = users
            .update_many(
                doc! { "phoneNumber": "" },
                doc! { "$unset": { "phoneNumber": "" } },
            )
            .session(&mut *s)
            .await?
            .modified_count;
        self.migrations()
            .update_one(
                doc! { "_id": V1_MIGRATION },
                doc! { "$set": {
                    "usersDone": true,
                    "users.placeholderImages": images as i64,
                    "users.emptyPhones": phones as i64,
                } },
            )
            .session(&mut *s)
            .await?;
        Ok(())
    }

    /// Converts the next batch of expenses after the recorded progress,
    /// together with the progress; None when none was left.
    pub(super) async fn upgrade_v1_expense_batch(
        &self,
        s: &mut mongodb::ClientSession,
        batch: usize,
    ) -> mongodb::error::Result<Option<Vec<MovedExpense>>> {
        let progress = self
            .migrations()
            .find_one(doc! { "_id": V1_MIGRATION })
            .session(&mut *s)
            .await?
            .unwrap_or_default();
        let filter = match progress.get_object_id("lastId") {
            Ok(last) => doc! { "_id": { "$gt": last } },
            Err(_) => doc! {},
        };
        let mut cursor = self
            .db
            .collection::<Document>("expenses")
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(i64::try_from(batch).unwrap_or(500))
            .session(&mut *s)
            .await?;
        let mut work = Batch::default();
        while let Some(old) = cursor.next(&mut *s).await.transpose()? {
            work.add(old)?;
        }
        let Some(last_id) = work.last_id else {
            return Ok(None);
        };
        self.write_v1_batch(s, &work, last_id).await?;
        Ok(Some(work.moved))
    }

    async fn write_v1_batch(
        &self,
        s: &mut mongodb::ClientSession,
        work: &Batch,
        last_id: ObjectId,
    ) -> mongodb::error::Result<()> {
        if !work.replacements.is_empty() {
            self.db
                .run_command(
                    doc! { "update": "expenses", "updates": &work.replacements, "ordered": true },
                )
                .session(&mut *s)
                .await?;
        }
        if !work.quarantined.is_empty() {
            let ids: Vec<Bson> = work
                .quarantined
                .iter()
                .filter_map(|q| q.get("_id").cloned())
                .collect();
            self.db
                .collection::<Document>(QUARANTINE)
                .insert_many(&work.quarantined)
                .session(&mut *s)
                .await?;
            self.db
                .collection::<Document>("expenses")
                .delete_many(doc! { "_id": { "$in": ids } })
                .session(&mut *s)
                .await?;
        }
        if !work.moved.is_empty() {
            let records: Vec<Document> = work
                .moved
                .iter()
                .map(|m| {
                    let mut record = mongodb::bson::to_document(m).unwrap_or_default();
                    record.insert("migration", V1_MIGRATION);
                    record
                })
                .collect();
            self.db
                .collection::<Document>("migrationroundings")
                .insert_many(records)
                .session(&mut *s)
                .await?;
        }
        let c = &work.counts;
        self.migrations()
            .update_one(
                doc! { "_id": V1_MIGRATION },
                doc! {
                    "$set": { "lastId": last_id },
                    "$inc": {
                        "expenses.converted": c.converted as i64,
                        "expenses.alreadyCurrent": c.already_current as i64,
                        "expenses.quarantined": c.quarantined as i64,
                        "movedExpenses": work.moved.len() as i64,
                    },
                },
            )
            .session(&mut *s)
            .await?;
        Ok(())
    }

    /// The dry run of this step: the users' placeholders and the expense
    /// conversions, counted into `report` without writing.
    pub(super) async fn v1_dry_run(
        &self,
        report: &mut UpgradeReport,
        mut on_moved: impl FnMut(&MovedExpense),
    ) -> mongodb::error::Result<()> {
        let users = self.db.collection::<Document>("users");
        report.users.placeholder_images = users
            .count_documents(doc! { "profileImage": OLD_PLACEHOLDER_IMAGE })
            .await?;
        report.users.empty_phones = users.count_documents(doc! { "phoneNumber": "" }).await?;
        let mut cursor = self
            .db
            .collection::<Document>("expenses")
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .batch_size(1000)
            .await?;
        while let Some(old) = cursor.try_next().await? {
            let conversion = convert_expense(&old);
            report.expenses.tally(&conversion);
            match conversion {
                Conversion::Converted(_, Some(moved)) => {
                    report.moved_expenses += 1;
                    on_moved(&moved);
                }
                Conversion::Unconvertible(reason) => {
                    tracing::warn!(expense = ?old.get("_id"), %reason, "would not convert");
                }
                _ => {}
            }
        }
        Ok(())
    }
}
