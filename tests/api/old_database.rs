//! The old Node server's database (`tests/fixtures/coinbreakr-v0`, a copy of
//! the team's shared fixture) loaded into a fresh database with its indexes,
//! and ways to read it back. Shared by the upgrade tests and the upgrade's
//! crash drill (`tests/drills/upgrade.rs`).

use std::path::PathBuf;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use mongodb::{Client, Database};
use serde_json::Value;

use crate::helpers::db_uri;

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/coinbreakr-v0")
}

pub fn read_json(name: &str) -> Value {
    let path = fixture_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the fixture ships in tests/fixtures)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// A collection of the fixture as BSON documents (canonical Extended JSON).
pub fn fixture_docs(collection: &str) -> Vec<Document> {
    let Value::Array(items) = read_json(&format!("{collection}.json")) else {
        panic!("{collection}.json is not an array")
    };
    items
        .into_iter()
        .map(|item| match Bson::try_from(item).expect("extended JSON") {
            Bson::Document(d) => d,
            other => panic!("not a document: {other}"),
        })
        .collect()
}

pub const COLLECTIONS: [&str; 5] = ["users", "groups", "expenses", "pendingfriends", "contacts"];

pub async fn database(name: &str) -> Database {
    Client::with_uri_str(db_uri())
        .await
        .expect("client")
        .database(name)
}

/// The old server's collections, with `copies` extra copies of every
/// expense under new ids (a longer history for the crash and replica tests).
pub fn old_data(copies: usize) -> Vec<(&'static str, Vec<Document>)> {
    COLLECTIONS
        .iter()
        .map(|&collection| {
            let mut docs = fixture_docs(collection);
            if collection == "expenses" {
                let originals = docs.clone();
                for _ in 0..copies {
                    docs.extend(originals.iter().map(renumbered));
                }
            }
            (collection, docs)
        })
        .collect()
}

/// Loads the old server's database, indexes included (mongoose's
/// `background: true` ones).
pub async fn load_old_database(name: &str, copies: usize) -> Database {
    load(name, &old_data(copies)).await
}

pub async fn load(name: &str, data: &[(&str, Vec<Document>)]) -> Database {
    let db = database(name).await;
    for (collection, docs) in data {
        db.collection::<Document>(collection)
            .insert_many(docs)
            .await
            .expect("fixture inserts");
        let Value::Array(specs) = read_json(&format!("{collection}.indexes.json")) else {
            panic!("index file is not an array")
        };
        let indexes: Vec<Bson> = specs
            .into_iter()
            .filter(|s| s["name"] != "_id_")
            .map(|s| {
                let mut spec = match Bson::try_from(s).expect("extended JSON") {
                    Bson::Document(d) => d,
                    other => panic!("not a document: {other}"),
                };
                spec.remove("v");
                Bson::Document(spec)
            })
            .collect();
        if !indexes.is_empty() {
            db.run_command(doc! { "createIndexes": *collection, "indexes": indexes })
                .await
                .expect("old indexes are created");
        }
    }
    db
}

/// A copy of an old expense with fresh ids (its splits too).
pub fn renumbered(original: &Document) -> Document {
    let mut copy = original.clone();
    copy.insert("_id", ObjectId::new());
    if let Ok(splits) = copy.get_array_mut("splitWith") {
        for split in splits.iter_mut() {
            if let Bson::Document(s) = split {
                s.insert("_id", ObjectId::new());
            }
        }
    }
    copy
}

pub async fn all(db: &Database, collection: &str) -> Vec<Document> {
    db.collection::<Document>(collection)
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("collect")
}

/// Expenses the recorded upgrade converted.
pub fn converted_count(record: &Document) -> i64 {
    let counts = record.get_document("expenses").expect("expense counts");
    int(counts.get("converted").expect("converted"))
}

pub fn fresh_name() -> String {
    format!("test_old_{}", uuid::Uuid::new_v4().simple())
}

pub fn int(v: &Bson) -> i64 {
    v.as_i64()
        .or_else(|| v.as_i32().map(i64::from))
        .unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// The test database's URI with `database` as its path, as the old
/// server's `MONGO_URL` named it.
pub fn uri_naming(database: &str) -> String {
    let uri = db_uri().replacen("/?", &format!("/{database}?"), 1);
    assert!(uri.contains(database), "{uri}");
    uri
}
