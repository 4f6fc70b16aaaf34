//! `/v1/expenses`: create, list, read, update, delete, settle my split, and the
//! group views (expenses of a group, balances of a group).

pub mod group;
pub(crate) mod input;
mod people;
pub(crate) mod view;

use std::collections::BTreeSet;

use actix_web::{web, HttpRequest, HttpResponse};
use mongodb::bson::{oid::ObjectId, DateTime};
use serde::Deserialize;

use self::input::{
    build_splits, check_open_currencies, check_participants, check_takes_part, parse_group,
    ExpenseBody, Fallback, NewExpense,
};
use self::view::{render, render_one};
use super::versions::{expected_version, tagged};
use super::{created, ok, ok_page, optional_id, parse_id, Checks, Page};
use crate::app::versions;
use crate::auth::AuthUser;
use crate::domain::modes::SplitMode;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{ExpenseDoc, ExpenseFilter, Kind, SplitDoc, Store};

pub async fn create(
    user: AuthUser,
    body: web::Json<ExpenseBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let mut b = body.into_inner();
    let mut c = Checks::default();
    let group = parse_group(&mut c, b.group_id.take().as_deref());
    let group = c.finish(group)?;
    let new = NewExpense::parse(b, Fallback::new_expense(user.id))?;
    let payers: Vec<ObjectId> = new.payer_users().collect();
    let split_users: Vec<ObjectId> = new.split_users().collect();
    check_takes_part(user, group, payers.iter().chain(&split_users).copied())?;

    let now = DateTime::now();
    let mut expense = ExpenseDoc {
        id: ObjectId::new(),
        kind: Kind::Expense,
        description: String::new(),
        amount: 0,
        currency: String::new(),
        created_by: user.id,
        paid_by: user.id,
        payers: Vec::new(),
        payers_split_type: None,
        split_type: SplitMode::Exact,
        split_with: Vec::new(),
        category: String::new(),
        date: now,
        group,
        notes: None,
        is_settled: false,
        settled_at: None,
        participants: Vec::new(),
        receipt: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    apply(&mut expense, new, &[]);
    futures_util::try_join!(
        check_participants(&store, user, group, &payers, &split_users),
        check_open_currencies(&store, &expense)
    )?;
    store.insert_expense(&expense).await?;
    let view = render_one(&state, user.id, &expense).await?;
    Ok(tagged(
        created("Expense created successfully", view),
        expense.version,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    page: Option<u64>,
    limit: Option<u64>,
    friend_id: Option<String>,
    settled: Option<bool>,
}

pub async fn list(
    user: AuthUser,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let q = query.into_inner();
    let page = Page::from_query(q.page, q.limit)?;
    let with_friend = optional_id(q.friend_id.as_deref(), "friend")?;
    let filter = ExpenseFilter {
        participant: Some(user.id),
        with_friend,
        group: None,
        settled: q.settled,
    };
    let (expenses, total) = if filter.with_friend.is_none() && filter.settled.is_none() {
        store
            .user_expense_page(user.id, page.skip(), page.limit_i64())
            .await?
    } else {
        store
            .list_expenses(&filter, page.skip(), page.limit_i64())
            .await?
    };
    Ok(ok_page(
        "Expenses retrieved successfully",
        render(&state, user.id, &expenses).await?,
        &page,
        total,
    ))
}

/// An expense by path id: malformed → 400, unknown → 404.
pub(crate) async fn find(store: &Store, raw: &str) -> Result<ExpenseDoc, ApiError> {
    let id = parse_id(raw, "expense")?;
    store
        .expense_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Expense not found"))
}

pub async fn get(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let expense = find(&store, &path).await?;
    if !expense.involves(user.id) {
        return Err(ApiError::forbidden(
            "You are not allowed to view this expense",
        ));
    }
    let view = render_one(&state, user.id, &expense).await?;
    Ok(tagged(
        ok("Expense retrieved successfully", view),
        expense.version,
    ))
}

pub async fn update(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<ExpenseBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let body = body.into_inner();
    let expected = expected_version(&req, body.version)?;
    // A concurrent change (a settlement, another edit) makes the write miss,
    // and the fields this client sent are applied again to the expense as it
    // now is.
    let forbidden = "Only the creator or the payer can update this expense";
    let allowed = editable_expense(user, forbidden);
    let edited = change_expense(&state, user.id, &path, expected, allowed, async |stored| {
        if stored.is_settled {
            return Err(ApiError::bad_request("Cannot update a settled expense"));
        }
        let edited = edit(&store, user, stored, body.clone()).await?;
        let written = store.replace_expense(&edited, stored.version).await?;
        Ok(written.then_some(edited))
    })
    .await?;
    let view = render_one(&state, user.id, &edited).await?;
    Ok(tagged(
        ok("Expense updated successfully", view),
        edited.version,
    ))
}

/// Reads the document, checks it with `allowed` (that the caller may change
/// it, that it is of the right kind) and, with `expected` (If-Match), that it
/// is at that version (else 409), then runs `write` on it. `write` answers
/// None when the document changed under it: then all of it runs again on the
/// new version, up to [`versions::ATTEMPTS`] times, so the permission checked
/// is always the one of the version written.
pub(crate) async fn change_expense<T>(
    app: &AppState,
    viewer: ObjectId,
    raw_id: &str,
    expected: Option<i64>,
    allowed: impl Fn(&ExpenseDoc) -> Result<(), ApiError>,
    write: impl AsyncFn(&ExpenseDoc) -> Result<Option<T>, ApiError>,
) -> Result<T, ApiError> {
    let store = &app.store;
    let written = versions::retry(async || {
        let stored = find(store, raw_id).await?;
        allowed(&stored)?;
        if expected.is_some_and(|v| v != stored.version) {
            return Err(conflict(app, viewer, &stored).await);
        }
        write(&stored).await
    })
    .await?;
    match written {
        Some(done) => Ok(done),
        None => Err(conflict(app, viewer, &find(store, raw_id).await?).await),
    }
}

/// The checks of `PUT`/`DELETE /v1/expenses/:id`: an expense (payments
/// change through `/v1/payments`), and the caller its creator or a payer.
fn editable_expense(
    user: AuthUser,
    forbidden: &str,
) -> impl Fn(&ExpenseDoc) -> Result<(), ApiError> + '_ {
    move |stored| {
        if stored.kind == Kind::Payment {
            return Err(ApiError::bad_request(format!(
                "This is a payment: change it with /v1/payments/{}",
                stored.id.to_hex()
            )));
        }
        if !stored.may_edit(user.id) {
            return Err(ApiError::forbidden(forbidden));
        }
        Ok(())
    }
}

/// The stored expense with the body's fields applied: the next version.
pub async fn edit(
    store: &Store,
    user: AuthUser,
    stored: &ExpenseDoc,
    body: ExpenseBody,
) -> Result<ExpenseDoc, ApiError> {
    // The group of an expense does not change.
    let new = NewExpense::parse(body, Fallback::stored(stored))?;
    // An edit that changes who takes part cannot leave the expense between
    // other people either. (One that keeps the people, e.g. a new
    // description, stays possible on an expense recorded before this rule.)
    let before: BTreeSet<ObjectId> = stored
        .payers
        .iter()
        .map(|p| p.user)
        .chain(stored.split_with.iter().map(|s| s.user))
        .chain([stored.paid_by])
        .collect();
    let after: BTreeSet<ObjectId> = new.payer_users().chain(new.split_users()).collect();
    if after != before {
        check_takes_part(user, stored.group, after.iter().copied())?;
    }

    // A settled split was repaid to the old payer: with other payers every
    // share is owed afresh. Otherwise unchanged shares stay settled.
    let payers_changed = new.payer_users().ne(stored.payers.iter().map(|p| p.user))
        || new.main_payer() != Some(stored.paid_by);
    let previous: &[SplitDoc] = if payers_changed || new.payers.len() > 1 {
        &[]
    } else {
        &stored.split_with
    };
    // People already in the expense were checked when they were added
    // (possibly by another of creator and payers, whose friends may differ):
    // only newcomers are checked against the caller.
    let known = |u: &ObjectId| {
        stored.split_with.iter().any(|s| s.user == *u) || stored.payers.iter().any(|p| p.user == *u)
    };
    let added_payers: Vec<ObjectId> = new.payer_users().filter(|u| !known(u)).collect();
    let added: Vec<ObjectId> = new.split_users().filter(|u| !known(u)).collect();
    if !added_payers.is_empty() || !added.is_empty() {
        check_participants(store, user, stored.group, &added_payers, &added).await?;
    }

    let mut expense = stored.clone();
    apply(&mut expense, new, previous);
    let grew = expense
        .participants
        .iter()
        .any(|p| !stored.participants.contains(p));
    if expense.currency != stored.currency || grew {
        check_open_currencies(store, &expense).await?;
    }
    expense.updated_at = DateTime::now();
    expense.version = stored.version + 1;
    // An edit that leaves only settled debts settles the expense, as the last
    // PATCH /settle would have.
    if expense.all_debts_settled() {
        expense.is_settled = true;
        expense.settled_at = Some(expense.updated_at);
    }
    Ok(expense)
}

/// Writes the parsed fields over `expense`; unchanged splits keep their
/// settled state from `previous`.
fn apply(expense: &mut ExpenseDoc, new: NewExpense, previous: &[SplitDoc]) {
    expense.split_with = build_splits(&new, previous);
    expense.paid_by = new.main_payer().unwrap_or(expense.created_by);
    expense.description = new.description;
    expense.amount = new.total;
    expense.currency = new.currency.code().to_string();
    expense.payers = new.payers;
    expense.payers_split_type = new.payers_mode;
    expense.split_type = new.split_mode;
    expense.category = new.category;
    expense.date = new.date;
    expense.notes = new.notes;
    expense.refresh_participants();
}

/// 409 `VERSION_CONFLICT` with the expense as it is now.
pub(crate) async fn conflict(app: &AppState, viewer: ObjectId, current: &ExpenseDoc) -> ApiError {
    versions::conflict("expense", render_one(app, viewer, current).await)
}

pub async fn delete(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let expected = expected_version(&req, None)?;
    // Deleted only as read, so the permission checked is the one that holds
    // (a concurrent edit may change the payer).
    let forbidden = "Only the creator or the payer can delete this expense";
    let allowed = editable_expense(user, forbidden);
    change_expense(&state, user.id, &path, expected, allowed, async |stored| {
        let deleted = store.delete_expense(stored.id, stored.version).await?;
        Ok(deleted.then_some(()))
    })
    .await?;
    Ok(ok("Expense deleted successfully", serde_json::Value::Null))
}

pub async fn settle(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let expense = find(&store, &path).await?;
    if expense.kind == Kind::Payment {
        return Err(ApiError::bad_request("A payment cannot be settled"));
    }
    if expense.has_several_payers() {
        return Err(ApiError::bad_request(
            "This expense has several payers: record what you paid with POST /v1/payments",
        ));
    }
    let Some(split) = expense.split_with.iter().find(|s| s.user == user.id) else {
        return Err(ApiError::forbidden(
            "You are not part of this expense's split",
        ));
    };
    if split.settled {
        return Err(ApiError::bad_request("Your split is already settled"));
    }
    // One conditional write: it applies to whatever version is current.
    let updated = store
        .settle_split(expense.id, user.id)
        .await?
        .ok_or_else(|| ApiError::bad_request("Your split is already settled"))?;
    let view = render_one(&state, user.id, &updated).await?;
    Ok(tagged(
        ok("Your split has been settled", view),
        updated.version,
    ))
}
