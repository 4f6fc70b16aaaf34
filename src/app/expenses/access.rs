//! Who may do what with an expense or a payment: one policy, read by every
//! use case (view, edit, delete, settle, receipts, pictures) — and by the
//! store's listings in query form: `participants` holds exactly the people
//! with at least [`Access::View`] (see `ExpenseDoc::refresh_participants`).

use mongodb::bson::oid::ObjectId;

use crate::store::{ExpenseDoc, Kind};

/// What one person may do with one expense or payment; each level includes
/// the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Not one of its people: it is not theirs to see.
    None,
    /// One of its people: reads it (and its receipt).
    View,
    /// Owes a share of a one-payer expense: may also settle that share.
    Settle,
    /// The creator or a payer of an expense, or whoever recorded a payment:
    /// may also change it, delete it and attach or remove its receipt.
    Edit,
}

/// `user`'s access to `e`.
pub fn of(e: &ExpenseDoc, user: ObjectId) -> Access {
    let payer = e.paid_by == user || e.payers.iter().any(|p| p.user == user);
    let in_split = e.split_with.iter().any(|s| s.user == user);
    let edits = match e.kind {
        Kind::Expense => e.created_by == user || payer,
        Kind::Payment => e.created_by == user,
    };
    if edits {
        Access::Edit
    } else if e.kind == Kind::Expense && in_split && !e.has_several_payers() {
        Access::Settle
    } else if e.created_by == user || payer || in_split {
        Access::View
    } else {
        Access::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Currency;
    use crate::store::{PayerDoc, SplitDoc};
    use mongodb::bson::DateTime;

    fn split(user: ObjectId) -> SplitDoc {
        SplitDoc {
            id: ObjectId::new(),
            user,
            amount: 100,
            settled: false,
            settled_at: None,
            weight: None,
        }
    }

    fn expense(
        kind: Kind,
        creator: ObjectId,
        payer: ObjectId,
        split_users: &[ObjectId],
    ) -> ExpenseDoc {
        let mut e = ExpenseDoc {
            description: "Taxi".into(),
            amount: 100 * split_users.len() as i64,
            currency: Currency::USD,
            paid_by: payer,
            payers: vec![PayerDoc {
                user: payer,
                amount: 100,
                weight: None,
            }],
            split_with: split_users.iter().copied().map(split).collect(),
            ..ExpenseDoc::blank(kind, ObjectId::new(), creator, DateTime::now())
        };
        e.refresh_participants();
        e
    }

    #[test]
    fn creator_and_payers_edit_split_members_settle_others_nothing() {
        let [creator, payer, member, stranger] = [(); 4].map(|_| ObjectId::new());
        let e = expense(Kind::Expense, creator, payer, &[payer, member]);
        assert_eq!(of(&e, creator), Access::Edit);
        assert_eq!(of(&e, payer), Access::Edit);
        assert_eq!(of(&e, member), Access::Settle);
        assert_eq!(of(&e, stranger), Access::None);
        // The store's listings find exactly the people with access.
        for who in [creator, payer, member, stranger] {
            assert_eq!(e.participants.contains(&who), of(&e, who) >= Access::View);
        }
    }

    #[test]
    fn only_who_recorded_a_payment_changes_it_and_nobody_settles_it() {
        let [recorder, payer, payee] = [(); 3].map(|_| ObjectId::new());
        let p = expense(Kind::Payment, recorder, payer, &[payee]);
        assert_eq!(of(&p, recorder), Access::Edit);
        assert_eq!(of(&p, payer), Access::View);
        assert_eq!(of(&p, payee), Access::View);
    }

    #[test]
    fn with_several_payers_shares_are_not_settled_one_by_one() {
        let [a, b, c] = [(); 3].map(|_| ObjectId::new());
        let mut e = expense(Kind::Expense, a, a, &[a, b, c]);
        e.payers.push(PayerDoc {
            user: b,
            amount: 100,
            weight: None,
        });
        assert_eq!(of(&e, b), Access::Edit);
        assert_eq!(of(&e, c), Access::View);
    }
}
