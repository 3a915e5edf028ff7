//! Collection sessions: the status state machine, the expected amount and the collection
//! figures (percentage, remaining amount, completeness).
//!
//! ```text
//! programmee ──open──▶ en_cours ──close──▶ terminee
//!     │                   ▲
//!     │   en_attente ─open┘
//!     └──cancel──▶ annulee ◀──cancel── en_attente
//! ```

use rust_decimal::{Decimal, RoundingStrategy};

use crate::money::{Amount, MoneyError};
use crate::wire::wire_enum;

wire_enum! {
    /// Where a session stands. New sessions are `programmee`.
    #[derive(Default)]
    SessionStatus("le statut de session") {
        /// Planned, not open yet.
        #[default]
        Programmee => "programmee",
        /// Open: contributions are being collected.
        EnCours => "en_cours",
        /// On hold; may be opened (again) or cancelled.
        EnAttente => "en_attente",
        /// Closed. Final.
        Terminee => "terminee",
        /// Cancelled. Final.
        Annulee => "annulee",
    }
}

/// Why a status change was refused. `Display` is a French message meant for users.
///
/// Shared by the session, payment and passage state machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum TransitionError {
    /// The action does not exist from the current status.
    #[error("action « {action} » impossible depuis le statut « {from} »")]
    NotAllowed {
        /// The current status's wire string.
        from: &'static str,
        /// The refused action, in French (e.g. "clôturer").
        action: &'static str,
    },
    /// Closing a session while payments are missing, without `force`.
    #[error(
        "impossible de clôturer la session : {0} paiement(s) manquant(s) \
         (utilisez « force » pour clôturer quand même)"
    )]
    MissingPayments(u32),
}

impl SessionStatus {
    /// `programmee` or `en_attente` → `en_cours`.
    pub fn open(self) -> Result<SessionStatus, TransitionError> {
        match self {
            SessionStatus::Programmee | SessionStatus::EnAttente => Ok(SessionStatus::EnCours),
            _ => Err(self.refuse("ouvrir")),
        }
    }

    /// `en_cours` → `terminee`; refused while `missing_payments > 0` unless `force`.
    pub fn close(
        self,
        missing_payments: u32,
        force: bool,
    ) -> Result<SessionStatus, TransitionError> {
        match self {
            SessionStatus::EnCours if missing_payments > 0 && !force => {
                Err(TransitionError::MissingPayments(missing_payments))
            }
            SessionStatus::EnCours => Ok(SessionStatus::Terminee),
            _ => Err(self.refuse("clôturer")),
        }
    }

    /// `programmee` or `en_attente` → `annulee`. An open session must be closed instead.
    pub fn cancel(self) -> Result<SessionStatus, TransitionError> {
        match self {
            SessionStatus::Programmee | SessionStatus::EnAttente => Ok(SessionStatus::Annulee),
            _ => Err(self.refuse("annuler")),
        }
    }

    /// Whether a payment for a session in this status is taken, and as what: an open
    /// (`en_cours`) session collects contributions and arrears; a planned (`programmee`) one
    /// takes advances. Anything else refuses it (online) or flags it (through sync) with
    /// [`NoPayments::code`].
    pub fn payment_window(self) -> Result<PaymentWindow, NoPayments> {
        match self {
            SessionStatus::EnCours => Ok(PaymentWindow::Open),
            SessionStatus::Programmee => Ok(PaymentWindow::Advance),
            SessionStatus::EnAttente | SessionStatus::Terminee | SessionStatus::Annulee => {
                Err(NoPayments(self))
            }
        }
    }

    /// True for `terminee` and `annulee`, which nothing leaves.
    pub fn is_final(self) -> bool {
        matches!(self, SessionStatus::Terminee | SessionStatus::Annulee)
    }

    fn refuse(self, action: &'static str) -> TransitionError {
        TransitionError::NotAllowed {
            from: self.as_str(),
            action,
        }
    }
}

/// How a session takes a payment (see [`SessionStatus::payment_window`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentWindow {
    /// The session is open: a contribution, or arrears paid late.
    Open,
    /// The session is planned, not open yet: an advance, kept for it.
    Advance,
}

/// A session that takes no payment in its status. `Display` is a French message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NoPayments(pub SessionStatus);

impl std::fmt::Display for NoPayments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for NoPayments {}

impl NoPayments {
    /// The stable code of a payment refused (or flagged) for this reason: `session_closed`,
    /// `session_cancelled` or `session_on_hold`.
    pub fn code(&self) -> &'static str {
        match self.0 {
            SessionStatus::Annulee => "session_cancelled",
            SessionStatus::EnAttente => "session_on_hold",
            _ => "session_closed",
        }
    }

    fn message(&self) -> &'static str {
        match self.0 {
            SessionStatus::Annulee => "la séance est annulée",
            SessionStatus::EnAttente => "la séance est suspendue",
            _ => "la séance est clôturée",
        }
    }
}

/// What a session should collect: one contribution per active member.
pub fn expected_amount(contribution: Amount, active_members: u32) -> Result<Amount, MoneyError> {
    contribution.checked_mul(active_members)
}

/// What a session should collect and what it has collected, in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionFigures {
    expected: Amount,
    collected: Amount,
}

impl SessionFigures {
    /// Refuses amounts in different currencies.
    pub fn new(expected: Amount, collected: Amount) -> Result<SessionFigures, MoneyError> {
        if expected.currency() == collected.currency() {
            Ok(SessionFigures {
                expected,
                collected,
            })
        } else {
            Err(MoneyError::CurrencyMismatch)
        }
    }

    /// The amount expected.
    pub fn expected(&self) -> Amount {
        self.expected
    }

    /// The amount collected (validated payments).
    pub fn collected(&self) -> Amount {
        self.collected
    }

    /// `collected / expected` as a percentage between 0 and 100 with at most 2 decimals,
    /// rounded down so that 100 means complete; 0 when nothing is expected. Over-collection
    /// shows as 100.
    pub fn collection_percentage(&self) -> Decimal {
        let expected = self.expected.value();
        if expected.is_zero() {
            return Decimal::ZERO;
        }
        let percentage = self
            .collected
            .value()
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|scaled| scaled.checked_div(expected))
            .unwrap_or(Decimal::ONE_HUNDRED)
            .min(Decimal::ONE_HUNDRED);
        percentage
            .round_dp_with_strategy(2, RoundingStrategy::ToZero)
            .normalize()
    }

    /// What is still to collect; zero once the expected amount is reached.
    pub fn remaining(&self) -> Amount {
        self.expected
            .checked_sub(self.collected)
            .unwrap_or_else(|_| Amount::zero(self.expected.currency()))
    }

    /// True once the collected amount reaches the expected amount (so also when nothing is
    /// expected).
    pub fn is_complete(&self) -> bool {
        self.collected.value() >= self.expected.value()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::wire::assert_wire_strings;
    use proptest::prelude::*;

    fn xof(n: u64) -> Amount {
        Amount::new(Decimal::from(n), Currency::Xof).unwrap()
    }

    fn figures(expected: u64, collected: u64) -> SessionFigures {
        SessionFigures::new(xof(expected), xof(collected)).unwrap()
    }

    #[test]
    fn wire_strings_are_exact() {
        assert_wire_strings(
            SessionStatus::ALL,
            SessionStatus::as_str,
            &[
                "programmee",
                "en_cours",
                "en_attente",
                "terminee",
                "annulee",
            ],
        );
        assert_eq!(SessionStatus::default(), SessionStatus::Programmee);
    }

    #[test]
    fn open_works_from_planned_or_waiting_only() {
        use SessionStatus::*;
        assert_eq!(Programmee.open(), Ok(EnCours));
        assert_eq!(EnAttente.open(), Ok(EnCours));
        for from in [EnCours, Terminee, Annulee] {
            assert!(from.open().is_err(), "{from}");
        }
        assert_eq!(
            Terminee.open().unwrap_err().to_string(),
            "action « ouvrir » impossible depuis le statut « terminee »"
        );
    }

    #[test]
    fn close_refuses_missing_payments_unless_forced() {
        use SessionStatus::*;
        assert_eq!(EnCours.close(0, false), Ok(Terminee));
        assert_eq!(
            EnCours.close(2, false),
            Err(TransitionError::MissingPayments(2))
        );
        assert_eq!(EnCours.close(2, true), Ok(Terminee));
        assert_eq!(
            Programmee.close(0, true),
            Err(TransitionError::NotAllowed {
                from: "programmee",
                action: "clôturer"
            })
        );
        assert!(
            TransitionError::MissingPayments(3)
                .to_string()
                .contains("3 paiement(s)")
        );
    }

    #[test]
    fn cancel_works_before_opening_only() {
        use SessionStatus::*;
        assert_eq!(Programmee.cancel(), Ok(Annulee));
        assert_eq!(EnAttente.cancel(), Ok(Annulee));
        for from in [EnCours, Terminee, Annulee] {
            assert!(from.cancel().is_err(), "{from}");
        }
    }

    #[test]
    fn open_sessions_collect_planned_ones_take_advances_and_final_states_are_final() {
        use SessionStatus::*;
        assert_eq!(EnCours.payment_window(), Ok(PaymentWindow::Open));
        assert_eq!(Programmee.payment_window(), Ok(PaymentWindow::Advance));
        let codes: Vec<_> = [Terminee, Annulee, EnAttente]
            .iter()
            .map(|s| s.payment_window().unwrap_err().code())
            .collect();
        assert_eq!(
            codes,
            ["session_closed", "session_cancelled", "session_on_hold"]
        );
        assert_eq!(
            Terminee.payment_window().unwrap_err().to_string(),
            "la séance est clôturée"
        );
        for &status in SessionStatus::ALL {
            if status.is_final() {
                assert!(status.open().is_err() && status.cancel().is_err());
                assert!(status.close(0, true).is_err());
            }
        }
    }

    #[test]
    fn expected_amount_is_contribution_times_members() {
        assert_eq!(expected_amount(xof(5000), 12), Ok(xof(60_000)));
        assert_eq!(expected_amount(xof(5000), 0), Ok(xof(0)));
        assert_eq!(
            expected_amount(xof(999_999_999_999), 2),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn figures_compute_percentage_remaining_and_completeness() {
        let f = figures(60_000, 40_000);
        assert_eq!(f.collection_percentage().to_string(), "66.66");
        assert_eq!(f.remaining(), xof(20_000));
        assert!(!f.is_complete());
        assert_eq!(
            figures(60_000, 30_000).collection_percentage().to_string(),
            "50"
        );
        assert_eq!(figures(3, 2).collection_percentage().to_string(), "66.66");
        assert_eq!(figures(0, 0).collection_percentage(), Decimal::ZERO);
        assert!(figures(0, 0).is_complete());
        let over = figures(10_000, 15_000);
        assert_eq!(over.collection_percentage(), Decimal::ONE_HUNDRED);
        assert!(over.remaining().is_zero());
        assert!(over.is_complete());
        assert_eq!(
            (over.expected(), over.collected()),
            (xof(10_000), xof(15_000))
        );
    }

    #[test]
    fn figures_refuse_mixed_currencies() {
        let eur = Amount::new(Decimal::ONE, Currency::Eur).unwrap();
        assert_eq!(
            SessionFigures::new(xof(1), eur),
            Err(MoneyError::CurrencyMismatch)
        );
    }

    proptest! {
        #[test]
        fn percentage_is_between_0_and_100_with_2_decimals(
            expected in 0u64..=999_999_999_999, collected in 0u64..=999_999_999_999,
        ) {
            let f = figures(expected, collected);
            let p = f.collection_percentage();
            prop_assert!(p >= Decimal::ZERO && p <= Decimal::ONE_HUNDRED);
            prop_assert!(p.scale() <= 2);
            prop_assert_eq!(p == Decimal::ONE_HUNDRED, f.is_complete() && expected > 0);
            let back = f.remaining().checked_add(f.collected()).unwrap();
            prop_assert_eq!(back.value(), f.expected().value().max(f.collected().value()));
        }
    }
}
