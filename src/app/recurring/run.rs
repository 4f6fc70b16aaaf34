//! The scheduler's work: creates the occurrences that fell due, oldest
//! first, each as an ordinary expense by the series' creator (through
//! `expenses::prepare`, the checks of `POST /v1/expenses`), in one
//! transaction with its `occurrences` document and the series' advance
//! (`store::recurring`), so each (series, sequence) is created once however
//! many replicas run this. A template that can no longer be created (a
//! person left the group, a friendship ended) pauses the series, with why.

use chrono::Utc;
use mongodb::bson::DateTime;

use super::input::{occurrence_expense, refusal, schedule_of, set_next};
use crate::auth::AuthUser;
use crate::domain::recurrence::SeriesStatus;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::recurring::{Occurrence, SeriesDoc};
use crate::store::RecurringRef;

/// At most this many occurrences of one series per run.
pub const PER_SERIES: usize = 50;
/// At most this many occurrences per run; the next run continues.
pub const PER_RUN: usize = 200;

/// Creates what is due now, within the bounds; how many were created.
pub async fn run_due(app: &AppState) -> Result<usize, ApiError> {
    let now = Utc::now();
    let due = app
        .store
        .due_series(
            DateTime::from_millis(now.timestamp_millis()),
            PER_RUN as i64,
        )
        .await?;
    // Each process starts at a random place in the list, so replicas
    // polling together mostly work on different series rather than racing
    // for the same occurrences.
    let mut due = due;
    if !due.is_empty() {
        let start = usize::try_from(getrandom::u64().unwrap_or(0) % due.len() as u64).unwrap_or(0);
        due.rotate_left(start);
    }
    let mut made = 0;
    for series in due {
        if made >= PER_RUN {
            break;
        }
        let limit = (PER_RUN - made).min(PER_SERIES);
        made += catch_up(app, series, limit, now).await?;
    }
    Ok(made)
}

/// Creates up to `limit` due occurrences of `s`; how many.
async fn catch_up(
    app: &AppState,
    mut s: SeriesDoc,
    limit: usize,
    now: chrono::DateTime<Utc>,
) -> Result<usize, ApiError> {
    let store = &app.store;
    let mut made = 0;
    while made < limit && s.status == SeriesStatus::Active {
        let Some(schedule) = schedule_of(&s) else {
            pause(app, &s, "Its schedule can no longer be read".into()).await?;
            break;
        };
        let mut new = s.clone();
        new.version += 1;
        new.updated_at = DateTime::now();
        let day = u32::try_from(s.next)
            .ok()
            .and_then(|n| schedule.occurrence(n));
        let Some(day) = day else {
            // Ended (a count or end date reached): say so.
            set_next(&mut new, &schedule);
            // Changed meanwhile: the next run reads it afresh.
            store.replace_series(&s, &new).await?;
            break;
        };
        if schedule.due(day) > now {
            break;
        }
        let creator = AuthUser {
            id: s.created_by,
            session: None,
        };
        let mut expense = match occurrence_expense(store, creator, &s.template, day).await {
            Ok(e) => e,
            Err(e) => match refusal(&e) {
                Some(why) => {
                    let reason = format!("The expense can no longer be created: {why}");
                    pause(app, &s, reason).await?;
                    break;
                }
                None => return Err(e),
            },
        };
        expense.recurring = Some(RecurringRef {
            series_id: s.id,
            sequence: s.next,
        });
        new.next = s.next + 1;
        new.created_count += 1;
        set_next(&mut new, &schedule);
        let occurrence = Occurrence::Created(&expense);
        if store
            .advance_series(&s, &new, occurrence, s.created_by)
            .await?
        {
            made += 1;
            s = new;
        } else {
            // Another replica is creating this series' occurrences (or the
            // series changed): leave it to that one, or to the next run.
            break;
        }
    }
    Ok(made)
}

/// Pauses `s` (as read) with `reason`; a concurrent change wins.
async fn pause(app: &AppState, s: &SeriesDoc, reason: String) -> Result<(), ApiError> {
    tracing::info!(series = %s.id, reason = %reason, "paused a recurring series");
    let mut new = s.clone();
    new.version += 1;
    new.updated_at = DateTime::now();
    new.status = SeriesStatus::Paused;
    new.paused_reason = Some(reason);
    app.store.replace_series(s, &new).await?;
    Ok(())
}
