//! `settle-solver`: times the settle-up solver in-process on fixed, seeded
//! instances of exactly 20 non-zero balances, no database needed.
//!
//! No two balances of an instance are equal and opposite, so the solver
//! cannot split pairs off and every solve runs the exact search on all 20.

use std::time::Instant;

use serde_json::json;
use splitlyr::domain::settle::{minimal_transfers, EXACT_LIMIT};

use crate::args::SolverArgs;
use crate::dataset::Rng;
use crate::{round3, Result};

/// Makes one instance: 20 balances summing to zero.
type Generator = fn(&mut Rng) -> Vec<i64>;

/// The instance families, 10 instances each.
const KINDS: [(&str, Generator); 3] = [
    ("no zero-sum subset", no_zero_sum_subset),
    ("6 zero-sum groups of 3-4", six_groups),
    ("small amounts", small_amounts),
];
const INSTANCES_PER_KIND: usize = 10;

/// Amounts of 10^6 to 10^9 minor units, either sign: no subset but the whole
/// sums to zero (the report shows their plans take 19 transfers).
fn no_zero_sum_subset(rng: &mut Rng) -> Vec<i64> {
    balanced(rng, |rng| {
        let size = 1_000_000 + rng.below(1_000_000_000) as i64;
        if rng.chance(0.5) {
            size
        } else {
            -size
        }
    })
}

/// Six groups that each sum to zero, shuffled: the most that 20 balances
/// without equal and opposite ones can hold, so the deepest search. Credits
/// are odd and debts even, so no pairs; the amounts are small, so many more
/// zero-sum subsets cut across the groups.
fn six_groups(rng: &mut Rng) -> Vec<i64> {
    let mut nets = Vec::new();
    for size in [3, 3, 3, 3, 4, 4] {
        // Credits of at least 3 leave room for two even debts.
        let (a, b) = (2 + odd(rng, 49), 2 + odd(rng, 49));
        if size == 3 {
            nets.extend([a, b, -(a + b)]);
        } else {
            let c = -2 * (1 + rng.below(((a + b) / 2 - 1) as usize) as i64);
            nets.extend([a, b, c, -(a + b) - c]);
        }
    }
    rng.shuffle(&mut nets);
    nets
}

/// Small amounts, credits odd up to 59 and debts even up to 60 (so pairs are
/// rare): thousands of overlapping zero-sum subsets.
fn small_amounts(rng: &mut Rng) -> Vec<i64> {
    balanced(rng, |rng| {
        if rng.chance(0.5) {
            odd(rng, 59)
        } else {
            -2 * (1 + rng.below(30) as i64)
        }
    })
}

/// An odd amount in `1..=max`.
fn odd(rng: &mut Rng, max: usize) -> i64 {
    (2 * rng.below(max.div_ceil(2)) + 1) as i64
}

/// 19 balances from `draw` and a 20th that makes the sum zero, redrawn until
/// the 20th is not zero and no two balances are equal and opposite.
fn balanced(rng: &mut Rng, draw: fn(&mut Rng) -> i64) -> Vec<i64> {
    loop {
        let mut nets: Vec<i64> = (1..EXACT_LIMIT).map(|_| draw(rng)).collect();
        let last = -nets.iter().sum::<i64>();
        nets.push(last);
        if last != 0 && !nets.iter().any(|&a| a > 0 && nets.contains(&-a)) {
            return nets;
        }
    }
}

pub(crate) fn settle_solver(args: &SolverArgs) -> Result<()> {
    let repeats = args.repeats.max(1);
    let mut rng = Rng::new(args.seed);
    let mut times_ms = Vec::new();
    let mut kinds = Vec::new();
    for (kind, make) in KINDS {
        let mut transfers = Vec::new();
        let mut kind_max = 0.0f64;
        for _ in 0..INSTANCES_PER_KIND {
            let nets = make(&mut rng);
            let balances: Vec<(usize, i64)> = nets.into_iter().enumerate().collect();
            for _ in 0..repeats {
                let started = Instant::now();
                let plan = minimal_transfers(&balances)?;
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                if !plan.optimal {
                    return Err(format!("{kind}: the solver fell back").into());
                }
                times_ms.push(ms);
                kind_max = kind_max.max(ms);
                transfers.push(plan.transfers.len());
            }
        }
        transfers.sort_unstable();
        kinds.push(json!({
            "kind": kind,
            "max_ms": round3(kind_max),
            "transfers_min": transfers.first(),
            "transfers_max": transfers.last(),
        }));
    }
    times_ms.sort_by(f64::total_cmp);
    let p50 = times_ms
        .get(times_ms.len() / 2)
        .copied()
        .unwrap_or(f64::NAN);
    let max = times_ms.last().copied().unwrap_or(f64::NAN);
    if args.json {
        println!(
            "{}",
            json!({ "balances": EXACT_LIMIT, "instances": KINDS.len() * INSTANCES_PER_KIND,
                    "repeats": repeats, "solves": times_ms.len(), "p50_ms": round3(p50),
                    "max_ms": round3(max), "kinds": kinds })
        );
    } else {
        println!(
            "settle-up solver, {EXACT_LIMIT} balances: p50 {p50:.3} ms, max {max:.3} ms over {} solves",
            times_ms.len()
        );
        for k in &kinds {
            println!("  {k}");
        }
    }
    Ok(())
}
