//! The seeded data set, generated deterministically: users with mutual
//! friends, groups and their members, and expenses with realistic splits.

use mongodb::bson::{oid::ObjectId, DateTime};
use splitlyr::domain::group::Role;
use splitlyr::store::{ExpenseDoc, GroupDoc, MemberDoc, PayerDoc, SplitDoc, UserDoc};

use crate::{Result, DAY_MS, ID_EPOCH_SECS};

// ---------- deterministic randomness ----------

/// SplitMix64: small, fast and deterministic for a given seed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; `n` must be positive.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    pub(crate) fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            xs.swap(i, self.below(i + 1));
        }
    }
}

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

// ---------- the data set ----------

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
pub(crate) const CATEGORIES: [(&str, &[&str]); 7] = [
    (
        "food",
        &[
            "Dinner",
            "Lunch",
            "Groceries",
            "Coffee",
            "Pizza night",
            "Brunch",
        ],
    ),
    (
        "transport",
        &["Taxi", "Train tickets", "Fuel", "Parking", "Bus pass"],
    ),
    (
        "entertainment",
        &["Cinema", "Concert tickets", "Bowling", "Museum"],
    ),
    ("shopping", &["Household supplies", "Gift", "Books"]),
    (
        "utilities",
        &["Electricity bill", "Internet", "Water bill", "Phone plan"],
    ),
    ("travel", &["Hotel", "Flights", "Car rental", "Cabin"]),
    ("other", &["Misc", "Subscription", "Party supplies"]),
];

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

/// With `--concentrate`: the share of expenses in a focus group; the rest are
/// between friends, around a focus user. With 1,000 expenses, 20 focus users
/// and 10 focus groups (the defaults of `scripts/bench.sh`) every member of a
/// focus group ends up with a non-zero balance, and a focus user with 15-20
/// of their 20 friends (all 20 with 100,000 expenses spread over everyone).
pub(crate) const FOCUS_GROUP_SHARE: f64 = 0.2;

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
            UserDoc {
                id: oid(ID_EPOCH_SECS, 1, i as u32),
                name: format!("{first} {last}"),
                email: format!("bench.user{i:05}@example.com"),
                password: password_hash.to_string(),
                profile_image: None,
                phone_number: (i % 3 == 0).then(|| format!("+1555{i:07}")),
                role: "user".into(),
                is_active: true,
                last_login: None,
                friends: Vec::new(),
                pending_friends: Vec::new(),
                friends_out: Vec::new(),
                friends_in: Vec::new(),
                blocked: Vec::new(),
                name_key: Some(splitlyr::domain::text::search_key(&format!(
                    "{first} {last}"
                ))),
                default_currency: None,
                legacy_tokens: None,
                created_at: created,
                updated_at: created,
            }
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

#[derive(Default)]
pub(crate) struct ExpenseStats {
    pub(crate) group: usize,
    pub(crate) friend: usize,
    pub(crate) paid_by_other: usize,
    pub(crate) splits: usize,
    pub(crate) settled_splits: usize,
    pub(crate) settled_expenses: usize,
    pub(crate) weighted: usize,
    pub(crate) non_usd: usize,
}

/// Splits `total` by integer weights, exactly: floor shares, then the
/// leftover units to the largest remainders (earlier splits win ties).
pub(crate) fn apportion(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i64 = weights.iter().sum();
    let mut parts: Vec<i64> = weights.iter().map(|w| total * w / sum).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(total * weights[i] % sum));
    let left = total - parts.iter().sum::<i64>();
    for &i in order.iter().take(left as usize) {
        parts[i] += 1;
    }
    parts
}

/// `count` distinct users from `pool` (which holds no duplicates), always
/// including the users of `must`.
pub(crate) fn choose(rng: &mut Rng, pool: &[usize], must: &[usize], count: usize) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(count);
    for &m in must {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    let mut rest: Vec<usize> = pool.iter().copied().filter(|u| !out.contains(u)).collect();
    rng.shuffle(&mut rest);
    let need = count.saturating_sub(out.len());
    out.extend(rest.into_iter().take(need));
    rng.shuffle(&mut out);
    out
}

/// Half group expenses, half between friends; 30% of creators come from a
/// tenth of the users (heavy users, whose history is many pages long). With
/// `concentrate`, every expense is in a focus group or around a focus user
/// instead (see `FOCUS_GROUP_SHARE`); the rest of the shape is the same.
pub(crate) fn expenses(shape: &Shape, p: &People, now_ms: i64) -> (Vec<ExpenseDoc>, ExpenseStats) {
    let mut rng = Rng::new(shape.seed ^ 0x005E_ED0F_E5E5);
    let n = shape.users;
    let heavy: Vec<usize> = (0..n.div_ceil(10)).map(|i| i * 10 % n).collect();
    let mut stats = ExpenseStats::default();
    let mut out = Vec::with_capacity(shape.expenses);
    let span_ms = 730 * DAY_MS;
    for k in 0..shape.expenses {
        // Who creates it, in which group (if any), and which focus user must
        // share it (a friend expense around a focus user).
        let (creator, group, split_count, focus_user) = if shape.concentrate {
            if rng.chance(FOCUS_GROUP_SHARE) {
                let g = rng.below(shape.focus_groups);
                let creator = *rng.pick(&p.members[g]);
                (creator, Some(g), rng.between(2, 5), None)
            } else {
                let f = rng.below(shape.focus_users);
                let creator = if rng.chance(0.7) {
                    f
                } else {
                    *rng.pick(&p.friends[f])
                };
                (creator, None, rng.between(2, 5), Some(f))
            }
        } else {
            let creator = if rng.chance(0.3) {
                *rng.pick(&heavy)
            } else {
                rng.below(n)
            };
            let in_group = rng.chance(0.5) && !p.groups_of[creator].is_empty();
            let split_count = rng.between(2, 5);
            let group = in_group.then(|| *rng.pick(&p.groups_of[creator]));
            (creator, group, split_count, None)
        };
        let (group, payer, split_users) = if let Some(g) = group {
            let members = &p.members[g];
            let payer = if rng.chance(0.7) {
                creator
            } else {
                *rng.pick(members)
            };
            let must: Vec<usize> = if rng.chance(0.85) {
                vec![payer]
            } else {
                vec![]
            };
            let count = split_count.min(members.len());
            (Some(g), payer, choose(&mut rng, members, &must, count))
        } else {
            let friends = &p.friends[creator];
            let payer = if rng.chance(0.7) {
                creator
            } else {
                *rng.pick(friends)
            };
            let mut pool = friends.clone();
            pool.push(creator);
            // The creator usually shares; the payer (creator or a friend) nearly always.
            let mut must = vec![payer];
            if rng.chance(0.8) {
                must.push(creator);
            }
            // A focus user's friend expense always includes the focus user
            // (a friend of the creator, so in the pool).
            if let Some(f) = focus_user.filter(|f| !must.contains(f)) {
                must.push(f);
            }
            (None, payer, choose(&mut rng, &pool, &must, split_count))
        };
        if payer != creator {
            stats.paid_by_other += 1;
        }
        // $1 to $500, log-uniform: many small expenses, a few large ones.
        let total = (100f64 * 500f64.powf(rng.unit())).round() as i64;
        let currency = if rng.chance(0.05) { "EUR" } else { "USD" };
        let weights: Vec<i64> = if rng.chance(0.25) {
            stats.weighted += 1;
            split_users
                .iter()
                .map(|_| rng.between(1, 4) as i64)
                .collect()
        } else {
            vec![1; split_users.len()]
        };
        let amounts = apportion(total, &weights);
        let date = now_ms - (rng.unit() * span_ms as f64) as i64;
        let created = (date + rng.below(3 * DAY_MS as usize) as i64).min(now_ms);
        let fully_settled = rng.chance(0.10);
        let mut last_settled: Option<i64> = None;
        let split_with: Vec<SplitDoc> = split_users
            .iter()
            .zip(&amounts)
            .enumerate()
            .map(|(j, (&u, &amount))| {
                let settled = u != payer && (fully_settled || rng.chance(0.18));
                let settled_at = settled.then(|| {
                    let at = (created + rng.below(60 * DAY_MS as usize) as i64).min(now_ms);
                    last_settled = Some(last_settled.map_or(at, |l| l.max(at)));
                    DateTime::from_millis(at)
                });
                SplitDoc {
                    id: oid((created / 1000) as u32, 5, (k * 8 + j) as u32),
                    user: p.users[u].id,
                    amount,
                    settled,
                    settled_at,
                    weight: None,
                }
            })
            .collect();
        let is_settled = split_with
            .iter()
            .all(|s| s.settled || s.user == p.users[payer].id);
        let (category, names) = *rng.pick(&CATEGORIES);
        stats.splits += split_with.len();
        stats.settled_splits += split_with.iter().filter(|s| s.settled).count();
        stats.settled_expenses += usize::from(is_settled);
        stats.non_usd += usize::from(currency != "USD");
        if group.is_some() {
            stats.group += 1;
        } else {
            stats.friend += 1;
        }
        let settled_at = is_settled.then(|| DateTime::from_millis(last_settled.unwrap_or(created)));
        let mut e = ExpenseDoc {
            id: oid((created / 1000) as u32, 4, k as u32),
            kind: Default::default(),
            description: rng.pick(names).to_string(),
            amount: total,
            currency: currency.into(),
            created_by: p.users[creator].id,
            paid_by: p.users[payer].id,
            payers: vec![PayerDoc {
                user: p.users[payer].id,
                amount: total,
                weight: None,
            }],
            payers_split_type: None,
            split_type: Default::default(),
            split_with,
            category: category.into(),
            date: DateTime::from_millis(date),
            group: group.map(|g| p.groups[g].id),
            notes: rng
                .chance(0.05)
                .then(|| "Seeded by splitlyr-bench".to_string()),
            is_settled,
            settled_at,
            participants: Vec::new(),
            receipt: None,
            created_at: DateTime::from_millis(created),
            updated_at: settled_at.unwrap_or(DateTime::from_millis(created)),
            version: 1,
        };
        e.refresh_participants();
        out.push(e);
    }
    (out, stats)
}
