//! Pure domain code, no I/O: request values are parsed into these types at the
//! edge, so handlers only ever see valid data.

pub mod balance;
pub mod category;
pub mod email;
pub mod exchange;
pub mod exchange_sources;
pub mod friendship;
pub mod group;
pub mod inputs;
pub mod iso4217;
pub mod legacy;
pub mod modes;
pub mod money;
pub mod months;
pub mod postings;
pub mod recurrence;
pub mod settle;
pub mod settle_share;
pub mod split;
pub mod splitwise;
pub mod splitwise_import;
pub mod text;
