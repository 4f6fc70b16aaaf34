//! JSON rendering of expenses: amounts in major units, users and groups
//! populated with one query each for a whole page.

use std::collections::HashMap;

use mongodb::bson::oid::ObjectId;
use serde::Serialize;
use utoipa::ToSchema;

use super::exchange::ExchangeView;
use crate::app::schema::Id;
use crate::app::views::{iso, iso_opt, CreatorRef, Directory, GroupRef, UserRef};
use crate::domain::modes::{weight_json, SplitMode};
use crate::domain::money::{Currency, MajorUnits};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{ExpenseDoc, Kind};

/// One person's share of an expense.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SplitView {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    id: String,
    user: UserRef,
    amount: MajorUnits,
    settled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    settled_at: Option<String>,
    #[serde(flatten)]
    input: ModeInput,
}

/// One person's input to a split mode, under the mode's field name
/// (`percentage`, `shares` or `adjustment`); nothing for exact and equal.
#[derive(Serialize, ToSchema, Default)]
struct ModeInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    percentage: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    shares: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    adjustment: Option<serde_json::Value>,
}

impl ModeInput {
    fn of(mode: SplitMode, weight: Option<i64>, currency: Currency) -> Self {
        let value = weight_json(mode, weight, currency);
        match mode {
            SplitMode::Percentage => Self {
                percentage: value,
                ..Self::default()
            },
            SplitMode::Shares => Self {
                shares: value,
                ..Self::default()
            },
            SplitMode::Adjustment => Self {
                adjustment: value,
                ..Self::default()
            },
            SplitMode::Exact | SplitMode::Equal => Self::default(),
        }
    }
}

/// What one of several payers paid.
#[derive(Serialize, ToSchema)]
struct PayerView {
    user: UserRef,
    amount: MajorUnits,
    #[serde(flatten)]
    input: ModeInput,
}

/// An expense or a payment, its people populated.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExpenseView {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    id: String,
    /// `expense` or `payment`.
    #[serde(rename = "type")]
    #[schema(value_type = ExpenseKind)]
    kind: &'static str,
    description: String,
    /// The app's screens print `title`; it is the description.
    title: String,
    amount: MajorUnits,
    currency: String,
    created_by: CreatorRef,
    paid_by: UserRef,
    /// Only when several people paid: who paid how much.
    #[serde(skip_serializing_if = "Option::is_none")]
    payers: Option<Vec<PayerView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<SplitMode>)]
    payers_split_type: Option<&'static str>,
    /// How `amount` was divided: `exact`, `equal`, `percentage`, `shares` or
    /// `adjustment`; each split shows its input next to its amount.
    #[schema(value_type = SplitMode)]
    split_type: &'static str,
    split_with: Vec<SplitView>,
    /// A payment's payer and payee.
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<UserRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<UserRef>,
    category: String,
    #[schema(format = DateTime)]
    date: String,
    group: Option<GroupRef>,
    notes: Option<String>,
    is_settled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    settled_at: Option<String>,
    /// A photo of the receipt: `{url, width, height}`, or null.
    receipt: Option<ReceiptView>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// Only when booked in another currency: balances and settle-up hold
    /// `exchange.amount` of `exchange.currency`, divided like `amount`.
    #[serde(skip_serializing_if = "Option::is_none")]
    exchange: Option<ExchangeView>,
    /// Only for a payment that is half of a currency conversion: the
    /// conversion's id (it is deleted and restored with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Id>)]
    conversion: Option<String>,
    /// Sent back in `If-Match` to edit only this version.
    version: i64,
    /// Only on an expense a recurring series created: the series and which
    /// of its occurrences this is (from 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    recurring: Option<RecurringView>,
}

/// `recurring` of [`ExpenseView`].
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RecurringView {
    #[schema(value_type = Id)]
    series_id: String,
    sequence: i64,
}

/// `type` of [`ExpenseView`], as [`Kind::code`] writes it (schema only).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum ExpenseKind {
    Expense,
    Payment,
}

#[derive(Serialize, ToSchema)]
struct ReceiptView {
    url: String,
    width: i32,
    height: i32,
}

fn expense_view(
    e: &ExpenseDoc,
    people: &Directory,
    groups: &HashMap<ObjectId, String>,
) -> ExpenseView {
    let currency = e.currency;
    let money = |minor| MajorUnits { minor, currency };
    let payment = e.kind == Kind::Payment;
    let payers_mode = e.payers_split_type.unwrap_or_default();
    ExpenseView {
        id: e.id.to_hex(),
        kind: e.kind.code(),
        description: e.description.clone(),
        title: e.description.clone(),
        amount: money(e.amount),
        currency: currency.code().to_string(),
        created_by: people.creator(e.created_by),
        paid_by: people.user(e.paid_by),
        payers: e.has_several_payers().then(|| {
            e.payers
                .iter()
                .map(|p| PayerView {
                    user: people.user(p.user),
                    amount: money(p.amount),
                    input: ModeInput::of(payers_mode, p.weight, currency),
                })
                .collect()
        }),
        payers_split_type: e.has_several_payers().then(|| payers_mode.code()),
        split_type: e.split_type.code(),
        from: payment.then(|| people.user(e.paid_by)),
        to: payment.then(|| people.user(e.payee())),
        split_with: e
            .split_with
            .iter()
            .map(|s| SplitView {
                id: s.id.to_hex(),
                user: people.user(s.user),
                amount: money(s.amount),
                settled: s.settled,
                settled_at: iso_opt(s.settled_at),
                input: ModeInput::of(e.split_type, s.weight, currency),
            })
            .collect(),
        category: e.category.as_str().to_owned(),
        date: iso(e.date),
        group: e.group.map(|g| GroupRef {
            id: g.to_hex(),
            name: groups.get(&g).cloned().unwrap_or_default(),
        }),
        notes: e.notes.clone(),
        is_settled: e.is_settled,
        settled_at: iso_opt(e.settled_at),
        receipt: e.receipt.as_ref().map(|r| ReceiptView {
            url: people.links().image(&r.id),
            width: r.width,
            height: r.height,
        }),
        created_at: iso(e.created_at),
        updated_at: iso(e.updated_at),
        exchange: e.exchange.as_ref().map(ExchangeView::of),
        conversion: e.conversion.map(|c| c.to_hex()),
        version: e.version,
        recurring: e.recurring.map(|r| RecurringView {
            series_id: r.series_id.to_hex(),
            sequence: r.sequence,
        }),
    }
}

/// Renders expenses for `viewer` with users (as the viewer may see them) and
/// group names fetched in two queries in all.
pub async fn render(
    app: &AppState,
    viewer: ObjectId,
    expenses: &[ExpenseDoc],
) -> Result<Vec<ExpenseView>, ApiError> {
    let mut users: Vec<ObjectId> = expenses
        .iter()
        .flat_map(|e| {
            let splits = e.split_with.iter().map(|s| s.user);
            let payers = e.payers.iter().map(|p| p.user);
            splits.chain(payers).chain([e.paid_by, e.created_by])
        })
        .collect();
    users.sort();
    users.dedup();
    let mut group_ids: Vec<ObjectId> = expenses.iter().filter_map(|e| e.group).collect();
    group_ids.sort();
    group_ids.dedup();
    let (people, groups) = futures_util::try_join!(
        app.store.people(viewer, &users),
        app.store.group_names(&group_ids)
    )?;
    let people = Directory::new(people, &app.links);
    Ok(expenses
        .iter()
        .map(|e| expense_view(e, &people, &groups))
        .collect())
}

pub async fn render_one(
    app: &AppState,
    viewer: ObjectId,
    expense: &ExpenseDoc,
) -> Result<ExpenseView, ApiError> {
    render(app, viewer, std::slice::from_ref(expense))
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("rendering produced no expense"))
}
