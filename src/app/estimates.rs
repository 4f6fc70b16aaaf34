//! `?convertTo=`: open balances shown in one currency at the latest known
//! table rates, marked as an estimate, without changing anything (what is
//! owed stays in the currencies it was booked in; `POST /v1/conversions`
//! is what moves it).
//!
//! Each currency's amount is converted on its own and rounded half away
//! from zero, then added. A group's balances, which sum to zero per
//! currency, are converted so they still sum to zero
//! (`domain::exchange::convert_nets`).

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::balance::MemberBalance;
use crate::domain::exchange::{convert, convert_nets, Rate, RateTable};
use crate::domain::money::{Currency, MajorUnits};
use crate::error::{ApiError, FieldError};
use crate::store::Store;

/// The query field.
const FIELD: &str = "convertTo";

fn refused(message: impl Into<String>) -> ApiError {
    ApiError::validation(vec![FieldError::new(FIELD, message)])
}

/// `convertTo` as the query sends it: absent or blank is none; an unknown
/// code is a 400 naming it.
pub fn parse_convert_to(raw: Option<&str>) -> Result<Option<Currency>, ApiError> {
    match raw.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => Currency::parse(code)
            .map(Some)
            .map_err(|e| refused(e.to_string())),
        None => Ok(None),
    }
}

/// An amount converted for show.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Converted {
    currency: String,
    amount: MajorUnits,
    /// The day of the rates used (`YYYY-MM-DD`).
    #[schema(format = Date)]
    rate_date: String,
    /// Always true: rates move, and nothing was converted.
    estimate: bool,
}

/// The latest rate table, read for one target currency.
pub struct Estimator {
    table: RateTable,
    to: Currency,
}

impl Estimator {
    /// For `to`, when asked: the latest table, which must know it (else a
    /// 400 naming `convertTo`).
    pub async fn load(store: &Store, to: Option<Currency>) -> Result<Option<Estimator>, ApiError> {
        let Some(to) = to else { return Ok(None) };
        let Some(table) = store.rate_table(None).await? else {
            return Err(refused(
                "No exchange rates are known yet, so nothing can be converted",
            ));
        };
        if table.per_euro(to).is_none() {
            return Err(refused(format!(
                "The rate table of {} has no rate for {to}",
                table.day()
            )));
        }
        Ok(Some(Estimator { table, to }))
    }

    pub fn currency(&self) -> Currency {
        self.to
    }

    pub fn rate_date(&self) -> String {
        self.table.day()
    }

    fn rate(&self, from: Currency) -> Result<Rate, ApiError> {
        self.table.rate(from, self.to).ok_or_else(|| {
            refused(format!(
                "The rate table of {} has no rate from {from} to {}",
                self.table.day(),
                self.to
            ))
        })
    }

    /// A balance in several currencies as one amount of the target.
    pub fn total(&self, balance: &MemberBalance) -> Result<i64, ApiError> {
        let mut total: i64 = 0;
        for (currency, minor) in &balance.by_currency {
            let converted = convert(*minor, *currency, self.to, self.rate(*currency)?)
                .map_err(|e| refused(e.to_string()))?;
            total = total.saturating_add(converted);
        }
        Ok(total)
    }

    /// Per-currency balances of several people (each currency's summing to
    /// zero, as a group's do) as one amount each of the target, still
    /// summing to zero.
    pub fn nets<K: Ord + Clone>(
        &self,
        by_currency: &BTreeMap<Currency, Vec<(K, i64)>>,
    ) -> Result<BTreeMap<K, i64>, ApiError> {
        let mut out: BTreeMap<K, i64> = BTreeMap::new();
        for (currency, nets) in by_currency {
            let converted = convert_nets(nets, *currency, self.to, self.rate(*currency)?)
                .map_err(|e| refused(e.to_string()))?;
            for (k, n) in converted {
                let sum = out.entry(k).or_default();
                *sum = sum.saturating_add(n);
            }
        }
        Ok(out)
    }

    /// `minor` of the target, marked as an estimate.
    pub fn view(&self, minor: i64) -> Converted {
        Converted {
            currency: self.to.code().to_owned(),
            amount: self.money(minor),
            rate_date: self.rate_date(),
            estimate: true,
        }
    }

    pub fn money(&self, minor: i64) -> MajorUnits {
        MajorUnits {
            minor,
            currency: self.to,
        }
    }
}
