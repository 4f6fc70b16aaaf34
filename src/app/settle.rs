//! Settle-up suggestions, read from the ledger (cost independent of history):
//!
//! - a group's ([`group`]): the fewest transfers that bring every member's
//!   balance in the group to zero, per currency (`domain::settle`); without
//!   `simplify`, the plain pairwise debts inside the group instead.
//! - mine ([`mine`]): what I pay and receive to be even with everyone, per
//!   currency.
//!
//! Recording the suggested transfers as payments (with the group's id for a
//! group's) brings those balances to exactly zero.

use std::collections::BTreeMap;

use mongodb::bson::oid::ObjectId;
use serde::Serialize;
use tokio::sync::Semaphore;
use utoipa::ToSchema;

use crate::app::estimates::Estimator;
use crate::app::groups::member_group;
use crate::app::views::{Directory, GroupRef, UserRef};
use crate::auth::AuthUser;
use crate::domain::money::{Currency, MajorUnits};
use crate::domain::settle::{is_heavy, minimal_transfers, pairwise_transfers, Plan};
use crate::error::ApiError;
use crate::state::AppState;

/// Solves large enough to leave the async workers run on blocking threads,
/// at most this many at once (each holds a few MiB while it runs).
static HEAVY_SOLVES: Semaphore = Semaphore::const_new(2);

/// Debts as `(debtor, creditor, minor)` per currency.
type Debts = BTreeMap<Currency, Vec<(ObjectId, ObjectId, i64)>>;

/// A plan per currency, with how many people have an open balance in it.
type Plans = BTreeMap<Currency, (usize, Plan<ObjectId>)>;

/// One payment to make.
#[derive(Serialize, ToSchema)]
struct TransferView {
    from: UserRef,
    to: UserRef,
    amount: MajorUnits,
    currency: String,
}

/// The plan of one currency.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CurrencyPlan {
    currency: String,
    /// People with a non-zero balance in this currency.
    open_balances: usize,
    transfers: usize,
    optimal: bool,
}

/// The transfers of every currency, and whether each plan is provably the
/// fewest.
#[derive(Serialize, ToSchema)]
pub struct PlanView {
    optimal: bool,
    transfers: Vec<TransferView>,
    currencies: Vec<CurrencyPlan>,
}

/// A group's settle-up plan.
#[derive(Serialize, ToSchema)]
pub struct GroupPlanView {
    #[serde(flatten)]
    plan: PlanView,
    /// The fewest transfers (else every pairwise debt as it stands).
    simplified: bool,
    group: GroupRef,
    /// Only with `?convertTo=`: the fewest transfers settling every open
    /// balance in that one currency, at the latest known rates (an
    /// estimate: recording them needs a conversion first).
    #[serde(skip_serializing_if = "Option::is_none")]
    converted: Option<ConvertedPlan>,
}

/// A group's plan in one currency, for show.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConvertedPlan {
    currency: String,
    transfers: Vec<TransferView>,
    optimal: bool,
    #[schema(format = Date)]
    rate_date: String,
    /// Always true.
    estimate: bool,
}

/// My settle-up plan, with what I pay and receive per currency.
#[derive(Serialize, ToSchema)]
pub struct MyPlanView {
    #[serde(flatten)]
    plan: PlanView,
    totals: Vec<Totals>,
}

/// What I pay and receive in one currency, and the difference.
#[derive(Serialize, ToSchema)]
struct Totals {
    currency: String,
    pay: MajorUnits,
    receive: MajorUnits,
    net: MajorUnits,
}

/// How a group's plan is asked for.
pub struct GroupQuery {
    /// Only this currency (else every one).
    pub only: Option<Currency>,
    /// The fewest transfers, else every pairwise debt.
    pub simplify: bool,
    /// Also every balance converted into this currency (an estimate).
    pub convert_to: Option<Currency>,
}

/// The group's settle-up plan for a member, in `only` or every currency:
/// the fewest transfers when `simplify`, else every pairwise debt; with
/// `convert_to`, also the plan of every balance converted into it.
pub async fn group(
    app: &AppState,
    user: AuthUser,
    group_id: ObjectId,
    query: GroupQuery,
) -> Result<GroupPlanView, ApiError> {
    let GroupQuery {
        only,
        simplify,
        convert_to,
    } = query;
    let store = &app.store;
    let estimator = Estimator::load(store, convert_to).await?;
    let group = member_group(store, group_id, user).await?;
    let wanted = |currency: Currency| only.is_none_or(|o| o == currency).then_some(currency);
    let mut balances: BTreeMap<Currency, Vec<(ObjectId, i64)>> = BTreeMap::new();
    for row in store.group_ledger(group.id).await? {
        if let Some(currency) = wanted(row.currency) {
            balances
                .entry(currency)
                .or_default()
                .push((row.user, row.net));
        }
    }
    let converted = match &estimator {
        Some(e) => Some(converted_plan(app, user.id, e, &balances).await?),
        None => None,
    };
    let mut plans = Plans::new();
    if simplify {
        for (currency, nets) in balances {
            let open = nets.len();
            plans.insert(currency, (open, solve(nets).await?));
        }
    } else {
        let mut debts = Debts::new();
        for pair in store.group_pairs(group.id).await? {
            let Some(currency) = wanted(pair.currency) else {
                continue;
            };
            debts.entry(currency).or_default().push(pair.debt());
        }
        for (currency, debts) in debts {
            let open = balances.get(&currency).map_or(0, Vec::len);
            let transfers = pairwise_transfers(&debts);
            plans.insert(
                currency,
                (
                    open,
                    Plan {
                        transfers,
                        // Not a minimum: every debt as it stands.
                        optimal: false,
                    },
                ),
            );
        }
    }
    Ok(GroupPlanView {
        plan: render(app, user.id, plans).await?,
        simplified: simplify,
        group: GroupRef {
            id: group.id.to_hex(),
            name: group.name,
        },
        converted,
    })
}

/// The fewest transfers settling `balances` once converted by `e`.
async fn converted_plan(
    app: &AppState,
    viewer: ObjectId,
    e: &Estimator,
    balances: &BTreeMap<Currency, Vec<(ObjectId, i64)>>,
) -> Result<ConvertedPlan, ApiError> {
    let nets: Vec<(ObjectId, i64)> = e
        .nets(balances)?
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .collect();
    let plan = solve(nets).await?;
    let mut plans = Plans::new();
    let open = plan.transfers.len();
    plans.insert(e.currency(), (open, plan));
    let rendered = render(app, viewer, plans).await?;
    Ok(ConvertedPlan {
        currency: e.currency().code().to_owned(),
        transfers: rendered.transfers,
        optimal: rendered.optimal,
        rate_date: e.rate_date(),
        estimate: true,
    })
}

/// What I pay and receive to be even with everyone, in `only` or every
/// currency: one transfer per person I have a non-zero balance with. That is
/// the minimum for clearing my balances: a payment moves the balance of
/// exactly one of my pairs, so k open pairs need k payments.
pub async fn mine(
    app: &AppState,
    user: AuthUser,
    only: Option<Currency>,
) -> Result<MyPlanView, ApiError> {
    // `net` is what the counterparty owes me: a debt the other way when
    // negative, which `pairwise_transfers` turns around.
    let mut debts = Debts::new();
    for row in app.store.ledger_for(user.id, None).await? {
        let currency = row.currency;
        if only.is_none_or(|o| o == currency) {
            debts
                .entry(currency)
                .or_default()
                .push((row.counterparty, user.id, row.net));
        }
    }
    let plans: Plans = debts
        .into_iter()
        .map(|(currency, debts)| {
            let transfers = pairwise_transfers(&debts);
            // Me and everyone I have an open balance with.
            let open = transfers.len() + 1;
            let plan = Plan {
                transfers,
                optimal: true,
            };
            (currency, (open, plan))
        })
        .filter(|(_, (_, plan))| !plan.transfers.is_empty())
        .collect();
    let totals = plans
        .iter()
        .map(|(currency, (_, plan))| {
            let sum = |mine_first: bool| -> i64 {
                plan.transfers
                    .iter()
                    .filter(|t| (t.from == user.id) == mine_first)
                    .map(|t| t.amount)
                    .sum()
            };
            let (pay, receive) = (sum(true), sum(false));
            let money = |minor| MajorUnits {
                minor,
                currency: *currency,
            };
            Totals {
                currency: currency.code().to_string(),
                pay: money(pay),
                receive: money(receive),
                net: money(receive - pay),
            }
        })
        .collect();
    Ok(MyPlanView {
        plan: render(app, user.id, plans).await?,
        totals,
    })
}

/// A plan per currency, rendered: the transfers of every currency, and
/// whether each was provably minimal.
async fn render(app: &AppState, viewer: ObjectId, plans: Plans) -> Result<PlanView, ApiError> {
    let mut people: Vec<ObjectId> = plans
        .values()
        .flat_map(|(_, p)| p.transfers.iter().flat_map(|t| [t.from, t.to]))
        .collect();
    people.sort();
    people.dedup();
    let people = Directory::load(app, viewer, &people).await?;
    let mut transfers = Vec::new();
    let mut currencies = Vec::new();
    for (currency, (open, plan)) in &plans {
        transfers.extend(plan.transfers.iter().map(|t| TransferView {
            from: people.user(t.from),
            to: people.user(t.to),
            amount: MajorUnits {
                minor: t.amount,
                currency: *currency,
            },
            currency: currency.code().to_string(),
        }));
        currencies.push(CurrencyPlan {
            currency: currency.code().to_string(),
            open_balances: *open,
            transfers: plan.transfers.len(),
            optimal: plan.optimal,
        });
    }
    Ok(PlanView {
        optimal: plans.values().all(|(_, p)| p.optimal),
        transfers,
        currencies,
    })
}

/// The fewest transfers clearing `balances`, on a blocking thread when the
/// search is heavy.
async fn solve(balances: Vec<(ObjectId, i64)>) -> Result<Plan<ObjectId>, ApiError> {
    let plan = if is_heavy(balances.len()) {
        let _permit = HEAVY_SOLVES
            .acquire()
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        tokio::task::spawn_blocking(move || minimal_transfers(&balances))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
    } else {
        minimal_transfers(&balances)
    };
    // The ledger's nets of a group always sum to zero per currency.
    plan.map_err(|e| ApiError::internal(format!("group balances do not settle: {e}")))
}
