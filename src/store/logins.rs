//! `loginfailures`: failed logins, the lockout that protects an account from
//! password guessing without handing strangers a way to lock its owner out.
//!
//! Failures are counted per pair (email, client) and lock that pair only: a
//! stranger's failures from one address do not keep the owner, on another,
//! out. The email also has a count across all clients, for guessing spread
//! over many addresses (carrier NAT makes per-address limits alone either
//! useless or harmful): past a threshold every attempt on the email is
//! delayed, and only far later is the email locked for everyone.
//!
//! One document per email (`_id` a hash of it) holds both: the email's count
//! and lock, and its clients' counts and locks (at most [`MAX_CLIENTS`], the
//! most recent). So an attempt is one atomic `findAndModify` on one document,
//! as when only emails were counted, shared by every replica; a TTL index on
//! `expiresAt` removes a document once everything in it is forgotten.
//!
//! Every attempt counts as a failure when it is admitted, before the password
//! is checked, so parallel guesses cannot slip past the limits while bcrypt
//! runs; a correct password then forgets its client's failures and takes its
//! own attempt back from the email's count. Unknown emails are counted like
//! known ones, so a lockout reveals nothing about accounts.

use std::net::IpAddr;
use std::time::Duration;

use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use mongodb::options::ReturnDocument;
use mongodb::Collection;
use sha2::{Digest, Sha256};

use super::Store;
use crate::configuration::RateLimitSettings;
use crate::domain::email::Email;
use crate::store::is_duplicate_key;
use crate::store::StoreError;

/// Clients remembered per email, the most recently seen: enough for the
/// owner's few devices; an attacker with more addresses only pushes out the
/// counts of its own oldest ones, and stays under the email's own limits.
pub const MAX_CLIENTS: i32 = 32;

/// A count that locks after `max_failures` failures, each within `window` of
/// the previous one (or of the end of the lock it caused): first for
/// `lockout`, doubled by every further failure up to `max_lockout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max_failures: u32,
    pub window: Duration,
    pub lockout: Duration,
    pub max_lockout: Duration,
}

impl Limit {
    /// The lock set when the `failures`-th failure is admitted.
    pub fn lock_after(&self, failures: u32) -> Option<Duration> {
        let beyond = failures.checked_sub(self.max_failures)?;
        let factor = 1u32 << beyond.min(30);
        Some(self.lockout.saturating_mul(factor).min(self.max_lockout))
    }

    /// The locks of the `max_failures`-th failure, of the next, ... up to the
    /// first that reaches `max_lockout` (which every later failure gets).
    fn locks(&self) -> Vec<Duration> {
        let mut locks = Vec::new();
        for failures in self.max_failures..=u32::MAX {
            let lock = self.lock_after(failures).unwrap_or(self.max_lockout);
            locks.push(lock);
            if lock >= self.max_lockout {
                break;
            }
        }
        locks
    }
}

/// How failed logins are limited: per pair (email, client), and per email
/// across all clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    pub pair: Limit,
    /// Locks the email for everyone; far above the pair's limit.
    pub email: Limit,
    /// From this many earlier failures of the email on, each attempt waits
    /// `delay_step` per failure beyond it, up to `max_delay`.
    pub slow_after: u32,
    pub delay_step: Duration,
    pub max_delay: Duration,
}

impl LoginPolicy {
    /// The configured policy; none when rate limiting is turned off.
    pub fn from_settings(rl: &RateLimitSettings) -> Option<Self> {
        let secs = Duration::from_secs;
        let email_lock = secs(rl.login_email_lockout_seconds);
        rl.enabled.then(|| Self {
            pair: Limit {
                max_failures: rl.login_max_failures,
                window: secs(rl.login_window_seconds),
                lockout: secs(rl.login_lockout_seconds),
                max_lockout: secs(rl.login_lockout_max_seconds),
            },
            email: Limit {
                max_failures: rl.login_email_max_failures,
                window: secs(rl.login_email_window_seconds),
                lockout: email_lock,
                max_lockout: email_lock,
            },
            slow_after: rl.login_email_slow_after,
            delay_step: Duration::from_millis(rl.login_email_delay_ms),
            max_delay: Duration::from_millis(rl.login_email_delay_max_ms),
        })
    }

    /// How long an admitted attempt waits when its email has `failures`
    /// counted, this attempt included.
    pub fn delay(&self, failures: u32) -> Duration {
        let earlier = failures.saturating_sub(1);
        match earlier.checked_sub(self.slow_after) {
            Some(beyond) => self
                .delay_step
                .saturating_mul(beyond.saturating_add(1))
                .min(self.max_delay),
            None => Duration::ZERO,
        }
    }
}

/// Whether a login attempt may check its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// After waiting this long (the email is being guessed at).
    Admitted(Duration),
    /// Refused without looking at the password, for this long: the longest
    /// lock that applies (the pair's, the email's).
    Locked(Duration),
}

/// The document's key: a hash of the normalised email, so its size is fixed
/// whatever the client sends and the collection holds no addresses.
fn key(email: &Email) -> String {
    format!("{:x}", Sha256::digest(email.as_str().as_bytes()))
}

/// The client as the lockout counts it: an IPv4 address, or an IPv6 /64
/// (what one host or household gets: counting single IPv6 addresses would
/// give one machine billions of fresh counts). At most 24 characters.
pub fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The lock the count `failures` (a field path) sets at `now` under `limit`,
/// or null below its threshold.
fn lock_expr(now: DateTime, failures: &str, limit: &Limit) -> Bson {
    let max = i64::from(limit.max_failures);
    let locks: Vec<i64> = limit.locks().into_iter().map(ms).collect();
    let last = i64::try_from(locks.len()).unwrap_or(1) - 1;
    let lock_ms = doc! { "$arrayElemAt": [
        locks,
        { "$min": [{ "$subtract": [failures, max] }, last] },
    ] };
    Bson::Document(doc! { "$cond": [
        { "$gte": [failures, max] },
        { "$add": [now, lock_ms] },
        Bson::Null,
    ] })
}

/// The update of one attempt by `client` at `now`, as an aggregation
/// pipeline so that reading the state and changing it are one atomic step.
/// `token` marks the document when the attempt is admitted. Temporary
/// fields start with `_`; `_c` is this client's entry (`{}` if none).
fn attempt(now: DateTime, token: ObjectId, client: &str, policy: &LoginPolicy) -> Vec<Document> {
    let clients = doc! { "$ifNull": ["$clients", []] };
    let this_client = doc! { "$eq": ["$$this.c", { "$literal": client }] };
    let keep = |then: &str, otherwise: Bson| doc! { "$cond": ["$_refused", then, otherwise] };
    vec![
        doc! { "$set": {
            "_c": { "$ifNull": [
                { "$arrayElemAt": [{ "$filter": { "input": &clients, "cond": &this_client } }, 0] },
                {},
            ] },
            "_others": { "$filter": { "input": &clients, "cond": { "$and": [
                { "$not": [&this_client] },
                { "$gt": ["$$this.expiresAt", now] },
            ] } } },
            // Documents of earlier releases have no `emailExpiresAt`.
            "_live": { "$gt": [{ "$ifNull": ["$emailExpiresAt", "$expiresAt"] }, now] },
        } },
        doc! { "$set": {
            "_cLive": { "$gt": ["$_c.expiresAt", now] },
            "_locked": { "$and": ["$_live", { "$gt": ["$lockedUntil", now] }] },
            "_cLocked": { "$and": [
                { "$gt": ["$_c.expiresAt", now] },
                { "$gt": ["$_c.lockedUntil", now] },
            ] },
        } },
        doc! { "$set": { "_refused": { "$or": ["$_locked", "$_cLocked"] } } },
        doc! { "$set": {
            "failures": keep("$failures", doc! { "$cond": [
                "$_live", { "$add": [{ "$ifNull": ["$failures", 0_i64] }, 1_i64] }, 1_i64,
            ] }.into()),
            "_cf": keep("$_c.failures", doc! { "$cond": [
                "$_cLive", { "$add": ["$_c.failures", 1_i64] }, 1_i64,
            ] }.into()),
            "admission": keep("$admission", token.into()),
        } },
        doc! { "$set": {
            "lockedUntil": keep("$lockedUntil", lock_expr(now, "$failures", &policy.email)),
            "_cl": keep("$_c.lockedUntil", lock_expr(now, "$_cf", &policy.pair)),
        } },
        doc! { "$set": {
            "emailExpiresAt": keep(
                "$emailExpiresAt",
                doc! { "$add": [{ "$max": [now, "$lockedUntil"] }, ms(policy.email.window)] }.into(),
            ),
            "_ce": keep(
                "$_c.expiresAt",
                doc! { "$add": [{ "$max": [now, "$_cl"] }, ms(policy.pair.window)] }.into(),
            ),
        } },
        doc! { "$set": { "clients": { "$cond": ["$_refused", &clients, { "$slice": [
            { "$concatArrays": ["$_others", [{
                "c": { "$literal": client },
                "failures": "$_cf",
                "lockedUntil": "$_cl",
                "expiresAt": "$_ce",
            }]] },
            -MAX_CLIENTS,
        ] }] } } },
        // Kept until everything in it is forgotten.
        doc! { "$set": { "expiresAt": keep("$expiresAt", doc! { "$reduce": {
            "input": "$clients",
            "initialValue": "$emailExpiresAt",
            "in": { "$max": ["$$value", "$$this.expiresAt"] },
        } }.into()) } },
        doc! { "$unset": [
            "_c", "_others", "_live", "_cLive", "_locked", "_cLocked", "_refused", "_cf", "_cl",
            "_ce",
        ] },
    ]
}

/// The longest lock of the email or of `client` that holds at `now`.
fn lock_left(state: &Document, client: &str, now: DateTime) -> Option<Duration> {
    let left = |d: Option<DateTime>| {
        d.map(|d| d.timestamp_millis() - now.timestamp_millis())
            .filter(|ms| *ms > 0)
    };
    let email_live = state
        .get_datetime("emailExpiresAt")
        .or_else(|_| state.get_datetime("expiresAt"))
        .is_ok_and(|d| *d > now);
    let email = left(state.get_datetime("lockedUntil").ok().copied()).filter(|_| email_live);
    let pair = state
        .get_array("clients")
        .into_iter()
        .flatten()
        .filter_map(Bson::as_document)
        .find(|c| c.get_str("c") == Ok(client))
        .filter(|c| c.get_datetime("expiresAt").is_ok_and(|d| *d > now))
        .and_then(|c| left(c.get_datetime("lockedUntil").ok().copied()));
    email
        .max(pair)
        .map(|ms| Duration::from_millis(ms.unsigned_abs()))
}

/// What the document after an attempt says about that attempt.
fn admission(
    after: &Document,
    token: ObjectId,
    client: &str,
    now: DateTime,
    policy: &LoginPolicy,
) -> Admission {
    if after.get_object_id("admission").ok() == Some(token) {
        let failures = after.get_i64("failures").unwrap_or(1);
        return Admission::Admitted(policy.delay(u32::try_from(failures).unwrap_or(u32::MAX)));
    }
    Admission::Locked(lock_left(after, client, now).unwrap_or_default())
}

impl Store {
    fn login_failures(&self) -> Collection<Document> {
        self.db.collection("loginfailures")
    }

    /// Counts a login attempt for `email` from `client`, unless the pair or
    /// the email is locked.
    #[tracing::instrument(name = "admit_login", skip_all)]
    pub async fn admit_login(
        &self,
        email: &Email,
        client: IpAddr,
        policy: &LoginPolicy,
    ) -> Result<Admission, StoreError> {
        let token = ObjectId::new();
        let now = DateTime::now();
        let client = client_key(client);
        let filter = doc! { "_id": key(email) };
        // Two first attempts at once may both try to insert: the loser retries
        // and finds the winner's document.
        let mut retried = false;
        let after = loop {
            let result = self
                .login_failures()
                .find_one_and_update(filter.clone(), attempt(now, token, &client, policy))
                .upsert(true)
                .return_document(ReturnDocument::After)
                .await;
            match result {
                Err(e) if is_duplicate_key(&e) && !retried => retried = true,
                other => break other?,
            }
        };
        let admitted = after.map_or(Admission::Admitted(Duration::ZERO), |d| {
            admission(&d, token, &client, now, policy)
        });
        if let Admission::Locked(_) = admitted {
            tracing::info!(client = %client, "login refused: too many failed attempts for this email");
        }
        Ok(admitted)
    }

    /// How long a lock would still refuse `email` from `client`, without
    /// counting anything (for an attempt refused by another limit first).
    pub async fn login_lock_left(
        &self,
        email: &Email,
        client: IpAddr,
    ) -> Result<Option<Duration>, StoreError> {
        let state = self
            .login_failures()
            .find_one(doc! { "_id": key(email) })
            .await?;
        Ok(state.and_then(|s| lock_left(&s, &client_key(client), DateTime::now())))
    }

    /// `client` just gave the right password for `email`: its failures are
    /// forgotten and its attempt no longer counts for the email. The other
    /// clients' failures stay (they proved nothing).
    pub async fn forget_login_failures(
        &self,
        email: &Email,
        client: IpAddr,
    ) -> Result<(), StoreError> {
        let client = client_key(client);
        let update = vec![doc! { "$set": {
            "clients": { "$filter": {
                "input": { "$ifNull": ["$clients", []] },
                "cond": { "$ne": ["$$this.c", { "$literal": &client }] },
            } },
            "failures": { "$max": [0_i64, { "$subtract": [{ "$ifNull": ["$failures", 0_i64] }, 1_i64] }] },
        } }];
        self.login_failures()
            .update_one(doc! { "_id": key(email) }, update)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "logins_tests.rs"]
mod tests;
