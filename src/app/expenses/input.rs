//! Request bodies of the expense routes and their parsing into exact,
//! validated values (one parser for create and update: dates, categories,
//! payer, amounts rounded to the minor unit, splits apportioned to it), and
//! the rules on who may take part in an expense.

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::Deserialize;
use utoipa::ToSchema;

use super::exchange::{ExchangeInput, Paid};
use super::people::{Allocation, EntryInput, PaidBy, Payers};
use crate::app::schema::Id;
use crate::app::users::me;
use crate::auth::AuthUser;
use crate::domain::category::{Category, StoredCategory};
use crate::domain::inputs::{Description, Notes};
use crate::domain::modes::{SplitMode, Weight};
use crate::domain::money::{positive_amount, AmountInput, Currency, Decimal};
use crate::error::{ApiError, Checks};
use crate::store::ledger::MAX_OPEN_CURRENCIES;
use crate::store::{ExpenseDoc, PayerDoc, SplitDoc, Store};

/// An expense to record, or the fields of one to change (absent: as is).
#[derive(Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExpenseBody {
    /// Required on create.
    #[schema(min_length = 1, max_length = 200)]
    pub description: Option<String>,
    /// Greater than 0; required on create.
    pub amount: Option<AmountInput>,
    /// An ISO 4217 code (default USD).
    pub currency: Option<String>,
    /// One payer's id (the app), or `[{user, amount}]` for several.
    pub paid_by: Option<PaidBy>,
    /// Several payers with a mode of their own (`payersSplitType`).
    pub payers: Option<Vec<EntryInput>>,
    #[schema(value_type = Option<SplitMode>)]
    pub payers_split_type: Option<String>,
    /// `exact` (default: the app's amounts), `equal`, `percentage`, `shares`, `adjustment`.
    #[schema(value_type = Option<SplitMode>)]
    pub split_type: Option<String>,
    /// Who owes what; required on create.
    pub split_with: Option<Vec<EntryInput>>,
    /// A category code (`food`, `transport`, ..., default `other`) or its label.
    pub category: Option<String>,
    /// An ISO-8601 date-time or `YYYY-MM-DD` (default now).
    pub date: Option<String>,
    /// The group the expense is in (create only).
    #[schema(value_type = Option<Id>)]
    pub group_id: Option<String>,
    #[schema(max_length = 500)]
    pub notes: Option<String>,
    /// The version the edit is based on (as `If-Match`); update only.
    pub version: Option<i64>,
    /// Book the expense in another currency: `{currency, rate}`,
    /// `{currency, amount}` (the converted total) or `{currency}` (the rate
    /// table's rate for its date). On an edit, absent keeps the stored one
    /// (converting a new amount) and `null` removes it.
    #[serde(default, deserialize_with = "super::exchange::present")]
    #[schema(value_type = Option<ExchangeInput>)]
    pub exchange: Option<Option<ExchangeInput>>,
}

/// An expense as a request states it, parsed and divided exactly: what
/// create stores and what update writes over the stored expense.
pub struct NewExpense {
    pub description: String,
    pub currency: Currency,
    /// Minor units.
    pub total: i64,
    /// The main payer (most paid) first.
    pub payers: Vec<PayerDoc>,
    pub payers_mode: Option<SplitMode>,
    pub split_mode: SplitMode,
    /// (user, minor units, the user's input to the mode).
    pub splits: Vec<(ObjectId, i64, Weight)>,
    pub category: StoredCategory,
    pub date: DateTime,
    pub notes: Option<String>,
}

impl NewExpense {
    pub fn split_users(&self) -> impl Iterator<Item = ObjectId> + '_ {
        self.splits.iter().map(|(u, _, _)| *u)
    }

    pub fn payer_users(&self) -> impl Iterator<Item = ObjectId> + '_ {
        self.payers.iter().map(|p| p.user)
    }

    /// What was paid, as the exchange reads it.
    pub fn paid(&self) -> Paid {
        Paid {
            total: self.total,
            currency: self.currency,
            date: self.date,
        }
    }

    /// The person `paidBy` shows: the one who paid most.
    pub fn main_payer(&self) -> Option<ObjectId> {
        self.payers.first().map(|p| p.user)
    }

    /// Parses every field of `b` (but `groupId`, which only create reads),
    /// falling back to `was`, and divides amount paid and owed; every
    /// problem is reported at once, each under its field.
    pub fn parse(b: ExpenseBody, was: Fallback) -> Result<NewExpense, ApiError> {
        let mut c = Checks::default();
        let description = match b.description {
            Some(d) => c
                .check("description", Description::try_from(d.as_str()))
                .map(Description::into_string),
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
        let money = amount_input.zip(currency).and_then(|(a, cur)| {
            let total = c.check("amount", positive_amount(a, cur).map_err(|e| e.to_string()));
            total.map(|t| (t, a, cur))
        });
        let payers = Payers::parse(
            &mut c,
            b.paid_by.as_ref(),
            b.payers.as_deref(),
            b.payers_split_type.as_deref(),
            was.payers,
        );
        let splits = parse_splits(
            &mut c,
            b.split_type.as_deref(),
            b.split_with.as_deref(),
            was.splits,
        );
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
                .check("notes", Notes::try_from(n.as_str()))
                .map(|n| Some(n.into_string()).filter(|n| !n.is_empty())),
            None => Some(was.notes),
        };
        // Amounts are divided once the total is known.
        let divided = money
            .zip(payers.zip(splits))
            .and_then(|(money, (payers, splits))| {
                let paid = payers.divide(&mut c, money);
                let owed = splits.divide(&mut c, "splitWith", money, false);
                paid.zip(owed.map(|o| (splits.mode, o)))
            });
        let (((description, money), (category, date)), (notes, divided)) = c.finish(
            description
                .zip(money)
                .zip(category.zip(date))
                .zip(notes.zip(divided)),
        )?;
        let ((payers, payers_mode), (split_mode, splits)) = divided;
        Ok(NewExpense {
            description,
            currency: money.2,
            total: money.0,
            payers,
            payers_mode,
            split_mode,
            splits,
            category,
            date,
            notes,
        })
    }
}

/// `splitType` and `splitWith`. Without `splitWith`, the stored people are
/// divided again: by the stored inputs, or equally when `splitType` turns
/// to `equal`.
fn parse_splits(
    c: &mut Checks,
    split_type: Option<&str>,
    split_with: Option<&[EntryInput]>,
    was: Option<Allocation>,
) -> Option<Allocation> {
    let mode = match split_type {
        Some(raw) => Some(c.check("splitType", SplitMode::parse(raw))?),
        None => None,
    };
    match (split_with, was) {
        (Some(list), _) => Allocation::parse(c, "splitWith", mode.unwrap_or_default(), list),
        (None, Some(stored)) => match mode {
            None => Some(stored),
            Some(m) => match stored.with_mode(m) {
                Some(divided) => Some(divided),
                None => c.check(
                    "splitWith",
                    Err::<Allocation, _>("splitWith is required to change splitType"),
                ),
            },
        },
        (None, None) => c.required("splitWith", None, "splitWith is required"),
    }
}

/// What each field falls back to when the body leaves it out: the defaults
/// of a new expense, or the expense as stored. `None`: the field is required.
pub struct Fallback {
    description: Option<String>,
    currency: Currency,
    amount: Option<Decimal>,
    payers: Payers,
    splits: Option<Allocation>,
    category: StoredCategory,
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
            payers: Payers::One(me),
            splits: None,
            category: Category::Other.into(),
            date: DateTime::now(),
            notes: None,
        }
    }

    /// An update: whatever is not sent stays as stored.
    pub fn stored(e: &ExpenseDoc) -> Self {
        let currency = e.currency;
        Self {
            description: Some(e.description.clone()),
            currency,
            amount: Decimal::from_minor(e.amount, currency).ok(),
            payers: Payers::stored(e, currency),
            splits: Some(Allocation::stored_splits(e, currency)),
            category: e.category.clone(),
            date: e.date,
            notes: e.notes.clone(),
        }
    }
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

/// A category code or the app's label for it, as the category to store.
pub fn parse_category(raw: &str) -> Result<StoredCategory, String> {
    Category::parse(raw)
        .map(StoredCategory::from)
        .map_err(|e| e.to_string())
}

/// The stored splits of `expense`. Users whose amount is unchanged keep
/// their settled state from `previous`.
pub fn build_splits(expense: &NewExpense, previous: &[SplitDoc]) -> Vec<SplitDoc> {
    expense
        .splits
        .iter()
        .map(|&(user, amount, weight)| {
            let kept = previous
                .iter()
                .find(|p| p.user == user && p.amount == amount);
            SplitDoc {
                id: kept.map_or_else(ObjectId::new, |p| p.id),
                user,
                amount,
                settled: kept.is_some_and(|p| p.settled),
                settled_at: kept.and_then(|p| p.settled_at),
                weight,
            }
        })
        .collect()
}

/// Outside a group, whoever records or edits an expense or payment must be
/// one of its people (a payer, the payee, or in the split): nobody books
/// money between other people. In a group, being a member is enough.
pub fn check_takes_part(
    user: AuthUser,
    group: Option<ObjectId>,
    mut people: impl Iterator<Item = ObjectId>,
) -> Result<(), ApiError> {
    if group.is_none() && !people.any(|p| p == user.id) {
        return Err(ApiError::bad_request(
            "Outside a group you can only record expenses you take part in, \
             as a payer or in the split",
        ));
    }
    Ok(())
}

/// Refuses an expense or payment that would open its currency where
/// [`MAX_OPEN_CURRENCIES`] others are open already (in its group, or between
/// two of its people).
pub async fn check_open_currencies(store: &Store, expense: &ExpenseDoc) -> Result<(), ApiError> {
    if store.opens_too_many_currencies(expense).await? {
        return Err(ApiError::validation(vec![crate::error::FieldError::new(
            "currency",
            format!(
                "At most {MAX_OPEN_CURRENCIES} currencies can be open at once in a group \
                 or between two people; settle one of them first"
            ),
        )]));
    }
    Ok(())
}

/// The refusal for people who blocked one another: it names nobody.
pub fn cannot_share() -> ApiError {
    ApiError::forbidden("Some of these people cannot share an expense with you")
}

/// Who may take part: in a group, its members; otherwise me and my friends;
/// never someone who blocked me or whom I blocked (a generic refusal).
pub async fn check_participants(
    store: &Store,
    user: AuthUser,
    group: Option<ObjectId>,
    payers: &[ObjectId],
    split_users: &[ObjectId],
) -> Result<(), ApiError> {
    let others: Vec<ObjectId> = payers.iter().copied().filter(|p| *p != user.id).collect();
    if !others.is_empty() && store.user_summaries(&others).await?.len() < others.len() {
        return Err(ApiError::not_found("Payer not found"));
    }
    match group {
        Some(gid) => {
            // Members who blocked one another may still share a group from
            // before; no new expense between them. (Outside a group the
            // friend check below suffices: blocking ends a friendship, and
            // a blocked pair cannot become friends again.)
            let everyone: Vec<ObjectId> = payers.iter().chain(split_users).copied().collect();
            let (group, blocked) = futures_util::try_join!(
                store.group_by_id(gid),
                store.any_block_between(user.id, &everyone)
            )?;
            let group = group.ok_or_else(|| ApiError::not_found("Group not found"))?;
            if blocked {
                return Err(cannot_share());
            }
            if !group.is_member(user.id) {
                return Err(ApiError::bad_request("You must be a member of this group"));
            }
            if !payers.iter().all(|p| group.is_member(*p)) {
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
            if !payers.iter().all(known) {
                return Err(ApiError::bad_request(
                    "Payer must be you or one of your friends",
                ));
            }
            if !split_users.iter().all(|u| known(u) || payers.contains(u)) {
                return Err(ApiError::bad_request(
                    "All split users must be you, the payer or your friends",
                ));
            }
        }
    }
    Ok(())
}
