//! Request bodies of the expense routes and their parsing into exact,
//! validated values (one parser for create and update: dates, categories,
//! payer, amounts rounded to the minor unit, splits apportioned to it), and
//! the rules on who may take part in an expense.

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::Deserialize;

use super::view::currency_of;
use crate::auth::AuthUser;
use crate::domain::category::Category;
use crate::domain::money::{positive_amount, AmountInput, Currency, Decimal};
use crate::domain::split::apportion;
use crate::domain::text;
use crate::error::ApiError;
use crate::routes::users::me;
use crate::routes::Checks;
use crate::store::{ExpenseDoc, SplitDoc, Store};

#[derive(Clone, Deserialize)]
pub struct SplitInput {
    pub user: Option<String>,
    pub amount: Option<AmountInput>,
}

#[derive(Clone, Deserialize)]
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
    /// The version the edit is based on (as `If-Match`); update only.
    pub version: Option<i64>,
}

/// An expense's fields, parsed and checked: what create stores and what
/// update writes over the stored expense.
pub struct ExpenseFields {
    pub description: String,
    pub currency: Currency,
    /// The amount exactly as sent; the split tolerance is measured against it.
    pub amount_input: Decimal,
    /// `amount_input` rounded to the currency's minor unit.
    pub total: i64,
    pub payer: ObjectId,
    pub shares: Vec<(ObjectId, Decimal)>,
    pub category: String,
    pub date: DateTime,
    pub notes: Option<String>,
}

impl ExpenseFields {
    pub fn split_users(&self) -> impl Iterator<Item = ObjectId> + '_ {
        self.shares.iter().map(|(u, _)| *u)
    }
}

/// What each field falls back to when the body leaves it out: the defaults
/// of a new expense, or the expense as stored. `None`: the field is required.
pub struct Fallback {
    description: Option<String>,
    currency: Currency,
    amount: Option<Decimal>,
    payer: ObjectId,
    shares: Option<Vec<(ObjectId, Decimal)>>,
    category: String,
    date: DateTime,
    notes: Option<String>,
}

impl Fallback {
    /// A new expense: paid by me, in USD, category other, dated now.
    pub fn new_expense(me: ObjectId) -> Self {
        Self {
            description: None,
            currency: Currency::USD,
            amount: None,
            payer: me,
            shares: None,
            category: Category::Other.code().into(),
            date: DateTime::now(),
            notes: None,
        }
    }

    /// An update: whatever is not sent stays as stored.
    pub fn stored(e: &ExpenseDoc) -> Self {
        let currency = currency_of(e);
        let decimal = |minor| Decimal::from_minor(minor, currency).ok();
        Self {
            description: Some(e.description.clone()),
            currency,
            amount: decimal(e.amount),
            payer: e.paid_by,
            shares: e
                .split_with
                .iter()
                .map(|s| decimal(s.amount).map(|d| (s.user, d)))
                .collect(),
            category: e.category.clone(),
            date: e.date,
            notes: e.notes.clone(),
        }
    }
}

/// Parses the fields of `b` (all but `groupId`, which only create reads),
/// falling back to `was`; every problem is recorded in `c`.
pub fn parse_fields(c: &mut Checks, b: ExpenseBody, was: Fallback) -> Option<ExpenseFields> {
    let description = match b.description {
        Some(d) => c.check("description", text::bounded(&d, "Description", 1, 200)),
        None => c.required("description", was.description, "Description is required"),
    };
    let currency = match b.currency.as_deref() {
        Some(code) => c.check("currency", Currency::parse(code).map_err(|e| e.to_string())),
        None => Some(was.currency),
    };
    let amount_input = match b.amount {
        Some(a) => c.check("amount", a.decimal().map_err(|e| e.to_string())),
        None => c.required("amount", was.amount, "Amount is required"),
    };
    let amount = amount_input.zip(currency).and_then(|(a, cur)| {
        let total = c.check("amount", positive_amount(a, cur).map_err(|e| e.to_string()));
        total.map(|t| (a, t))
    });
    let payer = match b
        .paid_by
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(p) => c.check(
            "paidBy",
            ObjectId::parse_str(p).map_err(|_| "Invalid payer ID format"),
        ),
        None => Some(was.payer),
    };
    let shares = match b.split_with {
        Some(s) => c.check("splitWith", parse_splits(s)),
        None => c.required("splitWith", was.shares, "splitWith is required"),
    };
    let category = match b.category.as_deref() {
        Some(cat) => c.check("category", parse_category(cat)),
        None => Some(was.category),
    };
    let date = match b.date.as_deref() {
        Some(d) => c.check("date", parse_date(d)),
        None => Some(was.date),
    };
    let notes = match b.notes {
        Some(n) => c
            .check("notes", text::bounded(&n, "Notes", 0, 500))
            .map(|n| Some(n).filter(|n| !n.is_empty())),
        None => Some(was.notes),
    };
    let (((description, currency), (amount, payer)), ((shares, category), (date, notes))) =
        description
            .zip(currency)
            .zip(amount.zip(payer))
            .zip(shares.zip(category).zip(date.zip(notes)))?;
    let (amount_input, total) = amount;
    Some(ExpenseFields {
        description,
        currency,
        amount_input,
        total,
        payer,
        shares,
        category,
        date,
        notes,
    })
}

/// `groupId` of a new expense: absent or blank is none.
pub fn parse_group(c: &mut Checks, raw: Option<&str>) -> Option<Option<ObjectId>> {
    match raw.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => c
            .check(
                "groupId",
                ObjectId::parse_str(g).map_err(|_| "Invalid group ID format"),
            )
            .map(Some),
        None => Some(None),
    }
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

/// A category code or the app's label for it, as the code to store.
pub fn parse_category(raw: &str) -> Result<String, String> {
    Category::parse(raw)
        .map(|c| c.code().to_string())
        .map_err(|e| e.to_string())
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
