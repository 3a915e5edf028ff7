// Over 400 lines on purpose: the payment state machine and its rules, with their tests.
//! Payments: status state machine, methods, late penalties, who may validate (four eyes) and
//! receipt codes.
//!
//! ```text
//! en_attente ──approve──▶ valide ──refund──▶ rembourse
//!     │  └────reject────▶ echoue
//!     └─────cancel──────▶ annule ◀──cancel── en_cours
//! en_cours (mobile money) ──complete──▶ valide
//!          └───────────────fail───────▶ echoue
//! ```
//!
//! A manual payment (cash, transfer, or one a member declares) waits in `en_attente` for a
//! president or treasurer other than its recorder: approving makes it `valide`, rejecting makes
//! it `echoue` (with a reason kept beside it). A mobile-money payment is `en_cours` until the
//! provider confirms (`valide`) or refuses (`echoue`). Payments are append-only: a mistake is
//! corrected by a new, compensating entry.

pub mod correction;
pub mod plan;
mod receipt;

use chrono::NaiveDate;

use crate::id::UserId;
use crate::money::Amount;
use crate::permission::{Action, Actor, may};
use crate::role::TontineRole;
use crate::schedule::is_late;
use crate::session::TransitionError;
use crate::wire::wire_enum;

pub use correction::{
    Correcting, CorrectionFacts, CorrectionPlan, CorrectionRefusal, Original, plan_correction,
};
pub use plan::{
    Payer, PaymentFacts, PaymentPlan, PaymentRefusal, Target, Terms, Via, may_record, plan_payment,
};
pub use receipt::{ReceiptCode, ReceiptCodeError};

wire_enum! {
    /// Where a payment stands. New manual payments are `en_attente`.
    #[derive(Default)]
    PaymentStatus("le statut de paiement") {
        /// Recorded, waiting for validation.
        #[default]
        EnAttente => "en_attente",
        /// A mobile-money payment waiting for the provider.
        EnCours => "en_cours",
        /// Validated: counts in the session's collected amount.
        Valide => "valide",
        /// Rejected by a manager or refused by the provider. Final.
        Echoue => "echoue",
        /// Cancelled before validation. Final.
        Annule => "annule",
        /// Validated, then refunded. Final.
        Rembourse => "rembourse",
    }
}

wire_enum! {
    /// How a member paid.
    PaymentMethod("le moyen de paiement") {
        /// Cash, handed to a president, treasurer or collector.
        Especes => "especes",
        /// Orange Money.
        OrangeMoney => "orange_money",
        /// MTN Mobile Money.
        MtnMomo => "mtn_momo",
        /// Wave.
        Wave => "wave",
        /// Free Money.
        FreeMoney => "free_money",
        /// Moov Money.
        MoovMoney => "moov_money",
        /// Bank transfer.
        BankTransfer => "bank_transfer",
    }
}

wire_enum! {
    /// A mobile-money provider Kobiri talks to (each has one adapter in the server). Free Money
    /// and Moov Money go through the operator's own API or an aggregator (CinetPay), as
    /// configured.
    #[derive(PartialOrd, Ord)]
    Provider("le fournisseur de paiement mobile") {
        /// Orange Money's Web Payment API.
        Orange => "orange",
        /// MTN MoMo's Collection and Disbursement APIs.
        Mtn => "mtn",
        /// Wave's Checkout and Payout APIs.
        Wave => "wave",
        /// The CinetPay aggregator.
        #[serde(rename = "cinetpay")]
        CinetPay => "cinetpay",
    }
}

impl PaymentMethod {
    /// True for the mobile-money operators (they can be initiated and confirmed by webhook).
    pub fn is_mobile_money(self) -> bool {
        matches!(
            self,
            PaymentMethod::OrangeMoney
                | PaymentMethod::MtnMomo
                | PaymentMethod::Wave
                | PaymentMethod::FreeMoney
                | PaymentMethod::MoovMoney
        )
    }

    /// True for cash and bank transfer, which a manager must validate by hand.
    pub fn is_manual(self) -> bool {
        !self.is_mobile_money()
    }
}

impl PaymentStatus {
    /// A manager approves: `en_attente` → `valide`.
    pub fn approve(self) -> Result<PaymentStatus, TransitionError> {
        self.leave_waiting("valider", PaymentStatus::Valide)
    }

    /// A manager rejects: `en_attente` → `echoue` (the payment did not happen as declared).
    pub fn reject(self) -> Result<PaymentStatus, TransitionError> {
        self.leave_waiting("rejeter", PaymentStatus::Echoue)
    }

    /// `en_attente` or `en_cours` → `annule`.
    pub fn cancel(self) -> Result<PaymentStatus, TransitionError> {
        match self {
            PaymentStatus::EnAttente | PaymentStatus::EnCours => Ok(PaymentStatus::Annule),
            _ => Err(self.refuse("annuler")),
        }
    }

    /// The provider confirms a mobile-money payment: `en_cours` → `valide`.
    pub fn complete(self) -> Result<PaymentStatus, TransitionError> {
        self.leave_provider("confirmer", PaymentStatus::Valide)
    }

    /// The provider refuses a mobile-money payment: `en_cours` → `echoue`.
    pub fn fail(self) -> Result<PaymentStatus, TransitionError> {
        self.leave_provider("marquer comme échoué", PaymentStatus::Echoue)
    }

    /// A validated payment is paid back: `valide` → `rembourse`.
    pub fn refund(self) -> Result<PaymentStatus, TransitionError> {
        match self {
            PaymentStatus::Valide => Ok(PaymentStatus::Rembourse),
            _ => Err(self.refuse("rembourser")),
        }
    }

    /// True for `en_attente`, `en_cours` and `valide`: a member has at most one such payment
    /// per session (the database's partial unique index says the same). A refunded payment
    /// frees the slot for the entry that replaces it.
    pub fn counts_toward_uniqueness(self) -> bool {
        matches!(
            self,
            PaymentStatus::EnAttente | PaymentStatus::EnCours | PaymentStatus::Valide
        )
    }

    /// True for `echoue`, `annule` and `rembourse`, which nothing leaves.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            PaymentStatus::Echoue | PaymentStatus::Annule | PaymentStatus::Rembourse
        )
    }

    fn leave_waiting(
        self,
        action: &'static str,
        to: PaymentStatus,
    ) -> Result<PaymentStatus, TransitionError> {
        match self {
            PaymentStatus::EnAttente => Ok(to),
            _ => Err(self.refuse(action)),
        }
    }

    fn leave_provider(
        self,
        action: &'static str,
        to: PaymentStatus,
    ) -> Result<PaymentStatus, TransitionError> {
        match self {
            PaymentStatus::EnCours => Ok(to),
            _ => Err(self.refuse(action)),
        }
    }

    fn refuse(self, action: &'static str) -> TransitionError {
        TransitionError::NotAllowed {
            from: self.as_str(),
            action,
        }
    }
}

/// Whether a payment made on `paid_on` for a session due on `due` is late (after
/// `due + grace_days`, see [`crate::schedule::is_late`]), and the penalty it bears: the
/// tontine's `penalty` when late, zero (in the same currency) otherwise.
pub fn penalty_for(
    paid_on: NaiveDate,
    due: NaiveDate,
    grace_days: u32,
    penalty: Amount,
) -> (bool, Amount) {
    if is_late(paid_on, due, grace_days) {
        (true, penalty)
    } else {
        (false, Amount::zero(penalty.currency()))
    }
}

/// A manual payment pays exactly the contribution: one payment per member and session, so
/// anything else would leave the session's totals wrong. The penalty of a late payment is
/// recorded beside it, not in it.
pub fn check_contribution(amount: Amount, contribution: Amount) -> Result<(), WrongAmount> {
    if amount == contribution {
        Ok(())
    } else {
        Err(WrongAmount { contribution })
    }
}

/// A correction meets the amount rule of a new payment ([`check_contribution`]); zero is the
/// one other amount it may carry, and withdraws the payment corrected.
pub fn check_correction(amount: Amount, contribution: Amount) -> Result<(), WrongAmount> {
    if amount.is_zero() && amount.currency() == contribution.currency() {
        Ok(())
    } else {
        check_contribution(amount, contribution)
    }
}

/// A payment whose amount is not the contribution. `Display` is French.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("le montant doit être égal à la cotisation ({} {})", .contribution, .contribution.currency())]
pub struct WrongAmount {
    /// The contribution expected.
    pub contribution: Amount,
}

/// Why someone may not validate a payment. `Display` is a French message meant for users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ValidationRefusal {
    /// Only the president and the treasurer (and an administrator) validate payments.
    #[error("seuls le président et le trésorier peuvent valider un paiement")]
    RoleNotAllowed,
    /// The validator recorded the payment: a second person must check it.
    #[error(
        "vous avez enregistré ce paiement : un autre responsable doit le valider \
         (principe des quatre yeux)"
    )]
    RecordedBySelf,
}

/// May a member with `validator_role` validate a payment recorded by `recorded_by`? Only a
/// president or treasurer, and never the person who recorded it (four eyes).
pub fn validation_allowed(
    validator_role: TontineRole,
    validator: UserId,
    recorded_by: UserId,
) -> Result<(), ValidationRefusal> {
    may_validate(Actor::Member(validator_role), validator, recorded_by)
}

/// [`validation_allowed`] for any actor: what [`may`] says of [`Action::ValidatePayment`],
/// and never the recorder, administrators included.
pub fn may_validate(
    actor: Actor,
    validator: UserId,
    recorded_by: UserId,
) -> Result<(), ValidationRefusal> {
    if !may(actor, Action::ValidatePayment) {
        return Err(ValidationRefusal::RoleNotAllowed);
    }
    if validator == recorded_by {
        return Err(ValidationRefusal::RecordedBySelf);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::wire::assert_wire_strings;
    use rust_decimal::Decimal;

    #[test]
    fn wire_strings_are_exact() {
        assert_wire_strings(
            PaymentStatus::ALL,
            PaymentStatus::as_str,
            &[
                "en_attente",
                "en_cours",
                "valide",
                "echoue",
                "annule",
                "rembourse",
            ],
        );
        assert_wire_strings(
            PaymentMethod::ALL,
            PaymentMethod::as_str,
            &[
                "especes",
                "orange_money",
                "mtn_momo",
                "wave",
                "free_money",
                "moov_money",
                "bank_transfer",
            ],
        );
        assert_wire_strings(
            Provider::ALL,
            Provider::as_str,
            &["orange", "mtn", "wave", "cinetpay"],
        );
        assert_eq!(PaymentStatus::default(), PaymentStatus::EnAttente);
    }

    #[test]
    fn methods_are_mobile_money_or_manual() {
        let mobile: Vec<_> = PaymentMethod::ALL
            .iter()
            .filter(|m| m.is_mobile_money())
            .map(|m| m.as_str())
            .collect();
        assert_eq!(
            mobile,
            [
                "orange_money",
                "mtn_momo",
                "wave",
                "free_money",
                "moov_money"
            ]
        );
        assert!(PaymentMethod::Especes.is_manual());
        assert!(PaymentMethod::BankTransfer.is_manual());
        assert!(!PaymentMethod::Wave.is_manual());
    }

    #[test]
    fn approve_and_reject_work_from_en_attente_only() {
        use PaymentStatus::*;
        assert_eq!(EnAttente.approve(), Ok(Valide));
        assert_eq!(EnAttente.reject(), Ok(Echoue));
        for &from in PaymentStatus::ALL.iter().filter(|&&s| s != EnAttente) {
            assert!(from.approve().is_err() && from.reject().is_err(), "{from}");
        }
        assert_eq!(
            Valide.approve().unwrap_err().to_string(),
            "action « valider » impossible depuis le statut « valide »"
        );
    }

    #[test]
    fn cancel_provider_outcomes_and_refund_follow_the_diagram() {
        use PaymentStatus::*;
        assert_eq!(EnAttente.cancel(), Ok(Annule));
        assert_eq!(EnCours.cancel(), Ok(Annule));
        assert!(Valide.cancel().is_err());
        assert_eq!(EnCours.complete(), Ok(Valide));
        assert_eq!(EnCours.fail(), Ok(Echoue));
        assert!(EnAttente.complete().is_err() && EnAttente.fail().is_err());
        assert_eq!(Valide.refund(), Ok(Rembourse));
        assert!(EnAttente.refund().is_err());
    }

    #[test]
    fn final_statuses_allow_nothing() {
        for &status in PaymentStatus::ALL.iter().filter(|s| s.is_final()) {
            assert!(status.approve().is_err() && status.reject().is_err());
            assert!(status.cancel().is_err() && status.complete().is_err());
            assert!(status.fail().is_err() && status.refund().is_err());
        }
    }

    #[test]
    fn cancelled_failed_and_refunded_payments_free_the_slot() {
        let counting: Vec<_> = PaymentStatus::ALL
            .iter()
            .filter(|s| s.counts_toward_uniqueness())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(counting, ["en_attente", "en_cours", "valide"]);
    }

    #[test]
    fn penalty_applies_only_after_the_grace_period() {
        let due = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let penalty = Amount::new(Decimal::from(500), Currency::Xof).unwrap();
        let on_time = NaiveDate::from_ymd_opt(2026, 3, 4).unwrap();
        let late = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
        assert_eq!(
            penalty_for(on_time, due, 3, penalty),
            (false, Amount::zero(Currency::Xof))
        );
        assert_eq!(penalty_for(late, due, 3, penalty), (true, penalty));
    }

    #[test]
    fn only_managers_other_than_the_recorder_validate() {
        let (alice, bob) = (UserId::new(), UserId::new());
        assert_eq!(
            validation_allowed(TontineRole::Tresorier, alice, bob),
            Ok(())
        );
        assert_eq!(
            validation_allowed(TontineRole::President, alice, bob),
            Ok(())
        );
        for role in [TontineRole::Membre, TontineRole::Collecteur] {
            assert_eq!(
                validation_allowed(role, alice, bob),
                Err(ValidationRefusal::RoleNotAllowed)
            );
        }
        let err = validation_allowed(TontineRole::President, alice, alice).unwrap_err();
        assert_eq!(err, ValidationRefusal::RecordedBySelf);
        assert!(err.to_string().contains("quatre yeux"));
        assert_eq!(may_validate(Actor::Admin, alice, bob), Ok(()));
        assert_eq!(
            may_validate(Actor::Admin, alice, alice),
            Err(ValidationRefusal::RecordedBySelf)
        );
        assert_eq!(
            may_validate(Actor::Outsider, alice, bob),
            Err(ValidationRefusal::RoleNotAllowed)
        );
    }

    #[test]
    fn a_payment_is_exactly_the_contribution() {
        let five = Amount::new(Decimal::from(5000), Currency::Xof).unwrap();
        let four = Amount::new(Decimal::from(4000), Currency::Xof).unwrap();
        assert!(check_contribution(five, five).is_ok());
        let err = check_contribution(four, five).unwrap_err();
        assert_eq!(
            err.to_string(),
            "le montant doit être égal à la cotisation (5000 XOF)"
        );
    }

    #[test]
    fn a_correction_is_the_contribution_or_zero() {
        let five = Amount::new(Decimal::from(5000), Currency::Xof).unwrap();
        let one = Amount::new(Decimal::ONE, Currency::Xof).unwrap();
        assert!(check_correction(five, five).is_ok());
        assert!(check_correction(Amount::zero(Currency::Xof), five).is_ok());
        assert_eq!(
            check_correction(one, five),
            Err(WrongAmount { contribution: five })
        );
        assert!(check_correction(Amount::zero(Currency::Eur), five).is_err());
    }
}
