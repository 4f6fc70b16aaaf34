//! Unit and property tests of `settle`.
use std::collections::BTreeMap;

use super::exact::{group_levels, most_groups, Subsets};
use super::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn t<'a>(from: &'a str, to: &'a str, amount: i64) -> Transfer<&'a str> {
    Transfer { from, to, amount }
}

fn solve<'a>(balances: &[(&'a str, i64)]) -> Plan<&'a str> {
    minimal_transfers(balances).expect("valid balances")
}

/// Applies the plan: every amount positive, every payer owed money and every
/// payee was owed, nobody outside the balances, everyone at zero afterwards,
/// and at most n − 1 transfers for n non-zero balances.
fn check_settles<K: Ord + Clone + std::fmt::Debug>(
    balances: &[(K, i64)],
    plan: &Plan<K>,
) -> Result<(), TestCaseError> {
    let start: BTreeMap<K, i128> = balances
        .iter()
        .map(|(k, net)| (k.clone(), i128::from(*net)))
        .collect();
    let mut left = start.clone();
    for transfer in &plan.transfers {
        prop_assert!(transfer.amount > 0, "{:?}", transfer);
        prop_assert!(start.get(&transfer.from).is_some_and(|&net| net < 0));
        prop_assert!(start.get(&transfer.to).is_some_and(|&net| net > 0));
        *left.entry(transfer.from.clone()).or_default() += i128::from(transfer.amount);
        *left.entry(transfer.to.clone()).or_default() -= i128::from(transfer.amount);
    }
    prop_assert!(left.values().all(|&net| net == 0), "left {:?}", left);
    let non_zero = start.values().filter(|&&net| net != 0).count();
    prop_assert!(plan.transfers.len() <= non_zero.saturating_sub(1));
    Ok(())
}

/// The minimum by brute force, independent of the solver: every way to split
/// the non-zero balances into groups, keeping only splits where each group
/// sums to zero; n minus the most groups (see the module docs for why).
fn brute_force_minimum(nets: &[i64]) -> usize {
    fn most_groups(nets: &[i64], next: usize, groups: &mut Vec<i64>) -> Option<usize> {
        let Some(&net) = nets.get(next) else {
            return groups.iter().all(|&sum| sum == 0).then_some(groups.len());
        };
        let mut most = None;
        for g in 0..groups.len() {
            groups[g] += net;
            most = most.max(most_groups(nets, next + 1, groups));
            groups[g] -= net;
        }
        groups.push(net);
        most = most.max(most_groups(nets, next + 1, groups));
        groups.pop();
        most
    }
    let nets: Vec<i64> = nets.iter().copied().filter(|&net| net != 0).collect();
    nets.len() - most_groups(&nets, 0, &mut Vec::new()).unwrap_or(0)
}

#[test]
fn nothing_to_settle() {
    assert_eq!(
        solve(&[]),
        Plan {
            transfers: vec![],
            optimal: true
        }
    );
    assert_eq!(solve(&[("a", 0), ("b", 0)]).transfers, vec![]);
}

#[test]
fn two_people() {
    assert_eq!(
        solve(&[("b", 500), ("a", -500)]).transfers,
        vec![t("a", "b", 500)]
    );
}

#[test]
fn a_chain_collapses_to_one_transfer() {
    // a owes b 10, b owes c 10: b nets to zero.
    let plan = solve(&[("a", -10), ("b", 0), ("c", 10)]);
    assert_eq!(plan.transfers, vec![t("a", "c", 10)]);
    assert!(plan.optimal);
}

#[test]
fn independent_pairs_stay_apart() {
    let plan = solve(&[("a", -5), ("b", 5), ("c", -7), ("d", 7)]);
    assert_eq!(plan.transfers, vec![t("a", "b", 5), t("c", "d", 7)]);
}

#[test]
fn beats_largest_first_greedy() {
    // {c, a, b} and {f, d, e} each sum to zero: 2 + 2 transfers. Largest
    // first pays 16 -> 8, then 9 -> 8 (9 is now the largest debt), and needs 5.
    let balances = [
        ("a", 8),
        ("b", 8),
        ("c", -16),
        ("d", 7),
        ("e", 2),
        ("f", -9),
    ];
    let nets: Vec<i64> = balances.iter().map(|b| b.1).collect();
    let everyone: Vec<usize> = (0..nets.len()).collect();
    assert_eq!(settle_greedily(&everyone, &nets).len(), 5);
    let plan = solve(&balances);
    assert_eq!(
        plan.transfers,
        vec![
            t("c", "a", 8),
            t("c", "b", 8),
            t("f", "d", 7),
            t("f", "e", 2)
        ]
    );
    assert!(plan.optimal);
    assert_eq!(brute_force_minimum(&nets), 4);
}

#[test]
fn five_triples_take_ten_transfers() {
    // No two balances are opposite, so every group has at least 3 members:
    // 5 groups is the most, and 15 - 5 = 10.
    let nets = [1, 2, -3, 4, 6, -10, 7, 11, -18, 5, 8, -13, 9, 12, -21];
    let balances: Vec<(usize, i64)> = nets.iter().copied().enumerate().collect();
    let plan = minimal_transfers(&balances).expect("valid");
    assert_eq!(plan.transfers.len(), 10);
    assert!(plan.optimal);
    check_settles(&balances, &plan).expect("settles");
}

#[test]
fn refuses_bad_input() {
    assert_eq!(
        minimal_transfers(&[("a", 5), ("b", -4)]),
        Err(SettleError::NotZeroSum)
    );
    // Wrapping i64 arithmetic would call this zero.
    assert_eq!(
        minimal_transfers(&[("a", i64::MAX), ("b", i64::MAX), ("c", 2)]),
        Err(SettleError::NotZeroSum)
    );
    assert_eq!(
        minimal_transfers(&[("a", 5), ("b", -5), ("a", 0)]),
        Err(SettleError::DuplicateMember)
    );
    assert_eq!(
        SettleError::NotZeroSum.to_string(),
        "balances do not sum to zero"
    );
}

#[test]
fn extreme_amounts_do_not_overflow() {
    let plan = solve(&[("a", i64::MIN), ("b", i64::MAX), ("c", 1)]);
    assert_eq!(plan.transfers, vec![t("a", "b", i64::MAX), t("a", "c", 1)]);
    // 20 balances near the limits: subset sums far beyond i64.
    let mut balances: Vec<(u32, i64)> = (0..10).map(|k| (k, i64::MAX - i64::from(k))).collect();
    balances.extend((10..19).map(|k| (k, i64::MIN)));
    let rest: i128 = balances.iter().map(|b| i128::from(b.1)).sum();
    balances.push((19, i64::try_from(-rest).expect("fits")));
    let plan = minimal_transfers(&balances).expect("valid");
    assert!(plan.optimal);
    check_settles(&balances, &plan).expect("settles");
}

#[test]
fn beyond_the_exact_limit_falls_back() {
    // 1..=21 owed, one member owes it all: no opposite pairs to split off.
    let mut balances: Vec<(u32, i64)> = (1..=21).map(|k| (k, i64::from(k))).collect();
    balances.push((0, -231));
    let plan = minimal_transfers(&balances).expect("valid");
    assert!(!plan.optimal);
    assert_eq!(plan.transfers.len(), 21);
    check_settles(&balances, &plan).expect("settles");
}

#[test]
fn opposite_pairs_do_not_count_towards_the_limit() {
    // 30 pairs plus a chain of 3: exact after the pairs are split off.
    let mut balances: Vec<(u32, i64)> = (1..=30)
        .flat_map(|k| [(2 * k, i64::from(k)), (2 * k + 1, -i64::from(k))])
        .collect();
    balances.extend([(100, 100), (101, 200), (102, -300)]);
    let plan = minimal_transfers(&balances).expect("valid");
    assert!(plan.optimal);
    assert_eq!(plan.transfers.len(), 32);
    check_settles(&balances, &plan).expect("settles");
}

#[test]
fn heavy_above_twelve() {
    assert!(!is_heavy(12));
    assert!(is_heavy(13));
    assert!(is_heavy(EXACT_LIMIT));
}

#[test]
fn pairwise_merges_nets_and_orders() {
    let debts = [
        ("b", "a", 10),
        ("a", "b", 5),
        ("a", "b", 3),
        ("c", "c", 4),
        ("d", "e", 0),
        ("e", "d", 1),
        ("f", "g", 6),
        ("g", "f", 6),
    ];
    assert_eq!(
        pairwise_transfers(&debts),
        vec![t("b", "a", 2), t("e", "d", 1)]
    );
    assert_eq!(pairwise_transfers::<&str>(&[]), vec![]);
    assert_eq!(
        pairwise_transfers(&[("a", "b", i64::MAX), ("a", "b", i64::MAX)]),
        vec![t("a", "b", i64::MAX)]
    );
}

/// `count` balances drawn from `-range..=range`, plus one making the sum zero.
fn balances(count: std::ops::Range<usize>, range: i64) -> impl Strategy<Value = Vec<(u32, i64)>> {
    prop::collection::vec(-range..=range, count).prop_map(|mut nets| {
        nets.push(-nets.iter().sum::<i64>());
        (0..).zip(nets).collect()
    })
}

proptest! {
    #[test]
    fn small_groups_match_the_brute_force(balances in balances(1..8, 6)) {
        let plan = minimal_transfers(&balances)?;
        check_settles(&balances, &plan)?;
        prop_assert!(plan.optimal);
        let nets: Vec<i64> = balances.iter().map(|b| b.1).collect();
        prop_assert_eq!(plan.transfers.len(), brute_force_minimum(&nets));
    }

    #[test]
    fn order_does_not_matter(
        (balances, shuffled) in balances(1..12, 20)
            .prop_flat_map(|b| (Just(b.clone()), Just(b).prop_shuffle()))
    ) {
        prop_assert_eq!(minimal_transfers(&balances)?, minimal_transfers(&shuffled)?);
    }

    #[test]
    fn large_amounts_settle_exactly(balances in balances(1..10, 1 << 60)) {
        let plan = minimal_transfers(&balances)?;
        prop_assert!(plan.optimal);
        check_settles(&balances, &plan)?;
    }

    #[test]
    fn pairwise_keeps_everyones_net(
        debts in prop::collection::vec((0..5u8, 0..5u8, -100..=1_000i64), 0..30)
    ) {
        let transfers = pairwise_transfers(&debts);
        let mut expected: BTreeMap<u8, i64> = BTreeMap::new();
        for &(debtor, creditor, amount) in &debts {
            *expected.entry(debtor).or_default() -= amount;
            *expected.entry(creditor).or_default() += amount;
        }
        let mut got: BTreeMap<u8, i64> = BTreeMap::new();
        for transfer in &transfers {
            prop_assert!(transfer.amount > 0 && transfer.from != transfer.to);
            *got.entry(transfer.from).or_default() -= transfer.amount;
            *got.entry(transfer.to).or_default() += transfer.amount;
        }
        expected.retain(|_, net| *net != 0);
        got.retain(|_, net| *net != 0);
        prop_assert_eq!(got, expected);
        // One transfer per pair at most, in (from, to) order.
        let pairs: std::collections::BTreeSet<(u8, u8)> =
            transfers.iter().map(|t| (t.from.min(t.to), t.from.max(t.to))).collect();
        prop_assert_eq!(pairs.len(), transfers.len());
        prop_assert!(transfers.windows(2).all(|w| (w[0].from, w[0].to) < (w[1].from, w[1].to)));
    }
}

proptest! {
    #[test]
    fn levels_count_the_groups_in_every_subset(
        nets in prop::collection::vec(prop_oneof![-9..=-1_i64, 1..=9_i64], 1..=11)
    ) {
        // The textbook recurrence over all subsets: the most groups inside a
        // set is the best over dropping one member, plus one if it sums to zero.
        let n = nets.len();
        let values: Vec<i128> = nets.iter().map(|&net| i128::from(net)).collect();
        let zero = Subsets::zero_sum(&values);
        let levels = group_levels(&zero, n);
        let mut most = vec![0_usize; 1 << n];
        for mask in 1..1_usize << n {
            let members = (0..n).filter(|&i| mask >> i & 1 == 1);
            let sums_to_zero = members.clone().map(|i| values[i]).sum::<i128>() == 0;
            let best = members.map(|i| most[mask ^ 1 << i]).max().unwrap_or(0);
            most[mask] = best + usize::from(sums_to_zero);
            prop_assert_eq!(zero.get(mask), sums_to_zero, "mask {:b}", mask);
            prop_assert_eq!(most_groups(&levels, mask), most[mask], "mask {:b}", mask);
        }
    }
}

proptest! {
    // Up to 2^20 subsets per case: fewer cases in debug builds.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn up_to_the_limit_is_exact(balances in balances(12..EXACT_LIMIT, 30)) {
        let plan = minimal_transfers(&balances)?;
        prop_assert!(plan.optimal);
        check_settles(&balances, &plan)?;
    }

    #[test]
    fn beyond_the_limit_still_settles(balances in balances(EXACT_LIMIT..40, 1_000)) {
        let plan = minimal_transfers(&balances)?;
        check_settles(&balances, &plan)?;
    }
}
