//! Drills: black-box tests that run extra processes and take their time:
//! three replicas behind nginx, a database killed with SIGKILL and restarted,
//! a database outage, SIGTERM of the real binary, a crash in the middle of the
//! upgrade, the previous release writing during a rolling deploy. Not part of the default `cargo test`; `scripts/test.sh` (and so
//! CI) runs them after the default suite, or alone:
//! `scripts/test.sh --test drills [-- FILTER]`.
//!
//! They share the helpers of the API tests (`tests/api/`).
#![allow(dead_code)]

#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/old_database.rs"]
mod old_database;
#[path = "../api/races.rs"]
mod races;

mod durability;
mod ops;
mod replicas;
mod rolling;
mod upgrade;
