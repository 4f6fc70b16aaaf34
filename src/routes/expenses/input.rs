//! Request bodies of the expense routes and their parsing into exact,
//! validated values: dates, categories, splits apportioned to the cent, and
//! the rules on who may take part in an expense.

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::domain::money::{AmountInput, Currency, Decimal};
use crate::domain::split::apportion;
use crate::error::ApiError;
use crate::routes::users::me;
use crate::store::{SplitDoc, Store};

const CATEGORIES: [&str; 7] = [
    "food",
    "transport",
    "entertainment",
    "shopping",
    "utilities",
    "travel",
    "other",
];

#[derive(Deserialize)]
pub struct SplitInput {
    pub user: Option<String>,
    pub amount: Option<AmountInput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpenseBody {
    pub description: Option<String>,
    pub amount: Option<AmountInput>,
    pub currency: Option<String>,
    pub paid_by: Option<String>,
    pub split_with: Option<Vec<SplitInput>>,
    pub category: Option<String>,
    pub date: Option<String>,
    pub group_id: Option<String>,
    pub notes: Option<String>,
}

pub fn parse_date(raw: &str) -> Result<DateTime, &'static str> {
    let raw = raw.trim();
    let parsed = chrono::DateTime::parse_from_rfc3339(raw)
        .map(|d| d.timestamp_millis())
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map(|d| {
                d.and_hms_opt(0, 0, 0)
                    .map_or(0, |t| t.and_utc().timestamp_millis())
            })
        })
        .map_err(|_| "Date must be an ISO-8601 date")?;
    // 1970..2200: anything else is a typo, not an expense.
    if !(0..7_258_118_400_000).contains(&parsed) {
        return Err("Date is out of range");
    }
    Ok(DateTime::from_millis(parsed))
}

pub fn parse_category(raw: Option<&str>) -> Result<String, String> {
    let c = raw.map(str::trim).unwrap_or("other").to_lowercase();
    if CATEGORIES.contains(&c.as_str()) {
        Ok(c)
    } else {
        Err(format!(
            "Category must be one of: {}",
            CATEGORIES.join(", ")
        ))
    }
}

/// Split entries as (user, exact decimal share), users unique.
pub fn parse_splits(raw: Vec<SplitInput>) -> Result<Vec<(ObjectId, Decimal)>, String> {
    if raw.is_empty() {
        return Err("At least one split is required".into());
    }
    let mut out: Vec<(ObjectId, Decimal)> = Vec::with_capacity(raw.len());
    for s in raw {
        let user = s
            .user
            .as_deref()
            .and_then(|u| ObjectId::parse_str(u.trim()).ok())
            .ok_or("Each split needs a valid user ID")?;
        let amount = s
            .amount
            .ok_or("Each split needs an amount")?
            .decimal()
            .map_err(|e| e.to_string())?;
        if out.iter().any(|(u, _)| *u == user) {
            return Err("A user can appear only once in splitWith".into());
        }
        out.push((user, amount));
    }
    Ok(out)
}

/// Turns (user, share) pairs into stored splits summing exactly to `total`.
/// Users whose amount is unchanged keep their settled state.
pub fn build_splits(
    total: i64,
    amount_input: Decimal,
    currency: Currency,
    shares: &[(ObjectId, Decimal)],
    previous: &[SplitDoc],
) -> Result<Vec<SplitDoc>, ApiError> {
    let decimals: Vec<Decimal> = shares.iter().map(|(_, d)| *d).collect();
    let parts = apportion(total, &decimals, amount_input, currency)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(shares
        .iter()
        .zip(parts)
        .map(|((user, _), amount)| {
            let kept = previous
                .iter()
                .find(|p| p.user == *user && p.amount == amount);
            SplitDoc {
                id: kept.map_or_else(ObjectId::new, |p| p.id),
                user: *user,
                amount,
                settled: kept.is_some_and(|p| p.settled),
                settled_at: kept.and_then(|p| p.settled_at),
            }
        })
        .collect())
}

/// Who may take part: in a group, its members; otherwise me and my friends.
pub async fn check_participants(
    store: &Store,
    user: AuthUser,
    group: Option<ObjectId>,
    payer: ObjectId,
    split_users: &[ObjectId],
) -> Result<(), ApiError> {
    if payer != user.id && store.user_summaries(&[payer]).await?.is_empty() {
        return Err(ApiError::not_found("Payer not found"));
    }
    match group {
        Some(gid) => {
            let group = store
                .group_by_id(gid)
                .await?
                .ok_or_else(|| ApiError::not_found("Group not found"))?;
            if !group.is_member(user.id) {
                return Err(ApiError::bad_request("You must be a member of this group"));
            }
            if !group.is_member(payer) {
                return Err(ApiError::bad_request(
                    "Payer must be a member of this group",
                ));
            }
            if !split_users.iter().all(|u| group.is_member(*u)) {
                return Err(ApiError::bad_request(
                    "All split users must be members of this group",
                ));
            }
        }
        None => {
            let doc = me(store, user).await?;
            let known = |u: &ObjectId| *u == user.id || doc.friends.contains(u);
            if !known(&payer) {
                return Err(ApiError::bad_request(
                    "Payer must be you or one of your friends",
                ));
            }
            if !split_users.iter().all(|u| known(u) || *u == payer) {
                return Err(ApiError::bad_request(
                    "All split users must be you, the payer or your friends",
                ));
            }
        }
    }
    Ok(())
}
