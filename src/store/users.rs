//! The `users` collection: accounts, their friend lists and pending-friend links.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::options::{Hint, ReturnDocument};
use serde::{Deserialize, Serialize};

use super::{now, PhotoChange, Store};
use crate::domain::friendship::Relations;
use crate::domain::money::Currency;
use crate::domain::text::{prefix_end, search_key};
use crate::store::StoreError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub name: String,
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub profile_image: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    pub role: String,
    pub is_active: bool,
    #[serde(default)]
    pub last_login: Option<DateTime>,
    #[serde(default)]
    pub friends: Vec<ObjectId>,
    #[serde(default)]
    pub pending_friends: Vec<ObjectId>,
    /// Friends I added who have not accepted yet (see `domain::friendship`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub friends_out: Vec<ObjectId>,
    /// Friends who added me and whom I have not accepted yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub friends_in: Vec<ObjectId>,
    /// People I blocked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<ObjectId>,
    /// The name folded for prefix search (`text::search_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_key: Option<String>,
    /// The currency of the single `balance` number (USD when unset).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::domain::money::stored_currency::option"
    )]
    pub default_currency: Option<Currency>,
    /// Which tokens without a session still work (none set: all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_tokens: Option<LegacyTokens>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
    /// A group's member without an account (`Store::insert_guest`): no
    /// password, never found by email, gone when someone claims them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guest: bool,
}

/// The cut that a logout-all, a password change or a deactivation makes
/// through the user's tokens without a session (`sid`): those the old server
/// issued, which no session can end. A token issued in the cut's second or
/// before is refused, except `kept`, the token of a caller who changed their
/// password with it (the SHA-256 hex of the whole token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyTokens {
    pub valid_after: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<String>,
}

impl LegacyTokens {
    /// Whether a token without a session issued at `iat` (seconds) is cut;
    /// `fingerprint` gives its SHA-256 hex, asked only when it matters.
    /// `iat` has whole seconds: one from the cut's second may be older than
    /// the cut, so it is refused too (this server never issues such tokens;
    /// its own carry a session and are judged by it).
    pub fn ends(&self, iat: u64, fingerprint: impl FnOnce() -> String) -> bool {
        let cut_second = self.valid_after.timestamp_millis().div_euclid(1000);
        let before = i64::try_from(iat).is_ok_and(|iat| iat <= cut_second);
        before && self.kept.as_ref().is_none_or(|kept| *kept != fingerprint())
    }
}

/// What authenticating a token without a session needs to know about its
/// user (cached per process, see `auth::UserStatusCache`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserStatus {
    #[serde(default)]
    pub is_active: bool,
    #[serde(default)]
    pub legacy_tokens: Option<LegacyTokens>,
}

impl UserStatus {
    pub fn of(user: &UserDoc) -> Self {
        Self {
            is_active: user.is_active,
            legacy_tokens: user.legacy_tokens.clone(),
        }
    }
}

/// `set` and, with it, a cut of the user's tokens without a session now,
/// keeping `kept` (a fingerprint) if given. The whole `legacyTokens` is
/// replaced: an earlier cut's kept token is not kept by this one.
fn with_legacy_cut(mut set: Document, kept: Option<&str>) -> Document {
    let mut cut = doc! { "validAfter": now() };
    if let Some(kept) = kept {
        cut.insert("kept", kept);
    }
    set.insert("legacyTokens", cut);
    doc! { "$set": set }
}

impl UserDoc {
    /// A new active account with no friends, blocks or photo yet (its
    /// search key from its name).
    pub fn new(
        id: ObjectId,
        name: String,
        email: String,
        password_hash: String,
        phone_number: Option<String>,
        created_at: DateTime,
    ) -> Self {
        Self {
            id,
            name_key: Some(search_key(&name)),
            name,
            email,
            password: password_hash,
            profile_image: None,
            phone_number,
            role: "user".into(),
            is_active: true,
            last_login: None,
            friends: Vec::new(),
            pending_friends: Vec::new(),
            friends_out: Vec::new(),
            friends_in: Vec::new(),
            blocked: Vec::new(),
            default_currency: None,
            legacy_tokens: None,
            created_at,
            updated_at: created_at,
            guest: false,
        }
    }

    /// A guest named `name`: active (so expenses may name them), with an
    /// address nobody can register or reach (`.invalid` is reserved) to
    /// keep emails unique, and no password.
    pub fn guest(id: ObjectId, name: String, created_at: DateTime) -> Self {
        let email = format!("guest-{}@guests.invalid", id.to_hex());
        Self {
            name_key: None,
            guest: true,
            ..Self::new(id, name, email, String::new(), None, created_at)
        }
    }

    /// My side of my friendships and blocks.
    pub fn relations(&self) -> Relations {
        Relations::new(
            &self.friends,
            &self.friends_out,
            &self.friends_in,
            &self.blocked,
        )
    }

    /// The currency the user's single balance numbers are given in.
    pub fn default_currency(&self) -> Currency {
        self.default_currency.unwrap_or_default()
    }
}

/// The public face of a user, as embedded in friends, groups and expenses.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub profile_image: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Not shown to others; read along so a view that already fetches the
    /// caller's summary needs no second read for it.
    #[serde(
        default,
        skip_serializing,
        deserialize_with = "crate::domain::money::stored_currency::option::deserialize"
    )]
    pub default_currency: Option<Currency>,
}

fn status_projection() -> Document {
    doc! { "_id": 0, "isActive": 1, "legacyTokens": 1 }
}

fn summary_projection() -> Document {
    doc! { "name": 1, "email": 1, "profileImage": 1, "phoneNumber": 1, "defaultCurrency": 1 }
}

/// Profile fields a user may change about themselves.
#[derive(Debug, Default)]
pub struct ProfileChanges {
    pub name: Option<String>,
    pub photo: PhotoChange,
    pub phone_number: Option<String>,
    pub default_currency: Option<Currency>,
}

impl Store {
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserDoc>, StoreError> {
        // Guests have no email of their own: never found by one.
        Ok(self
            .users()
            .find_one(doc! { "email": email, "guest": { "$ne": true } })
            .await?)
    }

    pub async fn user_by_id(&self, id: ObjectId) -> Result<Option<UserDoc>, StoreError> {
        Ok(self.users().find_one(doc! { "_id": id }).await?)
    }

    /// Whether the user is active and which of their tokens without a
    /// session are cut (an unknown id: inactive). One lookup by `_id`.
    pub async fn user_status(&self, id: ObjectId) -> Result<UserStatus, StoreError> {
        let found = self
            .users()
            .clone_with_type::<UserStatus>()
            .find_one(doc! { "_id": id })
            .projection(status_projection())
            .await?;
        Ok(found.unwrap_or_default())
    }

    /// Applies `update` to the user and returns their status after it (one
    /// `findAndModify`).
    async fn update_status(
        &self,
        id: ObjectId,
        update: Document,
    ) -> Result<UserStatus, StoreError> {
        let after = self
            .users()
            .clone_with_type::<UserStatus>()
            .find_one_and_update(doc! { "_id": id }, update)
            .projection(status_projection())
            .return_document(ReturnDocument::After)
            .await?;
        Ok(after.unwrap_or_default())
    }

    /// Ends the user's tokens without a session (logout-all): their status.
    pub async fn end_legacy_tokens(&self, id: ObjectId) -> Result<UserStatus, StoreError> {
        self.update_status(id, with_legacy_cut(doc! {}, None)).await
    }

    pub async fn touch_last_login(&self, id: ObjectId) -> Result<DateTime, StoreError> {
        let at = now();
        self.users()
            .update_one(doc! { "_id": id }, doc! { "$set": { "lastLogin": at } })
            .await?;
        Ok(at)
    }

    /// Applies the changes; a change of photo runs in a transaction with the
    /// pictures it stores or releases, within `quota` bytes of pictures.
    pub async fn update_profile(
        &self,
        id: ObjectId,
        changes: ProfileChanges,
        quota: u64,
    ) -> Result<Option<UserDoc>, StoreError> {
        let mut set = doc! { "updatedAt": now() };
        if let Some(name) = changes.name {
            set.insert("nameKey", search_key(&name));
            set.insert("name", name);
        }
        if let Some(phone) = changes.phone_number {
            set.insert("phoneNumber", phone);
        }
        if let Some(currency) = changes.default_currency {
            set.insert("defaultCurrency", currency.code());
        }
        if !matches!(changes.photo, PhotoChange::Keep) {
            return self.change_photo(id, set, changes.photo, quota).await;
        }
        let mut session = self.client.start_session().await?;
        let updated = session
            .start_transaction()
            .and_run2(async |s| {
                let updated = self
                    .users()
                    .find_one_and_update(doc! { "_id": id }, doc! { "$set": set.clone() })
                    .return_document(ReturnDocument::After)
                    .session(&mut *s)
                    .await?;
                if updated.is_some() {
                    self.journal_in(s, &[profile_entry(id)]).await?;
                }
                Ok(updated)
            })
            .await?;
        Ok(updated)
    }

    /// Sets the password and, in the same write, ends the tokens without a
    /// session but `kept` (the caller's, when it is one): their status.
    pub async fn set_password(
        &self,
        id: ObjectId,
        hash: &str,
        kept: Option<&str>,
    ) -> Result<UserStatus, StoreError> {
        let set = doc! { "password": hash, "updatedAt": now() };
        self.update_status(id, with_legacy_cut(set, kept)).await
    }

    /// Deactivates the account and ends its tokens without a session (so a
    /// reactivation by hand does not bring them back): its status.
    pub async fn deactivate_user(&self, id: ObjectId) -> Result<UserStatus, StoreError> {
        let set = doc! { "isActive": false, "updatedAt": now() };
        self.update_status(id, with_legacy_cut(set, None)).await
    }

    /// Active users other than `me`, not blocking `me`, found `by` a name
    /// prefix or an exact email or phone number; a page of them in name
    /// order, and how many there are. Every form reads an index (hinted: the
    /// planner would scan the collection for the extra conditions).
    pub async fn search_users(
        &self,
        me: ObjectId,
        by: &SearchBy,
        skip: u64,
        limit: i64,
    ) -> Result<(Vec<UserSummary>, u64), StoreError> {
        let (filter, hint) = search_filter(me, by);
        let coll = self.users().clone_with_type::<UserSummary>();
        let total = coll
            .count_documents(filter.clone())
            .hint(Hint::Keys(hint.clone()))
            .await?;
        let users = coll
            .find(filter)
            .projection(summary_projection())
            .hint(Hint::Keys(hint))
            .sort(doc! { "nameKey": 1, "_id": 1 })
            .skip(skip)
            .limit(limit)
            .await?
            .try_collect()
            .await?;
        Ok((users, total))
    }

    /// Summaries of many users in one round trip, in no particular order.
    pub async fn user_summaries(&self, ids: &[ObjectId]) -> Result<Vec<UserSummary>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .users()
            .clone_with_type::<UserSummary>()
            .find(doc! { "_id": { "$in": ids } })
            .projection(summary_projection())
            .await?
            .try_collect()
            .await?)
    }

    /// Registered users matching any of the emails or phone numbers, in one query.
    pub async fn users_by_contacts(
        &self,
        emails: &[String],
        phones: &[String],
    ) -> Result<Vec<UserSummary>, StoreError> {
        if emails.is_empty() && phones.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .users()
            .clone_with_type::<UserSummary>()
            .find(contact_filter(emails, phones))
            .projection(summary_projection())
            .await?
            .try_collect()
            .await?)
    }
}

/// How a search finds people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchBy {
    /// Names starting with this folded prefix (`text::search_key`).
    NamePrefix(String),
    Email(String),
    Phone(String),
}

/// The filter of a search and the index it reads.
pub fn search_filter(me: ObjectId, by: &SearchBy) -> (Document, Document) {
    let mut filter = match by {
        SearchBy::NamePrefix(prefix) => {
            doc! { "nameKey": { "$gte": prefix, "$lt": prefix_end(prefix) } }
        }
        SearchBy::Email(email) => doc! { "email": email },
        SearchBy::Phone(phone) => doc! { "phoneNumber": phone },
    };
    let hint = match by {
        SearchBy::NamePrefix(_) => doc! { "nameKey": 1, "_id": 1 },
        SearchBy::Email(_) => doc! { "email": 1 },
        SearchBy::Phone(_) => doc! { "phoneNumber": 1 },
    };
    filter.insert("_id", doc! { "$ne": me });
    filter.insert("isActive", true);
    filter.insert("blocked", doc! { "$ne": me });
    (filter, hint)
}

/// Users (or pending records) with any of the emails or phone numbers.
pub(super) fn contact_filter(emails: &[String], phones: &[String]) -> Document {
    doc! { "$or": [
        { "email": { "$in": emails } },
        { "phoneNumber": { "$in": phones } },
    ] }
}

/// The journal entry of a change of `user`'s profile fields, seen by them
/// (their other devices' sync hears of it). A new photo alone is not
/// journaled: its upload's transaction would take one more command (the
/// benchmark's upload scenario), and the photo's URL reaches other devices
/// with the next profile read or snapshot.
fn profile_entry(user: ObjectId) -> super::journal::EntryDoc {
    super::journal::EntryDoc::new(
        "user.updated",
        user,
        super::journal::ObjectRef {
            kind: "user".into(),
            id: user,
        },
        vec![user],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_ends_tokens_of_its_second_and_before_but_the_kept_one() {
        let cut = LegacyTokens {
            valid_after: DateTime::from_millis(1_700_000_010_500),
            kept: None,
        };
        let none = || unreachable!("no kept token to compare with");
        assert!(cut.ends(1_700_000_009, none));
        assert!(cut.ends(1_700_000_010, none), "same second: may be older");
        assert!(!cut.ends(1_700_000_011, String::new));
        let kept = LegacyTokens {
            kept: Some("ab".repeat(32)),
            ..cut
        };
        assert!(!kept.ends(1_700_000_009, || "ab".repeat(32)));
        assert!(kept.ends(1_700_000_009, || "cd".repeat(32)));
        assert!(!kept.ends(u64::MAX, || unreachable!()));
    }
}
