//! `loginfailures`: failed logins per email, the lockout that protects an
//! account from password guessing from many addresses (carrier NAT makes
//! per-address limits either useless or harmful). One document per email,
//! shared by every replica and changed by one atomic `findAndModify` per
//! attempt; a TTL index on `expiresAt` removes forgotten ones.
//!
//! Every attempt counts as a failure when it is admitted, before the password
//! is checked, so parallel guesses cannot slip past the limit while bcrypt
//! runs; a correct password then deletes the document. Unknown emails are
//! counted like known ones, so a lockout reveals nothing about accounts.

use std::time::Duration;

use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use mongodb::options::ReturnDocument;
use mongodb::Collection;
use sha2::{Digest, Sha256};

use super::Store;
use crate::configuration::RateLimitSettings;
use crate::domain::email::Email;
use crate::error::is_duplicate_key;

/// How many failures lock an email, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    pub max_failures: u32,
    /// A failure is forgotten this long after the last one, or after the end
    /// of the lock it caused.
    pub window: Duration,
    /// The first lock; each further failure doubles it, up to `max_lockout`.
    pub lockout: Duration,
    pub max_lockout: Duration,
}

impl LoginPolicy {
    /// The configured policy; none when rate limiting is turned off.
    pub fn from_settings(rl: &RateLimitSettings) -> Option<Self> {
        rl.enabled.then(|| Self {
            max_failures: rl.login_max_failures,
            window: Duration::from_secs(rl.login_window_seconds),
            lockout: Duration::from_secs(rl.login_lockout_seconds),
            max_lockout: Duration::from_secs(rl.login_lockout_max_seconds),
        })
    }

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

/// Whether a login attempt may check its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// Refused without looking at the password, for this long.
    Locked(Duration),
}

/// The document's key: a hash of the normalised email, so its size is fixed
/// whatever the client sends and the collection holds no addresses.
fn key(email: &Email) -> String {
    format!("{:x}", Sha256::digest(email.as_str().as_bytes()))
}

/// The update of one attempt at `now`, as an aggregation pipeline so that
/// reading the state and changing it are one atomic step. `token` marks the
/// document when the attempt is admitted.
fn attempt(now: DateTime, token: ObjectId, policy: &LoginPolicy) -> Vec<Document> {
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let max = i64::from(policy.max_failures);
    let locks: Vec<i64> = policy.locks().into_iter().map(ms).collect();
    let last = i64::try_from(locks.len()).unwrap_or(1) - 1;
    let lock_ms = doc! { "$arrayElemAt": [
        locks,
        { "$min": [{ "$subtract": ["$failures", max] }, last] },
    ] };
    vec![
        doc! { "$set": {
            "_live": { "$gt": ["$expiresAt", now] },
            "_locked": { "$and": [
                { "$gt": ["$expiresAt", now] },
                { "$gt": ["$lockedUntil", now] },
            ] },
        } },
        doc! { "$set": {
            "failures": { "$cond": ["$_locked", "$failures",
                { "$cond": ["$_live", { "$add": ["$failures", 1_i64] }, 1_i64] }] },
            "admission": { "$cond": ["$_locked", "$admission", token] },
        } },
        doc! { "$set": {
            "lockedUntil": { "$cond": ["$_locked", "$lockedUntil",
                { "$cond": [{ "$gte": ["$failures", max] }, { "$add": [now, lock_ms] }, Bson::Null] }] },
        } },
        doc! { "$set": {
            "expiresAt": { "$cond": ["$_locked", "$expiresAt",
                { "$add": [{ "$max": [now, "$lockedUntil"] }, ms(policy.window)] }] },
        } },
        doc! { "$unset": ["_live", "_locked"] },
    ]
}

/// What the document after an attempt says about that attempt.
fn admission(after: &Document, token: ObjectId, now: DateTime) -> Admission {
    if after.get_object_id("admission").ok() == Some(token) {
        return Admission::Admitted;
    }
    let until = after
        .get_datetime("lockedUntil")
        .map_or(0, |d| d.timestamp_millis());
    let left = until.saturating_sub(now.timestamp_millis()).max(0);
    Admission::Locked(Duration::from_millis(left.unsigned_abs()))
}

impl Store {
    fn login_failures(&self) -> Collection<Document> {
        self.db.collection("loginfailures")
    }

    /// Counts a login attempt for `email`, unless the email is locked.
    #[tracing::instrument(name = "admit_login", skip_all)]
    pub async fn admit_login(
        &self,
        email: &Email,
        policy: &LoginPolicy,
    ) -> mongodb::error::Result<Admission> {
        let token = ObjectId::new();
        let now = DateTime::now();
        let filter = doc! { "_id": key(email) };
        // Two first attempts at once may both try to insert: the loser retries
        // and finds the winner's document.
        let mut retried = false;
        let after = loop {
            let result = self
                .login_failures()
                .find_one_and_update(filter.clone(), attempt(now, token, policy))
                .upsert(true)
                .return_document(ReturnDocument::After)
                .await;
            match result {
                Err(e) if is_duplicate_key(&e) && !retried => retried = true,
                other => break other?,
            }
        };
        let admitted = after.map_or(Admission::Admitted, |d| admission(&d, token, now));
        if let Admission::Locked(_) = admitted {
            tracing::info!("login refused: too many failed attempts for this email");
        }
        Ok(admitted)
    }

    /// Forgets the failures of `email` (its password was just given right).
    pub async fn forget_login_failures(&self, email: &Email) -> mongodb::error::Result<()> {
        self.login_failures()
            .delete_one(doc! { "_id": key(email) })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LoginPolicy {
        LoginPolicy {
            max_failures: 5,
            window: Duration::from_secs(900),
            lockout: Duration::from_secs(60),
            max_lockout: Duration::from_secs(3600),
        }
    }

    #[test]
    fn locks_start_at_the_limit_and_double_up_to_the_maximum() {
        let p = policy();
        let secs = |n| p.lock_after(n).map(|d| d.as_secs());
        assert_eq!(secs(1), None);
        assert_eq!(secs(4), None);
        assert_eq!(secs(5), Some(60));
        assert_eq!(secs(6), Some(120));
        assert_eq!(secs(10), Some(1920));
        assert_eq!(secs(11), Some(3600));
        assert_eq!(secs(u32::MAX), Some(3600));
        let table: Vec<u64> = p.locks().iter().map(Duration::as_secs).collect();
        assert_eq!(table, [60, 120, 240, 480, 960, 1920, 3600]);
        let flat = LoginPolicy {
            lockout: p.max_lockout,
            ..p
        };
        assert_eq!(flat.locks(), [p.max_lockout]);
    }

    #[test]
    fn keys_are_fixed_size_hashes_of_the_normalised_email() {
        let a = key(&Email::parse(" Al@Example.com").unwrap());
        assert_eq!(a, key(&Email::parse("al@example.com").unwrap()));
        assert_eq!(a.len(), 64);
        assert!(!a.contains("example"));
        let long = format!("{}@example.com", "a".repeat(240));
        assert_eq!(key(&Email::parse(&long).unwrap()).len(), 64);
    }

    #[test]
    fn an_attempt_is_admitted_only_when_it_marked_the_document() {
        let now = DateTime::from_millis(1_000_000);
        let mine = ObjectId::new();
        let admitted = doc! { "admission": mine, "lockedUntil": DateTime::from_millis(1_060_000) };
        assert_eq!(admission(&admitted, mine, now), Admission::Admitted);
        let locked =
            doc! { "admission": ObjectId::new(), "lockedUntil": DateTime::from_millis(1_002_500) };
        assert_eq!(
            admission(&locked, mine, now),
            Admission::Locked(Duration::from_millis(2500))
        );
    }
}
