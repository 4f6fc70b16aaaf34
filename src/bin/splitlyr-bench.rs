//! `splitlyr-bench`: the helper binary of `scripts/bench.sh`.
//!
//! - `seed`: writes a realistic data set straight into MongoDB (users with
//!   mutual friends, groups, expenses) with the server's own document types,
//!   and a Lua data file for wrk (ids, tokens, a friend, a group, and the
//!   focus users and groups that the balance scenarios rotate over). With
//!   `--concentrate` every expense involves a focus user or a focus group, so
//!   a small history gives them as many non-zero balances as a long one.
//! - `bcrypt-rate`: the raw bcrypt verification rate on all cores.
//! - `free-port`: a free loopback TCP port.
//! - `report`: turns a run directory into `latest.json` and `latest.md`.
//!
//! Nothing here is used by the server; it only shares its types.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use mongodb::bson::{oid::ObjectId, DateTime};
use secrecy::SecretString;
use serde_json::{json, Value};
use splitlyr::auth::JwtKeys;
use splitlyr::configuration::{get_configuration, DatabaseSettings};
#[path = "splitlyr-bench/legacy.rs"]
mod legacy;

use splitlyr::store::{ExpenseDoc, GroupDoc, MemberDoc, PayerDoc, SplitDoc, Store, UserDoc};

type BoxError = Box<dyn Error + Send + Sync>;
type Result<T> = std::result::Result<T, BoxError>;

/// The password every seeded user has (also written into the Lua data file).
const PASSWORD: &str = "bench-Passw0rd!";
/// ObjectId timestamp of seeded users and groups: fixed, so that two databases
/// seeded with the same shape have the same ids (one data file fits both).
const ID_EPOCH_SECS: u32 = 1_700_000_000;
const DAY_MS: i64 = 86_400_000;

const USAGE: &str = "usage:
  splitlyr-bench seed --db-uri URI --db-name NAME --jwt-secret SECRET --out DIR
                      [--users 1000] [--friends 20] [--groups 200] [--expenses 100000]
                      [--focus-users 20] [--focus-groups 10] [--concentrate] [--legacy]
                      [--seed 42] [--batch 2000] [--bcrypt-cost C] [--drop]
  splitlyr-bench bcrypt-rate [--cost C] [--seconds 5] [--threads N] [--json]
  splitlyr-bench free-port
  splitlyr-bench report --run DIR --out DIR

The focus users are the first --focus-users users, the focus groups the first
--focus-groups groups (the same ids in every database of the same shape). With
--concentrate all expenses are theirs: group expenses only in the focus groups,
friend expenses only created by a focus user or by a friend with a focus user.

--bcrypt-cost / --cost default to auth.bcrypt_cost of the configuration the
server would load (APP_ENVIRONMENT, APP_CONFIG_DIR and the variables).";

#[tokio::main]
async fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = argv.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let args = match Args::parse(rest) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("splitlyr-bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command.as_str() {
        "seed" => seed(&args).await,
        "bcrypt-rate" => bcrypt_rate(&args),
        "free-port" => free_port(),
        "report" => report(&args),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}").into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("splitlyr-bench {command}: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------- arguments ----------

struct Args {
    values: HashMap<String, String>,
    flags: Vec<String>,
}

impl Args {
    const FLAGS: [&'static str; 4] = ["drop", "json", "concentrate", "legacy"];

    fn parse(raw: &[String]) -> Result<Self> {
        let mut values = HashMap::new();
        let mut flags = Vec::new();
        let mut it = raw.iter();
        while let Some(arg) = it.next() {
            let name = arg
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {arg:?}"))?;
            if let Some((k, v)) = name.split_once('=') {
                values.insert(k.to_string(), v.to_string());
            } else if Self::FLAGS.contains(&name) {
                flags.push(name.to_string());
            } else {
                let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                values.insert(name.to_string(), value.clone());
            }
        }
        Ok(Self { values, flags })
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    fn required(&self, name: &str) -> Result<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("--{name} is required").into())
    }

    fn get<T: FromStr>(&self, name: &str) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        self.values
            .get(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|e| BoxError::from(format!("--{name} {v:?}: {e}")))
            })
            .transpose()
    }

    fn get_or<T: FromStr>(&self, name: &str, default: T) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        Ok(self.get(name)?.unwrap_or(default))
    }
}

/// `--name` if given, else `auth.bcrypt_cost` of the configuration the server would load.
fn bcrypt_cost(args: &Args, name: &str) -> Result<u32> {
    if let Some(cost) = args.get::<u32>(name)? {
        return Ok(cost);
    }
    get_configuration()
        .map(|s| s.auth.bcrypt_cost)
        .map_err(|e| format!("pass --{name} or a loadable configuration: {e}").into())
}

// ---------- deterministic randomness ----------

/// SplitMix64: small, fast and deterministic for a given seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; `n` must be positive.
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            xs.swap(i, self.below(i + 1));
        }
    }
}

/// A deterministic ObjectId: timestamp, a tag per kind of document, a counter.
fn oid(ts_secs: u32, tag: u8, n: u32) -> ObjectId {
    let mut b = [0u8; 12];
    b[..4].copy_from_slice(&ts_secs.to_be_bytes());
    b[4] = 0xBE;
    b[5] = 0x9C;
    b[6] = tag;
    b[8..].copy_from_slice(&n.to_be_bytes());
    ObjectId::from_bytes(b)
}

// ---------- the data set ----------

const FIRST: [&str; 24] = [
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira",
    "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Uma", "Victor",
    "Wen", "Yusuf",
];
const LAST: [&str; 20] = [
    "Adams", "Brown", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen",
    "Khan", "Lopez", "Moreau", "Nowak", "Okafor", "Park", "Rossi", "Silva", "Tanaka", "Weber",
];
const GROUP_KINDS: [&str; 8] = [
    "Flat",
    "Trip",
    "Book club",
    "Climbing",
    "Family",
    "Office lunch",
    "Band",
    "Road trip",
];
const CATEGORIES: [(&str, &[&str]); 7] = [
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

struct Shape {
    users: usize,
    friends: usize,
    groups: usize,
    expenses: usize,
    seed: u64,
    /// The first `focus_users` users and `focus_groups` groups: the balance
    /// scenarios rotate over them in every database.
    focus_users: usize,
    focus_groups: usize,
    /// Every expense involves a focus user or a focus group.
    concentrate: bool,
}

/// With `--concentrate`: the share of expenses in a focus group; the rest are
/// between friends, around a focus user. With 1,000 expenses, 20 focus users
/// and 10 focus groups (the defaults of `scripts/bench.sh`) every member of a
/// focus group ends up with a non-zero balance, and a focus user with 15-20
/// of their 20 friends (all 20 with 100,000 expenses spread over everyone).
const FOCUS_GROUP_SHARE: f64 = 0.2;

impl Shape {
    fn check(&self) -> Result<()> {
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

struct People {
    users: Vec<UserDoc>,
    /// Friends of each user, by user index.
    friends: Vec<Vec<usize>>,
    groups: Vec<GroupDoc>,
    /// Members of each group, by user index.
    members: Vec<Vec<usize>>,
    /// Groups of each user, by group index.
    groups_of: Vec<Vec<usize>>,
}

/// Users on a shuffled ring, each befriending the `friends / 2` nearest on
/// either side (so everyone has exactly `friends` mutual friends), and groups
/// of 5–10 consecutive ring members (all mutual friends), spread around the
/// ring so that everyone belongs to at least one group when there are enough.
fn people(shape: &Shape, password_hash: &str) -> People {
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
                        role: if k == 0 { "admin" } else { "member" }.into(),
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
struct ExpenseStats {
    group: usize,
    friend: usize,
    paid_by_other: usize,
    splits: usize,
    settled_splits: usize,
    settled_expenses: usize,
    weighted: usize,
    non_usd: usize,
}

/// Splits `total` by integer weights, exactly: floor shares, then the
/// leftover units to the largest remainders (earlier splits win ties).
fn apportion(total: i64, weights: &[i64]) -> Vec<i64> {
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
fn choose(rng: &mut Rng, pool: &[usize], must: &[usize], count: usize) -> Vec<usize> {
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
fn expenses(shape: &Shape, p: &People, now_ms: i64) -> (Vec<ExpenseDoc>, ExpenseStats) {
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
            description: rng.pick(names).to_string(),
            amount: total,
            currency: currency.into(),
            created_by: p.users[creator].id,
            paid_by: p.users[payer].id,
            payers: vec![PayerDoc {
                user: p.users[payer].id,
                amount: total,
            }],
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
            created_at: DateTime::from_millis(created),
            updated_at: settled_at.unwrap_or(DateTime::from_millis(created)),
            version: 1,
        };
        e.refresh_participants();
        out.push(e);
    }
    (out, stats)
}

/// Average, minimum and maximum of some counts.
fn spread(xs: &[usize]) -> Value {
    json!({
        "avg": ratio(xs.iter().sum::<usize>() as f64, xs.len() as f64),
        "min": xs.iter().min(),
        "max": xs.iter().max(),
    })
}

/// What the balance endpoints find for some users and groups in the seeded
/// data, computed like the server's ledger (unsettled splits of someone other
/// than the payer, per pair or group member and currency, zero nets dropped):
/// `friend_balances`, the entries of `GET /v1/users/balances` (friends with a
/// non-zero balance); `counterparties` and `ledger_rows`, the non-zero pair
/// documents that request reads (with non-friends, per currency);
/// `nonzero_members` and `group_ledger_rows` for `GET
/// /v1/expenses/group/:id/balance` (whose response lists every member).
fn balance_shape(p: &People, expenses: &[ExpenseDoc], users: &[usize], groups: &[usize]) -> Value {
    let index: HashMap<ObjectId, usize> =
        p.users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let group_index: HashMap<ObjectId, usize> = p
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.id, i))
        .collect();
    let mut pairs: HashMap<(usize, usize, &str), i64> = HashMap::new();
    let mut members: HashMap<(usize, usize, &str), i64> = HashMap::new();
    for e in expenses {
        let payer = index[&e.paid_by];
        for s in e
            .split_with
            .iter()
            .filter(|s| !s.settled && s.user != e.paid_by)
        {
            let debtor = index[&s.user];
            let (a, b, inc) = if payer < debtor {
                (payer, debtor, s.amount)
            } else {
                (debtor, payer, -s.amount)
            };
            *pairs.entry((a, b, e.currency.as_str())).or_default() += inc;
            if let Some(g) = e.group {
                let g = group_index[&g];
                *members.entry((g, payer, e.currency.as_str())).or_default() += s.amount;
                *members.entry((g, debtor, e.currency.as_str())).or_default() -= s.amount;
            }
        }
    }
    let mut rows_of: Vec<usize> = vec![0; p.users.len()];
    let mut with: Vec<BTreeSet<usize>> = vec![Default::default(); p.users.len()];
    for (&(a, b, _), _) in pairs.iter().filter(|(_, &net)| net != 0) {
        rows_of[a] += 1;
        rows_of[b] += 1;
        with[a].insert(b);
        with[b].insert(a);
    }
    let mut member_rows: Vec<usize> = vec![0; p.groups.len()];
    let mut nonzero: Vec<BTreeSet<usize>> = vec![Default::default(); p.groups.len()];
    for (&(g, u, _), _) in members.iter().filter(|(_, &net)| net != 0) {
        member_rows[g] += 1;
        nonzero[g].insert(u);
    }
    let pick =
        |xs: &[usize], of: &dyn Fn(usize) -> usize| xs.iter().map(|&i| of(i)).collect::<Vec<_>>();
    json!({
        "users": users.len(),
        "friend_balances": spread(&pick(users, &|u| p.friends[u].iter().filter(|f| with[u].contains(f)).count())),
        "counterparties": spread(&pick(users, &|u| with[u].len())),
        "ledger_rows": spread(&pick(users, &|u| rows_of[u])),
        "groups": groups.len(),
        "group_members": spread(&pick(groups, &|g| p.members[g].len())),
        "nonzero_members": spread(&pick(groups, &|g| nonzero[g].len())),
        "group_ledger_rows": spread(&pick(groups, &|g| member_rows[g])),
    })
}

fn lua_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{b:03}");
                }
            }
        }
    }
    out.push('"');
    out
}

/// Expenses a user may edit (created by them, open) and splits they owe
/// (open, not the payer's), for the edit and settle scenarios.
#[derive(Default)]
struct EditTargets {
    own: Vec<ObjectId>,
    owe: Vec<ObjectId>,
}

const OWN_PER_USER: usize = 5;
const OWE_PER_USER: usize = 40;

fn edit_targets(expenses: &[ExpenseDoc]) -> HashMap<ObjectId, EditTargets> {
    let mut targets: HashMap<ObjectId, EditTargets> = HashMap::new();
    for e in expenses.iter().filter(|e| !e.is_settled) {
        let own = &mut targets.entry(e.created_by).or_default().own;
        if own.len() < OWN_PER_USER {
            own.push(e.id);
        }
        for split in e
            .split_with
            .iter()
            .filter(|s| !s.settled && s.user != e.paid_by)
        {
            let owe = &mut targets.entry(split.user).or_default().owe;
            if owe.len() < OWE_PER_USER {
                owe.push(e.id);
            }
        }
    }
    targets
}

/// The wrk data file: `return { password = ..., users = { {id=..., token=..., ...}, ... },
/// focus_users = { 1, 2, ... }, focus_groups = { {id=..., members={...}}, ... } }`
/// (focus users and group members as 1-based indices into `users`).
fn lua_data(
    p: &People,
    keys: &JwtKeys,
    counts: &HashMap<ObjectId, usize>,
    edits: &HashMap<ObjectId, EditTargets>,
    shape: &Shape,
) -> Result<String> {
    let mut s = String::new();
    s.push_str("-- Generated by `splitlyr-bench seed`: benchmark users, tokens and relations.\n");
    let _ = writeln!(
        s,
        "return {{\npassword = {},\nusers = {{",
        lua_str(PASSWORD)
    );
    for (i, u) in p.users.iter().enumerate() {
        let token = keys.issue(u.id)?;
        let friend = p.users[p.friends[i][0]].id.to_hex();
        let (group_id, mates) = match p.groups_of[i].first() {
            Some(&g) => (
                lua_str(&p.groups[g].id.to_hex()),
                p.members[g]
                    .iter()
                    .filter(|&&m| m != i)
                    .map(|&m| lua_str(&p.users[m].id.to_hex()))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            None => ("nil".to_string(), String::new()),
        };
        let targets = edits.get(&u.id);
        let ids = |list: Option<&Vec<ObjectId>>| {
            list.into_iter()
                .flatten()
                .map(|id| lua_str(&id.to_hex()))
                .collect::<Vec<_>>()
                .join(",")
        };
        let _ = writeln!(
            s,
            "{{id={},token={},email={},friend={},group={},groupmates={{{}}},expenses={},own={{{}}},owe={{{}}}}},",
            lua_str(&u.id.to_hex()),
            lua_str(&token),
            lua_str(&u.email),
            lua_str(&friend),
            group_id,
            mates,
            counts.get(&u.id).copied().unwrap_or(0),
            ids(targets.map(|t| &t.own)),
            ids(targets.map(|t| &t.owe)),
        );
    }
    s.push_str("},\nfocus_users = {");
    let focus: Vec<String> = (1..=shape.focus_users).map(|i| i.to_string()).collect();
    s.push_str(&focus.join(","));
    s.push_str("},\nfocus_groups = {\n");
    for g in 0..shape.focus_groups {
        let members: Vec<String> = p.members[g].iter().map(|m| (m + 1).to_string()).collect();
        let _ = writeln!(
            s,
            "{{id={},members={{{}}}}},",
            lua_str(&p.groups[g].id.to_hex()),
            members.join(",")
        );
    }
    s.push_str("}\n}\n");
    Ok(s)
}

async fn seed(args: &Args) -> Result<()> {
    let started = Instant::now();
    let shape = Shape {
        users: args.get_or("users", 1000)?,
        friends: args.get_or("friends", 20)?,
        groups: args.get_or("groups", 200)?,
        expenses: args.get_or("expenses", 100_000)?,
        seed: args.get_or("seed", 42)?,
        focus_users: args.get_or("focus-users", 20)?,
        focus_groups: args.get_or("focus-groups", 10)?,
        concentrate: args.flag("concentrate"),
    };
    shape.check()?;
    let batch: usize = args.get_or("batch", 2000)?;
    if batch == 0 {
        return Err("--batch must be positive".into());
    }
    let out = PathBuf::from(args.required("out")?);
    let secret = SecretString::from(args.required("jwt-secret")?.to_string());
    let keys = JwtKeys::new(&secret, "2d")?;
    let cost = bcrypt_cost(args, "bcrypt-cost")?;
    let settings = DatabaseSettings {
        uri: SecretString::from(args.required("db-uri")?.to_string()),
        name: args.required("db-name")?.to_string(),
        server_selection_timeout_ms: 10_000,
        health_timeout_ms: 1000,
        max_pool_size: 8,
        upgrade_batch_size: 500,
        write_concern: "majority".into(),
        journal: true,
    };
    let store = Store::connect(&settings, None).await?;
    let db = store.database();
    if args.flag("drop") {
        db.drop().await?;
    } else if !db.list_collection_names().await?.is_empty() {
        return Err(format!(
            "database {} is not empty (pass --drop to replace it)",
            settings.name
        )
        .into());
    }

    let hash_started = Instant::now();
    let hash = bcrypt::hash(PASSWORD, cost)?;
    let hash_ms = hash_started.elapsed().as_millis();
    let p = people(&shape, &hash);
    let now_ms = DateTime::now().timestamp_millis();
    let (expenses, stats) = expenses(&shape, &p, now_ms);
    let mut counts: HashMap<ObjectId, usize> = HashMap::new();
    for e in &expenses {
        for u in &e.participants {
            *counts.entry(*u).or_default() += 1;
        }
    }

    let insert_started = Instant::now();
    db.collection::<UserDoc>("users")
        .insert_many(&p.users)
        .await?;
    db.collection::<GroupDoc>("groups")
        .insert_many(&p.groups)
        .await?;
    let legacy = args.flag("legacy");
    let coll = db.collection::<mongodb::bson::Document>("expenses");
    let total = expenses.len();
    let mut done = 0usize;
    let mut last_report = Instant::now();
    let mut inserts = futures_util::stream::iter(expenses.chunks(batch))
        .map(|chunk| {
            let coll = coll.clone();
            async move {
                let docs = chunk
                    .iter()
                    .map(|e| {
                        if legacy {
                            Ok(legacy::expense(e))
                        } else {
                            mongodb::bson::to_document(e)
                        }
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                coll.insert_many(docs).ordered(false).await?;
                Ok::<usize, BoxError>(chunk.len())
            }
        })
        .buffer_unordered(2);
    while let Some(n) = inserts.try_next().await? {
        done += n;
        if last_report.elapsed() > Duration::from_secs(5) || done == total {
            eprintln!("splitlyr-bench seed: {done}/{total} expenses inserted");
            last_report = Instant::now();
        }
    }
    if legacy {
        db.collection::<mongodb::bson::Document>("users")
            .update_many(
                mongodb::bson::doc! {},
                mongodb::bson::doc! { "$set": { "profileImage": splitlyr::store::upgrade::OLD_PLACEHOLDER_IMAGE, "phoneNumber": "", "__v": 0 } },
            )
            .await?;
    } else {
        // These are Splitlyr's documents: record their schema, so the first
        // start builds the ledger without running the upgrade from the old
        // server's.
        db.collection::<mongodb::bson::Document>("meta")
            .insert_one(mongodb::bson::doc! {
                "_id": "schema",
                "version": splitlyr::store::upgrade::SCHEMA_VERSION,
            })
            .await?;
    }
    let insert_s = insert_started.elapsed().as_secs_f64();

    std::fs::create_dir_all(&out)?;
    let edits = edit_targets(&expenses);
    std::fs::write(
        out.join("users.lua"),
        lua_data(&p, &keys, &counts, &edits, &shape)?,
    )?;
    let mut per_user: Vec<usize> = p
        .users
        .iter()
        .map(|u| counts.get(&u.id).copied().unwrap_or(0))
        .collect();
    per_user.sort_unstable();
    let focus_users: HashSet<ObjectId> =
        p.users[..shape.focus_users].iter().map(|u| u.id).collect();
    let focus_groups: HashSet<ObjectId> = p.groups[..shape.focus_groups]
        .iter()
        .map(|g| g.id)
        .collect();
    let summary = json!({
        "db_name": settings.name,
        "users": shape.users,
        "friends_per_user": shape.friends,
        "groups": shape.groups,
        "group_sizes": {
            "min": p.members.iter().map(Vec::len).min(),
            "max": p.members.iter().map(Vec::len).max(),
        },
        "users_in_no_group": p.groups_of.iter().filter(|g| g.is_empty()).count(),
        "expenses": total,
        "group_expenses": stats.group,
        "friend_expenses": stats.friend,
        "paid_by_other": stats.paid_by_other,
        "weighted_splits_expenses": stats.weighted,
        "non_usd_expenses": stats.non_usd,
        "splits": stats.splits,
        "settled_splits": stats.settled_splits,
        "settled_split_share": ratio(stats.settled_splits as f64, stats.splits as f64),
        "settled_expenses": stats.settled_expenses,
        "expenses_per_user": {
            "min": per_user.first(),
            "median": per_user.get(per_user.len() / 2),
            "max": per_user.last(),
            "with_500_or_more": per_user.iter().filter(|&&c| c >= 500).count(),
        },
        "focus": {
            "users": shape.focus_users,
            "groups": shape.focus_groups,
            "concentrated": shape.concentrate,
            "expenses_of_focus": expenses.iter().filter(|e| {
                e.group.is_some_and(|g| focus_groups.contains(&g))
                    || e.participants.iter().any(|u| focus_users.contains(u))
            }).count(),
        },
        // What the balance endpoints return for the focus users and groups
        // (the rotation of the balance scenarios), and for everyone.
        "balances_focus": balance_shape(&p, &expenses, &(0..shape.focus_users).collect::<Vec<_>>(), &(0..shape.focus_groups).collect::<Vec<_>>()),
        "balances_all": balance_shape(&p, &expenses, &(0..shape.users).collect::<Vec<_>>(), &(0..shape.groups).collect::<Vec<_>>()),
        // The same number of expenses without --concentrate (spread over
        // everyone, as the @1k database was before), over all users and groups.
        "balances_all_if_spread": shape.concentrate.then(|| {
            let spread_shape = Shape { concentrate: false, ..shape };
            let (spread, _) = self::expenses(&spread_shape, &p, now_ms);
            balance_shape(&p, &spread, &(0..shape.users).collect::<Vec<_>>(), &(0..shape.groups).collect::<Vec<_>>())
        }),
        "bcrypt_cost": cost,
        "bcrypt_hash_ms": hash_ms,
        "insert_s": round3(insert_s),
        "total_s": round3(started.elapsed().as_secs_f64()),
    });
    std::fs::write(
        out.join("seed.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    println!("{summary}");
    Ok(())
}

// ---------- bcrypt-rate ----------

fn bcrypt_rate(args: &Args) -> Result<()> {
    let cost = bcrypt_cost(args, "cost")?;
    let seconds: f64 = args.get_or("seconds", 5.0)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads: usize = args.get_or("threads", cores)?;
    if threads == 0 || seconds <= 0.0 {
        return Err("--threads and --seconds must be positive".into());
    }
    let hash = bcrypt::hash(PASSWORD, cost)?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let hash = hash.clone();
            std::thread::spawn(move || -> std::result::Result<u64, String> {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    if !bcrypt::verify(PASSWORD, &hash).map_err(|e| e.to_string())? {
                        return Err("bcrypt verification failed".into());
                    }
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    let mut verifies = 0u64;
    for h in handles {
        verifies += h.join().map_err(|_| "a bcrypt thread panicked")??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = verifies as f64 / elapsed;
    if args.flag("json") {
        println!(
            "{}",
            json!({ "cost": cost, "threads": threads, "verifies": verifies,
                    "seconds": round3(elapsed), "verifies_per_s": round3(rate) })
        );
    } else {
        println!(
            "{rate:.2} verifies/s (bcrypt cost {cost}, {threads} threads, {verifies} verifies in {elapsed:.2} s)"
        );
    }
    Ok(())
}

fn free_port() -> Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?.port());
    Ok(())
}

// ---------- report ----------

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| round3(a / b))
}

/// `key=value` lines (values may contain spaces and `=`).
fn read_env(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect())
}

/// The JSON line a wrk script's `done()` printed, prefixed with `BENCH_JSON `.
fn wrk_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_JSON "))
        .ok_or_else(|| format!("{}: no BENCH_JSON line (did wrk fail?)", path.display()))?;
    Ok(serde_json::from_str(line)?)
}

/// Where the CPU went during a scenario, from the two lines `server db wrk
/// machine-busy ms` (ticks, then a time) that `scripts/bench.sh` recorded.
fn cpu_use(path: &Path, clk_tck: f64, requests: f64) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let rows: Vec<Vec<f64>> = text
        .lines()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .collect();
    let [before, after] = &rows[..] else {
        return None;
    };
    if before.len() != 5 || after.len() != 5 {
        return None;
    }
    let d: Vec<f64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    let wall = d[4] / 1000.0;
    let secs = |ticks: f64| ticks / clk_tck;
    let cores = |ticks: f64| ratio(secs(ticks), wall);
    let ms_per_req = |ticks: f64| ratio(secs(ticks) * 1000.0, requests);
    Some(json!({
        "wall_s": round3(wall),
        "server_cores": cores(d[0]),
        "db_cores": cores(d[1]),
        "wrk_cores": cores(d[2]),
        "other_cores": cores((d[3] - d[0] - d[1] - d[2]).max(0.0)),
        "server_cpu_ms_per_req": ms_per_req(d[0]),
        "db_cpu_ms_per_req": ms_per_req(d[1]),
    }))
}

/// `mongodb_commands_total{command="find"} 12` → {"find": 12}.
fn db_commands(path: &Path) -> Result<BTreeMap<String, f64>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("mongodb_commands_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once('}') else {
            continue;
        };
        let command = labels
            .split(',')
            .find_map(|l| l.strip_prefix("command=\""))
            .map(|c| c.trim_end_matches('"').to_string())
            .unwrap_or_default();
        let value: f64 = value.trim().parse().unwrap_or(0.0);
        *out.entry(command).or_default() += value;
    }
    Ok(out)
}

struct Scenario {
    name: String,
    label: String,
    expenses: String,
    concurrency: String,
    duration: String,
    metrics: String,
    wrk: Value,
}

fn num(v: &Value, path: &[&str]) -> f64 {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_f64)
        .unwrap_or(f64::NAN)
}

fn fmt_num(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        "n/a".into()
    }
}

/// One server process of the run: the first start on a freshly seeded
/// database (indexes, ledger built from the expenses) or the restarted one
/// that served the scenarios.
struct ServerProcess {
    database: &'static str,
    role: &'static str,
    expenses: Option<u64>,
    start_s: Option<f64>,
    idle_mib: f64,
    peak_mib: f64,
}

fn server_processes(
    meta: &BTreeMap<String, String>,
    rss: &BTreeMap<String, String>,
) -> Vec<ServerProcess> {
    let kb = |k: String| rss.get(&k).and_then(|v| v.parse::<f64>().ok());
    let mut out = Vec::new();
    for database in ["small", "large"] {
        let expenses = if database == "small" {
            Some(1000)
        } else {
            meta.get("expenses").and_then(|v| v.parse().ok())
        };
        for role in ["first", "serve"] {
            let tag = format!("{role}_{database}");
            let (Some(idle), Some(peak)) =
                (kb(format!("idle_kb_{tag}")), kb(format!("peak_kb_{tag}")))
            else {
                continue;
            };
            out.push(ServerProcess {
                database,
                role: if role == "first" {
                    "first start (builds indexes and the ledger)"
                } else {
                    "serving (restart, runs the scenarios)"
                },
                expenses,
                start_s: meta
                    .get(&format!("start_{tag}_s"))
                    .and_then(|v| v.parse().ok()),
                idle_mib: idle / 1024.0,
                peak_mib: peak / 1024.0,
            });
        }
    }
    out
}

fn process_section(processes: &[ServerProcess]) -> String {
    let mut md = String::from(
        "\nServer processes. Each database gets a first server start on the freshly seeded data (it builds the indexes and the balance ledger from the expenses), which is stopped once idle; a restart then serves the scenarios. Idle RSS is VmRSS once the process is healthy and quiet, peak RSS is VmHWM when it is stopped. Target 5 takes the idle RSS of the serving processes and the peak over all processes.\n\n| database | process | start to healthy s | idle RSS MiB | peak RSS MiB |\n|---|---|---:|---:|---:|\n",
    );
    for p in processes {
        let _ = writeln!(
            md,
            "| {} ({} expenses) | {} | {} | {} | {} |",
            p.database,
            p.expenses.map_or("?".into(), |e| e.to_string()),
            p.role,
            p.start_s.map_or("n/a".into(), |s| format!("{s:.3}")),
            fmt_num(p.idle_mib, 1),
            fmt_num(p.peak_mib, 1),
        );
    }
    md
}

/// Target 2 in detail: the measured non-zero balances per response next to
/// what the seeded data holds for the focus users and groups.
fn balance_section(
    by_name: &HashMap<String, Value>,
    seeds: &BTreeMap<String, Value>,
    meta: &BTreeMap<String, String>,
) -> String {
    let m = |k: &str| meta.get(k).cloned().unwrap_or_else(|| "?".into());
    let avg_range = |v: &Value| {
        format!(
            "{} ({}–{})",
            fmt_num(num(v, &["avg"]), 1),
            v["min"],
            v["max"]
        )
    };
    let mut md = format!(
        "\n## Balances at 1,000 vs {n} expenses (target 2)\n\nBoth databases have the same users and groups. The 1,000 expenses of the `@1k` database all involve the focus users (the first {fu}) or the focus groups (the first {fg}): group expenses only in focus groups, friend expenses only created by a focus user or by a friend with the focus user sharing. The balance scenarios of both databases rotate over the focus users (`/users/balances`) and over every member of every focus group (`/group/:id/balance`), so the two rows of each pair return about as many non-zero balances and differ in the length of the history behind them.\n\n| scenario | req/s | non-zero balances per response (measured) | seeded: per focus user or group, avg (min–max) | seeded: ledger rows read per request, avg | bytes/resp |\n|---|---:|---:|---:|---:|---:|\n",
        n = m("expenses"),
        fu = m("focus_users"),
        fg = m("focus_groups"),
    );
    for (name, seed, group) in [
        ("balances_small", "small", false),
        ("balances_large", "large", false),
        ("group_balance_small", "small", true),
        ("group_balance_large", "large", true),
    ] {
        let Some(r) = by_name.get(name) else {
            continue;
        };
        let focus = seeds
            .get(seed)
            .map_or(Value::Null, |s| s["balances_focus"].clone());
        let (shape, rows) = if group {
            (
                format!(
                    "{} non-zero of {} members",
                    avg_range(&focus["nonzero_members"]),
                    fmt_num(num(&focus, &["group_members", "avg"]), 1)
                ),
                num(&focus, &["group_ledger_rows", "avg"]),
            )
        } else {
            (
                format!(
                    "{} friends with a balance",
                    avg_range(&focus["friend_balances"])
                ),
                num(&focus, &["ledger_rows", "avg"]),
            )
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            r["scenario"].as_str().unwrap_or("?"),
            fmt_num(num(r, &["rps"]), 1),
            fmt_num(num(r, &["nonzero_balances_per_response"]), 2),
            shape,
            fmt_num(rows, 1),
            r["bytes_per_response"],
        );
    }
    let all = |seed: &str, key: &str, field: &str| {
        seeds
            .get(seed)
            .map_or(f64::NAN, |s| num(&s[key], &[field, "avg"]))
    };
    let _ = writeln!(
        md,
        "\nSeeded figures are per focus user or group; the measured ones per response, where every member of a focus group asks for its balance, so larger groups weigh more. Ledger rows: the non-zero pair (or group member) documents per currency that the request reads, including counterparties who are not friends (they are not returned) and one row per currency. Earlier runs (up to the first results of the benchmark suite) compared something else: the `@1k` database spread its 1,000 expenses over all 1,000 users and both scenarios rotated over every user, so a user there had {} friends with a non-zero balance on average and a group {} non-zero members, against {} and {} in the {}-expense database (averages over all users and groups of the seeded data). Those ratios (balances 42.7%, group balance 77.4% in the run of commit af38380) mostly measured response size, not history length.",
        fmt_num(all("small", "balances_all_if_spread", "friend_balances"), 1),
        fmt_num(all("small", "balances_all_if_spread", "nonzero_members"), 1),
        fmt_num(all("large", "balances_all", "friend_balances"), 1),
        fmt_num(all("large", "balances_all", "nonzero_members"), 1),
        m("expenses"),
    );
    md
}

fn report(args: &Args) -> Result<()> {
    let run = PathBuf::from(args.required("run")?);
    let out = PathBuf::from(args.required("out")?);
    let meta = read_env(&run.join("meta.env"))?;
    let rss = read_env(&run.join("rss.env"))?;
    let bcrypt: Value = serde_json::from_str(
        std::fs::read_to_string(run.join("bcrypt.json"))?
            .lines()
            .last()
            .unwrap_or("{}"),
    )?;
    let scen_text = std::fs::read_to_string(run.join("scenarios.tsv"))?;
    let mut scenarios = Vec::new();
    for line in scen_text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, label, expenses, concurrency, duration, metrics] = f[..] else {
            return Err(format!("scenarios.tsv: bad line {line:?}").into());
        };
        scenarios.push(Scenario {
            name: name.into(),
            label: label.into(),
            expenses: expenses.into(),
            concurrency: concurrency.into(),
            duration: duration.into(),
            metrics: metrics.into(),
            wrk: wrk_json(&run.join(format!("{name}.wrk.txt")))?,
        });
    }

    // Database commands per request: the delta of mongodb_commands_total over
    // the scenario, divided by the requests of every scenario sharing it.
    let mut requests_by_metrics: HashMap<&str, f64> = HashMap::new();
    for s in &scenarios {
        *requests_by_metrics.entry(&s.metrics).or_default() += num(&s.wrk, &["requests"]);
    }
    let mut rows = Vec::new();
    let mut by_name: HashMap<String, Value> = HashMap::new();
    for s in &scenarios {
        let before = db_commands(&run.join(format!("{}.metrics.before", s.metrics)))?;
        let after = db_commands(&run.join(format!("{}.metrics.after", s.metrics)))?;
        let reqs = requests_by_metrics
            .get(s.metrics.as_str())
            .copied()
            .unwrap_or(0.0);
        let mut per_command = BTreeMap::new();
        let mut total = 0.0;
        for (cmd, a) in &after {
            let d = a - before.get(cmd).copied().unwrap_or(0.0);
            if d > 0.0 {
                total += d;
                per_command.insert(cmd.clone(), ratio(d, reqs));
            }
        }
        let clk_tck = meta
            .get("clk_tck")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(100.0);
        let cpu = cpu_use(&run.join(format!("{}.cpu", s.metrics)), clk_tck, reqs);
        let w = &s.wrk;
        let sock = |k: &str| num(w, &["socket_errors", k]);
        let socket_errors = sock("connect") + sock("read") + sock("write") + sock("timeout");
        let requests = num(w, &["requests"]);
        let v = json!({
            "name": s.name,
            "scenario": s.label,
            "expenses": s.expenses.parse::<u64>().ok(),
            "concurrency": s.concurrency.parse::<u64>().ok(),
            "duration_s": s.duration.parse::<f64>().ok(),
            "requests": w.get("requests"),
            "rps": w.get("rps"),
            "latency_ms": w.get("latency_ms"),
            "non2xx": w.get("non2xx"),
            "socket_errors": w.get("socket_errors"),
            "socket_errors_total": socket_errors as u64,
            "bytes_per_response": ratio(num(w, &["bytes"]), requests).map(|b| b.round() as u64),
            "error_sample": w.get("sample"),
            // Balance scenarios: non-zero balances per 2xx response (friends
            // with a balance; group members whose balance is not 0).
            "nonzero_balances_per_response": w.get("entries_per_response"),
            "users_rotated": w.get("users"),
            "users_filter_fell_back": w.get("pool_fallback"),
            "db_cmds_per_req": ratio(total, reqs),
            "db_cmds_per_req_by_command": per_command,
            "cpu": cpu,
            "db_cmds_shared_with": scenarios.iter()
                .filter(|o| o.metrics == s.metrics && o.name != s.name)
                .map(|o| o.name.clone()).collect::<Vec<_>>(),
        });
        by_name.insert(s.name.clone(), v.clone());
        rows.push(v);
    }

    let get = |name: &str, path: &[&str]| by_name.get(name).map_or(f64::NAN, |v| num(v, path));
    let rps = |name: &str| get(name, &["rps"]);
    // `idle_kb_<server>` / `peak_kb_<server>`: the largest over the server processes.
    let mib = |prefix: &str| {
        rss.iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .filter_map(|(_, v)| v.parse::<f64>().ok())
            .fold(f64::NAN, f64::max)
            / 1024.0
    };
    let bcrypt_rate = num(&bcrypt, &["verifies_per_s"]);
    let pct = |a: f64, b: f64| if b > 0.0 { 100.0 * a / b } else { f64::NAN };
    let non2xx_total: f64 = rows.iter().map(|r| num(r, &["non2xx"])).sum();
    let failing: Vec<String> = rows
        .iter()
        .filter(|r| num(r, &["non2xx"]) != 0.0)
        .filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let n_exp = meta.get("expenses").cloned().unwrap_or_default();
    let checks: Vec<(String, String, String, bool)> = vec![
        {
            let r = pct(rps("profile"), rps("healthz"));
            (
                "1. profile req/s ≥ 70% of healthz req/s".into(),
                format!(
                    "{}% ({} vs {})",
                    fmt_num(r, 1),
                    fmt_num(rps("profile"), 0),
                    fmt_num(rps("healthz"), 0)
                ),
                "≥ 70%".into(),
                r >= 70.0,
            )
        },
        {
            let b = pct(rps("balances_large"), rps("balances_small"));
            let g = pct(rps("group_balance_large"), rps("group_balance_small"));
            let entries = |name: &str| fmt_num(get(name, &["nonzero_balances_per_response"]), 1);
            (
                format!("2. balances and group balance at {n_exp} expenses ≥ 80% of at 1,000 (same focus users and groups)"),
                format!(
                    "balances {}% ({} vs {} req/s; {} vs {} non-zero balances/response), group balance {}% ({} vs {} req/s; {} vs {} non-zero members/response)",
                    fmt_num(b, 1),
                    fmt_num(rps("balances_large"), 0),
                    fmt_num(rps("balances_small"), 0),
                    entries("balances_large"),
                    entries("balances_small"),
                    fmt_num(g, 1),
                    fmt_num(rps("group_balance_large"), 0),
                    fmt_num(rps("group_balance_small"), 0),
                    entries("group_balance_large"),
                    entries("group_balance_small"),
                ),
                "both ≥ 80%".into(),
                b >= 80.0 && g >= 80.0,
            )
        },
        {
            let r = pct(rps("expenses_page50"), rps("expenses_page1"));
            let empty = by_name
                .get("expenses_page50")
                .and_then(|v| v["users_filter_fell_back"].as_bool())
                .unwrap_or(false);
            (
                "3. expenses page 50 req/s ≥ 70% of page 1".into(),
                format!(
                    "{}% ({} vs {}){}",
                    fmt_num(r, 1),
                    fmt_num(rps("expenses_page50"), 0),
                    fmt_num(rps("expenses_page1"), 0),
                    if empty {
                        " — no user has 500 expenses at this size: page 50 is empty"
                    } else {
                        ""
                    }
                ),
                "≥ 70%".into(),
                r >= 70.0,
            )
        },
        {
            let p99 = get("healthz_under_login", &["latency_ms", "p99"]);
            let l = pct(rps("login"), bcrypt_rate);
            (
                "4. healthz p99 under login saturation < 50 ms; login req/s ≥ 80% of raw bcrypt verify rate".into(),
                format!(
                    "p99 {} ms; login {} req/s = {}% of {} verifies/s",
                    fmt_num(p99, 1), fmt_num(rps("login"), 2), fmt_num(l, 1), fmt_num(bcrypt_rate, 2)
                ),
                "< 50 ms; ≥ 80%".into(),
                p99 < 50.0 && l >= 80.0,
            )
        },
        {
            // Idle: the serving processes (a first start's idle is what the
            // ledger build left behind). Peak: every process, first starts too.
            let peak = mib("peak_kb");
            let idle = mib("idle_kb_serve");
            (
                "5. peak RSS ≤ 100 MiB (all server processes, first starts included) and idle RSS ≤ 30 MiB (serving processes)".into(),
                format!(
                    "peak {} MiB, idle {} MiB (serving processes: peak {} MiB, idle {} MiB; first start building the ledger from the seeded expenses: peak {} MiB, idle {} MiB)",
                    fmt_num(peak, 1),
                    fmt_num(idle, 1),
                    fmt_num(mib("peak_kb_serve"), 1),
                    fmt_num(mib("idle_kb_serve"), 1),
                    fmt_num(mib("peak_kb_first"), 1),
                    fmt_num(mib("idle_kb_first"), 1),
                ),
                "≤ 100 MiB; ≤ 30 MiB".into(),
                peak <= 100.0 && idle <= 30.0,
            )
        },
        (
            "6. zero non-2xx responses in every scenario".into(),
            if failing.is_empty() {
                "0 non-2xx".into()
            } else {
                format!("{non2xx_total} non-2xx in: {}", failing.join(", "))
            },
            "0".into(),
            failing.is_empty() && !rows.is_empty(),
        ),
        {
            // Taking over the old server's database: the first start on its
            // documents upgrades them and builds the ledger.
            let seconds = meta
                .get("start_first_legacy_s")
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN);
            let peak = mib("peak_kb_first_legacy");
            (
                format!(
                    "7. upgrade of {} old-server expenses on first start: time to healthy < 60 s, peak RSS < 100 MiB",
                    meta.get("legacy_expenses").map_or("?", String::as_str)
                ),
                format!("{} s, peak {} MiB", fmt_num(seconds, 1), fmt_num(peak, 1)),
                "< 60 s; < 100 MiB".into(),
                seconds < 60.0 && peak < 100.0,
            )
        },
    ];

    let processes = server_processes(&meta, &rss);
    let targets: Vec<Value> = checks
        .iter()
        .map(|(t, m, th, ok)| json!({ "target": t, "measured": m, "threshold": th, "pass": ok }))
        .collect();
    let seeds: BTreeMap<String, Value> = ["small", "large"]
        .iter()
        .filter_map(|k| {
            let text = std::fs::read_to_string(run.join(format!("seed-{k}/seed.json"))).ok()?;
            Some((k.to_string(), serde_json::from_str(&text).ok()?))
        })
        .collect();
    let result = json!({
        "generated_at": meta.get("finished_at"),
        "mode": meta.get("mode"),
        "git": { "commit": meta.get("git_commit"), "dirty": meta.get("git_dirty").map(|d| d == "true") },
        "machine": {
            "nproc": meta.get("nproc").and_then(|v| v.parse::<u64>().ok()),
            "cpu_model": meta.get("cpu_model"),
            "mem_total_mb": meta.get("mem_total_mb").and_then(|v| v.parse::<u64>().ok()),
            "mem_available_mb": meta.get("mem_available_mb").and_then(|v| v.parse::<u64>().ok()),
            "kernel": meta.get("kernel"),
            "loadavg_start": meta.get("loadavg_start"),
            "loadavg_end": meta.get("loadavg_end"),
        },
        "settings": {
            "duration_s": meta.get("duration").and_then(|v| v.parse::<f64>().ok()),
            "warmup_s": meta.get("warmup").and_then(|v| v.parse::<f64>().ok()),
            "concurrency": meta.get("concurrency").and_then(|v| v.parse::<u64>().ok()),
            "wrk_threads": meta.get("wrk_threads").and_then(|v| v.parse::<u64>().ok()),
            "expenses": n_exp.parse::<u64>().ok(),
            "server": meta.get("server_settings"),
            "database": meta.get("database"),
        },
        "timings_s": {
            "build": meta.get("build_s").and_then(|v| v.parse::<f64>().ok()),
            "seed_small": meta.get("seed_small_s").and_then(|v| v.parse::<f64>().ok()),
            "seed_large": meta.get("seed_large_s").and_then(|v| v.parse::<f64>().ok()),
            "server_first_start_small": meta.get("start_first_small_s").and_then(|v| v.parse::<f64>().ok()),
            "server_first_start_large": meta.get("start_first_large_s").and_then(|v| v.parse::<f64>().ok()),
            "server_restart_small": meta.get("start_serve_small_s").and_then(|v| v.parse::<f64>().ok()),
            "server_restart_large": meta.get("start_serve_large_s").and_then(|v| v.parse::<f64>().ok()),
            "total_until_report": meta.get("total_s").and_then(|v| v.parse::<f64>().ok()),
        },
        "seed": seeds,
        "bcrypt": bcrypt,
        "rss_mib": {
            // What target 5 uses: idle of the serving processes, peak of all.
            "idle": round3(mib("idle_kb_serve")),
            "peak": round3(mib("peak_kb")),
            "idle_all_processes": round3(mib("idle_kb")),
            "serving_idle": round3(mib("idle_kb_serve")),
            "serving_peak": round3(mib("peak_kb_serve")),
            "first_start_idle": round3(mib("idle_kb_first")),
            "first_start_peak": round3(mib("peak_kb_first")),
            "per_process": rss.iter().map(|(k, v)| (k.clone(), v.parse::<f64>().map(|kb| round3(kb / 1024.0)).ok())).collect::<BTreeMap<_, _>>(),
        },
        "server_processes": processes.iter().map(|p| json!({
            "database": p.database, "role": p.role, "expenses": p.expenses,
            "start_to_healthy_s": p.start_s, "idle_rss_mib": round3(p.idle_mib), "peak_rss_mib": round3(p.peak_mib),
        })).collect::<Vec<_>>(),
        "balance_comparison": {
            "note": "The @1k database concentrates its 1,000 expenses on the focus users and groups, and the balance scenarios of both databases rotate over them. Before this, the @1k expenses were spread over all 1,000 users and the scenarios rotated over everyone, so @1k responses held far fewer balances than at the large size: that ratio measured response size, not history size.",
            "focus_users": meta.get("focus_users").and_then(|v| v.parse::<u64>().ok()),
            "focus_groups": meta.get("focus_groups").and_then(|v| v.parse::<u64>().ok()),
            "seeded_small": seeds.get("small").map(|s| json!({ "focus": s["balances_focus"], "all": s["balances_all"], "all_if_spread": s["balances_all_if_spread"] })),
            "seeded_large": seeds.get("large").map(|s| json!({ "focus": s["balances_focus"], "all": s["balances_all"] })),
        },
        "scenarios": rows,
        "targets": targets,
        "targets_passed": checks.iter().filter(|c| c.3).count(),
        "targets_total": checks.len(),
    });

    let mut md = String::new();
    let m = |k: &str| meta.get(k).cloned().unwrap_or_else(|| "?".into());
    let _ = writeln!(md, "# Splitlyr benchmark ({} run)\n", m("mode"));
    let _ = writeln!(
        md,
        "- When: {} · commit `{}`{} · machine: {} × {}, {} MiB RAM ({} MiB available at start)",
        m("finished_at"),
        m("git_commit"),
        if m("git_dirty") == "true" {
            " (+ uncommitted changes)"
        } else {
            ""
        },
        m("nproc"),
        m("cpu_model"),
        m("mem_total_mb"),
        m("mem_available_mb"),
    );
    let _ = writeln!(
        md,
        "- Load: wrk, {} s per scenario after {} s warm-up (none for logins), {} connections ({} for logins, {} threads), users rotate per request; page 50 uses users with ≥ 500 expenses; the balance scenarios rotate over the {} focus users and the members of the {} focus groups",
        m("duration"), m("warmup"), m("concurrency"), m("login_concurrency"), m("wrk_threads"),
        m("focus_users"), m("focus_groups"),
    );
    let _ = writeln!(
        md,
        "- Load average (1/5/15 min) at start: {}; at the end: {} (the machine is shared: other work skews the numbers)",
        m("loadavg_start"),
        m("loadavg_end"),
    );
    let _ = writeln!(md, "- Server: {}", m("server_settings"));
    let _ = writeln!(md, "- Database: {}", m("database"));
    if let Some(large) = seeds.get("large") {
        let _ = writeln!(
            md,
            "- Data: {} users × {} mutual friends, {} groups, {} expenses ({} group, {} between friends; {} of splits settled, {} expenses fully settled); a second database with {} expenses, all involving the first {} users or the first {} groups (the focus users and groups), for the `@1k` rows",
            large["users"], large["friends_per_user"], large["groups"], large["expenses"],
            large["group_expenses"], large["friend_expenses"],
            large["settled_split_share"].as_f64().map_or("?".into(), |s| format!("{:.0}%", s * 100.0)),
            large["settled_expenses"],
            seeds.get("small").map_or(Value::Null, |s| s["expenses"].clone()),
            m("focus_users"),
            m("focus_groups"),
        );
    }
    let _ = writeln!(
        md,
        "- Wall clock: build {} s, seeding {} s (1k) + {} s ({}), first server start to healthy {} s (1k) + {} s ({}, ledger build), whole run {} s",
        m("build_s"),
        m("seed_small_s"),
        m("seed_large_s"),
        n_exp,
        m("start_first_small_s"),
        m("start_first_large_s"),
        n_exp,
        m("total_s"),
    );
    md.push_str("\n| scenario | expenses | conns | req/s | p50 ms | p90 ms | p99 ms | errors (non-2xx / socket) | db cmds/req | bytes/resp (with headers) |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in &rows {
        let lat = |p: &str| fmt_num(num(r, &["latency_ms", p]), 2);
        let shared = r["db_cmds_shared_with"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {}{} | {} |",
            r["scenario"].as_str().unwrap_or("?"),
            r["expenses"],
            r["concurrency"],
            fmt_num(num(r, &["rps"]), 1),
            lat("p50"),
            lat("p90"),
            lat("p99"),
            r["non2xx"],
            r["socket_errors_total"],
            fmt_num(num(r, &["db_cmds_per_req"]), 2),
            if shared { "*" } else { "" },
            r["bytes_per_response"],
        );
    }
    md.push_str("\n\\* measured while the other scenario of the pair ran: commands (and CPU below) of both, per request of both.\n");
    md.push_str("\nWhere the CPU went during each measured window (average cores busy; CPU ms per request). \"other\" is everything else on the machine.\n\n| scenario | server cores | db cores | wrk cores | other cores | server CPU ms/req | db CPU ms/req |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for r in &rows {
        let c = |k: &str| fmt_num(num(r, &["cpu", k]), 2);
        let cm = |k: &str| fmt_num(num(r, &["cpu", k]), 3);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r["scenario"].as_str().unwrap_or("?"),
            c("server_cores"),
            c("db_cores"),
            c("wrk_cores"),
            c("other_cores"),
            cm("server_cpu_ms_per_req"),
            cm("db_cpu_ms_per_req"),
        );
    }
    let _ = writeln!(
        md,
        "\nRaw bcrypt (cost {}): {} verifies/s on {} threads.",
        bcrypt["cost"],
        fmt_num(bcrypt_rate, 2),
        bcrypt["threads"],
    );
    md.push_str(&balance_section(&by_name, &seeds, &meta));
    md.push_str(&process_section(&processes));
    md.push_str("\n## Targets\n\n| target | measured | threshold | result |\n|---|---|---|---|\n");
    for (t, measured, th, ok) in &checks {
        let _ = writeln!(
            md,
            "| {t} | {measured} | {th} | {} |",
            if *ok { "PASS" } else { "FAIL" }
        );
    }
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("latest.json"),
        serde_json::to_string_pretty(&result)? + "\n",
    )?;
    std::fs::write(out.join("latest.md"), &md)?;
    print!("{md}");
    Ok(())
}
