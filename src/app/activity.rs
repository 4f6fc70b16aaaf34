//! The activity feed: the journal as people read it, newest first, each
//! entry with its actor, a sentence saying what happened and, for edits,
//! every changed field old → new. Only entries the viewer was in the
//! audience of are read (fixed when the change happened), so someone
//! outside sees nothing of an item.

use mongodb::bson::{oid::ObjectId, Bson, Document};
use serde::Serialize;
use utoipa::ToSchema;

use super::expenses::access::{self, Access};
use super::schema::Id;
use super::views::{day, iso, Directory};
use crate::auth::AuthUser;
use crate::domain::money::{format_signed, Currency};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::journal::{EntryDoc, FieldChange};
use crate::store::Kind;

/// The largest page.
pub const MAX_LIMIT: i64 = 100;

/// `{_id, name}`: who did it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Actor {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    pub id: String,
    pub name: String,
}

/// One changed field: `from` and `to` as shown (amounts as decimal text in
/// the currency's precision, dates as `YYYY-MM-DD`, people by name, splits
/// and payers as lists of `{user, amount}`); absent when there was none.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    pub field: String,
    /// Any JSON value: text, a `{_id, name}`, a list of `{user, amount}`.
    pub from: Option<serde_json::Value>,
    pub to: Option<serde_json::Value>,
}

/// One item of the feed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityView {
    /// Also the cursor: the next page is `before` the last item's id.
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    pub id: String,
    /// `expense.created`, `expense.updated`, `payment.deleted`,
    /// `comment.added`, `group.member_added`, `friend.accepted`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// ISO 8601, UTC.
    pub at: String,
    pub actor: Actor,
    /// A sentence: "Al changed 'Taxi' to 'Airport taxi' and 20.00 → 24.00 USD".
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Id>)]
    pub expense_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Id>)]
    pub payment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Id>)]
    pub group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<ChangeView>>,
}

/// A page of the feed and the cursor of the next (None: no more).
pub struct ActivityPage {
    pub items: Vec<ActivityView>,
    pub next_before: Option<String>,
}

/// What a page reads: everything of mine, or one group's, one friend's, or
/// one expense's or payment's history.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Mine {
        group: Option<ObjectId>,
        friend: Option<ObjectId>,
    },
    Object(Kind, ObjectId),
}

/// Where the next page starts: below an entry of the viewer's numbered feed
/// (`n<number>`, for the whole feed), or below an entry id (filtered
/// views, which read the journal's indexes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    Number(i64),
    Entry(ObjectId),
}

impl Before {
    /// Parses a `nextBefore`; None when it is not one.
    pub fn parse(raw: &str) -> Option<Before> {
        match raw.strip_prefix('n') {
            Some(n) => n.parse().ok().filter(|n| *n > 0).map(Before::Number),
            None => ObjectId::parse_str(raw).ok().map(Before::Entry),
        }
    }

    fn encode(self) -> String {
        match self {
            Before::Number(n) => format!("n{n}"),
            Before::Entry(id) => id.to_hex(),
        }
    }
}

/// One page of `user`'s feed in `scope`, newest first, older than `before`.
pub async fn page(
    app: &AppState,
    user: AuthUser,
    scope: Scope,
    before: Option<Before>,
    limit: i64,
) -> Result<ActivityPage, ApiError> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
    let (entries, next) = match scope {
        Scope::Mine { group, friend } => {
            let keep = move |e: &EntryDoc| match (group, friend) {
                (Some(g), _) => e.group == Some(g),
                // Between the two of us: the friendship and what we share
                // outside groups.
                (None, Some(f)) => e.group.is_none() && e.audience.contains(&f),
                (None, None) => true,
            };
            mine(app, user, before, limit, keep).await?
        }
        Scope::Object(kind, id) => {
            object_visible(app, user, kind, id).await?;
            let below = match before {
                Some(Before::Entry(id)) => Some(id),
                Some(Before::Number(_)) => return Err(bad_cursor()),
                None => None,
            };
            // One more than asked: whether there is a next page.
            let mut entries = app.store.history(user.id, id, below, limit + 1).await?;
            let more = entries.len() > wanted;
            entries.truncate(wanted);
            let next = more
                .then(|| entries.last().map(|e| Before::Entry(e.id)))
                .flatten();
            (entries, next)
        }
    };
    Ok(ActivityPage {
        items: render(app, user.id, &entries).await?,
        next_before: next.map(Before::encode),
    })
}

fn bad_cursor() -> ApiError {
    ApiError::bad_request("Invalid cursor: use the nextBefore of the previous page")
}

/// How many feed items a filtered page reads at most: a page can come back
/// shorter than its limit, with a cursor to go on from.
const MOST_SCANNED: usize = 1000;

/// My feed, newest first, the entries `keep` keeps: read from my numbered
/// feed, a range of its own ids however long my history. A first page
/// numbers what is waiting first (see [`number_waiting`]), so it shows my
/// latest changes; anything numbered later gets a number above every one
/// shown, so the pages below never show it: no overlaps, no gaps.
async fn mine(
    app: &AppState,
    user: AuthUser,
    before: Option<Before>,
    limit: i64,
    keep: impl Fn(&EntryDoc) -> bool,
) -> Result<(Vec<EntryDoc>, Option<Before>), ApiError> {
    let store = &app.store;
    let mut below = match before {
        Some(Before::Number(n)) => Some(n),
        Some(Before::Entry(_)) => return Err(bad_cursor()),
        None => {
            number_waiting(app, user).await?;
            None
        }
    };
    let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
    let chunk = limit + 1;
    let mut out: Vec<EntryDoc> = Vec::new();
    let mut scanned = 0;
    loop {
        let items = store.feed_before(user.id, below, chunk).await?;
        let ids: Vec<ObjectId> = items.iter().map(|i| i.j).collect();
        let mut by_id: std::collections::HashMap<ObjectId, EntryDoc> = store
            .entries_by_ids(&ids)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        for item in &items {
            if out.len() == wanted {
                // A full page, and this item after it.
                return Ok((out, Some(Before::Number(item.seq() + 1))));
            }
            below = Some(item.seq());
            if let Some(e) = by_id.remove(&item.j).filter(|e| keep(e)) {
                out.push(e);
            }
        }
        scanned += items.len();
        if (items.len() as i64) < chunk {
            return Ok((out, None));
        }
        if scanned >= MOST_SCANNED {
            return Ok((out, below.map(Before::Number)));
        }
    }
}

/// Numbers the journal's waiting entries now when some are `user`'s
/// (committed since the sequencer's last run), so what they just did is in
/// their feed: one short read when none are. When another run is numbering
/// them at that moment (this one then conflicts and does nothing), waits
/// for it, a few milliseconds at a time.
pub async fn number_waiting(app: &AppState, user: AuthUser) -> Result<(), ApiError> {
    for attempt in 0..20 {
        if app.store.unnumbered_for(user.id, 1).await?.is_empty() {
            return Ok(());
        }
        if app.store.sequence_journal(500).await? == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5 * (attempt + 1))).await;
        }
    }
    Ok(())
}

/// The history of an expense or payment is for its people, also while it
/// is deleted: otherwise 404.
async fn object_visible(
    app: &AppState,
    user: AuthUser,
    kind: Kind,
    id: ObjectId,
) -> Result<(), ApiError> {
    let doc = match app.store.expense_by_id(id).await? {
        Some(doc) => Some(doc),
        None => app.store.trashed_by_id(id).await?.map(|t| t.doc),
    };
    match doc {
        Some(d) if d.kind == kind && access::of(&d, user.id) != Access::None => Ok(()),
        _ => Err(ApiError::not_found(match kind {
            Kind::Expense => "Expense not found",
            Kind::Payment => "Payment not found",
        })),
    }
}

/// The entries as `viewer` reads them, with everyone they name looked up
/// in one query.
pub async fn render(
    app: &AppState,
    viewer: ObjectId,
    entries: &[EntryDoc],
) -> Result<Vec<ActivityView>, ApiError> {
    let mut people: Vec<ObjectId> = Vec::new();
    for e in entries {
        people.push(e.actor);
        for key in ["from", "to", "member", "a", "b"] {
            if let Ok(id) = e.subject.get_object_id(key) {
                people.push(id);
            }
        }
        for c in &e.changes {
            for v in c.from.iter().chain(&c.to) {
                collect_people(v, &mut people);
            }
        }
    }
    people.sort_unstable();
    people.dedup();
    let names = Directory::load(app, viewer, &people).await?;
    Ok(entries.iter().map(|e| view(e, &names)).collect())
}

fn collect_people(v: &Bson, into: &mut Vec<ObjectId>) {
    match v {
        Bson::ObjectId(id) => into.push(*id),
        Bson::Array(list) => list
            .iter()
            .filter_map(Bson::as_document)
            .filter_map(|d| d.get_object_id("u").ok())
            .for_each(|id| into.push(id)),
        _ => {}
    }
}

fn view(e: &EntryDoc, names: &Directory) -> ActivityView {
    let name = |id: ObjectId| names.user(id).name;
    let currency = currency_of(&e.subject);
    let (object, _) = e.kind.split_once('.').unwrap_or((e.kind.as_str(), ""));
    let on_payment = e.object.kind == "payment";
    let changes: Vec<ChangeView> = e
        .changes
        .iter()
        .map(|c| change_view(c, currency, names))
        .collect();
    ActivityView {
        id: e.id.to_hex(),
        kind: e.kind.clone(),
        at: iso(e.at),
        actor: Actor {
            id: e.actor.to_hex(),
            name: name(e.actor),
        },
        summary: summary(e, &name, currency),
        expense_id: e
            .expense
            .filter(|_| !on_payment && object != "group")
            .map(|id| id.to_hex()),
        payment_id: e.expense.filter(|_| on_payment).map(|id| id.to_hex()),
        group_id: e.group.map(|id| id.to_hex()),
        changes: (!changes.is_empty()).then_some(changes),
    }
}

fn currency_of(subject: &Document) -> Currency {
    subject
        .get_str("cur")
        .ok()
        .and_then(|c| Currency::stored(c).ok())
        .unwrap_or_default()
}

fn as_i64(v: &Bson) -> Option<i64> {
    v.as_i64().or_else(|| v.as_i32().map(i64::from))
}

/// A value of a changed field as shown.
fn shown(field: &str, v: &Bson, currency: Currency, names: &Directory) -> serde_json::Value {
    use serde_json::json;
    match (field, v) {
        ("amount", v) => as_i64(v).map_or(json!(null), |m| json!(format_signed(m, currency))),
        ("date", Bson::DateTime(d)) => json!(day(*d)),
        (_, Bson::ObjectId(id)) => json!({ "_id": id.to_hex(), "name": names.user(*id).name }),
        (_, Bson::Array(list)) => json!(list
            .iter()
            .filter_map(Bson::as_document)
            .map(|d| {
                let user = d.get_object_id("u").ok();
                json!({
                    "user": user.map(|u| json!({ "_id": u.to_hex(), "name": names.user(u).name })),
                    "amount": d.get("a").and_then(as_i64).map(|m| format_signed(m, currency)),
                })
            })
            .collect::<Vec<_>>()),
        (_, other) => other.clone().into_relaxed_extjson(),
    }
}

fn change_view(c: &FieldChange, currency: Currency, names: &Directory) -> ChangeView {
    ChangeView {
        field: c.field.clone(),
        from: c.from.as_ref().map(|v| shown(&c.field, v, currency, names)),
        to: c.to.as_ref().map(|v| shown(&c.field, v, currency, names)),
    }
}

fn quoted(s: &str) -> String {
    format!("'{s}'")
}

/// The sentence of an entry.
fn summary(e: &EntryDoc, name: &dyn Fn(ObjectId) -> String, currency: Currency) -> String {
    let actor = name(e.actor);
    let s = &e.subject;
    let text = |k: &str| s.get_str(k).unwrap_or_default().to_owned();
    let person = |k: &str| s.get_object_id(k).map(name).unwrap_or_default();
    let what = quoted(&text("d"));
    let amount = s
        .get("amt")
        .and_then(as_i64)
        .map(|m| format!("{} {currency}", format_signed(m, currency)))
        .unwrap_or_default();
    let payment = || format!("{amount} from {} to {}", person("from"), person("to"));
    let group = quoted(&text("name"));
    match e.kind.as_str() {
        "expense.created" => format!("{actor} added {what} ({amount})"),
        "expense.updated" => format!("{actor} changed {}", edit_phrase(e, currency)),
        "expense.deleted" => format!("{actor} deleted {what}"),
        "expense.restored" => format!("{actor} restored {what}"),
        "expense.settled" => {
            let closed = if s.get_bool("closed").unwrap_or(false) {
                ", which is now fully settled"
            } else {
                ""
            };
            format!("{actor} settled their share of {what}{closed}")
        }
        "expense.receipt_added" => format!("{actor} attached a receipt to {what}"),
        "expense.receipt_removed" => format!("{actor} removed the receipt of {what}"),
        "payment.created" => format!("{actor} recorded a payment of {}", payment()),
        "payment.updated" => format!("{actor} changed a payment: {}", edit_phrase(e, currency)),
        "payment.deleted" => format!("{actor} deleted a payment of {}", payment()),
        "payment.restored" => format!("{actor} restored a payment of {}", payment()),
        "comment.added" => {
            let mut said: String = text("text").chars().take(80).collect();
            if text("text").chars().count() > 80 {
                said.push('…');
            }
            format!("{actor} commented on {what}: \u{201c}{said}\u{201d}")
        }
        "comment.removed" => format!("{actor} deleted a comment on {what}"),
        "group.created" => format!("{actor} created the group {group}"),
        "group.updated" => match e.changes.iter().find(|c| c.field == "name") {
            Some(c) => format!(
                "{actor} renamed the group {} to {}",
                quoted(c.from.as_ref().and_then(Bson::as_str).unwrap_or_default()),
                quoted(c.to.as_ref().and_then(Bson::as_str).unwrap_or_default())
            ),
            None => format!("{actor} changed the description of {group}"),
        },
        "group.member_added" => format!("{actor} added {} to {group}", person("member")),
        "group.member_removed" => format!("{actor} removed {} from {group}", person("member")),
        "group.member_left" => format!("{actor} left {group}"),
        "group.role_changed" => {
            let role = if text("role") == "admin" {
                "an admin"
            } else {
                "a member"
            };
            format!("{actor} made {} {role} of {group}", person("member"))
        }
        "group.deleted" => format!("{actor} deleted the group {group}"),
        "group.imported" => {
            let count = |k: &str, one: &str, many: &str| match s.get(k).and_then(as_i64) {
                Some(1) => format!("1 {one}"),
                Some(n) => format!("{n} {many}"),
                None => String::new(),
            };
            format!(
                "{actor} imported {} and {} from Splitwise into {group}",
                count("n", "expense", "expenses"),
                count("p", "payment", "payments")
            )
        }
        "group.exported" => format!("{actor} exported the expenses of {group}"),
        "group.guest_added" => format!("{actor} added the guest {} to {group}", text("guestName")),
        "group.member_joined" => match s.get_str("guestName") {
            Ok(guest) => {
                format!("{actor} joined {group} with an invite link, taking over the guest {guest}")
            }
            Err(_) => format!("{actor} joined {group} with an invite link"),
        },
        "friend.added" => format!("{actor} added {} as a friend", person("b")),
        "friend.accepted" => format!("{actor} accepted {}'s friend request", person("b")),
        "friend.removed" => format!("{actor} removed {} from their friends", person("b")),
        "friend.blocked" => format!("{actor} blocked {}", person("b")),
        "user.updated" => format!("{actor} changed their profile"),
        "user.exported" => format!("{actor} exported their expenses"),
        other => format!("{actor}: {other}"),
    }
}

/// "'Taxi' to 'Airport taxi' and 20.00 → 24.00 USD": what an edit changed.
fn edit_phrase(e: &EntryDoc, currency: Currency) -> String {
    let s = &e.subject;
    let value = |c: &FieldChange, v: &Option<Bson>| -> String {
        match (c.field.as_str(), v) {
            ("amount", Some(v)) => as_i64(v)
                .map(|m| format_signed(m, currency))
                .unwrap_or_default(),
            ("date", Some(Bson::DateTime(d))) => day(*d),
            (_, Some(Bson::String(t))) => t.clone(),
            _ => String::new(),
        }
    };
    let mut parts = Vec::new();
    let mut renamed = false;
    for c in &e.changes {
        match c.field.as_str() {
            "description" => {
                renamed = true;
                parts.push(format!(
                    "{} to {}",
                    quoted(&value(c, &c.from)),
                    quoted(&value(c, &c.to))
                ));
            }
            "amount" => parts.push(format!(
                "{} → {} {currency}",
                value(c, &c.from),
                value(c, &c.to)
            )),
            "date" | "category" | "currency" => parts.push(format!(
                "the {} {} → {}",
                c.field,
                value(c, &c.from),
                value(c, &c.to)
            )),
            "paidBy" => parts.push("who paid".into()),
            "splitType" => parts.push("the split mode".into()),
            other => parts.push(format!("the {other}")),
        }
    }
    let list = match parts.len() {
        0 => "nothing".to_owned(),
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{} and {last}", parts.join(", "))
        }
    };
    if renamed {
        list
    } else {
        format!("{} ({list})", quoted(s.get_str("d").unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::journal::{expense_entry, ExpenseChange};
    use crate::store::{ExpenseDoc, PayerDoc, SplitDoc};
    use mongodb::bson::DateTime;

    #[test]
    fn an_edit_reads_as_the_issue_says() {
        let a = ObjectId::new();
        let mut old = ExpenseDoc {
            description: "Taxi".into(),
            amount: 2000,
            payers: vec![PayerDoc {
                user: a,
                amount: 2000,
                weight: None,
            }],
            split_with: vec![SplitDoc {
                id: ObjectId::new(),
                user: a,
                amount: 2000,
                settled: false,
                settled_at: None,
                weight: None,
            }],
            ..ExpenseDoc::blank(Kind::Expense, ObjectId::new(), a, DateTime::now())
        };
        old.refresh_participants();
        let mut new = old.clone();
        new.description = "Airport taxi".into();
        new.amount = 2400;
        let e = expense_entry(ExpenseChange::Updated, a, Some(&old), Some(&new)).unwrap();
        let name = |_| "Al".to_owned();
        assert_eq!(
            summary(&e, &name, Currency::USD),
            "Al changed 'Taxi' to 'Airport taxi' and 20.00 → 24.00 USD"
        );
        let mut only_amount = old.clone();
        only_amount.amount = 2400;
        let e = expense_entry(ExpenseChange::Updated, a, Some(&old), Some(&only_amount)).unwrap();
        assert_eq!(
            summary(&e, &name, Currency::USD),
            "Al changed 'Taxi' (20.00 → 24.00 USD)"
        );
    }
}
