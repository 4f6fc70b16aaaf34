//! The ledger as stored: the documents of each collection, the commands
//! that apply a [`Delta`] to them, and the stored fields read back.

use std::collections::BTreeMap;

use mongodb::bson::{doc, oid::ObjectId, Document};

use super::delta::{user_entries, Counts, Delta, GroupPair, Member, Pair, UserEntries};
use crate::domain::months::{Month, MonthCounts};
use crate::store::as_int;

pub(super) fn pair_doc(id: String, (a, b, currency, net): Pair) -> Document {
    doc! { "_id": id, "a": a, "b": b, "currency": currency, "net": net }
}

pub(super) fn group_pair_doc(id: String, (group, a, b, currency, net): GroupPair) -> Document {
    doc! { "_id": id, "group": group, "a": a, "b": b, "currency": currency, "net": net }
}

pub(super) fn member_doc(id: String, (group, user, currency, net): Member) -> Document {
    doc! { "_id": id, "group": group, "user": user, "currency": currency, "net": net }
}

impl Delta {
    /// The commands applying this delta as increments: one batched `update`
    /// per collection, in a fixed order.
    pub(super) fn into_commands(self) -> Vec<Document> {
        let entries = user_entries(&self.pairs);
        let Delta {
            pairs,
            members,
            group_pairs,
            user_counts,
            group_counts,
            group_people,
        } = self;
        [
            increments("balances", pairs.into_iter().map(|(k, v)| pair_doc(k, v))),
            increments(
                "groupbalances",
                members.into_iter().map(|(k, v)| member_doc(k, v)),
            ),
            increments(
                "grouppairs",
                group_pairs.into_iter().map(|(k, v)| group_pair_doc(k, v)),
            ),
            group_increments(&group_counts, &group_people),
            user_increments(&entries, &user_counts),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// One `update` command upserting each user's `userbalances` document:
/// `$inc` of `entries.<key>` and of `expenseMonths.<month>`.
fn user_increments(entries: &UserEntries, counts: &Counts) -> Option<Document> {
    let mut incs: BTreeMap<ObjectId, Document> = BTreeMap::new();
    for (user, e) in entries {
        let inc = incs.entry(*user).or_default();
        for (key, n) in e {
            inc.insert(format!("entries.{key}"), *n);
        }
    }
    for (user, months) in counts {
        inc_months(incs.entry(*user).or_default(), months);
    }
    let updates: Vec<Document> = incs
        .into_iter()
        .map(|(user, inc)| doc! { "q": { "_id": user }, "u": { "$inc": inc }, "upsert": true })
        .collect();
    (!updates.is_empty())
        .then(|| doc! { "update": "userbalances", "updates": updates, "ordered": true })
}

/// One `update` command with an upserting `$inc` of `net` per document.
fn increments(collection: &str, docs: impl Iterator<Item = Document>) -> Option<Document> {
    let updates: Vec<Document> = docs
        .map(|mut fields| {
            // The document as the rebuild writes it: `_id` and `net` (the
            // increment here) apart, its fields are set when it is created.
            let id = fields.remove("_id");
            let inc = fields.remove("net");
            doc! {
                "q": { "_id": id },
                "u": { "$inc": { "net": inc }, "$setOnInsert": fields },
                "upsert": true,
            }
        })
        .collect();
    (!updates.is_empty())
        .then(|| doc! { "update": collection, "updates": updates, "ordered": true })
}

/// One `update` command setting the month counts of each group
/// (`expenseMonths`, replaced: the ledger's rebuild).
pub(super) fn group_counters<'a>(
    counts: impl IntoIterator<Item = (&'a ObjectId, &'a BTreeMap<Month, i64>)>,
) -> Option<Document> {
    let updates: Vec<Document> = counts
        .into_iter()
        .map(|(id, months)| {
            let u = doc! { "$set": { "expenseMonths": months_document(months) } };
            doc! { "q": { "_id": id }, "u": u }
        })
        .collect();
    (!updates.is_empty()).then(|| doc! { "update": "groups", "updates": updates, "ordered": true })
}

/// One `update` of `groups`: per group, `$inc` of its month counts and
/// `$addToSet` of the people brought in, in one write of its document.
fn group_increments(
    counts: &super::delta::Counts,
    people: &BTreeMap<ObjectId, std::collections::BTreeSet<ObjectId>>,
) -> Option<Document> {
    let groups: std::collections::BTreeSet<&ObjectId> =
        counts.keys().chain(people.keys()).collect();
    let updates: Vec<Document> = groups
        .into_iter()
        .map(|id| {
            let mut u = Document::new();
            if let Some(months) = counts.get(id) {
                let mut inc = Document::new();
                inc_months(&mut inc, months);
                u.insert("$inc", inc);
            }
            if let Some(added) = people.get(id) {
                let each: Vec<ObjectId> = added.iter().copied().collect();
                u.insert("$addToSet", doc! { "people": { "$each": each } });
            }
            doc! { "q": { "_id": id }, "u": u }
        })
        .collect();
    (!updates.is_empty()).then(|| doc! { "update": "groups", "updates": updates, "ordered": true })
}

pub(super) fn months_document(months: &BTreeMap<Month, i64>) -> Document {
    months.iter().map(|(m, n)| (m.key(), (*n).into())).collect()
}

/// Adds an `expenseMonths.<month>` field per month to an `$inc` document.
fn inc_months(inc: &mut Document, months: &BTreeMap<Month, i64>) {
    for (month, n) in months {
        inc.insert(format!("expenseMonths.{}", month.key()), *n);
    }
}

/// Month counts as stored in a `userbalances` or `groups` document.
pub(super) fn stored_months(doc: &Document) -> MonthCounts {
    MonthCounts::from_stored(int_fields(doc, "expenseMonths"))
}

/// The non-zero `entries` of a `userbalances` document.
pub(super) fn parse_entries(doc: &Document) -> BTreeMap<String, i64> {
    int_fields(doc, "entries")
        .filter(|(_, n)| *n != 0)
        .map(|(k, n)| (k.clone(), n))
        .collect()
}

/// The integer fields of the subdocument `key` of `doc`.
fn int_fields<'a>(doc: &'a Document, key: &str) -> impl Iterator<Item = (&'a String, i64)> {
    let fields = doc.get_document(key).ok();
    fields
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k, as_int(v)?)))
}
