//! The group views of `/v1/expenses`: a group's expenses and its members'
//! balances (per currency; the single number never adds currencies).

use std::collections::BTreeMap;

use mongodb::bson::oid::ObjectId;
use serde::Serialize;
use utoipa::ToSchema;

use super::view::{render, ExpenseView};
use crate::app::estimates::Estimator;
use crate::app::groups::{member_group, members, people_of, MemberView};
use crate::app::schema::Id;
use crate::app::views::number_currency;
use crate::app::Page;
use crate::auth::AuthUser;
use crate::domain::balance::collect_nets;
use crate::domain::money::{Currency, MajorUnits};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::ExpenseFilter;

/// A page of a group's expenses, for its members.
pub async fn group_expenses(
    app: &AppState,
    user: AuthUser,
    group_id: ObjectId,
    settled: Option<bool>,
    page: &Page,
) -> Result<(Vec<ExpenseView>, u64), ApiError> {
    let store = &app.store;
    let group = member_group(store, group_id, user).await?;
    let filter = ExpenseFilter {
        participant: None,
        with_friend: None,
        group: Some(group.id),
        settled,
    };
    let (expenses, total) = match filter.settled {
        None => {
            store
                .group_expense_page(&group, page.skip(), page.limit_i64())
                .await?
        }
        Some(_) => {
            store
                .list_expenses(&filter, page.skip(), page.limit_i64())
                .await?
        }
    };
    Ok((render(app, user.id, &expenses).await?, total))
}

fn json_of(value: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// The balances of a group's members.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupBalanceView {
    group: GroupMembers,
    /// Member id → their balance in `currency` (0 when even; > 0: they are
    /// owed). Former members who still owe or are owed appear too.
    #[schema(value_type = HashMap<String, MajorUnits>)]
    balances: serde_json::Map<String, serde_json::Value>,
    /// The currency of `balances`: the group's one open currency, else my
    /// default currency.
    #[schema(value_type = String)]
    currency: Currency,
    /// Whether balances in other currencies are open beside `currency`.
    other_currencies: bool,
    /// Member id → currency code → exact balance.
    #[schema(value_type = HashMap<String, HashMap<String, MajorUnits>>)]
    balances_by_currency: serde_json::Map<String, serde_json::Value>,
    total_expenses: u64,
    /// Only with `?convertTo=`: every member's balance in that currency at
    /// the latest known rates (an estimate; they still sum to zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    converted: Option<ConvertedBalances>,
}

/// A group's balances converted for show.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConvertedBalances {
    currency: String,
    /// Member id → balance in `currency`.
    #[schema(value_type = HashMap<String, MajorUnits>)]
    balances: serde_json::Map<String, serde_json::Value>,
    #[schema(format = Date)]
    rate_date: String,
    /// Always true.
    estimate: bool,
}

/// The group of a balance view, its members populated.
#[derive(Serialize, ToSchema)]
struct GroupMembers {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    id: String,
    name: String,
    members: Vec<MemberView>,
}

/// Every member's balance in a group, per currency, for its members; with
/// `convert_to`, also converted into it (an estimate).
pub async fn group_balance(
    app: &AppState,
    user: AuthUser,
    group_id: ObjectId,
    convert_to: Option<Currency>,
) -> Result<GroupBalanceView, ApiError> {
    let store = &app.store;
    let estimator = Estimator::load(store, convert_to).await?;
    let group = member_group(store, group_id, user).await?;
    let rows = store.group_ledger(group.id).await?;
    let converted = match &estimator {
        Some(e) => {
            let mut by_currency: BTreeMap<Currency, Vec<(ObjectId, i64)>> = BTreeMap::new();
            for r in &rows {
                by_currency
                    .entry(r.currency)
                    .or_default()
                    .push((r.user, r.net));
            }
            let mut balances: serde_json::Map<String, serde_json::Value> = group
                .members
                .iter()
                .map(|m| (m.user.to_hex(), serde_json::json!(0)))
                .collect();
            for (member, minor) in e.nets(&by_currency)? {
                balances.insert(member.to_hex(), json_of(e.money(minor)));
            }
            Some(ConvertedBalances {
                currency: e.currency().code().to_owned(),
                balances,
                rate_date: e.rate_date(),
                estimate: true,
            })
        }
        None => None,
    };
    // The members, the caller's default currency among them.
    let people = people_of(app, user.id, std::slice::from_ref(&group)).await?;
    let nets = collect_nets(rows.iter().map(|r| (r.user, r.currency, r.net)));
    // The single number per member is in the group's one open currency, or
    // with several in the caller's default currency only (`otherCurrencies`);
    // `balancesByCurrency` has every amount exactly.
    let (currency, other_currencies) = number_currency(
        nets.values().flat_map(|n| n.by_currency.keys().copied()),
        people.default_currency(user.id),
    );
    // Every member appears, at 0 when even; former members who still owe or
    // are owed appear too, so the balances always sum to zero.
    let zero = || serde_json::json!(0);
    let mut balances: serde_json::Map<String, serde_json::Value> = group
        .members
        .iter()
        .map(|m| (m.user.to_hex(), zero()))
        .collect();
    let mut by_currency = serde_json::Map::new();
    for (member, net) in &nets {
        let minor = net.by_currency.get(&currency).copied().unwrap_or(0);
        balances.insert(member.to_hex(), json_of(MajorUnits { minor, currency }));
        let exact: serde_json::Map<String, serde_json::Value> = net
            .by_currency
            .iter()
            .map(|(c, minor)| {
                (
                    c.code().to_string(),
                    json_of(MajorUnits {
                        minor: *minor,
                        currency: *c,
                    }),
                )
            })
            .collect();
        by_currency.insert(member.to_hex(), exact.into());
    }
    let total_expenses = group.expense_counts().total();
    Ok(GroupBalanceView {
        group: GroupMembers {
            id: group.id.to_hex(),
            members: members(&group, &people),
            name: group.name,
        },
        balances,
        currency,
        other_currencies,
        balances_by_currency: by_currency,
        total_expenses,
        converted,
    })
}
