//! The application layer: one module per area, each the only place that
//! decides what a request may do and writes it (opening the transactions
//! through the store). It reads the store and the pure rules of `domain`,
//! knows nothing of HTTP, and answers with the views (read models) the
//! handlers in `crate::http` put into the envelope.

pub mod activity;
pub mod auth;
pub mod blocks;
pub mod comments;
pub mod contact;
pub mod conversions;
pub mod estimates;
pub mod expenses;
pub mod exports;
pub mod friends;
pub mod groups;
pub mod imports;
pub mod payments;
pub mod pictures;
pub mod rates;
pub mod recurring;
pub mod schema;
pub mod sessions;
pub mod settle;
pub mod sync;
pub mod users;
pub mod versions;
pub mod views;

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// `?page=&limit=` with defaults 1 and 10; limit capped at 100.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub page: u64,
    pub limit: u64,
}

pub const MAX_PAGE_SIZE: u64 = 100;
const MAX_PAGE: u64 = 100_000;

impl Page {
    pub fn from_query(page: Option<u64>, limit: Option<u64>) -> Result<Self, ApiError> {
        let page = page.unwrap_or(1);
        let limit = limit.unwrap_or(10);
        if page == 0 || page > MAX_PAGE {
            return Err(ApiError::bad_request(format!(
                "Page must be between 1 and {MAX_PAGE}"
            )));
        }
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(ApiError::bad_request(format!(
                "Limit must be between 1 and {MAX_PAGE_SIZE}"
            )));
        }
        Ok(Self { page, limit })
    }

    pub fn skip(&self) -> u64 {
        (self.page - 1) * self.limit
    }

    pub fn limit_i64(&self) -> i64 {
        i64::try_from(self.limit).unwrap_or(MAX_PAGE_SIZE as i64)
    }

    pub fn describe(&self, total: u64) -> Pagination {
        Pagination {
            current: self.page,
            limit: self.limit,
            pages: total.div_ceil(self.limit),
            total,
        }
    }
}

/// `pagination` of list answers.
#[derive(Serialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    /// The page answered, from 1.
    pub current: u64,
    /// Items per page.
    pub limit: u64,
    /// How many pages there are.
    pub pages: u64,
    /// How many items there are.
    pub total: u64,
}
