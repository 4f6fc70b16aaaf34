//! Splitlyr API server: expense sharing over HTTP, backed by MongoDB.

pub mod admin;
pub mod app;
pub mod auth;
pub mod configuration;
pub mod cors;
pub mod domain;
pub mod error;
pub mod healthcheck;
pub mod http;
pub mod images;
pub mod metrics;
pub mod random;
pub mod ratelimit;
pub mod rates_command;
pub mod startup;
pub mod state;
pub mod store;
pub mod tasks;
pub mod telemetry;
pub mod upgrade_command;
