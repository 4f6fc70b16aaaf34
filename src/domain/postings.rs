//! The one rule for money: who owes whom because of an expense or a payment.
//!
//! A [`Bill`] says who paid how much and who owes which share of one document
//! (an expense, or a payment, which is a bill paid by the payer and owed
//! entirely by the payee). [`postings`] turns it into `(debtor, creditor,
//! amount)` rows in minor units; everything else derives from them: the
//! ledger books the difference between the postings of a document's old and
//! new version, pair, group and overall balances add them up, and settle-up
//! reads those balances.
//!
//! Each person's position in a bill is paid − owed. People whose position is
//! negative owe those whose position is positive, each debt divided between
//! the creditors in proportion to their positions, in integer minor units
//! with every row and column exact (see [`allocate`]). With one payer that
//! is simply "every other participant owes the payer their share", the rule
//! the app has always shown.

use std::collections::BTreeMap;

/// `debtor` owes `creditor` `amount` (> 0) minor units of the bill's currency.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Posting<K> {
    pub debtor: K,
    pub creditor: K,
    pub amount: i64,
}

/// One share of a bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share<K> {
    pub user: K,
    /// Minor units, ≥ 0.
    pub amount: i64,
    /// Repaid to the main payer with `PATCH .../settle`: it moves nothing.
    pub settled: bool,
}

/// Who paid and who owes in one document, all in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill<K> {
    /// `(payer, amount)`; the first is the main payer, to whom settled shares
    /// were repaid.
    pub payers: Vec<(K, i64)>,
    pub shares: Vec<Share<K>>,
}

impl<K> Bill<K> {
    /// The same bill with every person renamed by `key` (e.g. to tell the
    /// members of different groups apart).
    pub fn map<J>(self, key: impl Fn(K) -> J) -> Bill<J> {
        Bill {
            payers: self
                .payers
                .into_iter()
                .map(|(payer, amount)| (key(payer), amount))
                .collect(),
            shares: self
                .shares
                .into_iter()
                .map(|s| Share {
                    user: key(s.user),
                    amount: s.amount,
                    settled: s.settled,
                })
                .collect(),
        }
    }
}

/// The postings of `bill`, sorted by (debtor, creditor). Per bill, what each
/// person is owed minus what they owe equals paid − owed (settled shares
/// count as neither owed nor paid), exactly.
pub fn postings<K: Ord + Clone>(bill: &Bill<K>) -> Vec<Posting<K>> {
    let mut position: BTreeMap<K, i128> = BTreeMap::new();
    for (payer, amount) in &bill.payers {
        *position.entry(payer.clone()).or_default() += i128::from(*amount);
    }
    let main_payer = bill.payers.first().map(|(payer, _)| payer);
    for share in &bill.shares {
        if share.settled {
            // Repaid to the main payer: the payer has their money back.
            if let Some(payer) = main_payer {
                *position.entry(payer.clone()).or_default() -= i128::from(share.amount);
            }
            // The repayment cancels the share itself, so the sharer's
            // position is untouched.
            continue;
        }
        *position.entry(share.user.clone()).or_default() -= i128::from(share.amount);
    }
    let debtors: Vec<(K, i128)> = position
        .iter()
        .filter(|(_, p)| **p < 0)
        .map(|(k, p)| (k.clone(), -*p))
        .collect();
    let creditors: Vec<(K, i128)> = position
        .iter()
        .filter(|(_, p)| **p > 0)
        .map(|(k, p)| (k.clone(), *p))
        .collect();
    let debts: Vec<i128> = debtors.iter().map(|(_, d)| *d).collect();
    let credits: Vec<i128> = creditors.iter().map(|(_, c)| *c).collect();
    let Some(matrix) = allocate(&debts, &credits) else {
        // Only when paid ≠ owed, which parsing never lets through: book
        // nothing rather than something that does not balance.
        return Vec::new();
    };
    let mut out = Vec::new();
    for (row, (debtor, _)) in matrix.iter().zip(&debtors) {
        for (amount, (creditor, _)) in row.iter().zip(&creditors) {
            if *amount > 0 {
                out.push(Posting {
                    debtor: debtor.clone(),
                    creditor: creditor.clone(),
                    // Each cell is at most one debt, which came from i64s.
                    amount: i64::try_from(*amount).unwrap_or(i64::MAX),
                });
            }
        }
    }
    out
}

/// Net per person from postings: creditors positive, debtors negative.
pub fn nets<K: Ord + Clone>(postings: &[Posting<K>]) -> BTreeMap<K, i128> {
    let mut nets: BTreeMap<K, i128> = BTreeMap::new();
    for p in postings {
        *nets.entry(p.creditor.clone()).or_default() += i128::from(p.amount);
        *nets.entry(p.debtor.clone()).or_default() -= i128::from(p.amount);
    }
    nets.retain(|_, n| *n != 0);
    nets
}

/// Divides each debt between the credits in proportion to them: cell
/// `(i, j)` is `debts[i] * credits[j] / total` rounded down or up so that
/// every row sums exactly to its debt and every column to its credit. None
/// when the two do not sum to the same total.
///
/// The floors leave each row and column a deficit smaller than its number of
/// cells; the fractional parts themselves are a fractional solution of
/// exactly those deficits, so a 0/1 solution on the cells with a fraction
/// exists (bipartite flow integrality). It is found by taking cells in order
/// of largest fraction (ties: earlier debtor, then earlier creditor) while
/// both their row and column still need a unit, then completing with
/// augmenting paths.
pub fn allocate(debts: &[i128], credits: &[i128]) -> Option<Vec<Vec<i128>>> {
    let total: i128 = debts.iter().sum();
    if total != credits.iter().sum::<i128>() || debts.iter().chain(credits).any(|v| *v < 0) {
        return None;
    }
    let (rows, cols) = (debts.len(), credits.len());
    let mut matrix = vec![vec![0_i128; cols]; rows];
    if total == 0 {
        return Some(matrix);
    }
    let mut fractions = Vec::new();
    let mut row_need = debts.to_vec();
    let mut col_need = credits.to_vec();
    for i in 0..rows {
        for j in 0..cols {
            let exact = debts[i] * credits[j];
            matrix[i][j] = exact / total;
            row_need[i] -= matrix[i][j];
            col_need[j] -= matrix[i][j];
            if exact % total != 0 {
                fractions.push((exact % total, i, j));
            }
        }
    }
    fractions.sort_by(|a, b| b.0.cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    let mut bumped = vec![vec![false; cols]; rows];
    let mut open = vec![vec![false; cols]; rows];
    for &(_, i, j) in &fractions {
        open[i][j] = true;
        if row_need[i] > 0 && col_need[j] > 0 {
            bumped[i][j] = true;
            row_need[i] -= 1;
            col_need[j] -= 1;
        }
    }
    for (i, need) in row_need.iter_mut().enumerate() {
        while *need > 0 {
            let end = augment(i, &open, &mut bumped, &col_need)?;
            *need -= 1;
            col_need[end] -= 1;
        }
    }
    for (row, bumps) in matrix.iter_mut().zip(&bumped) {
        for (cell, bump) in row.iter_mut().zip(bumps) {
            *cell += i128::from(*bump);
        }
    }
    Some(matrix)
}

/// One augmenting path from row `start` to a column that still needs a
/// unit, alternating unbumped and bumped cells (breadth first); flips the
/// cells along it and returns the column reached.
fn augment(
    start: usize,
    open: &[Vec<bool>],
    bumped: &mut [Vec<bool>],
    col_need: &[i128],
) -> Option<usize> {
    let (rows, cols) = (open.len(), col_need.len());
    // The row each column was reached from, and the column each row was
    // reached through.
    let mut col_from: Vec<Option<usize>> = vec![None; cols];
    let mut row_via: Vec<Option<usize>> = vec![None; rows];
    let mut seen_row = vec![false; rows];
    seen_row[start] = true;
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(i) = queue.pop_front() {
        for j in 0..cols {
            if !open[i][j] || bumped[i][j] || col_from[j].is_some() {
                continue;
            }
            col_from[j] = Some(i);
            if col_need[j] > 0 {
                // Flip the path back to the start.
                let mut col = j;
                loop {
                    let row = col_from[col]?;
                    bumped[row][col] = true;
                    match row_via[row] {
                        Some(prev_col) => {
                            bumped[row][prev_col] = false;
                            col = prev_col;
                        }
                        None => return Some(j),
                    }
                }
            }
            for (k, seen) in seen_row.iter_mut().enumerate() {
                if bumped[k][j] && !*seen {
                    *seen = true;
                    row_via[k] = Some(j);
                    queue.push_back(k);
                }
            }
        }
    }
    None
}

#[cfg(test)]
#[path = "postings_tests.rs"]
mod tests;
