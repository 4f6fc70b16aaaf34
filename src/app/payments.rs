//! `/v1/payments`: recording that money changed hands (settling up), listing,
//! reading, editing and deleting such records.
//!
//! A payment is between friends, or people who share a group (with the
//! group's id it counts in that group's balances too).
//!
//! A payment is stored in `expenses` with `type: "payment"`: paid by the
//! payer, owed entirely by the payee, so its postings move balances exactly
//! as a repayment does and it shows in every expense list. Only the person
//! who recorded it may change or delete it.

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::Deserialize;
use utoipa::ToSchema;

use super::expenses::access::{self, Access};
use super::expenses::input::{
    cannot_share, check_open_currencies, check_participants, parse_date, parse_group,
};
use super::expenses::view::{render, ExpenseView};
use super::expenses::{
    change_expense, delete_as_read, find, part_of_conversion, rendered, Versioned,
};
use super::groups::member_group;
use super::Page;
use crate::app::schema::Id;
use crate::app::users::me;
use crate::auth::AuthUser;
use crate::domain::inputs::PaymentNote;
use crate::domain::money::{positive_amount, AmountInput, Currency};
use crate::error::ApiError;
use crate::error::Checks;
use crate::state::AppState;
use crate::store::journal::ExpenseChange;
use crate::store::{ExpenseDoc, Kind, PayerDoc, PaymentFilter, SplitDoc, Store};

/// A payment to record (`to` or `from`, and `amount`), or the fields of one
/// to change (who paid whom stays).
#[derive(Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentBody {
    /// I paid them.
    #[schema(value_type = Option<Id>)]
    pub to: Option<String>,
    /// They paid me.
    #[schema(value_type = Option<Id>)]
    pub from: Option<String>,
    /// Greater than 0; required on create.
    pub amount: Option<AmountInput>,
    /// An ISO 4217 code (default: my default currency).
    pub currency: Option<String>,
    /// The group whose balances it counts in (create only).
    #[schema(value_type = Option<Id>)]
    pub group_id: Option<String>,
    /// An ISO-8601 date-time or `YYYY-MM-DD` (default now).
    pub date: Option<String>,
    #[schema(max_length = 500)]
    pub note: Option<String>,
    /// The version an edit is based on (as `If-Match`).
    pub version: Option<i64>,
    /// Refused: a payment is in one currency. A balance moves to another
    /// currency with `POST /v1/conversions`.
    #[schema(value_type = Option<Object>)]
    pub exchange: Option<serde_json::Value>,
}

/// A payment's fields, parsed and checked.
struct NewPayment {
    from: ObjectId,
    to: ObjectId,
    amount: i64,
    currency: Currency,
    group: Option<ObjectId>,
    date: DateTime,
    pub note: Option<String>,
}

impl NewPayment {
    /// Parses `body` with every field error collected. Absent fields fall
    /// back to `was` (an edit), else to a new payment's defaults (today, my
    /// default currency). Who paid whom is set once, at creation.
    fn parse(
        body: PaymentBody,
        me: ObjectId,
        default_currency: Currency,
        was: Option<&ExpenseDoc>,
    ) -> Result<NewPayment, ApiError> {
        let mut c = Checks::default();
        if body.exchange.is_some() {
            c.check(
                "exchange",
                Err::<(), _>(
                    "A payment is in one currency: move a balance to another with POST /v1/conversions",
                ),
            );
        }
        let parties = match (was, body.to.as_deref(), body.from.as_deref()) {
            (Some(stored), None, None) => Some((stored.paid_by, stored.payee())),
            (Some(_), _, _) => c.check(
                "to",
                Err::<(ObjectId, ObjectId), _>("Who paid whom cannot change: record a new payment"),
            ),
            (None, Some(to), None) => c.check("to", counterpart(to, me)).map(|to| (me, to)),
            (None, None, Some(from)) => c
                .check("from", counterpart(from, me))
                .map(|from| (from, me)),
            (None, _, _) => c.check(
                "to",
                Err::<(ObjectId, ObjectId), _>(
                    "Give either to (you paid them) or from (they paid you)",
                ),
            ),
        };
        let currency = match body.currency.as_deref() {
            Some(code) => c.check("currency", Currency::parse(code).map_err(|e| e.to_string())),
            None => Some(was.map_or(default_currency, |w| w.currency)),
        };
        let amount = match (body.amount, currency) {
            (Some(a), Some(cur)) => c.check(
                "amount",
                a.decimal()
                    .and_then(|d| positive_amount(d, cur))
                    .map_err(|e| e.to_string()),
            ),
            (None, _) => c.required("amount", was.map(|w| w.amount), "Amount is required"),
            (Some(_), None) => None,
        };
        let group = match was {
            Some(stored) => Some(stored.group),
            None => parse_group(&mut c, body.group_id.as_deref()),
        };
        let date = match body.date.as_deref() {
            Some(d) => c.check("date", parse_date(d)),
            None => Some(was.map_or_else(DateTime::now, |w| w.date)),
        };
        let note = match body.note {
            Some(n) => c
                .check("note", PaymentNote::try_from(n.as_str()))
                .map(|n| Some(n.into_string()).filter(|n| !n.is_empty())),
            None => Some(was.and_then(|w| w.notes.clone())),
        };
        let ((parties, (amount, currency)), ((group, date), note)) = c.finish(
            parties
                .zip(amount.zip(currency))
                .zip(group.zip(date).zip(note)),
        )?;
        Ok(NewPayment {
            from: parties.0,
            to: parties.1,
            amount,
            currency,
            group,
            date,
            note,
        })
    }

    /// The stored document: a bill `from` paid and `to` owes entirely.
    fn into_document(self, recorded_by: ObjectId, was: Option<&ExpenseDoc>) -> ExpenseDoc {
        let now = DateTime::now();
        let split = SplitDoc {
            id: was
                .and_then(|w| w.split_with.first())
                .map_or_else(ObjectId::new, |s| s.id),
            user: self.to,
            amount: self.amount,
            settled: false,
            settled_at: None,
            weight: None,
        };
        let mut doc = ExpenseDoc {
            description: "Payment".into(),
            amount: self.amount,
            currency: self.currency,
            paid_by: self.from,
            payers: vec![PayerDoc {
                user: self.from,
                amount: self.amount,
                weight: None,
            }],
            split_with: vec![split],
            date: self.date,
            group: self.group,
            notes: self.note,
            // Nothing in a payment is left to settle; it leaves the app's
            // "unsettled" lists alone.
            is_settled: true,
            receipt: was.and_then(|w| w.receipt.clone()),
            created_at: was.map_or(now, |w| w.created_at),
            version: was.map_or(1, |w| w.version + 1),
            ..ExpenseDoc::blank(
                Kind::Payment,
                was.map_or_else(ObjectId::new, |w| w.id),
                was.map_or(recorded_by, |w| w.created_by),
                now,
            )
        };
        doc.refresh_participants();
        doc
    }
}

fn counterpart(raw: &str, me: ObjectId) -> Result<ObjectId, &'static str> {
    let id = ObjectId::parse_str(raw.trim()).map_err(|_| "Invalid user ID format")?;
    if id == me {
        return Err("A payment is between you and someone else");
    }
    Ok(id)
}

/// Records a payment between the caller and someone else.
pub async fn create(
    app: &AppState,
    user: AuthUser,
    body: PaymentBody,
) -> Result<Versioned<ExpenseView>, ApiError> {
    let store = &app.store;
    let mine = me(store, user).await?;
    let payment = NewPayment::parse(body, user.id, mine.default_currency(), None)?;
    // Between friends or people who share a group, or between members of
    // the group it is recorded in.
    let other = if payment.from == user.id {
        payment.to
    } else {
        payment.from
    };
    let checked =
        check_participants(store, user, payment.group, &[payment.from], &[payment.to]).await;
    match checked {
        Err(ApiError::BadRequest(_)) if payment.group.is_none() => {
            let others = [other];
            let (shared, blocked) = futures_util::try_join!(
                store.share_a_group(user.id, other),
                store.any_block_between(user.id, &others)
            )?;
            if !shared {
                return Err(ApiError::bad_request(
                    "Payments are between friends or members of a shared group",
                ));
            }
            if blocked {
                return Err(cannot_share());
            }
        }
        other => other?,
    }
    let doc = payment.into_document(user.id, None);
    check_open_currencies(store, &doc).await?;
    store.insert_expense(&doc, user.id).await?;
    rendered(app, user, &doc).await
}

/// A page of my payments: with a friend, in a group (of mine).
pub async fn list(
    app: &AppState,
    user: AuthUser,
    with_friend: Option<ObjectId>,
    group: Option<ObjectId>,
    page: &Page,
) -> Result<(Vec<ExpenseView>, u64), ApiError> {
    let store = &app.store;
    let group = match group {
        Some(g) => Some(member_group(store, g, user).await?.id),
        None => None,
    };
    let filter = PaymentFilter {
        user: user.id,
        with: with_friend,
        group,
    };
    let (payments, total) = store
        .payment_page(filter, page.skip(), page.limit_i64())
        .await?;
    Ok((render(app, user.id, &payments).await?, total))
}

/// A payment that the caller took part in (else 403); an expense id is a
/// 404 here.
async fn find_payment(store: &Store, id: ObjectId, user: AuthUser) -> Result<ExpenseDoc, ApiError> {
    let found = find(store, id).await.map_err(|e| match e {
        ApiError::NotFound(_) => ApiError::not_found("Payment not found"),
        e => e,
    })?;
    check_payment(&found, user, false)?;
    Ok(found)
}

/// 404 unless a payment; 403 unless the caller took part (or, to change it,
/// recorded it).
fn check_payment(doc: &ExpenseDoc, user: AuthUser, to_change: bool) -> Result<(), ApiError> {
    if doc.kind != Kind::Payment {
        return Err(ApiError::not_found("Payment not found"));
    }
    let access = access::of(doc, user.id);
    if access == Access::None {
        return Err(ApiError::forbidden(
            "You are not allowed to view this payment",
        ));
    }
    if to_change && access < Access::Edit {
        return Err(ApiError::forbidden(
            "Only the person who recorded this payment can change it",
        ));
    }
    Ok(())
}

/// A payment its people may read.
pub async fn get(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
) -> Result<Versioned<ExpenseView>, ApiError> {
    let payment = find_payment(&app.store, id, user).await?;
    rendered(app, user, &payment).await
}

/// Applies `body` to a payment (by whoever recorded it).
pub async fn update(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
    expected: Option<i64>,
    body: PaymentBody,
) -> Result<Versioned<ExpenseView>, ApiError> {
    let store = &app.store;
    let allowed = |doc: &ExpenseDoc| {
        check_payment(doc, user, true)?;
        alone(doc)
    };
    let edited = change_expense(app, user.id, id, expected, allowed, async |stored| {
        let payment = NewPayment::parse(body.clone(), user.id, Currency::USD, Some(stored))?;
        let edited = payment.into_document(user.id, Some(stored));
        let written = store
            .replace_expense(stored, &edited, ExpenseChange::Updated, user.id)
            .await?;
        Ok(written.then_some(edited))
    })
    .await?;
    rendered(app, user, &edited).await
}

/// Deletes a payment (by either of its people or whoever recorded it):
/// it can be restored for the retention period.
pub async fn delete(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
    expected: Option<i64>,
) -> Result<(), ApiError> {
    let allowed = |doc: &ExpenseDoc| {
        check_payment(doc, user, false)?;
        alone(doc)
    };
    delete_as_read(app, user, id, expected, allowed).await
}

/// A payment of a conversion changes only with it.
fn alone(doc: &ExpenseDoc) -> Result<(), ApiError> {
    match doc.conversion {
        Some(conversion) => Err(part_of_conversion(conversion)),
        None => Ok(()),
    }
}
