//! The expenses: who pays, who shares, how much, and which are settled.

use mongodb::bson::DateTime;
use splitlyr::domain::category::StoredCategory;
use splitlyr::domain::money::Currency;
use splitlyr::store::{ExpenseDoc, PayerDoc, SplitDoc};

use super::people::People;
use super::{oid, Shape};
use crate::rng::Rng;
use crate::DAY_MS;

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

/// With `--concentrate`: the share of expenses in a focus group; the rest are
/// between friends, around a focus user. With 1,000 expenses, 20 focus users
/// and 10 focus groups (the defaults of `scripts/bench.sh`) every member of a
/// focus group ends up with a non-zero balance, and a focus user with 15-20
/// of their 20 friends (all 20 with 100,000 expenses spread over everyone).
pub(crate) const FOCUS_GROUP_SHARE: f64 = 0.2;

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
            currency: Currency::stored(currency).expect("a 3-letter code"),
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
            category: StoredCategory::from_stored(category.into()),
            date: DateTime::from_millis(date),
            group: group.map(|g| p.groups[g].id),
            notes: rng
                .chance(0.05)
                .then(|| "Seeded by splitlyr-bench".to_string()),
            is_settled,
            settled_at,
            participants: Vec::new(),
            receipt: None,
            recurring: None,
            created_at: DateTime::from_millis(created),
            updated_at: settled_at.unwrap_or(DateTime::from_millis(created)),
            exchange: None,
            conversion: None,
            version: 1,
        };
        e.refresh_participants();
        out.push(e);
    }
    (out, stats)
}
