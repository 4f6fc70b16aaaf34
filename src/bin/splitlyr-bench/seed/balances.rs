//! The balances the seeded data gives, for the summary (`seed.json`): what
//! the balance scenarios read.

use std::collections::{BTreeSet, HashMap};

use mongodb::bson::oid::ObjectId;
use serde_json::{json, Value};
use splitlyr::store::ExpenseDoc;

use crate::dataset::People;
use crate::ratio;

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
pub(super) fn balance_shape(
    p: &People,
    expenses: &[ExpenseDoc],
    users: &[usize],
    groups: &[usize],
) -> Value {
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
            *pairs.entry((a, b, e.currency.code())).or_default() += inc;
            if let Some(g) = e.group {
                let g = group_index[&g];
                *members.entry((g, payer, e.currency.code())).or_default() += s.amount;
                *members.entry((g, debtor, e.currency.code())).or_default() -= s.amount;
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
