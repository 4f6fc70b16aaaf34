//! The bodies of the recurring routes, parsed: the schedule (each field
//! checked and named), the expense template (the body of `POST
//! /v1/expenses`, checked as that route checks it), and the series'
//! next occurrence as a schedule says.

use chrono::NaiveDate;
use mongodb::bson::{oid::ObjectId, Bson, DateTime, Document};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::app::expenses::input::{parse_group, ExpenseBody};
use crate::app::expenses::prepare;
use crate::auth::AuthUser;
use crate::domain::recurrence::{
    parse_day, parse_end_after, parse_interval, parse_zone, Frequency, Schedule, SeriesStatus,
    MAX_END_AFTER,
};
use crate::error::{ApiError, Checks, FieldError};
use crate::store::recurring::SeriesDoc;
use crate::store::{ExpenseDoc, Store};

/// A recurring series to create.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesBody {
    /// The body of `POST /v1/expenses` every occurrence is created from
    /// (its `date` is ignored: each occurrence is dated on its own day).
    #[schema(value_type = ExpenseBody)]
    pub expense: Option<Value>,
    /// `daily`, `weekly`, `monthly` or `yearly`.
    #[schema(value_type = String, example = "monthly")]
    pub frequency: Option<String>,
    /// Every how many days, weeks, months or years: 1 (default) to 366.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 366)]
    pub interval: Option<Value>,
    /// The first occurrence's day, `YYYY-MM-DD`.
    #[schema(value_type = String, example = "2026-01-31")]
    pub start_date: Option<String>,
    /// The IANA time zone whose midnight an occurrence falls due at.
    #[schema(value_type = String, example = "Europe/Paris")]
    pub time_zone: Option<String>,
    /// Stop after this many occurrences (1 to 1000).
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub end_after: Option<Value>,
    /// No occurrence after this day, `YYYY-MM-DD`.
    pub end_date: Option<String>,
}

/// A change of a series (its creator): any of the fields.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesPatch {
    /// `paused` to pause, `active` to resume.
    #[schema(value_type = Option<String>, example = "paused")]
    pub status: Option<String>,
    /// true: the next occurrence is not created.
    pub skip: Option<bool>,
    /// A new template for the occurrences not yet created (the ones
    /// already created are not changed).
    #[schema(value_type = Option<ExpenseBody>)]
    pub expense: Option<Value>,
}

/// The fields of an expense body a template keeps (not `date`, `version`).
const TEMPLATE_FIELDS: [&str; 12] = [
    "description",
    "amount",
    "currency",
    "paidBy",
    "payers",
    "payersSplitType",
    "splitType",
    "splitWith",
    "category",
    "groupId",
    "notes",
    // Booked in another currency: a table rate is the one of each
    // occurrence's own date.
    "exchange",
];

/// A whole number field (`interval`, `endAfter`).
fn whole(raw: &Value) -> Result<i64, String> {
    raw.as_i64()
        .ok_or_else(|| "Must be a whole number".to_owned())
}

/// The schedule of a new series; every problem under its field.
pub fn parse_schedule(c: &mut Checks, b: &SeriesBody) -> Option<Schedule> {
    let frequency = match b.frequency.as_deref() {
        Some(f) => c.check("frequency", Frequency::parse(f)),
        None => c.required("frequency", None, "frequency is required"),
    };
    let interval = match &b.interval {
        None | Some(Value::Null) => Some(1),
        Some(v) => c.check("interval", whole(v).and_then(parse_interval)),
    };
    let start = match b.start_date.as_deref() {
        Some(d) => c.check("startDate", parse_day(d)),
        None => c.required("startDate", None, "startDate is required"),
    };
    // A series catches up what fell due before it was created: at most
    // MAX_END_AFTER occurrences (a month counted as 28 days, so the bound
    // errs on the safe side), not decades of daily expenses.
    if let (Some(start), Some(frequency), Some(interval)) = (start, frequency, interval) {
        let unit: i64 = match frequency {
            Frequency::Daily => 1,
            Frequency::Weekly => 7,
            Frequency::Monthly => 28,
            Frequency::Yearly => 365,
        };
        let back = (chrono::Utc::now().date_naive() - start).num_days();
        if back / (unit * i64::from(interval)) >= i64::from(MAX_END_AFTER) {
            c.check(
                "startDate",
                Err::<(), _>(format!(
                    "startDate is too far in the past: more than {MAX_END_AFTER} occurrences would be due at once"
                )),
            );
            return None;
        }
    }
    let zone = match b.time_zone.as_deref() {
        Some(z) => c.check("timeZone", parse_zone(z)),
        None => c.required("timeZone", None, "timeZone is required"),
    };
    let end_after = match &b.end_after {
        None | Some(Value::Null) => Some(None),
        Some(v) => c
            .check("endAfter", whole(v).and_then(parse_end_after))
            .map(Some),
    };
    let end_date = match b.end_date.as_deref() {
        None => Some(None),
        Some(d) => c.check("endDate", parse_day(d)).map(Some),
    };
    if let (Some(start), Some(Some(end))) = (start, end_date) {
        if end < start {
            c.check(
                "endDate",
                Err::<(), _>("endDate must not be before startDate"),
            );
            return None;
        }
    }
    let (((frequency, interval), (start, zone)), (end_after, end_date)) = frequency
        .zip(interval)
        .zip(start.zip(zone))
        .zip(end_after.zip(end_date))?;
    Some(Schedule {
        frequency,
        interval,
        start,
        zone,
        end_after,
        end_date,
    })
}

/// The stored schedule of a series.
pub fn schedule_of(s: &SeriesDoc) -> Option<Schedule> {
    Some(Schedule {
        frequency: s.frequency,
        interval: u32::try_from(s.interval).ok()?,
        start: parse_day(&s.start_date).ok()?,
        zone: parse_zone(&s.time_zone).ok()?,
        end_after: match s.end_after {
            Some(n) => Some(u32::try_from(n).ok()?),
            None => None,
        },
        end_date: match &s.end_date {
            Some(d) => Some(parse_day(d).ok()?),
            None => None,
        },
    })
}

/// The template as stored: an object with the known fields of an expense
/// body, which must read as one (field `expense`).
pub fn parse_template(c: &mut Checks, raw: Option<Value>) -> Option<Document> {
    let Some(Value::Object(fields)) = raw else {
        return c.check(
            "expense",
            Err::<Document, _>("expense is required: the body of POST /v1/expenses"),
        );
    };
    let kept: serde_json::Map<String, Value> = fields
        .into_iter()
        .filter(|(k, _)| TEMPLATE_FIELDS.contains(&k.as_str()))
        .collect();
    let kept = Value::Object(kept);
    if let Err(e) = serde_json::from_value::<ExpenseBody>(kept.clone()) {
        return c.check(
            "expense",
            Err::<Document, _>(format!("Invalid expense: {e}")),
        );
    }
    c.check(
        "expense",
        mongodb::bson::to_document(&kept).map_err(|e| format!("Invalid expense: {e}")),
    )
}

/// The expense of the occurrence on `day` of a series with `template`,
/// recorded by `user`: checked as `POST /v1/expenses` checks it, not stored.
pub async fn occurrence_expense(
    store: &Store,
    user: AuthUser,
    template: &Document,
    day: NaiveDate,
) -> Result<ExpenseDoc, ApiError> {
    let mut body = Bson::Document(template.clone()).into_relaxed_extjson();
    body["date"] = Value::String(day.format("%Y-%m-%d").to_string());
    let mut body: ExpenseBody = serde_json::from_value(body)
        .map_err(|e| ApiError::validation(vec![FieldError::new("expense", e.to_string())]))?;
    let mut c = Checks::default();
    let group = parse_group(&mut c, body.group_id.take().as_deref());
    let group = c.finish(group)?;
    prepare(store, user, group, body).await
}

/// A refusal of the template as a 400 naming it: the expense's own field
/// errors under `expense.`, any other refusal under `expense`.
pub fn in_template(e: ApiError) -> ApiError {
    match e {
        ApiError::Validation { errors, .. } => ApiError::validation(
            errors
                .into_iter()
                .map(|f| FieldError::new(&format!("expense.{}", f.field), f.message))
                .collect(),
        ),
        ApiError::BadRequest(m)
        | ApiError::NotFound(m)
        | ApiError::Forbidden(m)
        | ApiError::Conflict(m) => ApiError::validation(vec![FieldError::new("expense", m)]),
        other => other,
    }
}

/// Why the template can no longer be created, when `e` is such a refusal
/// (not an outage).
pub fn refusal(e: &ApiError) -> Option<String> {
    match e {
        ApiError::Validation { message, .. }
        | ApiError::BadRequest(message)
        | ApiError::NotFound(message)
        | ApiError::Forbidden(message)
        | ApiError::Conflict(message)
        | ApiError::Unauthorized { message, .. } => Some(message.clone()),
        _ => None,
    }
}

/// `s` with `next`, `nextDate` and `due` as the schedule has them for
/// sequence `s.next` (completed when the series has no such occurrence).
pub fn set_next(s: &mut SeriesDoc, schedule: &Schedule) {
    match u32::try_from(s.next)
        .ok()
        .and_then(|n| schedule.occurrence(n))
    {
        Some(day) => {
            s.next_date = Some(day.format("%Y-%m-%d").to_string());
            s.due = Some(DateTime::from_millis(schedule.due(day).timestamp_millis()));
        }
        None => {
            s.status = SeriesStatus::Completed;
            s.paused_reason = None;
            s.next_date = None;
            s.due = None;
        }
    }
}

/// The people of a series with this template: its creator and everyone in
/// the expense.
pub fn people_of(creator: ObjectId, expense: &ExpenseDoc) -> Vec<ObjectId> {
    let mut people = expense.participants.clone();
    people.push(creator);
    people.sort();
    people.dedup();
    people
}
