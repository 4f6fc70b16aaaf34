//! Friendship states and who may see whose contact details: the privacy
//! rules, with no I/O.
//!
//! A friendship is stored on both people (`friends`, symmetric) with the side
//! that has not agreed yet recorded in `friendsOut` (I asked) and `friendsIn`
//! (they asked). An entry in neither list is `mutual`, which is also what
//! every friendship written before these states existed is.
//!
//! Contact details (email, phone) of another person are shown only to their
//! mutual friends; anyone else sees what they typed themselves when adding
//! the person (so the app can match its address book), and nobody sees the
//! details of a deactivated account.

use std::collections::HashSet;

use mongodb::bson::oid::ObjectId;
use serde::Serialize;

/// Most people one user can be connected with (any state); a bulk add or a
/// request beyond it fails for that entry.
pub const MAX_FRIENDS: usize = 1000;
/// Most people one user can block.
pub const MAX_BLOCKED: usize = 1000;

/// Where a friend entry stands, as seen by its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Both added each other, or the added person accepted.
    Mutual,
    /// I added a registered user who has not accepted (or added me) yet.
    Outgoing,
    /// A registered user added me; I have not accepted.
    Incoming,
    /// Someone I added who has not registered yet.
    Pending,
}

/// One user's side of their friendships.
#[derive(Debug, Default, Clone)]
pub struct Relations {
    pub friends: HashSet<ObjectId>,
    pub outgoing: HashSet<ObjectId>,
    pub incoming: HashSet<ObjectId>,
    pub blocked: HashSet<ObjectId>,
}

impl Relations {
    pub fn new(
        friends: &[ObjectId],
        outgoing: &[ObjectId],
        incoming: &[ObjectId],
        blocked: &[ObjectId],
    ) -> Self {
        let set = |ids: &[ObjectId]| ids.iter().copied().collect::<HashSet<_>>();
        Self {
            friends: set(friends),
            outgoing: set(outgoing),
            incoming: set(incoming),
            blocked: set(blocked),
        }
    }

    /// The state of my entry for `other`; none when we are not connected.
    pub fn status(&self, other: ObjectId) -> Option<Status> {
        if !self.friends.contains(&other) {
            None
        } else if self.incoming.contains(&other) {
            Some(Status::Incoming)
        } else if self.outgoing.contains(&other) {
            Some(Status::Outgoing)
        } else {
            Some(Status::Mutual)
        }
    }
}

/// What the registered person an add names looks like from the adder's side.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub id: ObjectId,
    /// They have blocked the adder.
    pub blocks_me: bool,
    /// How many people they are connected with.
    pub friend_count: usize,
}

/// What adding a registered user does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Add {
    /// A new request: outgoing for me, incoming for them.
    Request,
    /// They had asked me: we become mutual.
    Accept,
    /// Already connected (mutual, or my request is waiting).
    AlreadyFriends,
    Myself,
    /// I blocked them: unblock first.
    BlockedByMe,
    /// They blocked me: answered like a request, written nowhere.
    Ignored,
    /// My list is full.
    MyListFull,
    /// Their list is full.
    TheirListFull,
}

impl Add {
    /// Decides an add of `target` by the owner of `mine`, who is `me`; `planned`
    /// is how many new connections earlier entries of the same add make.
    pub fn decide(me: ObjectId, mine: &Relations, target: Target, planned: usize) -> Add {
        if target.id == me {
            return Add::Myself;
        }
        if mine.blocked.contains(&target.id) {
            return Add::BlockedByMe;
        }
        match mine.status(target.id) {
            Some(Status::Incoming) => return Add::Accept,
            Some(_) => return Add::AlreadyFriends,
            None => {}
        }
        if target.blocks_me {
            return Add::Ignored;
        }
        if mine.friends.len() + planned >= MAX_FRIENDS {
            return Add::MyListFull;
        }
        if target.friend_count >= MAX_FRIENDS {
            return Add::TheirListFull;
        }
        Add::Request
    }
}

/// Contact details as typed by someone when they added a person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typed {
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A person as stored, with what the viewer's relation to them allows.
#[derive(Debug, Clone)]
pub struct Seen<'a> {
    pub id: ObjectId,
    pub is_active: bool,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    /// The person and the viewer are mutual friends.
    pub mutual: bool,
    /// What the viewer typed when adding the person, if they did.
    pub typed: Option<&'a Typed>,
}

/// The contact details `viewer` may see of a person.
pub fn visible_contact(viewer: ObjectId, seen: &Seen<'_>) -> Typed {
    if seen.id == viewer {
        return Typed {
            email: Some(seen.email.to_string()),
            phone: seen.phone.map(str::to_string),
        };
    }
    if !seen.is_active {
        return Typed::default();
    }
    if seen.mutual {
        return Typed {
            email: Some(seen.email.to_string()),
            phone: seen.phone.map(str::to_string),
        };
    }
    seen.typed.cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<ObjectId> {
        (0..n).map(|_| ObjectId::new()).collect()
    }

    #[test]
    fn statuses_from_the_lists() {
        let p = ids(4);
        let r = Relations::new(&p[..3], &[p[1]], &[p[2]], &[]);
        assert_eq!(r.status(p[0]), Some(Status::Mutual));
        assert_eq!(r.status(p[1]), Some(Status::Outgoing));
        assert_eq!(r.status(p[2]), Some(Status::Incoming));
        assert_eq!(r.status(p[3]), None);
    }

    #[test]
    fn deciding_an_add() {
        let me = ObjectId::new();
        let p = ids(5);
        let mine = Relations::new(&p[..3], &[p[1]], &[p[2]], &[p[3]]);
        let t = |id, blocks_me, friend_count| Target {
            id,
            blocks_me,
            friend_count,
        };
        assert_eq!(Add::decide(me, &mine, t(me, false, 0), 0), Add::Myself);
        assert_eq!(
            Add::decide(me, &mine, t(p[0], false, 0), 0),
            Add::AlreadyFriends
        );
        assert_eq!(
            Add::decide(me, &mine, t(p[1], false, 0), 0),
            Add::AlreadyFriends
        );
        assert_eq!(Add::decide(me, &mine, t(p[2], false, 0), 0), Add::Accept);
        assert_eq!(
            Add::decide(me, &mine, t(p[3], false, 0), 0),
            Add::BlockedByMe
        );
        assert_eq!(Add::decide(me, &mine, t(p[4], true, 0), 0), Add::Ignored);
        assert_eq!(Add::decide(me, &mine, t(p[4], false, 0), 0), Add::Request);
        assert_eq!(
            Add::decide(me, &mine, t(p[4], false, MAX_FRIENDS), 0),
            Add::TheirListFull
        );
        assert_eq!(
            Add::decide(me, &mine, t(p[4], false, 0), MAX_FRIENDS - 3),
            Add::MyListFull
        );
    }

    #[test]
    fn who_sees_contact_details() {
        let viewer = ObjectId::new();
        let typed = Typed {
            email: Some("typed@example.com".into()),
            phone: None,
        };
        let base = Seen {
            id: ObjectId::new(),
            is_active: true,
            email: "real@example.com",
            phone: Some("+15550001"),
            mutual: false,
            typed: None,
        };
        let full = Typed {
            email: Some("real@example.com".into()),
            phone: Some("+15550001".into()),
        };
        assert_eq!(visible_contact(viewer, &base), Typed::default());
        let with_typed = Seen {
            typed: Some(&typed),
            ..base.clone()
        };
        assert_eq!(visible_contact(viewer, &with_typed), typed);
        let mutual = Seen {
            mutual: true,
            ..base.clone()
        };
        assert_eq!(visible_contact(viewer, &mutual), full);
        let gone = Seen {
            is_active: false,
            mutual: true,
            typed: Some(&typed),
            ..base.clone()
        };
        assert_eq!(visible_contact(viewer, &gone), Typed::default());
        let me = Seen {
            id: viewer,
            ..base.clone()
        };
        assert_eq!(visible_contact(viewer, &me), full);
    }
}
