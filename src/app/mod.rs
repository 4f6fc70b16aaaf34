//! The application layer: one module per area, each the only place that
//! decides what a request may do and writes it (opening the transactions
//! through the store). It reads the store and the pure rules of `domain`,
//! knows nothing of HTTP, and answers with the views (read models) the
//! handlers in `crate::http` put into the envelope.

pub mod groups;
pub mod settle;
pub mod versions;
pub mod views;
