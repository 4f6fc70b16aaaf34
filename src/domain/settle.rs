//! Settling up. This module owns turning one currency's net balances into the
//! fewest transfers that bring every member to zero, and listing plain
//! pairwise debts as transfers when nothing is to be simplified.
//!
//! Why the minimum is a partition problem: the transfers of a plan form a
//! graph on the members, every connected part of it must sum to zero, and a
//! part of k members needs at least k − 1 transfers. So a plan needs at least
//! n − (most disjoint zero-sum groups the n non-zero balances split into)
//! transfers, and that many suffice (k − 1 per group). Finding that split is
//! NP-hard (it contains subset sum), so it is searched exactly, by dynamic
//! programming over all subsets kept as bitsets (a few MiB and milliseconds at
//! 20 members), only up to [`EXACT_LIMIT`] members; beyond, a greedy plan
//! with at most n − 1 transfers is used.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};

use thiserror::Error;

mod exact;

use exact::zero_sum_groups;

/// One suggested transfer: `from` pays `to` `amount` minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer<K> {
    pub from: K,
    pub to: K,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<K> {
    pub transfers: Vec<Transfer<K>>,
    /// true: provably the minimum number of transfers (exact search);
    /// false: the fallback (at most n-1 transfers) was used.
    pub optimal: bool,
}

/// Largest number of non-zero balances solved exactly (at least 20). Counted
/// after equal and opposite balances are paired off, which is exact too, so
/// larger inputs made mostly of such pairs are still solved exactly.
pub const EXACT_LIMIT: usize = 20;

/// Above this many non-zero balances the search costs more than handing it to
/// a blocking thread: in a release build about 10 µs at 12, 0.1–0.2 ms at 16
/// and 1–4 ms at 20 (debug builds about 20 times as much).
const HEAVY_ABOVE: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SettleError {
    #[error("balances do not sum to zero")]
    NotZeroSum,
    /// The same member twice would make the plan ambiguous (two nets for one
    /// person), so it is a caller bug rather than something to merge.
    #[error("a member appears more than once in the balances")]
    DuplicateMember,
}

/// One transfer between members by index (K order): `(from, to, amount)`.
type Move = (usize, usize, i64);

/// `balances`: (member, net) in minor units of ONE currency, positive = the
/// member is owed (receives), negative = owes (pays). Zero entries are
/// ignored. Returns the transfers that bring every balance to exactly zero.
///
/// Equal and opposite balances are settled pairwise first (that never costs
/// the optimum); if at most [`EXACT_LIMIT`] remain, the plan is exact,
/// otherwise the rest is settled greedily. A member listed twice, even with a
/// zero, is [`SettleError::DuplicateMember`].
///
/// The plan depends only on the set of balances, not on their order. Ties are
/// broken by member order (`K`'s `Ord`): equal and opposite balances are paired
/// first to first; the zero-sum groups are the ones found by removing, from the
/// whole set, the earliest member that keeps the optimum reachable; inside a
/// group the largest debtor pays the largest creditor, the earlier member first
/// among equals. Transfers are listed by payer, then payee.
pub fn minimal_transfers<K: Ord + Clone>(balances: &[(K, i64)]) -> Result<Plan<K>, SettleError> {
    let mut sorted: Vec<&(K, i64)> = balances.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    if sorted.windows(2).any(|pair| pair[0].0 == pair[1].0) {
        return Err(SettleError::DuplicateMember);
    }
    // i128: the sum of any number of i64 values below 2^64 entries fits.
    if sorted.iter().map(|(_, net)| i128::from(*net)).sum::<i128>() != 0 {
        return Err(SettleError::NotZeroSum);
    }
    let members: Vec<&(K, i64)> = sorted.into_iter().filter(|(_, net)| *net != 0).collect();
    let nets: Vec<i64> = members.iter().map(|(_, net)| *net).collect();

    let (mut moves, rest) = pair_off_opposites(&nets);
    let optimal = rest.len() <= EXACT_LIMIT;
    if optimal {
        for group in zero_sum_groups(&rest, &nets) {
            moves.extend(settle_greedily(&group, &nets));
        }
    } else {
        moves.extend(settle_greedily(&rest, &nets));
    }
    // Indices follow K order, and no pair of members appears twice.
    moves.sort_unstable();
    let transfers = moves
        .into_iter()
        .map(|(from, to, amount)| Transfer {
            from: members[from].0.clone(),
            to: members[to].0.clone(),
            amount,
        })
        .collect();
    Ok(Plan { transfers, optimal })
}

/// Plain pairwise debts as transfers, without simplification: `debts` are
/// (debtor, creditor, amount>0) — helper used for `?simplify=false`; merges
/// duplicates of the same ordered pair, nets opposite directions, drops zeros,
/// deterministic order.
///
/// Listed by payer, then payee. A debt to oneself settles nothing and is
/// dropped; a negative amount counts as owed the other way. A pair's net
/// beyond `i64::MAX` (more than the ledger's own per-pair type can hold) is
/// capped there.
pub fn pairwise_transfers<K: Ord + Clone>(debts: &[(K, K, i64)]) -> Vec<Transfer<K>> {
    // Net per pair of members, owed by the smaller key to the larger.
    let mut nets: BTreeMap<(&K, &K), i128> = BTreeMap::new();
    for (debtor, creditor, amount) in debts {
        match debtor.cmp(creditor) {
            Ordering::Less => *nets.entry((debtor, creditor)).or_default() += i128::from(*amount),
            Ordering::Greater => {
                *nets.entry((creditor, debtor)).or_default() -= i128::from(*amount)
            }
            Ordering::Equal => {}
        }
    }
    let mut transfers: Vec<Transfer<K>> = nets
        .into_iter()
        .filter(|&(_, net)| net != 0)
        .map(|((low, high), net)| {
            let (from, to) = if net > 0 { (low, high) } else { (high, low) };
            Transfer {
                from: from.clone(),
                to: to.clone(),
                amount: i64::try_from(net.abs()).unwrap_or(i64::MAX),
            }
        })
        .collect();
    transfers.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    transfers
}

/// Whether solving `n` non-zero balances is heavy enough to run off the async
/// workers (the caller uses spawn_blocking when true), e.g. n > 12.
pub fn is_heavy(non_zero: usize) -> bool {
    non_zero > HEAVY_ABOVE
}

/// Settles each creditor of `a` with a debtor of `-a` in one transfer and
/// returns those transfers and the members left (index order).
///
/// This keeps the optimum: take a best split into zero-sum groups with `x` and
/// `y = -x` in groups `X` and `Y`. If `X = Y`, then `X` minus both still sums to
/// zero, so it is empty or the split was not best. If not, `{x, y}` and
/// `(X ∪ Y) \ {x, y}` sum to zero and neither is empty (`x ≠ 0` so `X ≠ {x}`):
/// a split just as good with `{x, y}` as a group. Repeat on the rest.
fn pair_off_opposites(nets: &[i64]) -> (Vec<Move>, Vec<usize>) {
    let mut by_size: BTreeMap<u64, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (index, &net) in nets.iter().enumerate() {
        let (creditors, debtors) = by_size.entry(net.unsigned_abs()).or_default();
        if net > 0 {
            creditors.push(index);
        } else {
            debtors.push(index);
        }
    }
    let mut moves = Vec::new();
    let mut rest = Vec::new();
    for (creditors, debtors) in by_size.into_values() {
        let paired = creditors.len().min(debtors.len());
        for (&to, &from) in creditors.iter().zip(&debtors) {
            moves.push((from, to, nets[to]));
        }
        rest.extend_from_slice(&creditors[paired..]);
        rest.extend_from_slice(&debtors[paired..]);
    }
    rest.sort_unstable();
    (moves, rest)
}

/// Transfers settling `members` (indices into `nets`, summing to zero): the
/// largest debtor pays the largest creditor, the earlier index first among
/// equals, until nobody is left. Every transfer zeroes at least one of the
/// two and the last zeroes both, so k members take at most k − 1 transfers.
fn settle_greedily(members: &[usize], nets: &[i64]) -> Vec<Move> {
    let mut creditors: BinaryHeap<(i64, Reverse<usize>)> = BinaryHeap::new();
    // Debts as negative nets: the most negative is the largest debtor.
    let mut debtors: BinaryHeap<(Reverse<i64>, Reverse<usize>)> = BinaryHeap::new();
    for &member in members {
        match nets[member].cmp(&0) {
            Ordering::Greater => creditors.push((nets[member], Reverse(member))),
            Ordering::Less => debtors.push((Reverse(nets[member]), Reverse(member))),
            Ordering::Equal => {}
        }
    }
    let mut moves = Vec::new();
    while let (Some((credit, Reverse(to))), Some((Reverse(debt), Reverse(from)))) =
        (creditors.pop(), debtors.pop())
    {
        // min(credit, -debt) without negating a debt of i64::MIN: in the
        // second branch -debt < credit, so it fits.
        let amount = if debt <= -credit { credit } else { -debt };
        moves.push((from, to, amount));
        if credit > amount {
            creditors.push((credit - amount, Reverse(to)));
        }
        if debt + amount < 0 {
            debtors.push((Reverse(debt + amount), Reverse(from)));
        }
    }
    moves
}

#[cfg(test)]
#[path = "settle_tests.rs"]
mod tests;
