//! The offline sync: `GET /v1/sync` pages through a snapshot of everything I
//! can see, then, from the cursor it ends with, through every change since,
//! each object with its current state as its single-item GET shows it, or
//! a tombstone (`deleted: true`) when it is gone or no longer mine to see.
//!
//! Changes come from the viewer's feed, numbered by the sequencer in the
//! order they became visible (`store::journal::sequence`): a cursor is a
//! number, the feed only grows past it, so nothing is skipped and nothing
//! comes twice (an object changed several times within one page comes once,
//! at its last change). A snapshot starts at the newest number of my feed
//! when it begins: what changes while it is paged comes again afterwards,
//! with its newer state.
//!
//! Cursors are opaque to clients: `s<number>.<issued>` for changes,
//! `p<phase><number>.<last id>` within a snapshot (phases: `u` me, `f`
//! friends, `g` groups, `x` expenses and payments).

use std::collections::HashMap;

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::Serialize;
use utoipa::ToSchema;

use super::expenses::access::{self, Access};
use super::expenses::view::render;
use super::groups::render_groups;
use super::schema::Id;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::journal::RETENTION;
use crate::store::{ExpenseDoc, GroupDoc, Kind};

/// The largest page.
pub const MAX_LIMIT: i64 = 200;

/// One changed object.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncChange {
    /// `expense`, `payment`, `group`, `friend` or `user`.
    pub kind: &'static str,
    #[schema(value_type = Id)]
    pub id: String,
    /// Gone, or no longer mine to see: forget it.
    pub deleted: bool,
    /// What its single-item GET answers (absent when deleted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

/// A page: the changes, the cursor to ask with next, and whether there is
/// more to fetch now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPage {
    pub changes: Vec<SyncChange>,
    pub cursor: String,
    pub has_more: bool,
}

/// Where a cursor points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    /// Changes after this number (issued at this time, in seconds).
    Changes { after: i64, issued: i64 },
    /// Within a snapshot that began at number `start`: `phase` from after
    /// `last`.
    Snapshot {
        start: i64,
        phase: Phase,
        last: Option<ObjectId>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Me,
    Friends,
    Groups,
    Expenses,
}

impl Phase {
    fn code(self) -> char {
        match self {
            Phase::Me => 'u',
            Phase::Friends => 'f',
            Phase::Groups => 'g',
            Phase::Expenses => 'x',
        }
    }

    fn of(c: char) -> Option<Phase> {
        Some(match c {
            'u' => Phase::Me,
            'f' => Phase::Friends,
            'g' => Phase::Groups,
            'x' => Phase::Expenses,
            _ => return None,
        })
    }

    fn next(self) -> Option<Phase> {
        match self {
            Phase::Me => Some(Phase::Friends),
            Phase::Friends => Some(Phase::Groups),
            Phase::Groups => Some(Phase::Expenses),
            Phase::Expenses => None,
        }
    }
}

impl Cursor {
    fn encode(&self) -> String {
        match self {
            Cursor::Changes { after, issued } => format!("s{after}.{issued}"),
            Cursor::Snapshot { start, phase, last } => format!(
                "p{}{start}.{}",
                phase.code(),
                last.map(|l| l.to_hex()).unwrap_or_default()
            ),
        }
    }

    fn parse(raw: &str) -> Option<Cursor> {
        let mut chars = raw.chars();
        match chars.next()? {
            's' => {
                let (after, issued) = chars.as_str().split_once('.')?;
                Some(Cursor::Changes {
                    after: after.parse().ok().filter(|n| *n >= 0)?,
                    issued: issued.parse().ok()?,
                })
            }
            'p' => {
                let phase = Phase::of(chars.next()?)?;
                let (start, last) = chars.as_str().split_once('.')?;
                let last = match last {
                    "" => None,
                    hex => Some(ObjectId::parse_str(hex).ok()?),
                };
                Some(Cursor::Snapshot {
                    start: start.parse().ok().filter(|n| *n >= 0)?,
                    phase,
                    last,
                })
            }
            _ => None,
        }
    }
}

fn bad_cursor() -> ApiError {
    ApiError::bad_request("Invalid sync cursor: use the cursor a previous page gave, or none")
}

fn now_secs() -> i64 {
    DateTime::now().timestamp_millis() / 1000
}

/// One page of `user`'s sync from `since` (None: a snapshot from the start).
pub async fn page(
    app: &AppState,
    user: AuthUser,
    since: Option<&str>,
    limit: i64,
) -> Result<SyncPage, ApiError> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let cursor = match since {
        None => Cursor::Snapshot {
            start: {
                super::activity::number_waiting(app, user).await?;
                app.store.feed_head(user.id).await?
            },
            phase: Phase::Me,
            last: None,
        },
        Some(raw) => Cursor::parse(raw).ok_or_else(bad_cursor)?,
    };
    match cursor {
        Cursor::Changes { after, issued } => {
            let max_age = i64::try_from(RETENTION.as_secs()).unwrap_or(i64::MAX) - 24 * 3600;
            if now_secs() - issued > max_age {
                return Err(ApiError::coded(
                    410,
                    "SYNC_CURSOR_EXPIRED",
                    "This cursor is older than the change history kept: sync again from a snapshot (no `since`)",
                ));
            }
            changes(app, user, after, limit).await
        }
        Cursor::Snapshot { start, phase, last } => {
            snapshot(app, user, start, phase, last, limit).await
        }
    }
}

/// The changes after number `after`.
async fn changes(
    app: &AppState,
    user: AuthUser,
    after: i64,
    limit: i64,
) -> Result<SyncPage, ApiError> {
    super::activity::number_waiting(app, user).await?;
    let mut items = app.store.feed_after(user.id, after, limit + 1).await?;
    let has_more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    items.truncate(usize::try_from(limit).unwrap_or(0));
    let last = items.last().map_or(after, |i| i.seq());
    // Each object once, where it last changed.
    let mut objects: Vec<(String, ObjectId)> = Vec::new();
    for item in items.iter().rev() {
        let key = (item.k.clone(), item.object);
        if !objects.contains(&key) {
            objects.push(key);
        }
    }
    objects.reverse();
    let changes = current(app, user, &objects).await?;
    Ok(SyncPage {
        changes,
        cursor: Cursor::Changes {
            after: last,
            issued: now_secs(),
        }
        .encode(),
        has_more,
    })
}

/// The next page of a snapshot that began at `start`.
async fn snapshot(
    app: &AppState,
    user: AuthUser,
    start: i64,
    mut phase: Phase,
    mut last: Option<ObjectId>,
    limit: i64,
) -> Result<SyncPage, ApiError> {
    let mut objects: Vec<(String, ObjectId)> = Vec::new();
    loop {
        let room = limit - i64::try_from(objects.len()).unwrap_or(i64::MAX);
        if room <= 0 {
            break;
        }
        let ids = snapshot_ids(app, user, phase, last, room).await?;
        let got = i64::try_from(ids.len()).unwrap_or(i64::MAX);
        if let Some(id) = ids.last() {
            last = Some(*id);
        }
        let kind = match phase {
            Phase::Me => "user",
            Phase::Friends => "friend",
            Phase::Groups => "group",
            Phase::Expenses => "expense",
        };
        objects.extend(ids.into_iter().map(|id| (kind.to_owned(), id)));
        if got < room {
            match phase.next() {
                Some(next) => {
                    phase = next;
                    last = None;
                }
                None => {
                    let changes = current(app, user, &objects).await?;
                    let more = !app.store.feed_after(user.id, start, 1).await?.is_empty();
                    return Ok(SyncPage {
                        changes,
                        cursor: Cursor::Changes {
                            after: start,
                            issued: now_secs(),
                        }
                        .encode(),
                        has_more: more,
                    });
                }
            }
        }
    }
    Ok(SyncPage {
        changes: current(app, user, &objects).await?,
        cursor: Cursor::Snapshot { start, phase, last }.encode(),
        has_more: true,
    })
}

/// The ids of one phase of a snapshot after `last`, in id order.
async fn snapshot_ids(
    app: &AppState,
    user: AuthUser,
    phase: Phase,
    last: Option<ObjectId>,
    limit: i64,
) -> Result<Vec<ObjectId>, ApiError> {
    let after = |ids: Vec<ObjectId>| -> Vec<ObjectId> {
        ids.into_iter()
            .filter(|id| last.is_none_or(|l| *id > l))
            .take(usize::try_from(limit).unwrap_or(0))
            .collect()
    };
    Ok(match phase {
        Phase::Me => after(vec![user.id]),
        Phase::Friends => after(super::friends::friend_ids(app, user).await?),
        Phase::Groups => {
            let mut ids: Vec<ObjectId> = app
                .store
                .groups_of(user.id)
                .await?
                .iter()
                .map(|g| g.id)
                .collect();
            ids.sort();
            after(ids)
        }
        Phase::Expenses => app.store.timeline_ids_after(user.id, last, limit).await?,
    })
}

/// The objects as `user` reads them now: their data, or a tombstone.
async fn current(
    app: &AppState,
    user: AuthUser,
    objects: &[(String, ObjectId)],
) -> Result<Vec<SyncChange>, ApiError> {
    let of = |kind: &str| -> Vec<ObjectId> {
        objects
            .iter()
            .filter(|(k, _)| k == kind || (kind == "expense" && k == "payment"))
            .map(|(_, id)| *id)
            .collect()
    };
    let expense_ids = of("expense");
    let group_ids = of("group");
    let friend_ids = of("friend");
    let store = &app.store;
    let (expenses, groups) = futures_util::try_join!(
        store.expenses_by_ids(&expense_ids),
        store.groups_by_ids(&group_ids)
    )?;
    let expenses: Vec<ExpenseDoc> = expenses
        .into_iter()
        .filter(|e| access::of(e, user.id) != Access::None)
        .collect();
    let groups: Vec<GroupDoc> = groups
        .into_iter()
        .filter(|g| g.is_active && g.is_member(user.id))
        .collect();
    let mut data: HashMap<ObjectId, (&'static str, serde_json::Value)> = HashMap::new();
    let views = render(app, user.id, &expenses).await?;
    for (doc, view) in expenses.iter().zip(views) {
        let kind = match doc.kind {
            Kind::Expense => "expense",
            Kind::Payment => "payment",
        };
        data.insert(doc.id, (kind, to_json(&view)?));
    }
    for (doc, view) in groups
        .iter()
        .zip(render_groups(app, user.id, &groups).await?)
    {
        data.insert(doc.id, ("group", to_json(&view)?));
    }
    let mut friends = HashMap::new();
    if !friend_ids.is_empty() {
        for (id, view) in super::friends::friend_views(app, user, &friend_ids).await? {
            friends.insert(id, to_json(&view)?);
        }
    }
    let mut out = Vec::with_capacity(objects.len());
    for (kind, id) in objects {
        let change = match kind.as_str() {
            "user" => SyncChange {
                kind: "user",
                id: id.to_hex(),
                deleted: false,
                data: Some(to_json(&super::users::profile(app, user).await?)?),
            },
            "friend" => SyncChange {
                kind: "friend",
                id: id.to_hex(),
                deleted: !friends.contains_key(id),
                data: friends.remove(id),
            },
            _ => match data.remove(id) {
                Some((kind, value)) => SyncChange {
                    kind,
                    id: id.to_hex(),
                    deleted: false,
                    data: Some(value),
                },
                None => SyncChange {
                    kind: match kind.as_str() {
                        "payment" => "payment",
                        "group" => "group",
                        _ => "expense",
                    },
                    id: id.to_hex(),
                    deleted: true,
                    data: None,
                },
            },
        };
        out.push(change);
    }
    Ok(out)
}

/// One object as `user` reads it now (what its single-item GET shows), or
/// None when it is gone or not theirs to see.
pub async fn object_now(
    app: &AppState,
    user: AuthUser,
    kind: &str,
    id: ObjectId,
) -> Result<Option<serde_json::Value>, ApiError> {
    let mut found = current(app, user, &[(kind.to_owned(), id)]).await?;
    Ok(found.pop().and_then(|c| c.data))
}

fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value).map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_and_garbage_is_refused() {
        let id = ObjectId::new();
        for c in [
            Cursor::Changes {
                after: 42,
                issued: 1_800_000_000,
            },
            Cursor::Snapshot {
                start: 7,
                phase: Phase::Expenses,
                last: Some(id),
            },
            Cursor::Snapshot {
                start: 0,
                phase: Phase::Me,
                last: None,
            },
        ] {
            assert_eq!(Cursor::parse(&c.encode()), Some(c));
        }
        for bad in ["", "s", "s-1.5", "pq1.", "s1", "pu1.nothex", "z1.1"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }
}
