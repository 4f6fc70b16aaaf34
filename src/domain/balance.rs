//! Group balances. This module owns adding up postings (see `postings`) into
//! each member's net position: positive means the member is
//! owed money, negative means the member owes. It also owns how a balance
//! between two people is kept ([`PairNet`]): which of the two owes the other.
//!
//! Nets are kept per currency in minor units (exact, and what a "You are owed
//! $12.50" message needs). Amounts in different currencies are never added
//! together.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use super::money::Currency;
use super::postings::{postings, Bill};

/// A member's net position in a group (or towards one counterparty).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberBalance {
    /// Net per currency in that currency's minor units; zero nets are left
    /// out. A `BTreeMap` so rendering order is stable.
    pub by_currency: BTreeMap<Currency, i64>,
}

impl MemberBalance {
    /// Nothing owed either way in any currency.
    pub fn is_zero(&self) -> bool {
        self.by_currency.is_empty()
    }

    fn from_nets(nets: BTreeMap<Currency, i128>) -> MemberBalance {
        let by_currency: BTreeMap<Currency, i64> = nets
            .into_iter()
            .filter(|&(_, net)| net != 0)
            .map(|(currency, net)| (currency, saturate(net)))
            .collect();
        MemberBalance { by_currency }
    }
}

/// A balance between two people in one currency as the ledger keeps it: the
/// two in order (`a < b`) and `net`, what `b` owes `a` (negative: what `a`
/// owes `b`). The sign is given a meaning here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairNet<K> {
    pub a: K,
    pub b: K,
    pub net: i64,
}

impl<K: Ord + Clone> PairNet<K> {
    /// `debtor` owes `creditor` `amount` (negative: the other way round).
    pub fn owed(debtor: K, creditor: K, amount: i64) -> Self {
        if creditor < debtor {
            PairNet {
                a: creditor,
                b: debtor,
                net: amount,
            }
        } else {
            PairNet {
                a: debtor,
                b: creditor,
                net: -amount,
            }
        }
    }

    /// Who owes whom: `(debtor, creditor, amount)` with `amount >= 0`.
    pub fn debt(&self) -> (K, K, i64) {
        if self.net > 0 {
            (self.b.clone(), self.a.clone(), self.net)
        } else {
            (self.a.clone(), self.b.clone(), -self.net)
        }
    }

    /// The balance as `me` (one of the two) sees it: the other person, and
    /// what they owe `me` (negative: what `me` owes them).
    pub fn seen_by(&self, me: &K) -> (K, i64) {
        let (debtor, creditor, amount) = self.debt();
        if creditor == *me {
            (debtor, amount)
        } else {
            (creditor, -amount)
        }
    }
}

/// Net balances of everyone the bills' postings touch (see
/// `postings`): what each is owed minus what they owe, per currency.
/// Members that were never moved are absent, so callers should treat a
/// missing member as a zero balance. Per currency, the nets of all members
/// always add up to exactly zero.
pub fn group_balances<K, I>(bills: I) -> HashMap<K, MemberBalance>
where
    K: Ord + Hash + Clone,
    I: IntoIterator<Item = (Currency, Bill<K>)>,
{
    let mut nets = Nets::new();
    for (currency, bill) in bills {
        for p in postings(&bill) {
            let amount = i128::from(p.amount);
            add(&mut nets, p.creditor, currency, amount);
            add(&mut nets, p.debtor, currency, -amount);
        }
    }
    finish(nets)
}

/// Balances from `(member, currency, net_minor)` rows that were already
/// netted elsewhere, e.g. a database aggregation per counterparty. Rows for
/// the same member and currency are added together.
pub fn collect_nets<K, I>(rows: I) -> HashMap<K, MemberBalance>
where
    K: Eq + Hash,
    I: IntoIterator<Item = (K, Currency, i64)>,
{
    let mut nets = Nets::new();
    for (member, currency, net) in rows {
        add(&mut nets, member, currency, i128::from(net));
    }
    finish(nets)
}

/// i128 accumulators: no sequence of i64 amounts a group can hold overflows
/// them, so the zero-sum property holds exactly before narrowing.
type Nets<K> = HashMap<K, BTreeMap<Currency, i128>>;

fn add<K: Eq + Hash>(nets: &mut Nets<K>, member: K, currency: Currency, amount: i128) {
    *nets.entry(member).or_default().entry(currency).or_default() += amount;
}

fn finish<K: Eq + Hash>(nets: Nets<K>) -> HashMap<K, MemberBalance> {
    nets.into_iter()
        .map(|(member, per_currency)| (member, MemberBalance::from_nets(per_currency)))
        .collect()
}

/// Narrows to i64; only reachable beyond ~9.2e18 minor units of net debt.
fn saturate(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::postings::Share;
    use proptest::prelude::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).expect("valid test currency")
    }
    fn expense(
        payer: &'static str,
        code: &str,
        splits: &[(&'static str, i64, bool)],
    ) -> (Currency, Bill<&'static str>) {
        let shares: Vec<Share<&'static str>> = splits
            .iter()
            .map(|&(user, amount, settled)| Share {
                user,
                amount,
                settled,
            })
            .collect();
        let paid = shares.iter().map(|s| s.amount).sum();
        (
            cur(code),
            Bill {
                payers: vec![(payer, paid)],
                shares,
            },
        )
    }
    fn usd(balances: &HashMap<&str, MemberBalance>, member: &str) -> Option<i64> {
        balances
            .get(member)
            .and_then(|b| b.by_currency.get(&Currency::USD).copied())
    }

    #[test]
    fn payer_is_owed_the_unsettled_shares_of_others() {
        let dinner = expense(
            "ann",
            "USD",
            &[
                ("ann", 3334, false),
                ("bob", 3333, false),
                ("cat", 3333, true),
            ],
        );
        let balances = group_balances([dinner]);
        assert_eq!(usd(&balances, "ann"), Some(3333));
        assert_eq!(usd(&balances, "bob"), Some(-3333));
        assert!(!balances.contains_key("cat"), "settled splits move nothing");
    }

    #[test]
    fn nets_cancel_and_currencies_stay_apart() {
        let balances = group_balances([
            expense("ann", "USD", &[("bob", 1250, false)]),
            expense("bob", "USD", &[("ann", 1250, false)]),
            expense("bob", "JPY", &[("ann", 1000, false)]),
            expense("ann", "BHD", &[("bob", 5, false)]),
        ]);
        let ann = &balances["ann"];
        assert_eq!(
            ann.by_currency.get(&Currency::USD),
            None,
            "zero nets are left out"
        );
        assert_eq!(ann.by_currency.get(&cur("JPY")), Some(&-1000));
        assert_eq!(balances["bob"].by_currency.get(&cur("BHD")), Some(&-5));
        assert!(group_balances(Vec::<(Currency, Bill<u8>)>::new()).is_empty());
        assert!(!ann.is_zero());
    }

    #[test]
    fn collect_nets_adds_rows_per_member_and_currency() {
        let nets = collect_nets([
            ("bob", Currency::USD, 1250),
            ("bob", cur("EUR"), 100),
            ("bob", Currency::USD, -250),
            ("cat", Currency::USD, 500),
            ("cat", Currency::USD, -500),
        ]);
        assert_eq!(nets["bob"].by_currency.get(&Currency::USD), Some(&1000));
        assert_eq!(nets["bob"].by_currency.get(&cur("EUR")), Some(&100));
        assert!(nets["cat"].is_zero());
        assert!(MemberBalance::default().is_zero());
    }

    /// Bills of up to 6 people, 1..=3 payers, in 4 currencies; shares are
    /// settled only with one payer, as the API allows.
    fn ledger() -> impl Strategy<Value = Vec<(Currency, Bill<u8>)>> {
        let split = (0..6_u8, 0..=1_000_000_000_000_i64, any::<bool>());
        let payers = prop::collection::vec((0..6_u8, 1..100_i64), 1..=3);
        let expense = (payers, 0..4_usize, prop::collection::vec(split, 1..8));
        prop::collection::vec(expense, 0..30).prop_map(|expenses| {
            expenses
                .into_iter()
                .map(|(payers, pick, splits)| {
                    let single = payers.len() == 1;
                    let total: i64 = splits.iter().map(|s| s.1).sum();
                    let weight: i64 = payers.iter().map(|p| p.1).sum();
                    let mut paid: Vec<(u8, i64)> = payers
                        .iter()
                        .map(|&(u, w)| {
                            (
                                u,
                                (i128::from(total) * i128::from(w) / i128::from(weight)) as i64,
                            )
                        })
                        .collect();
                    paid[0].1 += total - paid.iter().map(|p| p.1).sum::<i64>();
                    let shares = splits
                        .into_iter()
                        .map(|(user, amount, settled)| Share {
                            user,
                            amount,
                            settled: single && settled,
                        })
                        .collect();
                    (
                        cur(["USD", "JPY", "BHD", "EUR"][pick]),
                        Bill {
                            payers: paid,
                            shares,
                        },
                    )
                })
                .collect()
        })
    }

    #[test]
    fn a_pair_net_is_what_b_owes_a() {
        let ann_owes_bob = PairNet::owed("ann", "bob", 500);
        assert_eq!(
            ann_owes_bob,
            PairNet {
                a: "ann",
                b: "bob",
                net: -500
            }
        );
        assert_eq!(ann_owes_bob.debt(), ("ann", "bob", 500));
        assert_eq!(ann_owes_bob.seen_by(&"bob"), ("ann", 500));
        assert_eq!(ann_owes_bob.seen_by(&"ann"), ("bob", -500));
        let bob_owes_ann = PairNet::owed("bob", "ann", 500);
        assert_eq!(bob_owes_ann.net, 500);
        assert_eq!(bob_owes_ann.debt(), ("bob", "ann", 500));
        assert_eq!(bob_owes_ann.seen_by(&"ann"), ("bob", 500));
    }

    proptest! {
        #[test]
        fn a_pair_net_reads_back_the_debt_it_was_made_of(
            debtor in 0..5_u8,
            creditor in 0..5_u8,
            amount in -1_000_000_000_000_i64..=1_000_000_000_000,
        ) {
            prop_assume!(debtor != creditor);
            let pair = PairNet::owed(debtor, creditor, amount);
            prop_assert!(pair.a < pair.b);
            let (owes, owed, magnitude) = pair.debt();
            prop_assert_eq!(magnitude, amount.abs());
            if amount > 0 {
                prop_assert_eq!((owes, owed), (debtor, creditor));
            } else if amount < 0 {
                prop_assert_eq!((owes, owed), (creditor, debtor));
            }
            prop_assert_eq!(pair.seen_by(&creditor), (debtor, amount));
            prop_assert_eq!(pair.seen_by(&debtor), (creditor, -amount));
        }

        #[test]
        fn balances_are_paid_minus_owed_and_sum_to_zero(bills in ledger()) {
            let balances = group_balances(bills.clone());
            let mut per_currency: HashMap<Currency, i64> = HashMap::new();
            for balance in balances.values() {
                for (&currency, &net) in &balance.by_currency {
                    *per_currency.entry(currency).or_default() += net;
                }
            }
            prop_assert!(per_currency.values().all(|&total| total == 0), "{:?}", per_currency);
            // Each member's net is what they paid minus what they owe.
            let mut expected: HashMap<(u8, Currency), i128> = HashMap::new();
            for (currency, bill) in &bills {
                for &(payer, amount) in &bill.payers {
                    *expected.entry((payer, *currency)).or_default() += i128::from(amount);
                }
                for s in &bill.shares {
                    let who = if s.settled { bill.payers[0].0 } else { s.user };
                    *expected.entry((who, *currency)).or_default() -= i128::from(s.amount);
                }
            }
            for ((member, currency), net) in expected {
                let got = balances.get(&member).and_then(|b| b.by_currency.get(&currency)).copied().unwrap_or(0);
                prop_assert_eq!(i128::from(got), net);
            }
        }
    }
}
