//! The seeded data set, generated deterministically: users with mutual
//! friends, groups and their members, and expenses with realistic splits.
//!
//! [`Shape`] is what to generate; `people` makes the users, their friends and
//! the groups, `expenses` the expenses between them.

use mongodb::bson::oid::ObjectId;

use crate::Result;

mod expenses;
mod people;

pub(crate) use expenses::expenses;
pub(crate) use people::{people, People, FIRST};

/// A deterministic ObjectId: timestamp, a tag per kind of document, a counter.
pub(crate) fn oid(ts_secs: u32, tag: u8, n: u32) -> ObjectId {
    let mut b = [0u8; 12];
    b[..4].copy_from_slice(&ts_secs.to_be_bytes());
    b[4] = 0xBE;
    b[5] = 0x9C;
    b[6] = tag;
    b[8..].copy_from_slice(&n.to_be_bytes());
    ObjectId::from_bytes(b)
}

pub(crate) struct Shape {
    pub(crate) users: usize,
    pub(crate) friends: usize,
    pub(crate) groups: usize,
    pub(crate) expenses: usize,
    pub(crate) seed: u64,
    /// The first `focus_users` users and `focus_groups` groups: the balance
    /// scenarios rotate over them in every database.
    pub(crate) focus_users: usize,
    pub(crate) focus_groups: usize,
    /// Every expense involves a focus user or a focus group.
    pub(crate) concentrate: bool,
}

impl Shape {
    pub(crate) fn check(&self) -> Result<()> {
        if self.users < 12 {
            return Err("--users must be at least 12".into());
        }
        if self.friends < 10 || !self.friends.is_multiple_of(2) || self.friends >= self.users {
            return Err("--friends must be even, at least 10 and below --users".into());
        }
        if self.groups == 0 || self.groups > self.users {
            return Err("--groups must be between 1 and --users".into());
        }
        if self.focus_users == 0 || self.focus_users > self.users {
            return Err("--focus-users must be between 1 and --users".into());
        }
        if self.focus_groups == 0 || self.focus_groups > self.groups {
            return Err("--focus-groups must be between 1 and --groups".into());
        }
        Ok(())
    }
}
