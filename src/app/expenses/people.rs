//! Who owes and who paid, as a request states it: a list of people with a
//! split mode (`splitWith` + `splitType`, `payers` + `payersSplitType`, or
//! `paidBy` as one id or a list of exact amounts), parsed before the total is
//! known and divided once it is. Field errors name the entry, e.g.
//! `splitWith[2].percentage`.

use mongodb::bson::oid::ObjectId;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::app::schema::Id;
use crate::domain::modes::{divide, exact_parts, values_of, SplitMode, Weight};
use crate::domain::money::{AmountInput, Currency, Decimal};
use crate::domain::split::MAX_SPLITS;
use crate::error::Checks;
use crate::store::{ExpenseDoc, PayerDoc};

/// One person in `splitWith` or `payers`: the field the mode reads is
/// `amount`, `percentage`, `shares` or `adjustment` (none for `equal`).
#[derive(Clone, Deserialize, ToSchema)]
pub struct EntryInput {
    #[schema(value_type = Option<Id>)]
    pub user: Option<String>,
    pub amount: Option<AmountInput>,
    pub percentage: Option<AmountInput>,
    pub shares: Option<AmountInput>,
    pub adjustment: Option<AmountInput>,
}

impl EntryInput {
    fn value(&self, mode: SplitMode) -> Option<&AmountInput> {
        match mode {
            SplitMode::Exact => self.amount.as_ref(),
            SplitMode::Equal => None,
            SplitMode::Percentage => self.percentage.as_ref(),
            SplitMode::Shares => self.shares.as_ref(),
            SplitMode::Adjustment => self.adjustment.as_ref(),
        }
    }
}

/// `paidBy`: one payer's id, as the app sends it, or several payers with
/// exact amounts.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum PaidBy {
    #[schema(value_type = Id)]
    One(String),
    Several(Vec<EntryInput>),
}

/// People and the mode their inputs follow, before the total is known.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    pub mode: SplitMode,
    pub users: Vec<ObjectId>,
    pub values: Vec<Option<Decimal>>,
}

impl Allocation {
    /// Parses `entries` of the list named `field` in `mode`; every problem is
    /// recorded in `c`. Users must be valid and appear once.
    pub fn parse(
        c: &mut Checks,
        field: &str,
        mode: SplitMode,
        entries: &[EntryInput],
    ) -> Option<Allocation> {
        if entries.is_empty() {
            return c.check(
                field,
                Err::<Allocation, _>("At least one entry is required"),
            );
        }
        if entries.len() > MAX_SPLITS {
            return c.check(
                field,
                Err::<Allocation, _>(format!("At most {MAX_SPLITS} people can be listed")),
            );
        }
        let input = mode.input_field().unwrap_or("amount");
        let mut users = Vec::with_capacity(entries.len());
        let mut values = Vec::with_capacity(entries.len());
        let mut complete = true;
        for (i, entry) in entries.iter().enumerate() {
            let user = entry
                .user
                .as_deref()
                .and_then(|u| ObjectId::parse_str(u.trim()).ok());
            match user {
                Some(u) if users.contains(&u) => {
                    c.check(
                        &format!("{field}[{i}].user"),
                        Err::<(), _>("A user can appear only once in the list"),
                    );
                    complete = false;
                }
                Some(u) => users.push(u),
                None => {
                    c.check(
                        &format!("{field}[{i}].user"),
                        Err::<(), _>("Each entry needs a valid user ID"),
                    );
                    complete = false;
                }
            }
            match entry.value(mode).map(AmountInput::decimal) {
                Some(Ok(d)) => values.push(Some(d)),
                Some(Err(e)) => {
                    c.check(
                        &format!("{field}[{i}].{input}"),
                        Err::<(), _>(e.to_string()),
                    );
                    complete = false;
                }
                None => values.push(None),
            }
        }
        complete.then_some(Allocation {
            mode,
            users,
            values,
        })
    }

    /// The split of a stored expense, to be divided again by the same inputs.
    pub fn stored_splits(e: &ExpenseDoc, currency: Currency) -> Allocation {
        let users = e.split_with.iter().map(|s| s.user).collect();
        let weights: Vec<Weight> = e.split_with.iter().map(|s| s.weight).collect();
        let amounts = e.split_with.iter().map(|s| s.amount);
        Allocation::stored(e.split_type, users, &weights, amounts, currency)
    }

    /// The payers of a stored expense with several payers.
    pub fn stored_payers(e: &ExpenseDoc, currency: Currency) -> Allocation {
        let users = e.payers.iter().map(|p| p.user).collect();
        let weights: Vec<Weight> = e.payers.iter().map(|p| p.weight).collect();
        let amounts = e.payers.iter().map(|p| p.amount);
        let mode = e.payers_split_type.unwrap_or_default();
        Allocation::stored(mode, users, &weights, amounts, currency)
    }

    fn stored(
        mode: SplitMode,
        users: Vec<ObjectId>,
        weights: &[Weight],
        amounts: impl Iterator<Item = i64>,
        currency: Currency,
    ) -> Allocation {
        let values = match mode {
            // Exact keeps no inputs: the amounts are the inputs.
            SplitMode::Exact => amounts
                .map(|minor| Decimal::from_minor(minor, currency).ok())
                .collect(),
            _ => values_of(mode, weights, currency),
        };
        Allocation {
            mode,
            users,
            values,
        }
    }

    /// The same people divided by `mode` without new inputs: as stored when
    /// the mode is theirs, equally for `equal`; None when `mode` needs
    /// inputs that were not stored.
    pub fn with_mode(self, mode: SplitMode) -> Option<Allocation> {
        match mode {
            m if m == self.mode => Some(self),
            SplitMode::Equal => Some(Allocation {
                mode,
                values: vec![None; self.users.len()],
                users: self.users,
            }),
            _ => None,
        }
    }

    /// Divides `total` between the people; the errors are recorded under
    /// `field` (and the entry they name). `amount_input` is the expense
    /// amount as sent, for exact splits' tolerance; `strict` (payers) wants
    /// exact amounts to add up with no tolerance.
    pub fn divide(
        &self,
        c: &mut Checks,
        field: &str,
        (total, amount_input, currency): (i64, Decimal, Currency),
        strict: bool,
    ) -> Option<Vec<(ObjectId, i64, Weight)>> {
        let divided = if strict && self.mode == SplitMode::Exact {
            exact_parts(total, currency, &self.values).map(|parts| {
                let weights = vec![None; parts.len()];
                (parts, weights)
            })
        } else {
            divide(self.mode, total, amount_input, currency, &self.values)
                .map(|d| (d.parts, d.weights))
        };
        match divided {
            Ok((parts, weights)) => Some(
                self.users
                    .iter()
                    .zip(parts)
                    .zip(weights)
                    .map(|((user, part), weight)| (*user, part, weight))
                    .collect(),
            ),
            Err(e) => {
                let name = match e.entry {
                    Some(i) => {
                        let input = self.mode.input_field().unwrap_or("user");
                        format!("{field}[{i}].{input}")
                    }
                    None => field.to_string(),
                };
                c.check(&name, Err::<(), _>(e.message));
                None
            }
        }
    }
}

/// Who paid: one person the whole amount, or several with a mode.
#[derive(Debug, Clone, PartialEq)]
pub enum Payers {
    One(ObjectId),
    Several(Allocation),
}

impl Payers {
    /// `paidBy` (an id, or a list of exact amounts) and `payers` +
    /// `payersSplitType`, falling back to `was` when neither is sent (then
    /// `payersSplitType` alone re-divides the stored payers, as `splitType`
    /// does the split).
    pub fn parse(
        c: &mut Checks,
        paid_by: Option<&PaidBy>,
        payers: Option<&[EntryInput]>,
        payers_mode: Option<&str>,
        was: Payers,
    ) -> Option<Payers> {
        let mode = match payers_mode {
            Some(raw) => Some(c.check("payersSplitType", SplitMode::parse(raw))?),
            None => None,
        };
        match (paid_by, payers) {
            (Some(_), Some(_)) => c.check(
                "payers",
                Err::<Payers, _>("Give either paidBy or payers, not both"),
            ),
            (Some(_), None) if mode.is_some() => c.check(
                "payersSplitType",
                Err::<Payers, _>("payersSplitType goes with payers, not paidBy"),
            ),
            (Some(PaidBy::One(raw)), None) if raw.trim().is_empty() => Some(was),
            (Some(PaidBy::One(raw)), None) => c
                .check(
                    "paidBy",
                    ObjectId::parse_str(raw.trim()).map_err(|_| "Invalid payer ID format"),
                )
                .map(Payers::One),
            (Some(PaidBy::Several(list)), None) => {
                Allocation::parse(c, "paidBy", SplitMode::Exact, list).map(Payers::Several)
            }
            (None, Some(list)) => {
                Allocation::parse(c, "payers", mode.unwrap_or_default(), list).map(Payers::Several)
            }
            (None, None) => {
                let redivided = match (mode, was) {
                    (None, was) => return Some(was),
                    (Some(m), Payers::Several(stored)) => stored.with_mode(m),
                    (Some(_), Payers::One(_)) => None,
                };
                match redivided {
                    Some(payers) => Some(Payers::Several(payers)),
                    None => c.check(
                        "payers",
                        Err::<Payers, _>("payers is required to change payersSplitType"),
                    ),
                }
            }
        }
    }

    /// A stored expense's payers.
    pub fn stored(e: &ExpenseDoc, currency: Currency) -> Payers {
        if e.has_several_payers() {
            Payers::Several(Allocation::stored_payers(e, currency))
        } else {
            Payers::One(e.paid_by)
        }
    }

    /// The stored payers of `total`, the main payer (most paid, the earlier
    /// on a tie) first, nobody at zero; with their mode when several remain.
    pub fn divide(
        &self,
        c: &mut Checks,
        money: (i64, Decimal, Currency),
    ) -> Option<(Vec<PayerDoc>, Option<SplitMode>)> {
        let (field, allocation) = match self {
            Payers::One(user) => {
                let payer = PayerDoc {
                    user: *user,
                    amount: money.0,
                    weight: None,
                };
                return Some((vec![payer], None));
            }
            Payers::Several(a) => ("payers", a),
        };
        let parts = allocation.divide(c, field, money, true)?;
        let mut payers: Vec<PayerDoc> = parts
            .into_iter()
            .filter(|(_, amount, _)| *amount > 0)
            .map(|(user, amount, weight)| PayerDoc {
                user,
                amount,
                weight,
            })
            .collect();
        // Stable: ties keep their order.
        payers.sort_by_key(|p| std::cmp::Reverse(p.amount));
        if payers.len() == 1 {
            payers[0].weight = None;
            return Some((payers, None));
        }
        Some((payers, Some(allocation.mode)))
    }
}
