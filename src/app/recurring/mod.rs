//! Recurring expenses: a series (a schedule and an expense template) whose
//! occurrences become ordinary expenses, each through the same checks as
//! `POST /v1/expenses` (`expenses::prepare`), by the scheduler (`run`).
//! A series is seen by its people (its creator and everyone in the
//! template; others get 404) and changed by its creator only (others 403).

pub mod input;
mod run;

use mongodb::bson::{oid::ObjectId, Bson, DateTime};
use serde::Serialize;
use utoipa::ToSchema;

use self::input::{
    in_template, occurrence_expense, parse_schedule, parse_template, people_of, schedule_of,
    set_next, SeriesBody, SeriesPatch,
};
pub use self::run::{run_due, PER_RUN, PER_SERIES};
use crate::app::schema::Id;
use crate::app::versions;
use crate::auth::AuthUser;
use crate::domain::recurrence::{Schedule, SeriesStatus};
use crate::error::{ApiError, Checks, FieldError};
use crate::state::AppState;
use crate::store::recurring::{Occurrence, SeriesDoc};

/// A series as its people read it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesView {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    id: String,
    /// `active`, `paused` or `completed`.
    #[schema(example = "active")]
    status: &'static str,
    /// Why the series was paused (a person left the group, …); null when it
    /// is not paused.
    paused_reason: Option<String>,
    #[schema(example = "monthly")]
    frequency: &'static str,
    interval: i64,
    start_date: String,
    time_zone: String,
    end_after: Option<i64>,
    end_date: Option<String>,
    /// The next occurrence's sequence (from 1); null once completed.
    next_sequence: Option<i64>,
    /// Its day, `YYYY-MM-DD`; null once completed.
    next_date: Option<String>,
    /// The instant it falls due (00:00 of `nextDate` in `timeZone`).
    #[schema(format = DateTime)]
    next_due_at: Option<String>,
    /// From which occurrence the current template applies.
    template_applies_from: TemplateFrom,
    /// The template: the body of `POST /v1/expenses`.
    #[schema(value_type = Object)]
    expense: serde_json::Value,
    #[schema(value_type = Option<Id>)]
    group_id: Option<String>,
    #[schema(value_type = Id)]
    created_by: String,
    /// How many occurrences were created, and skipped.
    occurrences_created: i64,
    occurrences_skipped: i64,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    version: i64,
}

/// The first occurrence a template applies to.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateFrom {
    sequence: i64,
    /// Its day (null when the series ends before it).
    date: Option<String>,
}

fn day_of(schedule: Option<&Schedule>, sequence: i64) -> Option<String> {
    let n = u32::try_from(sequence).ok()?;
    Some(schedule?.nth(n)?.format("%Y-%m-%d").to_string())
}

pub fn view(s: &SeriesDoc) -> SeriesView {
    let schedule = schedule_of(s);
    let completed = s.status == SeriesStatus::Completed;
    SeriesView {
        id: s.id.to_hex(),
        status: s.status.code(),
        paused_reason: s.paused_reason.clone(),
        frequency: s.frequency.code(),
        interval: s.interval,
        start_date: s.start_date.clone(),
        time_zone: s.time_zone.clone(),
        end_after: s.end_after,
        end_date: s.end_date.clone(),
        next_sequence: (!completed).then_some(s.next),
        next_date: s.next_date.clone(),
        next_due_at: s.due.map(crate::app::views::iso),
        template_applies_from: TemplateFrom {
            sequence: s.template_from,
            date: day_of(schedule.as_ref(), s.template_from),
        },
        expense: Bson::Document(s.template.clone()).into_relaxed_extjson(),
        group_id: s.group.map(|g| g.to_hex()),
        created_by: s.created_by.to_hex(),
        occurrences_created: s.created_count,
        occurrences_skipped: s.skipped_count,
        created_at: crate::app::views::iso(s.created_at),
        updated_at: crate::app::views::iso(s.updated_at),
        version: s.version,
    }
}

/// Creates a series for `user`: the schedule and the template are checked
/// (the template as `POST /v1/expenses` would check it on the start date);
/// nothing is stored when any is refused. Occurrences already due (a start
/// in the past, or today where the day has begun) are created at once.
pub async fn create(
    app: &AppState,
    user: AuthUser,
    body: SeriesBody,
) -> Result<SeriesView, ApiError> {
    let mut c = Checks::default();
    let schedule = parse_schedule(&mut c, &body);
    let template = parse_template(&mut c, body.expense);
    let (schedule, template) = c.finish(schedule.zip(template))?;
    let expense = occurrence_expense(&app.store, user, &template, schedule.start)
        .await
        .map_err(in_template)?;
    let now = DateTime::now();
    let mut series = SeriesDoc {
        id: ObjectId::new(),
        created_by: user.id,
        group: expense.group,
        people: people_of(user.id, &expense),
        template,
        template_from: 1,
        frequency: schedule.frequency,
        interval: i64::from(schedule.interval),
        start_date: schedule.start.format("%Y-%m-%d").to_string(),
        time_zone: schedule.zone.name().to_owned(),
        end_after: schedule.end_after.map(i64::from),
        end_date: schedule.end_date.map(|d| d.format("%Y-%m-%d").to_string()),
        status: SeriesStatus::Active,
        paused_reason: None,
        next: 1,
        next_date: None,
        due: None,
        created_count: 0,
        skipped_count: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    set_next(&mut series, &schedule);
    app.store.insert_series(&series).await?;
    app.recurring_wake.notify_one();
    Ok(view(&series))
}

/// A page of the series I am in, active first.
pub async fn list(
    app: &AppState,
    user: AuthUser,
    page: &crate::app::Page,
) -> Result<(Vec<SeriesView>, u64), ApiError> {
    let (docs, total) = app
        .store
        .series_of(user.id, page.skip(), page.limit_i64())
        .await?;
    Ok((docs.iter().map(view).collect(), total))
}

/// A series its people may see; 404 for anyone else.
async fn visible(app: &AppState, user: AuthUser, id: ObjectId) -> Result<SeriesDoc, ApiError> {
    match app.store.series_by_id(id).await? {
        Some(s) if s.created_by == user.id || s.people.contains(&user.id) => Ok(s),
        _ => Err(ApiError::not_found("Recurring series not found")),
    }
}

/// A series I may change: its creator; its other people get 403.
async fn editable(app: &AppState, user: AuthUser, id: ObjectId) -> Result<SeriesDoc, ApiError> {
    let s = visible(app, user, id).await?;
    if s.created_by != user.id {
        return Err(ApiError::forbidden(
            "Only the creator of this series can change it",
        ));
    }
    Ok(s)
}

pub async fn get(app: &AppState, user: AuthUser, id: ObjectId) -> Result<SeriesView, ApiError> {
    Ok(view(&visible(app, user, id).await?))
}

/// What a PATCH asks for, parsed.
struct Change {
    status: Option<SeriesStatus>,
    skip: bool,
    template: Option<mongodb::bson::Document>,
}

fn parse_patch(body: SeriesPatch) -> Result<Change, ApiError> {
    let mut c = Checks::default();
    let status = match body.status.as_deref().map(str::trim) {
        None => Some(None),
        Some("paused") => Some(Some(SeriesStatus::Paused)),
        Some("active") => Some(Some(SeriesStatus::Active)),
        Some(_) => c.check(
            "status",
            Err::<Option<SeriesStatus>, _>("status must be paused or active"),
        ),
    };
    let template = match body.expense {
        None => Some(None),
        some => parse_template(&mut c, some).map(Some),
    };
    let (status, template) = c.finish(status.zip(template))?;
    let skip = body.skip.unwrap_or(false);
    if status.is_none() && template.is_none() && !skip {
        return Err(ApiError::validation(vec![FieldError::new(
            "status",
            "Nothing to change: send status, skip or expense",
        )]));
    }
    Ok(Change {
        status,
        skip,
        template,
    })
}

/// Pauses, resumes, skips the next occurrence or changes the template of
/// the occurrences not yet created (its creator); the series and a
/// sentence saying what changed from which occurrence on.
pub async fn update(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
    body: SeriesPatch,
) -> Result<(SeriesView, String), ApiError> {
    let change = parse_patch(body)?;
    let done = versions::retry(async || {
        let old = editable(app, user, id).await?;
        if old.status == SeriesStatus::Completed {
            return Err(ApiError::validation(vec![FieldError::new(
                "status",
                "This series is completed and can no longer change",
            )]));
        }
        let schedule = schedule_of(&old)
            .ok_or_else(|| ApiError::internal("a stored series has an unreadable schedule"))?;
        let (new, said) = changed(app, user, &old, &schedule, &change).await?;
        let written = if change.skip {
            let occurrence = Occurrence::Skipped;
            app.store
                .advance_series(&old, &new, occurrence, user.id)
                .await?
        } else {
            app.store.replace_series(&old, &new).await?
        };
        Ok(written.then_some((new, said)))
    })
    .await?;
    let (series, said) = done
        .ok_or_else(|| ApiError::Conflict("This series was changed meanwhile; try again".into()))?;
    app.recurring_wake.notify_one();
    Ok((view(&series), said))
}

/// `old` with the change applied (version and time moved on), and what
/// changed, in a sentence.
async fn changed(
    app: &AppState,
    user: AuthUser,
    old: &SeriesDoc,
    schedule: &Schedule,
    change: &Change,
) -> Result<(SeriesDoc, String), ApiError> {
    let now = DateTime::now();
    let mut new = old.clone();
    new.version += 1;
    new.updated_at = now;
    let mut said = Vec::new();
    let next_day = || day_of(Some(schedule), old.next).unwrap_or_default();
    if let Some(template) = &change.template {
        let day = schedule
            .occurrence(u32::try_from(old.next).unwrap_or(u32::MAX))
            .unwrap_or(schedule.start);
        let expense = occurrence_expense(&app.store, user, template, day)
            .await
            .map_err(in_template)?;
        new.template = template.clone();
        new.group = expense.group;
        new.people = people_of(old.created_by, &expense);
        new.template_from = old.next;
        said.push(format!(
            "The new template applies from occurrence {} ({}) on; the {} expenses already created are unchanged",
            old.next,
            next_day(),
            old.created_count
        ));
    }
    match change.status {
        Some(SeriesStatus::Paused) if old.status != SeriesStatus::Paused => {
            new.status = SeriesStatus::Paused;
            new.paused_reason = Some("Paused by its creator".into());
            said.push("The series is paused".into());
        }
        Some(SeriesStatus::Active) if old.status == SeriesStatus::Paused => {
            if change.template.is_none() {
                let day = schedule.start;
                occurrence_expense(&app.store, user, &new.template, day)
                    .await
                    .map_err(in_template)?;
            }
            new.status = SeriesStatus::Active;
            new.paused_reason = None;
            let missed = skip_past(&mut new, schedule, now);
            said.push(format!(
                "The series is resumed; {missed} occurrences that fell due while it was paused are not created"
            ));
        }
        _ => {}
    }
    if change.skip {
        new.next = old.next + 1;
        new.skipped_count += 1;
        said.push(format!(
            "Occurrence {} ({}) is skipped",
            old.next,
            next_day()
        ));
    }
    set_next(&mut new, schedule);
    if new.status != SeriesStatus::Completed {
        said.push(format!(
            "the next occurrence is {} ({})",
            new.next,
            new.next_date.clone().unwrap_or_default()
        ));
    } else {
        said.push("the series is completed".into());
    }
    Ok((new, said.join("; ")))
}

/// Moves a resumed series past the occurrences that fell due while it was
/// paused (they are not created); how many.
fn skip_past(s: &mut SeriesDoc, schedule: &Schedule, now: DateTime) -> i64 {
    let now = now.timestamp_millis();
    let mut missed = 0;
    // Bounded: daily for 600 years at most.
    while missed < 220_000 {
        let Some(day) = u32::try_from(s.next)
            .ok()
            .and_then(|n| schedule.occurrence(n))
        else {
            break;
        };
        if schedule.due(day).timestamp_millis() > now {
            break;
        }
        s.next += 1;
        missed += 1;
    }
    s.skipped_count += missed;
    missed
}

/// Deletes the series (its creator); the expenses it created stay.
pub async fn delete(app: &AppState, user: AuthUser, id: ObjectId) -> Result<(), ApiError> {
    let done = versions::retry(async || {
        let old = editable(app, user, id).await?;
        Ok(app.store.delete_series(&old).await?.then_some(()))
    })
    .await?;
    done.ok_or_else(|| ApiError::Conflict("This series was changed meanwhile; try again".into()))
}
