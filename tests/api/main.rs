//! Black-box tests: each starts the real server on port 0 against a real
//! MongoDB-compatible database (its own randomly named database) and speaks HTTP.
#![allow(dead_code)]

mod auth;
mod bodies;
mod concurrency;
mod docs;
mod durability;
mod expenses;
mod friends;
mod groups;
mod helpers;
mod ledger;
mod legacy_tokens;
mod limits;
mod lockout;
mod ops;
mod payments;
mod pictures;
mod replicas;
mod samples;
mod sessions;
mod splits;
mod trust;
mod upgrade;
mod users;
