//! The JSON lines export (`?format=json`): one object per expense or
//! payment with every field, amounts and split inputs as decimal text in
//! the currency's precision, people and groups with their ids and names,
//! and whatever `exchange` data the stored document carries, as stored.

use mongodb::bson::oid::ObjectId;
use serde::Serialize;

use super::cells::Names;
use super::stream::Rows;
use crate::app::views::{iso, iso_opt};
use crate::domain::modes::SplitMode;
use crate::domain::money::format_signed;
use crate::domain::money::{Currency, Decimal};
use crate::error::ApiError;
use crate::store::exports::Exported;
use crate::store::{ExpenseDoc, Store};

/// Someone or a group: id and name.
#[derive(Serialize)]
struct Named<'a> {
    id: String,
    name: &'a str,
}

#[derive(Serialize)]
struct PayerLine<'a> {
    user: Named<'a>,
    amount: String,
    /// The payer's input to `payersSplitType`, as decimal text.
    input: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SplitLine<'a> {
    id: String,
    user: Named<'a>,
    amount: String,
    /// The person's input to `splitType` (percentage, shares, adjustment),
    /// as decimal text; null for exact and equal.
    input: Option<String>,
    settled: bool,
    settled_at: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Line<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    description: &'a str,
    category: &'a str,
    currency: &'a str,
    amount: String,
    date: String,
    group: Option<Named<'a>>,
    created_by: Named<'a>,
    paid_by: Named<'a>,
    payers: Vec<PayerLine<'a>>,
    payers_split_type: Option<&'static str>,
    split_type: &'static str,
    splits: Vec<SplitLine<'a>>,
    notes: Option<&'a str>,
    is_settled: bool,
    settled_at: Option<String>,
    has_receipt: bool,
    created_at: String,
    updated_at: String,
    version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    exchange: Option<serde_json::Value>,
}

/// A stored split-mode input as decimal text (`3333` percent → `33.33`).
fn input_text(mode: SplitMode, weight: Option<i64>, currency: Currency) -> Option<String> {
    let decimals = mode.weight_decimals(currency)?;
    Some(Decimal::from_fixed(weight?, decimals).ok()?.to_string())
}

/// The rows of a JSON lines export.
pub(super) struct JsonLines {
    names: Names,
}

impl JsonLines {
    pub(super) fn new(store: Store) -> Self {
        Self {
            names: Names::new(store),
        }
    }

    fn named(&self, id: ObjectId) -> Named<'_> {
        Named {
            id: id.to_hex(),
            name: self.names.user(id),
        }
    }

    fn line<'a>(&'a self, e: &'a ExpenseDoc, exchange: Option<serde_json::Value>) -> Line<'a> {
        let currency = e.currency;
        let money = |minor| format_signed(minor, currency);
        let payers_mode = e.payers_split_type.unwrap_or_default();
        // Documents from before several payers list none: `paidBy` paid it all.
        let payers = if e.payers.is_empty() {
            vec![PayerLine {
                user: self.named(e.paid_by),
                amount: money(e.amount),
                input: None,
            }]
        } else {
            e.payers
                .iter()
                .map(|p| PayerLine {
                    user: self.named(p.user),
                    amount: money(p.amount),
                    input: input_text(payers_mode, p.weight, currency),
                })
                .collect()
        };
        Line {
            id: e.id.to_hex(),
            kind: e.kind.code(),
            description: &e.description,
            category: e.category.as_str(),
            currency: e.currency.code(),
            amount: money(e.amount),
            date: iso(e.date),
            group: e.group.map(|g| Named {
                id: g.to_hex(),
                name: self.names.group(g),
            }),
            created_by: self.named(e.created_by),
            paid_by: self.named(e.paid_by),
            payers,
            payers_split_type: e.payers_split_type.map(SplitMode::code),
            split_type: e.split_type.code(),
            splits: e
                .split_with
                .iter()
                .map(|s| SplitLine {
                    id: s.id.to_hex(),
                    user: self.named(s.user),
                    amount: money(s.amount),
                    input: input_text(e.split_type, s.weight, currency),
                    settled: s.settled,
                    settled_at: iso_opt(s.settled_at),
                })
                .collect(),
            notes: e.notes.as_deref(),
            is_settled: e.is_settled,
            settled_at: iso_opt(e.settled_at),
            has_receipt: e.receipt.is_some(),
            created_at: iso(e.created_at),
            updated_at: iso(e.updated_at),
            version: e.version,
            exchange,
        }
    }
}

impl Rows for JsonLines {
    fn start(&mut self, _out: &mut Vec<u8>) -> Result<(), ApiError> {
        Ok(())
    }

    async fn prepare(&mut self, batch: &[Exported]) -> Result<(), ApiError> {
        self.names.load(batch).await
    }

    fn row(&mut self, doc: &Exported, out: &mut Vec<u8>) -> Result<(), ApiError> {
        // An expense booked in another currency: in this file's money
        // format; anything else stored under `exchange`, as stored.
        let exchange = match &doc.expense.exchange {
            Some(x) => Some(serde_json::json!({
                "currency": x.currency.code(),
                "rate": x.rate,
                "amount": format_signed(x.amount, x.currency),
                "source": x.source.code(),
                "date": x.date,
            })),
            None => doc.exchange.clone().map(|b| b.into_relaxed_extjson()),
        };
        serde_json::to_writer(&mut *out, &self.line(&doc.expense, exchange))
            .map_err(ApiError::internal)?;
        out.push(b'\n');
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), ApiError> {
        Ok(())
    }
}
