//! `/v1/conversions`: moving an open balance from one currency to another
//! at a stated rate (or the latest table rate), for both sides at once.
//!
//! - With a friend: our pairwise balance in `from` becomes zero and its
//!   converted amount opens in `to`.
//! - In a group: every member's balance in `from` moves to `to`, converted
//!   so the members' balances still sum to zero
//!   (`domain::exchange::convert_nets`).
//!
//! A conversion is recorded as ordinary payments in opposite directions in
//! the two currencies, linked to it (`store::expenses::conversions`): with a
//! friend, one payment cancelling the balance in `from` and one opening it
//! in `to`; in a group, the same between the caller and each other member
//! with a balance in `from` (the caller's own balance follows, as the sum of
//! the others'). Booking, the journal, the lists and the trash are the
//! payments'; the payments are written, deleted and restored together, in
//! one transaction each time.

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::expenses::exchange::rate_of;
use super::expenses::input::{cannot_share, check_open_currencies};
use super::expenses::RESTORE_WINDOW;
use super::groups::member_group;
use super::rates::table_rate;
use super::views::iso;
use crate::app::schema::Id;
use crate::auth::AuthUser;
use crate::domain::exchange::{convert_nets, Rate};
use crate::domain::money::{AmountInput, Currency, MajorUnits};
use crate::error::{ApiError, Checks, FieldError};
use crate::state::AppState;
use crate::store::expenses::conversions::{ConversionDoc, MovedDoc, ReadBalance};
use crate::store::{ExpenseDoc, Kind, PayerDoc, RateSource, SplitDoc, Store};

/// A conversion to record.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversionBody {
    /// Convert our balance with this friend...
    #[schema(value_type = Option<Id>)]
    pub friend_id: Option<String>,
    /// ...or every member's balance in this group (one of the two).
    #[schema(value_type = Option<Id>)]
    pub group_id: Option<String>,
    /// The currency the balance is in now.
    pub from: Option<String>,
    /// The currency it moves to.
    pub to: Option<String>,
    /// Units of `to` per unit of `from` (decimal text or a number, at most
    /// 12 decimals); the latest rate table's when absent.
    #[schema(value_type = Option<String>)]
    pub rate: Option<AmountInput>,
}

/// Whose balance a conversion moves.
enum Target {
    Friend(ObjectId),
    Group(ObjectId),
}

struct NewConversion {
    target: Target,
    from: Currency,
    to: Currency,
    rate: Option<Rate>,
}

fn id_of(raw: &str, what: &str) -> Result<ObjectId, String> {
    ObjectId::parse_str(raw.trim()).map_err(|_| format!("Invalid {what} ID format"))
}

impl NewConversion {
    fn parse(body: ConversionBody, me: ObjectId) -> Result<Self, ApiError> {
        let mut c = Checks::default();
        let target = match (body.friend_id.as_deref(), body.group_id.as_deref()) {
            (Some(f), None) => c
                .check(
                    "friendId",
                    id_of(f, "friend").and_then(|f| {
                        if f == me {
                            Err("A conversion is between you and someone else".into())
                        } else {
                            Ok(f)
                        }
                    }),
                )
                .map(Target::Friend),
            (None, Some(g)) => c.check("groupId", id_of(g, "group")).map(Target::Group),
            _ => c.check(
                "friendId",
                Err::<Target, _>("Give either friendId or groupId"),
            ),
        };
        let mut currency = |field: &str, raw: Option<&str>| match raw {
            Some(code) => c.check(field, Currency::parse(code).map_err(|e| e.to_string())),
            None => c.required(field, None, &format!("{field} is required")),
        };
        let from = currency("from", body.from.as_deref());
        let to = currency("to", body.to.as_deref());
        if from.is_some() && from == to {
            c.check(
                "to",
                Err::<(), _>("from and to must be different currencies"),
            );
        }
        let rate = match &body.rate {
            Some(raw) => c.check("rate", rate_of(raw)).map(Some),
            None => Some(None),
        };
        let (target, ((from, to), rate)) = c.finish(target.zip(from.zip(to).zip(rate)))?;
        Ok(Self {
            target,
            from,
            to,
            rate,
        })
    }
}

/// What one person's balance became, for show.
#[derive(Serialize, ToSchema)]
pub struct MovedView {
    #[schema(value_type = Id)]
    user: String,
    /// Their balance in `from` before (> 0: they were owed).
    from: MajorUnits,
    /// The same in `to`, now part of their balance there.
    to: MajorUnits,
}

/// A conversion as recorded.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversionView {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    id: String,
    #[schema(value_type = Id)]
    created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Id>)]
    friend: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Id>)]
    group: Option<String>,
    from: String,
    to: String,
    /// Units of `to` per unit of `from`, exact decimal text.
    rate: String,
    /// `given` or `table`.
    source: &'static str,
    #[schema(format = Date)]
    rate_date: String,
    moved: Vec<MovedView>,
    /// The payments that carry it (`conversion` names it on each).
    #[schema(value_type = Vec<Id>)]
    payments: Vec<String>,
    #[schema(format = DateTime)]
    created_at: String,
    /// Only once deleted (it can be restored for 30 days).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    deleted_at: Option<String>,
}

impl ConversionView {
    fn of(c: &ConversionDoc) -> Self {
        Self {
            id: c.id.to_hex(),
            created_by: c.created_by.to_hex(),
            friend: c.friend.map(|f| f.to_hex()),
            group: c.group.map(|g| g.to_hex()),
            from: c.from.code().to_owned(),
            to: c.to.code().to_owned(),
            rate: c.rate.clone(),
            source: c.source.code(),
            rate_date: c.rate_date.clone(),
            moved: c
                .moved
                .iter()
                .map(|m| MovedView {
                    user: m.user.to_hex(),
                    from: MajorUnits {
                        minor: m.from,
                        currency: c.from,
                    },
                    to: MajorUnits {
                        minor: m.to,
                        currency: c.to,
                    },
                })
                .collect(),
            payments: c.payments.iter().map(|p| p.to_hex()).collect(),
            created_at: iso(c.created_at),
            deleted_at: c.deleted_at.map(iso),
        }
    }
}

/// A payment of `amount` from `payer` to `payee`, half of `conversion`.
struct Leg {
    payer: ObjectId,
    payee: ObjectId,
    amount: i64,
    currency: Currency,
}

impl Leg {
    /// The leg that moves `net` (> 0: `user` is owed it by `hub`; < 0:
    /// `user` owes it) out of the balance between them: `hub` pays `user`
    /// what `user` is owed, `user` pays `hub` what `user` owes.
    fn cancelling(hub: ObjectId, user: ObjectId, net: i64, currency: Currency) -> Option<Leg> {
        let (payer, payee) = if net > 0 { (hub, user) } else { (user, hub) };
        (net != 0).then_some(Leg {
            payer,
            payee,
            amount: net.abs(),
            currency,
        })
    }

    /// The leg that opens `net` (same sign convention) between them.
    fn opening(hub: ObjectId, user: ObjectId, net: i64, currency: Currency) -> Option<Leg> {
        Leg::cancelling(hub, user, -net, currency)
    }

    fn document(&self, c: &ConversionDoc, now: DateTime) -> ExpenseDoc {
        let mut doc = ExpenseDoc {
            description: "Currency conversion".into(),
            amount: self.amount,
            currency: self.currency,
            paid_by: self.payer,
            payers: vec![PayerDoc {
                user: self.payer,
                amount: self.amount,
                weight: None,
            }],
            split_with: vec![SplitDoc {
                id: ObjectId::new(),
                user: self.payee,
                amount: self.amount,
                settled: false,
                settled_at: None,
                weight: None,
            }],
            group: c.group,
            notes: Some(format!("{} → {} at {}", c.from, c.to, c.rate)),
            is_settled: true,
            conversion: Some(c.id),
            ..ExpenseDoc::blank(Kind::Payment, ObjectId::new(), c.created_by, now)
        };
        doc.refresh_participants();
        doc
    }
}

/// Records a conversion of our balance with a friend, or of every member's
/// balance in a group.
pub async fn create(
    app: &AppState,
    user: AuthUser,
    body: ConversionBody,
) -> Result<ConversionView, ApiError> {
    let store = &app.store;
    let new = NewConversion::parse(body, user.id)?;
    let (rate, source, rate_date) = match new.rate {
        Some(rate) => (rate, RateSource::Given, today()),
        None => match table_rate(store, new.from, new.to, None).await? {
            Some(found) => (
                found.rate,
                RateSource::Table,
                found.date.format("%Y-%m-%d").to_string(),
            ),
            None => {
                return Err(ApiError::validation(vec![FieldError::new(
                    "rate",
                    format!(
                        "No exchange rate from {} to {} is known: give a rate",
                        new.from, new.to
                    ),
                )]))
            }
        },
    };
    // Balances in `from` (> 0: owed to the person), the caller's among them.
    let (friend, group, nets, read) = match new.target {
        Target::Friend(friend) => {
            if store.any_block_between(user.id, &[friend]).await? {
                return Err(cannot_share());
            }
            let net = store
                .ledger_for(user.id, Some(friend))
                .await?
                .into_iter()
                .filter(|r| r.currency == new.from)
                .map(|r| r.net)
                .sum::<i64>();
            let read = vec![ReadBalance::Pair {
                me: user.id,
                other: friend,
                owed_to_me: net,
            }];
            (
                Some(friend),
                None,
                vec![(friend, -net), (user.id, net)],
                read,
            )
        }
        Target::Group(gid) => {
            let group = member_group(store, gid, user).await?;
            let nets: Vec<(ObjectId, i64)> = store
                .group_ledger(group.id)
                .await?
                .into_iter()
                .filter(|r| r.currency == new.from)
                .map(|r| (r.user, r.net))
                .collect();
            let read = nets
                .iter()
                .map(|&(user, net)| ReadBalance::Member {
                    group: group.id,
                    user,
                    net,
                })
                .collect();
            (None, Some(group.id), nets, read)
        }
    };
    let nets: Vec<(ObjectId, i64)> = nets.into_iter().filter(|(_, n)| *n != 0).collect();
    if nets.is_empty() {
        return Err(ApiError::validation(vec![FieldError::new(
            "from",
            format!("There is no open balance in {} to convert", new.from),
        )]));
    }
    let converted = convert_nets(&nets, new.from, new.to, rate)
        .map_err(|e| ApiError::validation(vec![FieldError::new("rate", e.to_string())]))?;
    let mut conversion = ConversionDoc {
        id: ObjectId::new(),
        created_by: user.id,
        friend,
        group,
        from: new.from,
        to: new.to,
        rate: rate.to_string(),
        source,
        rate_date,
        moved: nets
            .iter()
            .zip(&converted)
            .map(|((user, from), (_, to))| MovedDoc {
                user: *user,
                from: *from,
                to: *to,
            })
            .collect(),
        payments: Vec::new(),
        created_at: DateTime::now(),
        deleted_at: None,
    };
    let now = conversion.created_at;
    let legs: Vec<Leg> = conversion
        .moved
        .iter()
        .filter(|m| m.user != user.id)
        .flat_map(|m| {
            [
                Leg::cancelling(user.id, m.user, m.from, new.from),
                Leg::opening(user.id, m.user, m.to, new.to),
            ]
        })
        .flatten()
        .collect();
    let payments: Vec<ExpenseDoc> = legs.iter().map(|l| l.document(&conversion, now)).collect();
    conversion.payments = payments.iter().map(|p| p.id).collect();
    if let Some(opening) = payments.iter().find(|p| p.currency == new.to) {
        check_open_currencies(store, opening).await?;
    }
    // Only what was read is converted: a balance that changed meanwhile
    // (a new expense) makes this a 409, with nothing written.
    let read: Vec<ReadBalance> = read
        .into_iter()
        .filter(|r| !matches!(r, ReadBalance::Pair { owed_to_me: 0, .. }))
        .collect();
    if !store
        .insert_conversion(&conversion, &read, &payments, user.id)
        .await?
    {
        return Err(ApiError::Conflict(
            "The balances changed meanwhile: look at them again and convert again".into(),
        ));
    }
    Ok(ConversionView::of(&conversion))
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// The conversion `id` if the caller may see it: its creator, a person
/// whose balance it moved, or a member of its group.
async fn readable(store: &Store, user: AuthUser, id: ObjectId) -> Result<ConversionDoc, ApiError> {
    let conversion = store
        .conversion_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Conversion not found"))?;
    let involved =
        conversion.created_by == user.id || conversion.moved.iter().any(|m| m.user == user.id);
    if !involved {
        match conversion.group {
            Some(group) => {
                member_group(store, group, user).await?;
            }
            None => {
                return Err(ApiError::forbidden(
                    "You are not allowed to view this conversion",
                ))
            }
        }
    }
    Ok(conversion)
}

/// A conversion, deleted or not.
pub async fn get(app: &AppState, user: AuthUser, id: ObjectId) -> Result<ConversionView, ApiError> {
    Ok(ConversionView::of(&readable(&app.store, user, id).await?))
}

/// Deletes a conversion: its payments go to the trash together, so every
/// balance it moved is back in `from` as it was. It can be restored for
/// the retention period.
pub async fn delete(app: &AppState, user: AuthUser, id: ObjectId) -> Result<(), ApiError> {
    let store = &app.store;
    let conversion = readable(store, user, id).await?;
    if conversion.deleted_at.is_some() {
        return Err(ApiError::Conflict(
            "This conversion is deleted already".into(),
        ));
    }
    let payments = store.expenses_by_ids(&conversion.payments).await?;
    let changed = || ApiError::Conflict("The conversion changed meanwhile: try again".into());
    if payments.len() != conversion.payments.len() {
        return Err(changed());
    }
    if !store
        .delete_conversion(&conversion, &payments, user.id)
        .await?
    {
        return Err(changed());
    }
    Ok(())
}

/// Restores a deleted conversion with its payments: not deleted → 409,
/// deleted too long ago → 410.
pub async fn restore(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
) -> Result<ConversionView, ApiError> {
    let store = &app.store;
    let mut conversion = readable(store, user, id).await?;
    let Some(deleted_at) = conversion.deleted_at else {
        return Err(ApiError::Conflict("This conversion is not deleted".into()));
    };
    let expired = || {
        ApiError::coded(
            410,
            "RESTORE_EXPIRED",
            "This conversion was deleted more than 30 days ago and can no longer be restored",
        )
    };
    let age = DateTime::now().timestamp_millis() - deleted_at.timestamp_millis();
    if age > i64::try_from(RESTORE_WINDOW.as_millis()).unwrap_or(i64::MAX) {
        return Err(expired());
    }
    let mut trashed = Vec::with_capacity(conversion.payments.len());
    for payment in &conversion.payments {
        trashed.push(store.trashed_by_id(*payment).await?.ok_or_else(expired)?);
    }
    if store
        .restore_conversion(&conversion, &trashed, user.id)
        .await?
        .is_none()
    {
        return Err(ApiError::Conflict(
            "The conversion changed meanwhile: try again".into(),
        ));
    }
    conversion.deleted_at = None;
    Ok(ConversionView::of(&conversion))
}
