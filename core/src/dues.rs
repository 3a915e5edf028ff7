//! Whether a member has paid a session, and which session a payment goes to. One definition
//! for everyone: a session's stats and its close check, the session a payment without a
//! `session_id` goes to, reminders and late penalties, on the server and on the phone.
//!
//! A member **has paid** a session when their validated payments for it add up to what they
//! owe (the contribution). A payment waiting for validation, for the operator or for a
//! treasurer (flagged) does not make them paid, but a member whose live payments cover what
//! they owe is **paying**: nobody reminds or penalises them, and a new payment without a
//! session does not go there. Anything less, 1 XOF out of 5,000 for instance, is **unpaid**.

use rust_decimal::Decimal;

use crate::money::Amount;
use crate::payment::PaymentStatus;
use crate::session::SessionStatus;

/// One of a member's payments for a session, as the rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentFact {
    pub status: PaymentStatus,
    /// Arrived by sync and waits for a treasurer's decision.
    pub flagged: bool,
    pub amount: Amount,
}

/// Where a member stands for one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dues {
    /// Validated payments add up to what the member owes.
    Paid,
    /// Not paid yet, but the live payments (waiting for validation, for the operator or for a
    /// treasurer) cover what the member owes.
    Paying,
    /// What the member has given, validated or not, is less than what they owe.
    Unpaid,
}

impl Dues {
    /// Where a member who owes `owed` stands, given their payments for the session.
    pub fn of(owed: Amount, payments: impl IntoIterator<Item = PaymentFact>) -> Dues {
        let mut validated = Decimal::ZERO;
        let mut live = Decimal::ZERO;
        for p in payments {
            if p.amount.currency() != owed.currency() {
                continue;
            }
            let value = p.amount.value();
            match p.status {
                PaymentStatus::Valide if !p.flagged => {
                    validated = validated.saturating_add(value);
                    live = live.saturating_add(value);
                }
                PaymentStatus::Valide | PaymentStatus::EnAttente | PaymentStatus::EnCours => {
                    live = live.saturating_add(value);
                }
                PaymentStatus::Echoue | PaymentStatus::Annule | PaymentStatus::Rembourse => {}
            }
        }
        if validated >= owed.value() {
            Dues::Paid
        } else if live >= owed.value() {
            Dues::Paying
        } else {
            Dues::Unpaid
        }
    }

    /// True once validated payments cover what is owed.
    pub fn is_paid(self) -> bool {
        self == Dues::Paid
    }

    /// True while nothing covers what is owed: reminders and late penalties are for them, and
    /// a payment without a session goes to such a session.
    pub fn is_unpaid(self) -> bool {
        self == Dues::Unpaid
    }
}

/// The session a payment without a `session_id` goes to: the oldest open (`en_cours`) one,
/// by number, that the member has not paid ([`Dues::Unpaid`]). Arrears therefore go to the
/// session they belong to; a planned session (an advance) is only paid when named.
/// `sessions` yields each session's number, status and the member's standing in it.
pub fn session_to_pay<S>(
    sessions: impl IntoIterator<Item = (S, u32, SessionStatus, Dues)>,
) -> Option<S> {
    sessions
        .into_iter()
        .filter(|(_, _, status, dues)| *status == SessionStatus::EnCours && dues.is_unpaid())
        .min_by_key(|(_, number, _, _)| *number)
        .map(|(session, _, _, _)| session)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn xof(n: u64) -> Amount {
        Amount::new(Decimal::from(n), Currency::Xof).unwrap()
    }

    fn fact(status: PaymentStatus, flagged: bool, n: u64) -> PaymentFact {
        PaymentFact {
            status,
            flagged,
            amount: xof(n),
        }
    }

    #[test]
    fn only_validated_payments_adding_up_to_the_contribution_pay() {
        use PaymentStatus::*;
        let owed = xof(5000);
        assert_eq!(Dues::of(owed, []), Dues::Unpaid);
        assert_eq!(Dues::of(owed, [fact(Valide, false, 5000)]), Dues::Paid);
        assert_eq!(Dues::of(owed, [fact(Valide, false, 1)]), Dues::Unpaid);
        assert_eq!(
            Dues::of(owed, [fact(Valide, false, 2000), fact(Valide, false, 3000)]),
            Dues::Paid
        );
        assert_eq!(Dues::of(owed, [fact(EnAttente, false, 5000)]), Dues::Paying);
        assert_eq!(Dues::of(owed, [fact(EnCours, false, 5000)]), Dues::Paying);
        assert_eq!(Dues::of(owed, [fact(EnAttente, true, 5000)]), Dues::Paying);
        assert_eq!(Dues::of(owed, [fact(EnAttente, false, 1)]), Dues::Unpaid);
        for dead in [Echoue, Annule, Rembourse] {
            assert_eq!(Dues::of(owed, [fact(dead, false, 5000)]), Dues::Unpaid);
        }
        let eur = PaymentFact {
            status: Valide,
            flagged: false,
            amount: Amount::new(Decimal::from(5000), Currency::Eur).unwrap(),
        };
        assert_eq!(Dues::of(owed, [eur]), Dues::Unpaid);
    }

    #[test]
    fn a_payment_goes_to_the_oldest_open_session_not_paid() {
        use SessionStatus::*;
        let sessions = [
            ("s3", 3, EnCours, Dues::Unpaid),
            ("s1", 1, EnCours, Dues::Paid),
            ("s2", 2, EnCours, Dues::Unpaid),
            ("s0", 0, Terminee, Dues::Unpaid),
            ("s4", 4, Programmee, Dues::Unpaid),
        ];
        assert_eq!(session_to_pay(sessions), Some("s2"));
        let paying = [
            ("s1", 1, EnCours, Dues::Paying),
            ("s2", 2, EnCours, Dues::Paid),
        ];
        assert_eq!(session_to_pay(paying), None);
        assert_eq!(session_to_pay([("s5", 5, Programmee, Dues::Unpaid)]), None);
    }
}
