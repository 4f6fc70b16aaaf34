//! The plan of a bulk add: from the entries of the request and what is
//! stored (my relations, the registered people the entries name, my pending
//! friends), what to write (requests, acceptances, pending friends) and what
//! to answer for each entry. Pure: the caller reads and writes.

use std::collections::HashSet;

use mongodb::bson::oid::ObjectId;
use serde::Serialize;

use crate::domain::email::Email;
use crate::domain::friendship::{Add, Relations, Status, Typed};
use crate::domain::inputs::UserName;
use crate::store::{Candidate as StoredCandidate, PendingFriendDoc, Request};

/// One valid entry of a bulk add: a name and an email, a phone number or both.
pub struct Candidate {
    pub name: UserName,
    pub email: Option<Email>,
    pub phone: Option<String>,
}

/// An invalid entry, as the request gave it, with why (reported in its own
/// result; the other entries still go ahead).
pub struct Rejected {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub message: String,
}

/// An entry of a bulk add, parsed.
pub type Parsed = Result<Candidate, Rejected>;

/// What a bulk add answers for one entry.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryResult {
    name: Option<String>,
    email: Option<String>,
    phone_number: Option<String>,
    success: bool,
    message: String,
    /// `existing_user` (a registered user, now a friend) or
    /// `pending_friend` (stored until they register).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    /// The friend entry's state after the add, when the add made or found one.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Status>,
}

const FRIEND_ADDED: &str = "Friend added successfully";

/// What a bulk add writes, and what it answers for each entry.
pub struct Plan {
    me: ObjectId,
    relations: Relations,
    /// Registered people this add already decided about.
    decided: HashSet<ObjectId>,
    pending_keys: HashSet<String>,
    pub requests: Vec<Request>,
    pub accepts: Vec<ObjectId>,
    /// Entries answered as added (requests, acceptances and ignored ones).
    pub added: usize,
    pub pend: Vec<PendingFriendDoc>,
    /// Per entry, its result and the pending record it created, if any.
    results: Vec<(EntryResult, Option<ObjectId>)>,
}

impl Plan {
    pub fn new(me: ObjectId, relations: Relations, my_pending: &[PendingFriendDoc]) -> Self {
        Self {
            me,
            relations,
            decided: HashSet::new(),
            pending_keys: my_pending
                .iter()
                .flat_map(|p| [p.email.clone(), p.phone_number.clone()])
                .flatten()
                .collect(),
            requests: Vec::new(),
            accepts: Vec::new(),
            added: 0,
            pend: Vec::new(),
            results: Vec::new(),
        }
    }

    pub fn entry(&mut self, entry: &Parsed, registered: &[StoredCandidate]) {
        let c = match entry {
            Ok(c) => c,
            Err(rejected) => {
                let result = EntryResult {
                    name: rejected.name.clone(),
                    email: rejected.email.clone(),
                    phone_number: rejected.phone_number.clone(),
                    success: false,
                    message: rejected.message.clone(),
                    kind: None,
                    status: None,
                };
                self.results.push((result, None));
                return;
            }
        };
        let existing = c
            .email
            .as_ref()
            .and_then(|e| registered.iter().find(|u| u.email == e.as_str()))
            .or_else(|| {
                let phone = c.phone.as_ref()?;
                registered
                    .iter()
                    .find(|u| u.phone_number.as_ref() == Some(phone))
            });
        let (success, message, kind, status, pended) = match existing {
            Some(u) => {
                let (success, message, status) = self.registered(c, u);
                (success, message, "existing_user", status, None)
            }
            None => {
                let (success, message, pended) = self.unregistered(c);
                let status = success.then_some(Status::Pending);
                (success, message, "pending_friend", status, pended)
            }
        };
        let result = EntryResult {
            name: Some(c.name.as_str().to_owned()),
            email: email_of(c),
            phone_number: c.phone.clone(),
            success,
            message: message.into(),
            kind: Some(kind),
            status,
        };
        self.results.push((result, pended));
    }

    /// An entry naming a registered user: a request, an acceptance, or why
    /// neither. Someone who blocked me is answered like a request, and
    /// nothing is written.
    fn registered(
        &mut self,
        c: &Candidate,
        u: &StoredCandidate,
    ) -> (bool, &'static str, Option<Status>) {
        if !self.decided.insert(u.id) && u.id != self.me {
            return (false, "Already friends with this user", None);
        }
        let planned = self.requests.len();
        match Add::decide(self.me, &self.relations, u.target(), planned) {
            Add::Request => {
                self.requests.push(Request {
                    id: u.id,
                    typed: Typed {
                        email: email_of(c),
                        phone: c.phone.clone(),
                    },
                });
                self.added += 1;
                (true, FRIEND_ADDED, Some(Status::Outgoing))
            }
            Add::Ignored => {
                self.added += 1;
                (true, FRIEND_ADDED, Some(Status::Outgoing))
            }
            Add::Accept => {
                self.accepts.push(u.id);
                self.added += 1;
                (true, FRIEND_ADDED, Some(Status::Mutual))
            }
            Add::AlreadyFriends => (
                false,
                "Already friends with this user",
                self.relations.status(u.id),
            ),
            Add::Myself => (false, "You cannot add yourself as a friend", None),
            Add::BlockedByMe => (
                false,
                "You have blocked this user; unblock them to add them",
                None,
            ),
            Add::MyListFull => (false, "Your friend list is full", None),
            Add::TheirListFull => (false, "This user cannot take more friends", None),
        }
    }

    /// An entry naming nobody registered: a pending friend, unless I have
    /// one with that email or phone already.
    fn unregistered(&mut self, c: &Candidate) -> (bool, &'static str, Option<ObjectId>) {
        let keys = [email_of(c), c.phone.clone()];
        if keys.iter().flatten().any(|k| self.pending_keys.contains(k)) {
            return (false, "Already in your pending friends", None);
        }
        self.pending_keys.extend(keys.into_iter().flatten());
        let record = PendingFriendDoc {
            id: ObjectId::new(),
            name: c.name.as_str().to_owned(),
            email: email_of(c),
            phone_number: c.phone.clone(),
            added_by: self.me,
            created_at: mongodb::bson::DateTime::now(),
        };
        let id = record.id;
        self.pend.push(record);
        (
            true,
            "Pending friend created; they will be added when they register",
            Some(id),
        )
    }

    /// The results, with pending records whose person registered while they
    /// were written reported as the requests they became.
    pub fn results_after(self, converted: &[ObjectId]) -> Vec<EntryResult> {
        self.results
            .into_iter()
            .map(|(mut result, pended)| {
                if pended.is_some_and(|id| converted.contains(&id)) {
                    result.message = FRIEND_ADDED.into();
                    result.kind = Some("existing_user");
                    result.status = Some(Status::Outgoing);
                }
                result
            })
            .collect()
    }
}

fn email_of(c: &Candidate) -> Option<String> {
    c.email.as_ref().map(|e| e.as_str().to_owned())
}
