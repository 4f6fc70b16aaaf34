//! What one expense or payment books, computed without a database.

use mongodb::bson::{oid::ObjectId, DateTime};

use super::*;
use crate::store::ledger::changes;
use crate::store::{Kind, PayerDoc, SplitDoc};

/// 2025-11-14, in milliseconds.
const NOV_14: i64 = 1_763_078_400_000;

fn ids() -> (ObjectId, ObjectId, ObjectId, ObjectId) {
    let id = |hex| ObjectId::parse_str(hex).expect("hex");
    (
        id("6500000000000000000000a1"),
        id("6500000000000000000000b2"),
        id("6500000000000000000000c3"),
        id("6500000000000000000000f0"),
    )
}

/// `payer` paid the whole amount, split as given (user, minor units, settled).
fn expense(
    payer: ObjectId,
    splits: &[(ObjectId, i64, bool)],
    group: Option<ObjectId>,
) -> ExpenseDoc {
    let amount = splits.iter().map(|s| s.1).sum();
    let at = DateTime::from_millis(NOV_14);
    let mut e = ExpenseDoc {
        description: "Dinner".into(),
        amount,
        currency: crate::domain::money::Currency::USD,
        payers: vec![PayerDoc {
            user: payer,
            amount,
            weight: None,
        }],
        split_with: splits
            .iter()
            .map(|&(user, amount, settled)| SplitDoc {
                id: ObjectId::new(),
                user,
                amount,
                settled,
                settled_at: None,
                weight: None,
            })
            .collect(),
        category: crate::domain::category::Category::Food.into(),
        group,
        ..ExpenseDoc::blank(Kind::Expense, ObjectId::new(), payer, at)
    };
    e.refresh_participants();
    e
}

/// What each pair owes, decoded: (debtor, creditor, amount).
fn debts(delta: &Delta) -> Vec<(ObjectId, ObjectId, i64)> {
    let mut out: Vec<_> = delta
        .pairs
        .values()
        .map(|&(a, b, _, net)| PairNet { a, b, net }.debt())
        .collect();
    out.sort();
    out
}

fn member_nets(delta: &Delta) -> Vec<(ObjectId, i64)> {
    let mut out: Vec<_> = delta.members.values().map(|m| (m.1, m.3)).collect();
    out.sort();
    out
}

#[test]
fn an_expense_books_what_each_sharer_owes_the_payer() {
    let (ann, bob, cy, trip) = ids();
    let dinner = expense(
        ann,
        &[(ann, 3000, false), (bob, 3000, false), (cy, 3000, false)],
        Some(trip),
    );
    let delta = Delta::between(None, Some(&dinner));
    let mut expected = vec![(bob, ann, 3000), (cy, ann, 3000)];
    expected.sort();
    assert_eq!(debts(&delta), expected);
    assert_eq!(
        member_nets(&delta),
        vec![(ann, 6000), (bob, -3000), (cy, -3000)]
    );
    assert_eq!(
        delta.group_pairs.values().map(|g| g.0).collect::<Vec<_>>(),
        vec![trip, trip],
        "a group's expense books its pairs inside the group too"
    );
    let november = Month::of(NOV_14);
    for user in [ann, bob, cy] {
        assert_eq!(delta.user_counts[&user], BTreeMap::from([(november, 1)]));
    }
    assert_eq!(delta.group_counts[&trip], BTreeMap::from([(november, 1)]));
}

#[test]
fn the_sign_follows_the_ids_not_who_paid() {
    let (ann, bob, _, _) = ids();
    // ann < bob: `net` is what bob owes ann, negative when ann owes bob.
    let bob_paid = Delta::between(None, Some(&expense(bob, &[(ann, 500, false)], None)));
    let key = format!("{}:{}:USD", ann.to_hex(), bob.to_hex());
    assert_eq!(bob_paid.pairs[&key], (ann, bob, "USD".to_string(), -500));
    let entries = user_entries(&bob_paid.pairs);
    assert_eq!(entries[&bob][&format!("{}:USD", ann.to_hex())], 500);
    assert_eq!(entries[&ann][&format!("{}:USD", bob.to_hex())], -500);
    assert!(bob_paid.members.is_empty(), "no group, no member balances");
}

#[test]
fn settled_shares_and_the_payers_own_share_move_nothing() {
    let (ann, bob, cy, _) = ids();
    let dinner = expense(
        ann,
        &[(ann, 3000, false), (bob, 3000, true), (cy, 3000, false)],
        None,
    );
    assert_eq!(
        debts(&Delta::between(None, Some(&dinner))),
        vec![(cy, ann, 3000)]
    );
}

#[test]
fn a_change_books_the_difference_and_a_delete_unbooks() {
    let (ann, bob, _, trip) = ids();
    let old = expense(ann, &[(bob, 3000, false)], Some(trip));
    let mut new = old.clone();
    new.split_with[0].amount = 4000;
    new.payers[0].amount = 4000;
    new.amount = 4000;
    let changed = Delta::between(Some(&old), Some(&new));
    assert_eq!(debts(&changed), vec![(bob, ann, 1000)]);
    assert!(
        changed.user_counts.is_empty() && changed.group_counts.is_empty(),
        "same month, same people: the counts cancel"
    );
    let unchanged = Delta::between(Some(&old), Some(&old));
    assert!(unchanged.pairs.is_empty() && unchanged.members.is_empty());
    assert!(
        changes(Some(&old), Some(&old)).is_empty(),
        "nothing to write"
    );
    let deleted = Delta::between(Some(&old), None);
    assert_eq!(debts(&deleted), vec![(ann, bob, 3000)]);
    assert_eq!(member_nets(&deleted), vec![(ann, -3000), (bob, 3000)]);
    assert_eq!(
        deleted.group_counts[&trip],
        BTreeMap::from([(Month::of(NOV_14), -1)])
    );
}

#[test]
fn a_payment_books_the_payee_owing_the_payer_and_settles_a_debt() {
    let (ann, bob, _, _) = ids();
    let dinner = expense(ann, &[(ann, 3000, false), (bob, 3000, false)], None);
    let mut payment = expense(bob, &[(ann, 3000, false)], None);
    payment.kind = Kind::Payment;
    assert_eq!(
        debts(&Delta::between(None, Some(&payment))),
        vec![(ann, bob, 3000)]
    );
    let mut both = Delta::default();
    both.add(&(&dinner).into(), 1);
    both.add(&(&payment).into(), 1);
    both.prune();
    assert!(both.pairs.is_empty(), "bob paid back what he owed");
    assert!(user_entries(&both.pairs).is_empty());
    assert_eq!(
        both.user_counts[&bob],
        BTreeMap::from([(Month::of(NOV_14), 2)])
    );
}

#[test]
fn several_payers_are_owed_in_proportion() {
    let (ann, bob, cy, _) = ids();
    let mut dinner = expense(ann, &[(cy, 9000, false)], None);
    dinner.payers = vec![
        PayerDoc {
            user: ann,
            amount: 6000,
            weight: None,
        },
        PayerDoc {
            user: bob,
            amount: 3000,
            weight: None,
        },
    ];
    dinner.refresh_participants();
    let mut expected = vec![(cy, ann, 6000), (cy, bob, 3000)];
    expected.sort();
    assert_eq!(debts(&Delta::between(None, Some(&dinner))), expected);
}

#[test]
fn the_commands_write_each_collection_once_in_order() {
    let (ann, bob, _, trip) = ids();
    let dinner = expense(ann, &[(bob, 3000, false)], Some(trip));
    let collections: Vec<String> = changes(None, Some(&dinner))
        .iter()
        .map(|c| c.get_str("update").expect("an update command").to_owned())
        .collect();
    assert_eq!(
        collections,
        [
            "balances",
            "groupbalances",
            "grouppairs",
            "groups",
            "userbalances"
        ]
    );
}
