//! Exports: a group's expenses and payments in Splitwise's CSV layout (so
//! an export imports back into another group with the same balances), and
//! my own expenses with the list filters; either as JSON lines with every
//! field instead. Who may export is decided here, before anything is sent:
//! a group's members (the group views' 404/403), and the caller for their
//! own. The body is streamed from a cursor (`stream`): memory stays flat
//! whatever the size, and the first bytes leave after the first batch.
//!
//! `group_csv` writes the Splitwise layout, `mine_csv` my own columns,
//! `jsonl` the JSON lines, `cells` what they share.

mod cells;
mod group_csv;
mod jsonl;
mod mine_csv;
mod stream;

use mongodb::bson::oid::ObjectId;
use serde::Deserialize;

pub use mine_csv::COLUMNS as MINE_COLUMNS;
pub use stream::{Body, CHUNK};

use self::group_csv::{Columns, GroupCsv};
use self::jsonl::JsonLines;
use self::mine_csv::MineCsv;
use crate::app::groups::{group_entry, member_group, GroupEvent};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::journal::{EntryDoc, ObjectRef};
use crate::store::{ExpenseFilter, GroupDoc, Store};

/// What an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// RFC 4180 CSV.
    #[default]
    Csv,
    /// JSON lines: an object per line.
    Json,
}

impl Format {
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/x-ndjson",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "jsonl",
        }
    }
}

/// An export ready to send: its file name and its bytes, to be streamed.
pub struct Export {
    pub file_name: String,
    pub format: Format,
    pub body: Body,
}

/// A group's expenses and payments, oldest first, for its members.
pub async fn group(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
    format: Format,
) -> Result<Export, ApiError> {
    let store = &app.store;
    let group = member_group(store, id, user).await?;
    // The members see who took their expenses out, and when.
    store
        .record_entry(&group_entry(GroupEvent::Exported, user.id, None, &group))
        .await?;
    let body = match format {
        Format::Csv => {
            // Both before the first byte: the columns scan the group's
            // documents, the cursor reads its first batch.
            let (columns, docs) = futures_util::try_join!(group_columns(store, &group), async {
                Ok::<_, ApiError>(store.group_export(group.id).await?)
            })?;
            stream::body(docs, GroupCsv::new(columns))
        }
        Format::Json => {
            let docs = store.group_export(group.id).await?;
            stream::body(docs, JsonLines::new(store.clone()))
        }
    };
    Ok(Export {
        file_name: file_name(&slug(&group.name), format),
        format,
        body,
    })
}

/// The people's columns of a group's export: its members in their order,
/// then anyone else its documents name (former members), by name.
async fn group_columns(store: &Store, group: &GroupDoc) -> Result<Columns, ApiError> {
    let mut people: Vec<ObjectId> = group.members.iter().map(|m| m.user).collect();
    // Who took part, kept on the group by every write; a group from before
    // that gathers it from its expenses once (one pass over them).
    let mut others = if group.people_complete {
        group.people.clone()
    } else {
        let found = store.group_people(group.id).await?;
        store.complete_group_people(group.id, &found).await?;
        found
    };
    others.retain(|id| !group.is_member(*id));
    others.sort();
    people.extend(&others);
    let mut names = store.user_names(&people).await?;
    let mut former: Vec<(ObjectId, Option<String>)> =
        others.iter().map(|id| (*id, names.remove(id))).collect();
    former.sort_by(|a, b| a.1.cmp(&b.1));
    let members = group
        .members
        .iter()
        .map(|m| (m.user, names.remove(&m.user)));
    Ok(Columns::new(members.chain(former).collect()))
}

/// My expenses and payments, oldest first, with the list's filters: with a
/// friend, settled or not.
pub async fn mine(
    app: &AppState,
    user: AuthUser,
    with_friend: Option<ObjectId>,
    settled: Option<bool>,
    format: Format,
) -> Result<Export, ApiError> {
    let store = &app.store;
    let filter = ExpenseFilter::mine(user.id, with_friend, settled);
    let docs = store.user_export(&filter).await?;
    let entry = EntryDoc::new(
        "user.exported",
        user.id,
        ObjectRef {
            kind: "user".into(),
            id: user.id,
        },
        vec![user.id],
    );
    store.record_entry(&entry).await?;
    let body = match format {
        Format::Csv => stream::body(docs, MineCsv::new(store.clone(), user.id)),
        Format::Json => stream::body(docs, JsonLines::new(store.clone())),
    };
    Ok(Export {
        file_name: file_name("expenses", format),
        format,
        body,
    })
}

/// `splitlyr-<what>-<today>.<csv|jsonl>`.
fn file_name(what: &str, format: Format) -> String {
    format!("splitlyr-{what}-{}.{}", cells::today(), format.extension())
}

/// Longest slug of a name in a file name.
const MAX_SLUG: usize = 60;

/// A name as ASCII for a file name: lowercase letters and digits, anything
/// else one `-` (`Trip to Rome!` → `trip-to-rome`); `group` when nothing
/// is left.
fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if slug.len() >= MAX_SLUG {
                break;
            }
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "group".into()
    } else {
        slug.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_short_lowercase_ascii() {
        assert_eq!(slug("Trip to Rome!"), "trip-to-rome");
        assert_eq!(slug("  Café / Bar 2026 "), "caf-bar-2026");
        assert_eq!(slug("東京"), "group");
        assert_eq!(slug(&"a".repeat(100)).len(), MAX_SLUG);
        assert_eq!(slug("\"; rm -rf"), "rm-rf");
    }

    #[test]
    fn file_names_say_what_when_and_how() {
        let name = file_name("trip-to-rome", Format::Csv);
        assert!(name.starts_with("splitlyr-trip-to-rome-20"), "{name}");
        assert!(name.ends_with(".csv"));
        assert!(file_name("expenses", Format::Json).ends_with(".jsonl"));
    }
}
