//! Numbering the journal in the order its entries became visible, and each
//! viewer's feed for the offline sync.
//!
//! A change's transaction cannot know where its entry falls among entries
//! of transactions committing concurrently (their ids are taken before
//! their commits), so a cursor over entry ids could skip an entry that
//! commits late. The sequencer runs after commits instead: it reads entries
//! without a number (`q: 0`), oldest id first, and in one transaction
//! takes the next numbers from `meta` (`_id: "journal-seq"`), numbers the
//! entries, and writes one small `feed` document per viewer in the
//! audience, `{_id: "<viewer>:<number as 16 hex digits>", j, k, id, at}`. An
//! entry that commits late is numbered in a later run, after everything
//! numbered before: a viewer's feed only grows at its end, so a cursor (a
//! number) never skips anything, and each entry is in it once.
//!
//! Replicas may all run it: two runs numbering the same entries conflict on
//! the `meta` document or on the entries (`q` must still be 0), and the
//! loser's transaction aborts and leaves them to the winner.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Document};
use mongodb::error::{
    TRANSIENT_TRANSACTION_ERROR as TRANSIENT, UNKNOWN_TRANSACTION_COMMIT_RESULT as UNKNOWN,
};
use serde::Deserialize;

use super::EntryDoc;
use crate::store::batch::{conflicted, missed, Missed};
use crate::store::{Store, StoreError};

pub(in crate::store) const FEED: &str = "feed";
const SEQUENCE: &str = "journal-seq";

/// A viewer's feed document id: the viewer, then the number in fixed-width
/// hex, so ids sort by number within a viewer.
pub fn feed_id(viewer: ObjectId, seq: i64) -> String {
    format!("{}:{:016x}", viewer.to_hex(), seq.max(0))
}

/// The first id past every feed document of `viewer`.
fn feed_end(viewer: ObjectId) -> String {
    // ';' follows ':' in ASCII.
    format!("{};", viewer.to_hex())
}

/// One item of a viewer's feed: which object changed (as that viewer names
/// it), by which entry, at which number.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FeedItem {
    #[serde(rename = "_id")]
    pub id: String,
    /// The entry.
    pub j: ObjectId,
    /// `expense`, `payment`, `group`, `friend`, `user`.
    pub k: String,
    /// The object: for `friend`, the other person.
    #[serde(rename = "id")]
    pub object: ObjectId,
}

impl FeedItem {
    /// The number of the entry.
    pub fn seq(&self) -> i64 {
        self.id
            .rsplit(':')
            .next()
            .and_then(|h| i64::from_str_radix(h, 16).ok())
            .unwrap_or(0)
    }
}

/// The feed document of `entry`, numbered `seq`, for `viewer`.
fn feed_doc(entry: &EntryDoc, seq: i64, viewer: ObjectId) -> Document {
    let object = match entry.object.kind.as_str() {
        // A friendship is the other person, from either side.
        "friend" => {
            let a = entry.subject.get_object_id("a").unwrap_or(entry.actor);
            let b = entry.subject.get_object_id("b").unwrap_or(entry.object.id);
            if viewer == a {
                b
            } else {
                a
            }
        }
        _ => entry.object.id,
    };
    doc! {
        "_id": feed_id(viewer, seq),
        "j": entry.id,
        "k": entry.object.kind.as_str(),
        "id": object,
        "at": entry.at,
    }
}

impl Store {
    /// Wakes the sequencer (an entry was just written, or is about to be
    /// committed: a run that finds it not yet visible leaves it to the
    /// next). One wake-up is kept while the sequencer is busy.
    pub(in crate::store) fn journal_written(&self) {
        self.journal_wake.notify_one();
    }

    /// Resolves when this process wrote a journal entry since the last time.
    pub async fn journal_woken(&self) {
        self.journal_wake.notified().await;
    }

    fn feed(&self) -> mongodb::Collection<FeedItem> {
        self.db.collection(FEED)
    }

    /// Numbers up to `limit` entries that have none yet, oldest first, and
    /// writes their viewers' feed documents, in one transaction. Returns how
    /// many it numbered (0 when another replica numbered them first).
    pub async fn sequence_journal(&self, limit: i64) -> Result<usize, StoreError> {
        let waiting: Vec<EntryDoc> = self
            .journal()
            .find(doc! { "q": 0 })
            // What numbering reads (not the changes, the texts).
            .projection(doc! {
                "t": 1, "at": 1, "by": 1, "aud": 1, "o": 1, "s.a": 1, "s.b": 1, "q": 1,
            })
            // No hint: SecantusDB scans the whole hinted index, where its
            // planner seeks the `{q, _id}` index to `q: 0` unaided.
            .sort(doc! { "q": 1, "_id": 1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let count = i64::try_from(waiting.len()).unwrap_or(i64::MAX);
        let mut session = self
            .client
            .start_session()
            .causal_consistency(false)
            .await?;
        // A transaction run by hand rather than by `and_run2`: this runs in
        // a spawned task, which must be `Send`. One attempt: when another
        // replica numbers the same entries concurrently, one of the two
        // aborts here and the next run finds nothing left to do.
        session.start_transaction().await?;
        let numbered = self.number_in(&mut session, &waiting, count).await;
        let done = match numbered {
            Ok(()) => session.commit_transaction().await,
            Err(e) => {
                let _ = session.abort_transaction().await;
                Err(e)
            }
        };
        match done {
            Ok(()) => Ok(waiting.len()),
            Err(e)
                if missed(&e)
                    || conflicted(&e)
                    || e.contains_label(TRANSIENT)
                    || e.contains_label(UNKNOWN) =>
            {
                Ok(0)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Inside the sequencer's transaction: takes `count` numbers and gives
    /// them to `waiting`, writing each viewer's feed document.
    async fn number_in(
        &self,
        s: &mut mongodb::ClientSession,
        waiting: &[EntryDoc],
        count: i64,
    ) -> mongodb::error::Result<()> {
        let counter = self
            .meta()
            .find_one_and_update(doc! { "_id": SEQUENCE }, doc! { "$inc": { "next": count } })
            .upsert(true)
            .return_document(mongodb::options::ReturnDocument::After)
            .session(&mut *s)
            .await?;
        let last = counter
            .as_ref()
            .and_then(|c| c.get("next"))
            .and_then(crate::store::as_int)
            .unwrap_or(count);
        let first = last - count + 1;
        // One statement numbers them all, each by its place in the list
        // (`first + index`), and one insert writes the feed: on
        // secantusd-rs this costs about half of one update and one insert
        // per document in a `bulkWrite` (0.24–0.34 against 0.44–0.47 ms of
        // its CPU per entry, batches of 130).
        let ids: Vec<ObjectId> = waiting.iter().map(|e| e.id).collect();
        let numbered = self
            .journal()
            .update_many(
                doc! { "_id": { "$in": &ids }, "q": 0 },
                vec![doc! { "$set": {
                    "q": { "$add": [first, { "$indexOfArray": [&ids, "$_id"] }] },
                } }],
            )
            .session(&mut *s)
            .await?;
        if numbered.modified_count != u64::try_from(waiting.len()).unwrap_or(u64::MAX) {
            // Another run numbered some of them meanwhile.
            return Err(mongodb::error::Error::custom(Missed));
        }
        let feed: Vec<Document> = (first..)
            .zip(waiting)
            .flat_map(|(seq, entry)| {
                entry
                    .audience
                    .iter()
                    .map(move |viewer| feed_doc(entry, seq, *viewer))
            })
            .collect();
        if !feed.is_empty() {
            self.db
                .collection::<Document>(FEED)
                .insert_many(feed)
                .session(&mut *s)
                .await?;
        }
        Ok(())
    }

    /// `viewer`'s feed after number `since`, in order, at most `limit`.
    pub async fn feed_after(
        &self,
        viewer: ObjectId,
        since: i64,
        limit: i64,
    ) -> Result<Vec<FeedItem>, StoreError> {
        Ok(self
            .feed()
            .find(doc! { "_id": { "$gt": feed_id(viewer, since), "$lt": feed_end(viewer) } })
            .sort(doc! { "_id": 1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?)
    }

    /// `viewer`'s feed before number `before` (None: from its end), newest
    /// first, at most `limit`.
    pub async fn feed_before(
        &self,
        viewer: ObjectId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<FeedItem>, StoreError> {
        let end = match before {
            Some(n) => feed_id(viewer, n),
            None => feed_end(viewer),
        };
        Ok(self
            .feed()
            .find(doc! { "_id": { "$gt": feed_id(viewer, 0), "$lt": end } })
            .sort(doc! { "_id": -1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?)
    }

    /// `viewer`'s entries not numbered yet (committed since the sequencer's
    /// last run), newest first, at most `limit`: few, read on the `{q, _id}`
    /// index at `q: 0`.
    pub async fn unnumbered_for(
        &self,
        viewer: ObjectId,
        limit: i64,
    ) -> Result<Vec<EntryDoc>, StoreError> {
        Ok(self
            .journal()
            .find(doc! { "q": 0, "aud": viewer })
            // The `{q, _id}` index, read backwards (not hinted: see above).
            .sort(doc! { "q": 1, "_id": -1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?)
    }

    /// The entries with these ids, in this order (missing ones left out).
    pub async fn entries_by_ids(&self, ids: &[ObjectId]) -> Result<Vec<EntryDoc>, StoreError> {
        crate::store::in_order(&self.journal(), ids, |e| e.id).await
    }

    /// The number of `viewer`'s newest feed item (0: none).
    pub async fn feed_head(&self, viewer: ObjectId) -> Result<i64, StoreError> {
        let last = self
            .feed()
            .find_one(doc! { "_id": { "$gt": feed_id(viewer, 0), "$lt": feed_end(viewer) } })
            .sort(doc! { "_id": -1 })
            .await?;
        Ok(last.map_or(0, |f| f.seq()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::journal::ObjectRef;

    #[test]
    fn feed_ids_sort_by_number_within_a_viewer() {
        let v = ObjectId::new();
        let ids: Vec<String> = [1, 2, 15, 16, 255, 4096].map(|n| feed_id(v, n)).to_vec();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(feed_id(v, i64::MAX) < feed_end(v));
        let item = FeedItem {
            id: feed_id(v, 4096),
            j: ObjectId::new(),
            k: "expense".into(),
            object: ObjectId::new(),
        };
        assert_eq!(item.seq(), 4096);
    }

    #[test]
    fn a_friendship_is_the_other_person_on_each_side() {
        let (a, b) = (ObjectId::new(), ObjectId::new());
        let entry = EntryDoc::new(
            "friend.accepted",
            a,
            ObjectRef {
                kind: "friend".into(),
                id: b,
            },
            vec![a, b],
        )
        .with_subject(doc! { "a": a, "b": b });
        assert_eq!(feed_doc(&entry, 7, a).get_object_id("id").unwrap(), b);
        assert_eq!(feed_doc(&entry, 7, b).get_object_id("id").unwrap(), a);
    }
}
