//! The users (on a ring of mutual friends) and the groups they form.

use mongodb::bson::DateTime;
use splitlyr::domain::group::Role;
use splitlyr::store::{GroupDoc, MemberDoc, UserDoc};

use super::{oid, Shape};
use crate::rng::Rng;
use crate::ID_EPOCH_SECS;

pub(crate) const FIRST: [&str; 24] = [
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira",
    "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Uma", "Victor",
    "Wen", "Yusuf",
];
pub(crate) const LAST: [&str; 20] = [
    "Adams", "Brown", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen",
    "Khan", "Lopez", "Moreau", "Nowak", "Okafor", "Park", "Rossi", "Silva", "Tanaka", "Weber",
];
pub(crate) const GROUP_KINDS: [&str; 8] = [
    "Flat",
    "Trip",
    "Book club",
    "Climbing",
    "Family",
    "Office lunch",
    "Band",
    "Road trip",
];

pub(crate) struct People {
    pub(crate) users: Vec<UserDoc>,
    /// Friends of each user, by user index.
    pub(crate) friends: Vec<Vec<usize>>,
    pub(crate) groups: Vec<GroupDoc>,
    /// Members of each group, by user index.
    pub(crate) members: Vec<Vec<usize>>,
    /// Groups of each user, by group index.
    pub(crate) groups_of: Vec<Vec<usize>>,
}

/// Users on a shuffled ring, each befriending the `friends / 2` nearest on
/// either side (so everyone has exactly `friends` mutual friends), and groups
/// of 5–10 consecutive ring members (all mutual friends), spread around the
/// ring so that everyone belongs to at least one group when there are enough.
pub(crate) fn people(shape: &Shape, password_hash: &str) -> People {
    let mut rng = Rng::new(shape.seed);
    let n = shape.users;
    let mut ring: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut ring);
    let mut pos = vec![0usize; n];
    for (p, &u) in ring.iter().enumerate() {
        pos[u] = p;
    }
    let half = shape.friends / 2;
    let friends: Vec<Vec<usize>> = (0..n)
        .map(|u| {
            (1..=half)
                .flat_map(|d| [ring[(pos[u] + d) % n], ring[(pos[u] + n - d) % n]])
                .collect()
        })
        .collect();
    let users: Vec<UserDoc> = (0..n)
        .map(|i| {
            let created =
                DateTime::from_millis(i64::from(ID_EPOCH_SECS) * 1000 + i as i64 * 60_000);
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i / FIRST.len()) % LAST.len()];
            UserDoc::new(
                oid(ID_EPOCH_SECS, 1, i as u32),
                format!("{first} {last}"),
                format!("bench.user{i:05}@example.com"),
                password_hash.to_string(),
                (i % 3 == 0).then(|| format!("+1555{i:07}")),
                created,
            )
        })
        .collect();
    let users: Vec<UserDoc> = users
        .iter()
        .enumerate()
        .map(|(i, u)| UserDoc {
            friends: friends[i].iter().map(|&f| users[f].id).collect(),
            ..u.clone()
        })
        .collect();
    let max_size = (half + 1).min(10);
    let mut members = Vec::with_capacity(shape.groups);
    let mut groups_of = vec![Vec::new(); n];
    let groups: Vec<GroupDoc> = (0..shape.groups)
        .map(|g| {
            let start = g * n / shape.groups;
            let size = rng.between(5, max_size);
            let idx: Vec<usize> = (0..size).map(|k| ring[(start + k) % n]).collect();
            for &u in &idx {
                groups_of[u].push(g);
            }
            let created =
                DateTime::from_millis(i64::from(ID_EPOCH_SECS) * 1000 + (n + g) as i64 * 60_000);
            let doc = GroupDoc {
                id: oid(ID_EPOCH_SECS, 2, g as u32),
                name: format!("{} {}", GROUP_KINDS[g % GROUP_KINDS.len()], g + 1),
                description: format!("Benchmark group {} of {size} people", g + 1),
                members: idx
                    .iter()
                    .enumerate()
                    .map(|(k, &u)| MemberDoc {
                        id: oid(ID_EPOCH_SECS, 3, (g * 16 + k) as u32),
                        user: users[u].id,
                        role: if k == 0 { Role::Admin } else { Role::Member },
                        joined_at: created,
                    })
                    .collect(),
                created_by: users[idx[0]].id,
                is_active: true,
                created_at: created,
                updated_at: created,
                // Counted by the server's ledger build at its first start.
                expense_months: Default::default(),
                people: Vec::new(),
                people_complete: false,
                version: 1,
            };
            members.push(idx);
            doc
        })
        .collect();
    People {
        users,
        friends,
        groups,
        members,
        groups_of,
    }
}
