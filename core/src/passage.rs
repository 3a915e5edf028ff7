//! Passages (payouts of the pot): status state machine, payout methods, the payout order
//! (see [`order`]) and how each tontine type pays out.
//!
//! ```text
//! programme ──start──▶ en_cours ──confirm──▶ complete
//!   │   ▲                 │ └─record_payout─┘ (stays en_cours)
//!   │   └──start── reporte ◀──postpone──┘
//!   ├──postpone──▶ reporte
//!   └──cancel────▶ annule ◀──cancel── reporte
//! ```

pub mod confirm;
pub mod order;
pub mod pot;

use crate::session::TransitionError;
use crate::tontine::TontineType;
use crate::wire::wire_enum;

pub use confirm::{ConfirmRefusal, confirmation_audit, plan_confirmation};
pub use order::{Candidate, OrderError, OrderMethod, payout_order, validate_manual_order};
pub use pot::{
    ApprovalReason, PayoutRefusal, Pot, PotScope, approval_reasons, check_payout, check_receipt,
    pot_scope,
};

wire_enum! {
    /// Where a passage stands. New passages are `programme`.
    #[derive(Default)]
    PassageStatus("le statut de passage") {
        /// Planned.
        #[default]
        Programme => "programme",
        /// Started: the payout is being made.
        EnCours => "en_cours",
        /// The beneficiary confirmed receipt. Final.
        Complete => "complete",
        /// Postponed; may be started again later.
        Reporte => "reporte",
        /// Cancelled (e.g. the member left). Final.
        Annule => "annule",
    }
}

wire_enum! {
    /// How the pot was handed to the beneficiary.
    PayoutMethod("le mode de versement") {
        /// Cash.
        Especes => "especes",
        /// Orange Money.
        OrangeMoney => "orange_money",
        /// Wave.
        Wave => "wave",
        /// MTN Mobile Money.
        MtnMomo => "mtn_momo",
        /// Free Money.
        FreeMoney => "free_money",
        /// Moov Money.
        MoovMoney => "moov_money",
        /// Bank transfer.
        Virement => "virement",
    }
}

impl PassageStatus {
    /// `programme` or `reporte` → `en_cours`.
    pub fn start(self) -> Result<PassageStatus, TransitionError> {
        match self {
            PassageStatus::Programme | PassageStatus::Reporte => Ok(PassageStatus::EnCours),
            _ => Err(self.refuse("démarrer")),
        }
    }

    /// Recording the payout (method, reference, amount) is allowed only `en_cours`, and the
    /// passage stays `en_cours` until the beneficiary confirms.
    pub fn record_payout(self) -> Result<PassageStatus, TransitionError> {
        match self {
            PassageStatus::EnCours => Ok(PassageStatus::EnCours),
            _ => Err(self.refuse("enregistrer le versement")),
        }
    }

    /// The beneficiary confirms receipt: `en_cours` → `complete`.
    pub fn confirm(self) -> Result<PassageStatus, TransitionError> {
        match self {
            PassageStatus::EnCours => Ok(PassageStatus::Complete),
            _ => Err(self.refuse("confirmer")),
        }
    }

    /// `programme` or `en_cours` → `reporte`.
    pub fn postpone(self) -> Result<PassageStatus, TransitionError> {
        match self {
            PassageStatus::Programme | PassageStatus::EnCours => Ok(PassageStatus::Reporte),
            _ => Err(self.refuse("reporter")),
        }
    }

    /// `programme` or `reporte` → `annule` (a passage being paid out must be postponed first).
    pub fn cancel(self) -> Result<PassageStatus, TransitionError> {
        match self {
            PassageStatus::Programme | PassageStatus::Reporte => Ok(PassageStatus::Annule),
            _ => Err(self.refuse("annuler")),
        }
    }

    /// True for `programme`, `en_cours` and `reporte`: the member still awaits the pot.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            PassageStatus::Programme | PassageStatus::EnCours | PassageStatus::Reporte
        )
    }

    /// True for `complete` and `annule`, which nothing leaves.
    pub fn is_final(self) -> bool {
        matches!(self, PassageStatus::Complete | PassageStatus::Annule)
    }

    fn refuse(self, action: &'static str) -> TransitionError {
        TransitionError::NotAllowed {
            from: self.as_str(),
            action,
        }
    }
}

/// When the pot is paid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayoutRule {
    /// Each session's pot goes to one member, in the payout order.
    OnePerSession,
    /// Everything accumulates and is shared among the members at the end.
    AllAtEnd,
}

/// How a tontine of type `kind` pays out.
///
/// - rotative: [`PayoutRule::OnePerSession`].
/// - cumulative: [`PayoutRule::AllAtEnd`].
/// - mixte: [`PayoutRule::OnePerSession`]. A mixte tontine rotates the pot like a rotative
///   one; penalties and any surplus accumulate and are shared at the end.
pub fn payout_rule(kind: TontineType) -> PayoutRule {
    match kind {
        TontineType::Rotative | TontineType::Mixte => PayoutRule::OnePerSession,
        TontineType::Cumulative => PayoutRule::AllAtEnd,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::wire::assert_wire_strings;

    #[test]
    fn wire_strings_are_exact() {
        assert_wire_strings(
            PassageStatus::ALL,
            PassageStatus::as_str,
            &["programme", "en_cours", "complete", "reporte", "annule"],
        );
        assert_wire_strings(
            PayoutMethod::ALL,
            PayoutMethod::as_str,
            &[
                "especes",
                "orange_money",
                "wave",
                "mtn_momo",
                "free_money",
                "moov_money",
                "virement",
            ],
        );
        assert_eq!(PassageStatus::default(), PassageStatus::Programme);
    }

    #[test]
    fn start_works_from_planned_or_postponed() {
        use PassageStatus::*;
        assert_eq!(Programme.start(), Ok(EnCours));
        assert_eq!(Reporte.start(), Ok(EnCours));
        for from in [EnCours, Complete, Annule] {
            assert!(from.start().is_err(), "{from}");
        }
    }

    #[test]
    fn payout_is_recorded_only_while_in_progress_and_keeps_the_status() {
        use PassageStatus::*;
        assert_eq!(EnCours.record_payout(), Ok(EnCours));
        for from in [Programme, Complete, Reporte, Annule] {
            assert!(from.record_payout().is_err(), "{from}");
        }
        assert_eq!(
            Programme.record_payout().unwrap_err().to_string(),
            "action « enregistrer le versement » impossible depuis le statut « programme »"
        );
    }

    #[test]
    fn confirm_postpone_and_cancel_follow_the_diagram() {
        use PassageStatus::*;
        assert_eq!(EnCours.confirm(), Ok(Complete));
        assert!(Programme.confirm().is_err());
        assert_eq!(Programme.postpone(), Ok(Reporte));
        assert_eq!(EnCours.postpone(), Ok(Reporte));
        assert!(Reporte.postpone().is_err() && Complete.postpone().is_err());
        assert_eq!(Programme.cancel(), Ok(Annule));
        assert_eq!(Reporte.cancel(), Ok(Annule));
        assert!(EnCours.cancel().is_err());
    }

    #[test]
    fn final_statuses_allow_nothing_and_are_not_pending() {
        for &status in PassageStatus::ALL {
            assert_eq!(status.is_final(), !status.is_pending(), "{status}");
            if status.is_final() {
                assert!(status.start().is_err() && status.record_payout().is_err());
                assert!(status.confirm().is_err() && status.postpone().is_err());
                assert!(status.cancel().is_err());
            }
        }
    }

    #[test]
    fn mixte_rotates_like_rotative_and_cumulative_pays_at_the_end() {
        assert_eq!(
            payout_rule(TontineType::Rotative),
            PayoutRule::OnePerSession
        );
        assert_eq!(payout_rule(TontineType::Mixte), PayoutRule::OnePerSession);
        assert_eq!(payout_rule(TontineType::Cumulative), PayoutRule::AllAtEnd);
    }
}
