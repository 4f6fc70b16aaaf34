//! `/v1/expenses`: create, list, read, update, delete, settle my split, and the
//! group views (expenses of a group, balances of a group).

use std::collections::HashMap;

use actix_web::{web, HttpResponse, Scope};
use mongodb::bson::{oid::ObjectId, DateTime};
use serde::{Deserialize, Serialize};

use super::groups::member_group;
use super::users::me;
use super::views::{iso, iso_opt, Directory, UserRef};
use super::{created, ok, ok_page, parse_id, Checks, Page};
use crate::auth::AuthUser;
use crate::domain::balance::collect_nets;
use crate::domain::money::{
    positive_amount, AmountInput, CommonScaleUnits, Currency, Decimal, MajorUnits,
};
use crate::domain::split::apportion;
use crate::domain::text;
use crate::error::ApiError;
use crate::store::{ExpenseDoc, ExpenseFilter, PayerDoc, SplitDoc, Store};

const CATEGORIES: [&str; 7] = [
    "food",
    "transport",
    "entertainment",
    "shopping",
    "utilities",
    "travel",
    "other",
];

pub fn scope() -> Scope {
    web::scope("/expenses")
        .route("", web::post().to(create))
        .route("", web::get().to(list))
        .route("/group/{group_id}", web::get().to(group_expenses))
        .route("/group/{group_id}/balance", web::get().to(group_balance))
        .route("/{id}", web::get().to(get))
        .route("/{id}", web::put().to(update))
        .route("/{id}", web::delete().to(delete))
        .route("/{id}/settle", web::patch().to(settle))
}

// ---------- rendering ----------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SplitView {
    #[serde(rename = "_id")]
    id: String,
    user: UserRef,
    amount: MajorUnits,
    settled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    settled_at: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExpenseView {
    #[serde(rename = "_id")]
    id: String,
    description: String,
    amount: MajorUnits,
    currency: String,
    created_by: String,
    paid_by: UserRef,
    split_with: Vec<SplitView>,
    category: String,
    date: String,
    group: Option<serde_json::Value>,
    notes: Option<String>,
    is_settled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    settled_at: Option<String>,
    created_at: String,
    updated_at: String,
}

fn currency_of(e: &ExpenseDoc) -> Currency {
    Currency::parse(&e.currency).unwrap_or_default()
}

fn expense_view(
    e: &ExpenseDoc,
    people: &Directory,
    groups: &HashMap<ObjectId, String>,
) -> ExpenseView {
    let currency = currency_of(e);
    let money = |minor| MajorUnits { minor, currency };
    ExpenseView {
        id: e.id.to_hex(),
        description: e.description.clone(),
        amount: money(e.amount),
        currency: currency.code().to_string(),
        created_by: e.created_by.to_hex(),
        paid_by: people.user(e.paid_by),
        split_with: e
            .split_with
            .iter()
            .map(|s| SplitView {
                id: s.id.to_hex(),
                user: people.user(s.user),
                amount: money(s.amount),
                settled: s.settled,
                settled_at: iso_opt(s.settled_at),
            })
            .collect(),
        category: e.category.clone(),
        date: iso(e.date),
        group: e.group.map(|g| {
            serde_json::json!({ "_id": g.to_hex(), "name": groups.get(&g).cloned().unwrap_or_default() })
        }),
        notes: e.notes.clone(),
        is_settled: e.is_settled,
        settled_at: iso_opt(e.settled_at),
        created_at: iso(e.created_at),
        updated_at: iso(e.updated_at),
    }
}

/// Renders expenses with users and group names fetched in two queries in all.
async fn render(store: &Store, expenses: &[ExpenseDoc]) -> Result<Vec<ExpenseView>, ApiError> {
    let mut users: Vec<ObjectId> = expenses
        .iter()
        .flat_map(|e| e.split_with.iter().map(|s| s.user).chain([e.paid_by]))
        .collect();
    users.sort();
    users.dedup();
    let mut group_ids: Vec<ObjectId> = expenses.iter().filter_map(|e| e.group).collect();
    group_ids.sort();
    group_ids.dedup();
    let (people, groups) =
        futures_util::try_join!(store.user_summaries(&users), store.group_names(&group_ids))?;
    let people = Directory::new(people);
    Ok(expenses
        .iter()
        .map(|e| expense_view(e, &people, &groups))
        .collect())
}

async fn render_one(store: &Store, expense: &ExpenseDoc) -> Result<ExpenseView, ApiError> {
    render(store, std::slice::from_ref(expense))
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("rendering produced no expense"))
}

// ---------- input ----------

#[derive(Deserialize)]
struct SplitInput {
    user: Option<String>,
    amount: Option<AmountInput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExpenseBody {
    description: Option<String>,
    amount: Option<AmountInput>,
    currency: Option<String>,
    paid_by: Option<String>,
    split_with: Option<Vec<SplitInput>>,
    category: Option<String>,
    date: Option<String>,
    group_id: Option<String>,
    notes: Option<String>,
}

fn parse_date(raw: &str) -> Result<DateTime, &'static str> {
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

fn parse_category(raw: Option<&str>) -> Result<String, String> {
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
fn parse_splits(raw: Vec<SplitInput>) -> Result<Vec<(ObjectId, Decimal)>, String> {
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
fn build_splits(
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
async fn check_participants(
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

// ---------- handlers ----------

async fn create(
    user: AuthUser,
    body: web::Json<ExpenseBody>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let mut c = Checks::default();
    let description = c
        .required("description", b.description, "Description is required")
        .and_then(|d| c.check("description", text::bounded(&d, "Description", 1, 200)));
    let currency = c.check(
        "currency",
        Currency::parse(b.currency.as_deref().unwrap_or("USD")).map_err(|e| e.to_string()),
    );
    let amount_input = c
        .required("amount", b.amount, "Amount is required")
        .and_then(|a| c.check("amount", a.decimal().map_err(|e| e.to_string())));
    let total = match (amount_input, currency) {
        (Some(a), Some(cur)) => {
            c.check("amount", positive_amount(a, cur).map_err(|e| e.to_string()))
        }
        _ => None,
    };
    let payer = match b.paid_by.as_deref().filter(|p| !p.trim().is_empty()) {
        Some(p) => c.check(
            "paidBy",
            ObjectId::parse_str(p.trim()).map_err(|_| "Invalid payer ID format"),
        ),
        None => Some(user.id),
    };
    let shares = c
        .required("splitWith", b.split_with, "splitWith is required")
        .and_then(|s| c.check("splitWith", parse_splits(s)));
    let category = c.check("category", parse_category(b.category.as_deref()));
    let date = match b.date.as_deref() {
        Some(d) => c.check("date", parse_date(d)),
        None => Some(DateTime::now()),
    };
    let group = match b.group_id.as_deref().filter(|g| !g.trim().is_empty()) {
        Some(g) => c.check(
            "groupId",
            ObjectId::parse_str(g.trim())
                .map(Some)
                .map_err(|_| "Invalid group ID format"),
        ),
        None => Some(None),
    };
    let notes = match b.notes {
        Some(n) => c
            .check("notes", text::bounded(&n, "Notes", 0, 500))
            .map(Some),
        None => Some(None),
    };
    let values = description
        .zip(currency)
        .zip(amount_input.zip(total))
        .zip(payer.zip(shares))
        .zip(category.zip(date))
        .zip(group.zip(notes));
    let (
        ((((description, currency), (amount_input, total)), (payer, shares)), (category, date)),
        (group, notes),
    ) = c.finish(values)?;

    let split_with = build_splits(total, amount_input, currency, &shares, &[])?;
    let split_users: Vec<ObjectId> = shares.iter().map(|(u, _)| *u).collect();
    check_participants(&store, user, group, payer, &split_users).await?;

    let now = DateTime::now();
    let mut expense = ExpenseDoc {
        id: ObjectId::new(),
        description,
        amount: total,
        currency: currency.code().to_string(),
        created_by: user.id,
        paid_by: payer,
        payers: vec![PayerDoc {
            user: payer,
            amount: total,
        }],
        split_with,
        category,
        date,
        group,
        notes: notes.filter(|n| !n.is_empty()),
        is_settled: false,
        settled_at: None,
        participants: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    expense.refresh_participants();
    store.insert_expense(&expense).await?;
    Ok(created(
        "Expense created successfully",
        render_one(&store, &expense).await?,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    page: Option<u64>,
    limit: Option<u64>,
    friend_id: Option<String>,
    settled: Option<bool>,
}

async fn list(
    user: AuthUser,
    query: web::Query<ListQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = Page::from_query(q.page, q.limit)?;
    let with_friend = match q.friend_id.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => Some(parse_id(f, "friend")?),
        None => None,
    };
    let filter = ExpenseFilter {
        participant: Some(user.id),
        with_friend,
        group: None,
        settled: q.settled,
    };
    let (expenses, total) = store
        .list_expenses(&filter, page.skip(), page.limit_i64())
        .await?;
    Ok(ok_page(
        "Expenses retrieved successfully",
        render(&store, &expenses).await?,
        &page,
        total,
    ))
}

/// An expense by path id: malformed → 400, unknown → 404.
async fn find(store: &Store, raw: &str) -> Result<ExpenseDoc, ApiError> {
    let id = parse_id(raw, "expense")?;
    store
        .expense_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Expense not found"))
}

async fn get(
    user: AuthUser,
    path: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let expense = find(&store, &path).await?;
    if !expense.involves(user.id) {
        return Err(ApiError::forbidden(
            "You are not allowed to view this expense",
        ));
    }
    Ok(ok(
        "Expense retrieved successfully",
        render_one(&store, &expense).await?,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateBody {
    description: Option<String>,
    amount: Option<AmountInput>,
    currency: Option<String>,
    split_with: Option<Vec<SplitInput>>,
    category: Option<String>,
    date: Option<String>,
    notes: Option<String>,
}

async fn update(
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<UpdateBody>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let mut expense = find(&store, &path).await?;
    if !expense.may_edit(user.id) {
        return Err(ApiError::forbidden(
            "Only the creator or the payer can update this expense",
        ));
    }
    if expense.is_settled {
        return Err(ApiError::bad_request("Cannot update a settled expense"));
    }
    let old_currency = currency_of(&expense);
    let mut c = Checks::default();
    let description = match b.description {
        Some(d) => c.check("description", text::bounded(&d, "Description", 1, 200)),
        None => Some(expense.description.clone()),
    };
    let currency = match b.currency.as_deref() {
        Some(code) => c.check("currency", Currency::parse(code).map_err(|e| e.to_string())),
        None => Some(old_currency),
    };
    let amount_input = match &b.amount {
        Some(a) => c.check("amount", a.decimal().map_err(|e| e.to_string())),
        None => Decimal::from_minor(expense.amount, old_currency).ok(),
    };
    let total = match (amount_input, currency) {
        (Some(a), Some(cur)) => {
            c.check("amount", positive_amount(a, cur).map_err(|e| e.to_string()))
        }
        _ => None,
    };
    let shares = match b.split_with {
        Some(s) => c.check("splitWith", parse_splits(s)),
        None => expense
            .split_with
            .iter()
            .map(|s| {
                Decimal::from_minor(s.amount, old_currency)
                    .ok()
                    .map(|d| (s.user, d))
            })
            .collect(),
    };
    let category = match b.category.as_deref() {
        Some(cat) => c.check("category", parse_category(Some(cat))),
        None => Some(expense.category.clone()),
    };
    let date = match b.date.as_deref() {
        Some(d) => c.check("date", parse_date(d)),
        None => Some(expense.date),
    };
    let notes = match b.notes {
        Some(n) => c
            .check("notes", text::bounded(&n, "Notes", 0, 500))
            .map(|n| Some(n).filter(|n| !n.is_empty())),
        None => Some(expense.notes.clone()),
    };
    let values = description
        .zip(currency)
        .zip(amount_input.zip(total))
        .zip(shares)
        .zip(category.zip(date))
        .zip(notes);
    let (((((description, currency), (amount_input, total)), shares), (category, date)), notes) =
        c.finish(values)?;

    let split_with = build_splits(total, amount_input, currency, &shares, &expense.split_with)?;
    // Users already in the split were checked when they were added (possibly
    // by the other of creator and payer, whose friends may differ): only
    // newcomers are checked against the caller.
    let added: Vec<ObjectId> = shares
        .iter()
        .map(|(u, _)| *u)
        .filter(|u| !expense.split_with.iter().any(|s| s.user == *u))
        .collect();
    if !added.is_empty() {
        check_participants(&store, user, expense.group, expense.paid_by, &added).await?;
    }

    expense.description = description;
    expense.amount = total;
    expense.currency = currency.code().to_string();
    expense.payers = vec![PayerDoc {
        user: expense.paid_by,
        amount: total,
    }];
    expense.split_with = split_with;
    expense.category = category;
    expense.date = date;
    expense.notes = notes;
    expense.updated_at = DateTime::now();
    expense.refresh_participants();
    if !store.replace_unsettled_expense(&expense).await? {
        return Err(ApiError::bad_request("Cannot update a settled expense"));
    }
    Ok(ok(
        "Expense updated successfully",
        render_one(&store, &expense).await?,
    ))
}

async fn delete(
    user: AuthUser,
    path: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let expense = find(&store, &path).await?;
    if !expense.may_edit(user.id) {
        return Err(ApiError::forbidden(
            "Only the creator or the payer can delete this expense",
        ));
    }
    store.delete_expense(expense.id).await?;
    Ok(ok("Expense deleted successfully", serde_json::Value::Null))
}

async fn settle(
    user: AuthUser,
    path: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let expense = find(&store, &path).await?;
    let Some(split) = expense.split_with.iter().find(|s| s.user == user.id) else {
        return Err(ApiError::forbidden(
            "You are not part of this expense's split",
        ));
    };
    if split.settled {
        return Err(ApiError::bad_request("Your split is already settled"));
    }
    let updated = store
        .settle_split(expense.id, user.id)
        .await?
        .ok_or_else(|| ApiError::bad_request("Your split is already settled"))?;
    Ok(ok(
        "Your split has been settled",
        render_one(&store, &updated).await?,
    ))
}

#[derive(Deserialize)]
struct GroupListQuery {
    page: Option<u64>,
    limit: Option<u64>,
    settled: Option<bool>,
}

async fn group_expenses(
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<GroupListQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = Page::from_query(q.page, q.limit)?;
    let group = member_group(&store, &path, user).await?;
    let filter = ExpenseFilter {
        participant: None,
        with_friend: None,
        group: Some(group.id),
        settled: q.settled,
    };
    let (expenses, total) = store
        .list_expenses(&filter, page.skip(), page.limit_i64())
        .await?;
    Ok(ok_page(
        "Group expenses retrieved successfully",
        render(&store, &expenses).await?,
        &page,
        total,
    ))
}

async fn group_balance(
    user: AuthUser,
    path: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let group = member_group(&store, &path, user).await?;
    let rows = store.group_ledger(group.id).await?;
    let nets = collect_nets(
        rows.iter()
            .filter_map(|r| Some((r.user, Currency::parse(&r.currency).ok()?, r.net))),
    );
    // Every member appears, at 0 when even; former members who still owe or
    // are owed appear too, so the balances always sum to zero.
    let mut balances: serde_json::Map<String, serde_json::Value> = group
        .members
        .iter()
        .map(|m| (m.user.to_hex(), serde_json::json!(0)))
        .collect();
    for (member, net) in &nets {
        balances.insert(
            member.to_hex(),
            serde_json::to_value(CommonScaleUnits(net.combined)).unwrap_or_default(),
        );
    }
    let rendered = super::groups::render_groups(&store, std::slice::from_ref(&group)).await?;
    let members = rendered
        .into_iter()
        .next()
        .map(|g| g.members_value())
        .unwrap_or_default();
    Ok(ok(
        "Group balance retrieved successfully",
        serde_json::json!({
            "group": { "_id": group.id.to_hex(), "name": group.name, "members": members },
            "balances": balances,
            "totalExpenses": group.expense_count,
        }),
    ))
}
