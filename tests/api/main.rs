//! Black-box tests: each starts the real server on port 0 against a real
//! MongoDB-compatible database (its own randomly named database) and speaks HTTP.
//! The drills that run extra processes (replicas behind nginx, kill -9 of the
//! database, crashes and restarts) are a test target of their own,
//! `tests/drills/`, sharing `helpers.rs`, `races.rs` and `old_database.rs`.
#![allow(dead_code)]

mod auth;
mod bodies;
mod comments;
mod concurrency;
mod currency;
mod docs;
mod expenses;
mod exports;
mod friends;
mod groups;
mod helpers;
mod idempotency;
mod imports;
mod invites;
mod journal;
mod ledger;
mod legacy_tokens;
mod limits;
mod lockout;
mod old_database;
mod ops;
mod payments;
mod pictures;
mod races;
mod recurring;
mod samples;
mod sessions;
mod snapshots;
mod splits;
mod sync;
mod trust;
mod upgrade;
mod users;
