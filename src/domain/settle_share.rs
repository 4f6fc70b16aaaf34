//! Settling one's share of an expense (`PATCH /v1/expenses/:id/settle`): the
//! rule written once, as data. [`conditions`] lists what must hold; the use
//! case checks them in memory on the expense as read ([`check`], which says
//! which one failed), and the store turns the same list into the filter of
//! its conditional write, so a concurrent edit that breaks one makes the
//! write miss. [`Shares::debts_settled`] is the other half of the rule: when
//! every share but the payer's is settled, the expense is settled — after a
//! settle and after an edit alike.

use mongodb::bson::oid::ObjectId;

/// One thing that must hold for `user` to settle their share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Payments are not settled (they are the settling).
    NotAPayment,
    /// With several payers a share is owed to each of them: settle with a
    /// payment instead.
    OnePayer,
    /// `user` owes a share of it.
    HasShare(ObjectId),
    /// … and that share is not settled yet.
    ShareUnsettled(ObjectId),
}

/// What must hold, in the order a refusal is reported.
pub fn conditions(user: ObjectId) -> [Condition; 4] {
    [
        Condition::NotAPayment,
        Condition::OnePayer,
        Condition::HasShare(user),
        Condition::ShareUnsettled(user),
    ]
}

/// What the rule reads of an expense.
pub trait Shares {
    fn is_payment(&self) -> bool;
    fn payer_count(&self) -> usize;
    /// The main payer (who the shares are owed to).
    fn payer(&self) -> ObjectId;
    /// Each share's owner and whether it is settled.
    fn shares(&self) -> impl Iterator<Item = (ObjectId, bool)>;

    /// Someone other than the payer owes a share, and every such share is
    /// settled: the expense is settled.
    fn debts_settled(&self) -> bool {
        let payer = self.payer();
        let mut debts = self.shares().filter(|(u, _)| *u != payer).peekable();
        debts.peek().is_some() && debts.all(|(_, settled)| settled)
    }
}

impl Condition {
    pub fn holds(self, e: &impl Shares) -> bool {
        match self {
            Condition::NotAPayment => !e.is_payment(),
            Condition::OnePayer => e.payer_count() <= 1,
            Condition::HasShare(user) => e.shares().any(|(u, _)| u == user),
            Condition::ShareUnsettled(user) => e.shares().any(|(u, s)| u == user && !s),
        }
    }
}

/// The first condition that does not hold, if any.
pub fn check(e: &impl Shares, user: ObjectId) -> Result<(), Condition> {
    match conditions(user).into_iter().find(|c| !c.holds(e)) {
        Some(failed) => Err(failed),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct E {
        payment: bool,
        payers: usize,
        payer: ObjectId,
        shares: Vec<(ObjectId, bool)>,
    }

    impl Shares for E {
        fn is_payment(&self) -> bool {
            self.payment
        }
        fn payer_count(&self) -> usize {
            self.payers
        }
        fn payer(&self) -> ObjectId {
            self.payer
        }
        fn shares(&self) -> impl Iterator<Item = (ObjectId, bool)> {
            self.shares.iter().copied()
        }
    }

    #[test]
    fn each_condition_is_reported_in_order() {
        let [payer, me, other] = [(); 3].map(|_| ObjectId::new());
        let mut e = E {
            payment: false,
            payers: 1,
            payer,
            shares: vec![(payer, false), (me, false)],
        };
        assert_eq!(check(&e, me), Ok(()));
        assert_eq!(check(&e, other), Err(Condition::HasShare(other)));
        e.shares[1].1 = true;
        assert_eq!(check(&e, me), Err(Condition::ShareUnsettled(me)));
        e.payers = 2;
        assert_eq!(check(&e, me), Err(Condition::OnePayer));
        e.payment = true;
        assert_eq!(check(&e, me), Err(Condition::NotAPayment));
    }

    #[test]
    fn settled_when_every_debt_but_the_payers_own_share_is() {
        let [payer, a, b] = [(); 3].map(|_| ObjectId::new());
        let mut e = E {
            payment: false,
            payers: 1,
            payer,
            shares: vec![(payer, false), (a, true), (b, false)],
        };
        assert!(!e.debts_settled());
        e.shares[2].1 = true;
        assert!(e.debts_settled());
        // Only the payer's own share: nobody owes anything, nothing to settle.
        e.shares = vec![(payer, false)];
        assert!(!e.debts_settled());
    }
}
