//! Invite links and guests. An admin creates a link (a 256-bit random
//! token, shown once, stored as its SHA-256), lists and revokes them; anyone
//! signed in previews a link and joins with it while it is neither revoked,
//! expired nor used up. Any member adds a guest (a member without an
//! account); whoever joins may claim a guest, taking over their shares,
//! payments and balances exactly, in the join's transaction.

use std::time::Duration;

use base64::Engine;
use mongodb::bson::{oid::ObjectId, DateTime};
use sha2::{Digest, Sha256};

use super::change::{active_group, group_entry, is_admin, member_group, GroupEvent};
use super::members::{full, MAX_MEMBERS};
use super::view::{render_one, GroupView};
use crate::app::versions;
use crate::auth::AuthUser;
use crate::domain::group::Role;
use crate::domain::inputs::UserName;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{ExpenseDoc, GroupDoc, InviteDoc, Join, MemberDoc, UserDoc};

/// Longest and default life of a link, in hours (a year; a week).
pub const MAX_HOURS: i64 = 24 * 365;
pub const DEFAULT_HOURS: i64 = 24 * 7;
/// Most uses one link may allow.
pub const MAX_USES: i64 = 1000;
/// Most links a group keeps live (neither revoked nor expired) at once.
pub const MAX_LIVE: u64 = 50;
/// Most invites a list shows.
const LIST_LIMIT: i64 = 100;
/// Most expenses and payments a guest hands over in one join (one
/// transaction).
pub const MAX_CLAIMED: i64 = 2000;

/// What an admin asks for.
pub struct NewInvite {
    pub expires_in_hours: i64,
    pub max_uses: Option<i64>,
    pub role: Role,
}

/// An invite as shown: with its token and link only when just created.
pub struct Invite {
    pub doc: InviteDoc,
    pub token: Option<String>,
    pub url: Option<String>,
}

impl Invite {
    /// `active`, `revoked`, `expired` or `used_up`.
    pub fn status(&self, now: DateTime) -> &'static str {
        status(&self.doc, now)
    }
}

fn status(invite: &InviteDoc, now: DateTime) -> &'static str {
    if invite.revoked_at.is_some() {
        "revoked"
    } else if invite.expires_at <= now {
        "expired"
    } else if invite.max_uses.is_some_and(|max| invite.uses >= max) {
        "used_up"
    } else {
        "active"
    }
}

/// A fresh token: 32 random bytes, base64url (43 characters).
fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored of a token.
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An admin of an active group, else 404 (no group) or 403.
async fn admin_group(app: &AppState, user: AuthUser, id: ObjectId) -> Result<GroupDoc, ApiError> {
    let group = member_group(&app.store, id, user).await?;
    if !is_admin(&group, user.id) {
        return Err(ApiError::forbidden(
            "Only group admins can manage invite links",
        ));
    }
    Ok(group)
}

pub async fn create_invite(
    app: &AppState,
    user: AuthUser,
    group_id: ObjectId,
    new: NewInvite,
) -> Result<Invite, ApiError> {
    let group = admin_group(app, user, group_id).await?;
    if app.store.live_invites(group.id).await? >= MAX_LIVE {
        return Err(ApiError::bad_request(format!(
            "A group can have at most {MAX_LIVE} live invite links: revoke one first"
        )));
    }
    let token = new_token()?;
    let now = DateTime::now();
    let life = Duration::from_secs(u64::try_from(new.expires_in_hours).unwrap_or(0) * 3600);
    let doc = InviteDoc {
        id: ObjectId::new(),
        group: group.id,
        hash: token_hash(&token),
        created_by: user.id,
        created_at: now,
        expires_at: DateTime::from_system_time(now.to_system_time() + life),
        max_uses: new.max_uses,
        uses: 0,
        role: new.role,
        revoked_at: None,
    };
    app.store.insert_invite(&doc).await?;
    Ok(Invite {
        url: Some(app.links.invite(&token)),
        token: Some(token),
        doc,
    })
}

pub async fn list_invites(
    app: &AppState,
    user: AuthUser,
    group_id: ObjectId,
) -> Result<Vec<Invite>, ApiError> {
    let group = admin_group(app, user, group_id).await?;
    let docs = app.store.invites_of(group.id, LIST_LIMIT).await?;
    Ok(docs
        .into_iter()
        .map(|doc| Invite {
            doc,
            token: None,
            url: None,
        })
        .collect())
}

pub async fn revoke_invite(
    app: &AppState,
    user: AuthUser,
    group_id: ObjectId,
    invite: ObjectId,
) -> Result<Invite, ApiError> {
    let group = admin_group(app, user, group_id).await?;
    let doc = app
        .store
        .revoke_invite(group.id, invite)
        .await?
        .ok_or_else(|| ApiError::not_found("Invite not found"))?;
    Ok(Invite {
        doc,
        token: None,
        url: None,
    })
}

/// The group behind a link, as its preview shows it.
pub struct Preview {
    pub invite: InviteDoc,
    pub group: GroupDoc,
    pub inviter: String,
    /// The guests one may claim: (id, name).
    pub guests: Vec<(ObjectId, String)>,
}

/// A usable invite and its active group: unknown → 404, revoked, expired
/// or used up → 410 `INVITE_EXPIRED`.
async fn usable(app: &AppState, token: &str) -> Result<(InviteDoc, GroupDoc), ApiError> {
    let unknown = || ApiError::not_found("Invite not found");
    // Tokens are 43 characters of base64url; anything else is no token.
    let well_formed = token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(unknown());
    }
    let invite = app
        .store
        .invite_by_hash(&token_hash(token))
        .await?
        .ok_or_else(unknown)?;
    let state = status(&invite, DateTime::now());
    if state != "active" {
        let why = match state {
            "revoked" => "This invite link was revoked",
            "expired" => "This invite link has expired",
            _ => "This invite link has been used as often as it allows",
        };
        return Err(ApiError::coded(410, "INVITE_EXPIRED", why));
    }
    let group = active_group(&app.store, invite.group)
        .await
        .map_err(|_| ApiError::coded(410, "INVITE_EXPIRED", "The group of this invite is gone"))?;
    Ok((invite, group))
}

pub async fn preview(app: &AppState, _user: AuthUser, token: &str) -> Result<Preview, ApiError> {
    let (invite, group) = usable(app, token).await?;
    let ids: Vec<ObjectId> = group
        .members
        .iter()
        .map(|m| m.user)
        .chain([invite.created_by])
        .collect();
    let people = app.store.people(invite.created_by, &ids).await?;
    let name_of = |id: ObjectId| {
        people
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    let guests = people
        .iter()
        .filter(|p| p.guest && group.is_member(p.id))
        .map(|p| (p.id, p.name.clone()))
        .collect();
    Ok(Preview {
        inviter: name_of(invite.created_by),
        guests,
        invite,
        group,
    })
}

/// Joins the group of the link, as a member of the link's role; with
/// `claim`, in place of that guest of the group.
pub async fn accept(
    app: &AppState,
    user: AuthUser,
    token: &str,
    claim: Option<ObjectId>,
) -> Result<GroupView, ApiError> {
    let store = &app.store;
    let written = versions::retry(async || {
        let (invite, group) = usable(app, token).await?;
        if group.is_member(user.id) {
            return Err(ApiError::bad_request(
                "You are already a member of this group",
            ));
        }
        let blocked = group.members.iter().map(|m| m.user).collect::<Vec<_>>();
        if store.any_block_between(user.id, &blocked).await? {
            return Err(ApiError::forbidden(
                "You cannot join a group with someone you blocked or who blocked you",
            ));
        }
        let guest = match claim {
            Some(id) => Some(claimable_guest(app, &group, id).await?),
            None => None,
        };
        if guest.is_none() && group.members.len() >= MAX_MEMBERS {
            return Err(full());
        }
        let (rewritten, trashed) = match &guest {
            Some(g) => handed_over(app, &group, g.id, user.id).await?,
            None => (Vec::new(), Vec::new()),
        };
        let members = joined_members(&group, user.id, invite.role, guest.as_ref().map(|g| g.id));
        let mut after = group.clone();
        after.members = members.clone();
        after.version += 1;
        let mut entry = group_entry(GroupEvent::Joined, user.id, Some(&group), &after);
        if let Some(g) = &guest {
            entry.subject.insert("guestName", g.name.as_str());
            entry.subject.insert("guest", g.id);
        }
        let join = Join {
            actor: user.id,
            invite: &invite,
            group: &group,
            members,
            entries: vec![entry],
            rewritten,
            trashed,
            guest: guest.as_ref().map(|g| g.id),
        };
        Ok(store.join_group(join).await?.then_some(after))
    })
    .await?;
    let joined = written.ok_or_else(|| {
        ApiError::coded(
            409,
            "VERSION_CONFLICT",
            "The group changed while joining; try again",
        )
    })?;
    render_one(app, user.id, &joined).await
}

/// The group's members after `user` joins as `role` (in the place of
/// `guest`, who leaves).
fn joined_members(
    group: &GroupDoc,
    user: ObjectId,
    role: Role,
    guest: Option<ObjectId>,
) -> Vec<MemberDoc> {
    let mut members: Vec<MemberDoc> = group
        .members
        .iter()
        .filter(|m| Some(m.user) != guest)
        .cloned()
        .collect();
    members.push(MemberDoc {
        id: ObjectId::new(),
        user,
        role,
        joined_at: DateTime::now(),
    });
    members
}

/// The guest `id`, a member of `group`; else 400 naming `claimGuest`.
async fn claimable_guest(
    app: &AppState,
    group: &GroupDoc,
    id: ObjectId,
) -> Result<UserDoc, ApiError> {
    let not_a_guest = || {
        ApiError::validation(vec![crate::error::FieldError::new(
            "claimGuest",
            "Not a guest of this group",
        )])
    };
    if !group.is_member(id) {
        return Err(not_a_guest());
    }
    app.store
        .user_by_id(id)
        .await?
        .filter(|u| u.guest)
        .ok_or_else(not_a_guest)
}

type Trashed = (ObjectId, mongodb::bson::Document, Vec<ObjectId>);

/// The guest's expenses and payments in the group (and deleted ones still
/// restorable) with `user` in the guest's place. Refused when `user`
/// already takes part in one of them (shares cannot be merged exactly
/// without changing what either agreed to) or when there are too many for
/// one transaction.
async fn handed_over(
    app: &AppState,
    group: &GroupDoc,
    guest: ObjectId,
    user: ObjectId,
) -> Result<(Vec<(ExpenseDoc, ExpenseDoc)>, Vec<Trashed>), ApiError> {
    let (live, trashed) = app
        .store
        .taking_part_in_group(group.id, guest, MAX_CLAIMED + 1)
        .await?;
    if i64::try_from(live.len()).unwrap_or(i64::MAX) > MAX_CLAIMED {
        return Err(ApiError::bad_request(format!(
            "This guest takes part in more than {MAX_CLAIMED} expenses and payments: too many to hand over at once"
        )));
    }
    let shared = || {
        ApiError::coded(
            409,
            "GUEST_SHARES_OVERLAP",
            "You already take part in some of this guest's expenses; they cannot be handed over to you",
        )
    };
    let mut rewritten = Vec::with_capacity(live.len());
    for old in live {
        let new = in_place_of(&old, guest, user).ok_or_else(shared)?;
        rewritten.push((old, new));
    }
    let mut moved = Vec::with_capacity(trashed.len());
    for (id, document) in trashed {
        let Ok(old) = mongodb::bson::from_document::<ExpenseDoc>(document.clone()) else {
            continue;
        };
        let Some(new) = in_place_of(&old, guest, user) else {
            return Err(shared());
        };
        let mut doc = mongodb::bson::to_document(&new).map_err(ApiError::internal)?;
        // Keep what the stored document had beyond the typed fields.
        for (k, v) in document {
            doc.entry(k).or_insert(v);
        }
        moved.push((id, doc, new.participants.clone()));
    }
    Ok((rewritten, moved))
}

/// `e` with `user` wherever `guest` was, as its next version; None when
/// `user` is already in it.
pub fn in_place_of(e: &ExpenseDoc, guest: ObjectId, user: ObjectId) -> Option<ExpenseDoc> {
    if e.participants.contains(&user)
        || e.paid_by == user
        || e.payers.iter().any(|p| p.user == user)
        || e.split_with.iter().any(|s| s.user == user)
    {
        return None;
    }
    let swap = |id: &mut ObjectId| {
        if *id == guest {
            *id = user;
        }
    };
    let mut new = e.clone();
    swap(&mut new.paid_by);
    swap(&mut new.created_by);
    new.payers.iter_mut().for_each(|p| swap(&mut p.user));
    new.split_with.iter_mut().for_each(|s| swap(&mut s.user));
    new.participants.iter_mut().for_each(swap);
    new.version += 1;
    new.updated_at = DateTime::now();
    Some(new)
}

/// A guest named `name` joins the group (any member adds one).
pub async fn add_guest(
    app: &AppState,
    user: AuthUser,
    group_id: ObjectId,
    name: UserName,
) -> Result<(GroupView, ObjectId), ApiError> {
    let store = &app.store;
    let guest = UserDoc::guest(ObjectId::new(), name.into_string(), DateTime::now());
    let written = versions::retry(async || {
        let group = member_group(store, group_id, user).await?;
        if group.members.len() >= MAX_MEMBERS {
            return Err(full());
        }
        let member = MemberDoc {
            id: ObjectId::new(),
            user: guest.id,
            role: Role::Member,
            joined_at: DateTime::now(),
        };
        let mut after = group.clone();
        after.members.push(member.clone());
        after.version += 1;
        let mut entry = group_entry(
            GroupEvent::GuestAdded(guest.id),
            user.id,
            Some(&group),
            &after,
        );
        entry.subject.insert("guestName", guest.name.as_str());
        Ok(store
            .add_guest(&guest, &group, &member, &entry)
            .await?
            .then_some(after))
    })
    .await?;
    let group = written.ok_or_else(|| {
        ApiError::coded(
            409,
            "VERSION_CONFLICT",
            "The group changed meanwhile; try again",
        )
    })?;
    Ok((render_one(app, user.id, &group).await?, guest.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Kind, SplitDoc};

    #[test]
    fn tokens_are_43_url_safe_characters_and_stored_as_their_hash() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        let h = token_hash(&a);
        assert_eq!(h.len(), 64);
        assert_ne!(h, token_hash(&b));
    }

    #[test]
    fn a_guest_hands_over_every_place_they_hold() {
        let (guest, user, other) = (ObjectId::new(), ObjectId::new(), ObjectId::new());
        let split = |u: ObjectId, amount: i64| SplitDoc {
            id: ObjectId::new(),
            user: u,
            amount,
            settled: false,
            settled_at: None,
            weight: None,
        };
        let e = ExpenseDoc {
            amount: 900,
            paid_by: guest,
            participants: vec![guest, other],
            split_with: vec![split(guest, 450), split(other, 450)],
            ..ExpenseDoc::blank(Kind::Expense, ObjectId::new(), guest, DateTime::now())
        };
        let new = in_place_of(&e, guest, user).unwrap();
        assert_eq!(new.paid_by, user);
        assert_eq!(new.created_by, user);
        assert_eq!(new.participants, vec![user, other]);
        assert_eq!(new.split_with[0].user, user);
        assert_eq!(new.split_with[0].amount, 450);
        assert_eq!(new.version, e.version + 1);
        // Someone already in it cannot take the guest's place.
        assert!(in_place_of(&e, guest, other).is_none());
    }
}
