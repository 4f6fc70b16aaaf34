//! Expenses: record, list, read, edit, delete, settle my split, and the
//! group views (a group's expenses, its members' balances). Who may do what
//! with an expense is [`access`]; every change is decided on the expense as
//! read and written only if it is still that version (`change_expense`).

pub mod access;
pub mod exchange;
pub mod group;
pub mod input;
mod people;
pub mod view;

use std::collections::BTreeSet;

use mongodb::bson::{oid::ObjectId, DateTime};

use self::access::Access;
use self::input::{
    build_splits, check_open_currencies, check_participants, check_takes_part, ExpenseBody,
    Fallback, NewExpense,
};
use self::view::{render, render_one, ExpenseView};
use crate::app::versions;
use crate::auth::AuthUser;
use crate::domain::settle_share::{self, Condition};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::journal::ExpenseChange;
use crate::store::{ExpenseDoc, ExpenseFilter, Kind, SplitDoc, Store};

/// An expense as its viewer reads it, with the version for `ETag`.
pub struct Versioned<T> {
    pub view: T,
    pub version: i64,
}

/// Records a new expense in `group` (parsed at the edge) from `body`.
pub async fn create(
    app: &AppState,
    user: AuthUser,
    group: Option<ObjectId>,
    body: ExpenseBody,
) -> Result<Versioned<ExpenseView>, ApiError> {
    let expense = prepare(&app.store, user, group, body).await?;
    app.store.insert_expense(&expense, user.id).await?;
    rendered(app, user, &expense).await
}

/// The expense `user` records in `group` from `body`, parsed and checked
/// (who may take part, open currencies) but not stored: what
/// `POST /v1/expenses` stores, and each occurrence of a recurring series.
pub async fn prepare(
    store: &Store,
    user: AuthUser,
    group: Option<ObjectId>,
    body: ExpenseBody,
) -> Result<ExpenseDoc, ApiError> {
    let exchange = body.exchange.clone();
    let new = NewExpense::parse(body, Fallback::new_expense(user.id))?;
    let exchange = exchange::resolve(store, exchange, &new.paid(), None).await?;
    let payers: Vec<ObjectId> = new.payer_users().collect();
    let split_users: Vec<ObjectId> = new.split_users().collect();
    check_takes_part(user, group, payers.iter().chain(&split_users).copied())?;

    let now = DateTime::now();
    let mut expense = ExpenseDoc {
        group,
        ..ExpenseDoc::blank(Kind::Expense, ObjectId::new(), user.id, now)
    };
    apply(&mut expense, new, &[]);
    expense.exchange = exchange;
    futures_util::try_join!(
        check_participants(store, user, group, &payers, &split_users),
        check_open_currencies(store, &expense)
    )?;
    Ok(expense)
}

/// `expense` (or a payment) as `user` reads it, with its version.
pub async fn rendered(
    app: &AppState,
    user: AuthUser,
    expense: &ExpenseDoc,
) -> Result<Versioned<ExpenseView>, ApiError> {
    Ok(Versioned {
        view: render_one(app, user.id, expense).await?,
        version: expense.version,
    })
}

/// One page of my expenses, newest first: with a friend, settled or not.
pub async fn list(
    app: &AppState,
    user: AuthUser,
    with_friend: Option<ObjectId>,
    settled: Option<bool>,
    page: &crate::app::Page,
) -> Result<(Vec<ExpenseView>, u64), ApiError> {
    let store = &app.store;
    let filter = ExpenseFilter::mine(user.id, with_friend, settled);
    let (expenses, total) = if filter.with_friend.is_none() && filter.settled.is_none() {
        store
            .user_expense_page(user.id, page.skip(), page.limit_i64())
            .await?
    } else {
        store
            .list_expenses(&filter, page.skip(), page.limit_i64())
            .await?
    };
    Ok((render(app, user.id, &expenses).await?, total))
}

/// An expense or payment by id: unknown → 404.
pub async fn find(store: &Store, id: ObjectId) -> Result<ExpenseDoc, ApiError> {
    store
        .expense_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Expense not found"))
}

/// An expense its people may read (others: 403).
pub async fn get(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
) -> Result<Versioned<ExpenseView>, ApiError> {
    let expense = find(&app.store, id).await?;
    if access::of(&expense, user.id) == Access::None {
        return Err(ApiError::forbidden(
            "You are not allowed to view this expense",
        ));
    }
    rendered(app, user, &expense).await
}

/// Applies the fields of `body` to the expense; `expected`: the version
/// the client read (If-Match), else whatever version is current.
pub async fn update(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
    expected: Option<i64>,
    body: ExpenseBody,
) -> Result<Versioned<ExpenseView>, ApiError> {
    let store = &app.store;
    // A concurrent change (a settlement, another edit) makes the write miss,
    // and the fields this client sent are applied again to the expense as it
    // now is.
    let forbidden = "Only the creator or the payer can update this expense";
    let allowed = editable_expense(user, forbidden);
    let edited = change_expense(app, user.id, id, expected, allowed, async |stored| {
        if stored.is_settled {
            return Err(ApiError::bad_request("Cannot update a settled expense"));
        }
        let edited = edit(store, user, stored, body.clone()).await?;
        let written = store
            .replace_expense(stored, &edited, ExpenseChange::Updated, user.id)
            .await?;
        Ok(written.then_some(edited))
    })
    .await?;
    rendered(app, user, &edited).await
}

/// Reads the document, checks it with `allowed` (that the caller may change
/// it, that it is of the right kind) and, with `expected` (If-Match), that it
/// is at that version (else 409), then runs `write` on it. `write` answers
/// None when the document changed under it: then all of it runs again on the
/// new version, up to [`versions::ATTEMPTS`] times, so the permission checked
/// is always the one of the version written.
pub async fn change_expense<T>(
    app: &AppState,
    viewer: ObjectId,
    id: ObjectId,
    expected: Option<i64>,
    allowed: impl Fn(&ExpenseDoc) -> Result<(), ApiError>,
    write: impl AsyncFn(&ExpenseDoc) -> Result<Option<T>, ApiError>,
) -> Result<T, ApiError> {
    let store = &app.store;
    let written = versions::retry(async || {
        let stored = find(store, id).await?;
        allowed(&stored)?;
        if expected.is_some_and(|v| v != stored.version) {
            return Err(conflict(app, viewer, &stored).await);
        }
        write(&stored).await
    })
    .await?;
    match written {
        Some(done) => Ok(done),
        None => Err(conflict(app, viewer, &find(store, id).await?).await),
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
            return Err(is_a_payment(stored));
        }
        if access::of(stored, user.id) < Access::Edit {
            return Err(ApiError::forbidden(forbidden));
        }
        Ok(())
    }
}

/// 400 for a payment sent to an expense route.
fn is_a_payment(stored: &ExpenseDoc) -> ApiError {
    ApiError::bad_request(format!(
        "This is a payment: change it with /v1/payments/{}",
        stored.id.to_hex()
    ))
}

/// The stored expense with the body's fields applied: the next version.
async fn edit(
    store: &Store,
    user: AuthUser,
    stored: &ExpenseDoc,
    body: ExpenseBody,
) -> Result<ExpenseDoc, ApiError> {
    // The group of an expense does not change.
    let exchange = body.exchange.clone();
    let new = NewExpense::parse(body, Fallback::stored(stored))?;
    let exchange = exchange::resolve(store, exchange, &new.paid(), Some(stored)).await?;
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
    expense.exchange = exchange;
    let grew = expense
        .participants
        .iter()
        .any(|p| !stored.participants.contains(p));
    if expense.booked_currency() != stored.booked_currency() || grew {
        check_open_currencies(store, &expense).await?;
    }
    expense.updated_at = DateTime::now();
    expense.version = stored.version + 1;
    // An edit that leaves only settled debts settles the expense, as the last
    // PATCH /settle would have.
    expense.close_if_settled(expense.updated_at);
    Ok(expense)
}

/// Writes the parsed fields over `expense`; unchanged splits keep their
/// settled state from `previous`.
fn apply(expense: &mut ExpenseDoc, new: NewExpense, previous: &[SplitDoc]) {
    expense.split_with = build_splits(&new, previous);
    expense.paid_by = new.main_payer().unwrap_or(expense.created_by);
    expense.description = new.description;
    expense.amount = new.total;
    expense.currency = new.currency;
    expense.payers = new.payers;
    expense.payers_split_type = new.payers_mode;
    expense.split_type = new.split_mode;
    expense.category = new.category;
    expense.date = new.date;
    expense.notes = new.notes;
    expense.refresh_participants();
}

/// 409 `VERSION_CONFLICT` with the expense as it is now.
pub async fn conflict(app: &AppState, viewer: ObjectId, current: &ExpenseDoc) -> ApiError {
    versions::conflict("expense", render_one(app, viewer, current).await)
}

/// Deletes the expense (anyone in it, as in Splitwise: the activity names
/// who did); it can be restored for the retention period. `expected` as for
/// update.
pub async fn delete(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
    expected: Option<i64>,
) -> Result<(), ApiError> {
    let allowed = move |stored: &ExpenseDoc| {
        if stored.kind == Kind::Payment {
            return Err(is_a_payment(stored));
        }
        if access::of(stored, user.id) == Access::None {
            return Err(ApiError::forbidden(
                "Only the people in this expense can delete it",
            ));
        }
        Ok(())
    };
    delete_as_read(app, user, id, expected, allowed).await
}

/// How long a deleted expense or payment can be restored.
pub const RESTORE_WINDOW: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Restores the deleted expense or payment `id` of `kind` for one of its
/// people, as they now read it: not deleted (or not theirs to see) → 404,
/// already live → 409, deleted too long ago → 410.
pub async fn restore(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
    kind: Kind,
) -> Result<Versioned<ExpenseView>, ApiError> {
    let store = &app.store;
    let what = kind.code();
    let not_found = || ApiError::not_found(format!("No deleted {what} with this id"));
    let Some(trashed) = store.trashed_by_id(id).await? else {
        return match store.expense_by_id(id).await? {
            Some(live) if live.kind == kind && access::of(&live, user.id) > Access::None => {
                Err(ApiError::Conflict(format!("This {what} is not deleted")))
            }
            _ => Err(not_found()),
        };
    };
    if trashed.doc.kind != kind || access::of(&trashed.doc, user.id) == Access::None {
        return Err(not_found());
    }
    if let Some(conversion) = trashed.doc.conversion {
        return Err(part_of_conversion(conversion));
    }
    let age = DateTime::now().timestamp_millis() - trashed.deleted_at.timestamp_millis();
    if age > i64::try_from(RESTORE_WINDOW.as_millis()).unwrap_or(i64::MAX) {
        return Err(ApiError::coded(
            410,
            "RESTORE_EXPIRED",
            format!("This {what} was deleted more than 30 days ago and can no longer be restored"),
        ));
    }
    let restored = store
        .restore_expense(&trashed, user.id)
        .await?
        .ok_or_else(not_found)?;
    rendered(app, user, &restored).await
}

/// 400 for one payment of a conversion, which changes only with it.
pub fn part_of_conversion(conversion: ObjectId) -> ApiError {
    ApiError::bad_request(format!(
        "This payment is part of a currency conversion: delete or restore it with /v1/conversions/{}",
        conversion.to_hex()
    ))
}

/// Deletes an expense or payment `allowed` passes, only as read, so the
/// permission checked is the one that holds (a concurrent edit may change
/// the payer); `expected` as for update.
pub async fn delete_as_read(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
    expected: Option<i64>,
    allowed: impl Fn(&ExpenseDoc) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    change_expense(app, user.id, id, expected, allowed, async |stored| {
        let deleted = app.store.delete_expense(stored, user.id).await?;
        Ok(deleted.then_some(()))
    })
    .await
}

/// Settles the caller's share of a one-payer expense, atomically with the
/// balances; the last share settled settles the expense.
pub async fn settle(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
) -> Result<Versioned<ExpenseView>, ApiError> {
    let store = &app.store;
    let expense = find(store, id).await?;
    settle_share::check(&expense, user.id).map_err(|failed| match failed {
        Condition::NotAPayment => ApiError::bad_request("A payment cannot be settled"),
        Condition::OnePayer => ApiError::bad_request(
            "This expense has several payers: record what you paid with POST /v1/payments",
        ),
        Condition::HasShare(_) => ApiError::forbidden("You are not part of this expense's split"),
        Condition::ShareUnsettled(_) => ApiError::bad_request("Your split is already settled"),
    })?;
    // One conditional write, on the same rule and the version read: a
    // change meanwhile makes it miss, and the rule is checked again on the
    // version now current.
    let mut expense = expense;
    let mut attempts = 0;
    let updated = loop {
        if let Some(settled) = store.settle_split(&expense, user.id).await? {
            break settled;
        }
        attempts += 1;
        expense = find(store, id).await?;
        if attempts >= versions::ATTEMPTS || settle_share::check(&expense, user.id).is_err() {
            return Err(ApiError::bad_request("Your split is already settled"));
        }
    };
    rendered(app, user, &updated).await
}
