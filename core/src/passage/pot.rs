//! The pot a passage pays out of, and the rules that bound a payout.
//!
//! - rotative and mixte ([`PayoutRule::OnePerSession`]): a passage's pot is what was collected
//!   and validated for **its session** (the session it points to, or the session whose number
//!   is its order number), minus what other passages already paid out of that session.
//! - cumulative ([`PayoutRule::AllAtEnd`]): every passage shares **one pot for the whole
//!   tontine**: every validated payment of every session, minus every payout already made.
//!
//! "Collected" counts payments `valide` only (their `amount`, penalties apart), "paid out"
//! counts payouts recorded (cash or transfer declared, or confirmed by the provider) and
//! payouts still live at a provider. A payout above what remains is refused, and so is a
//! beneficiary's confirmation of more than was paid out (or, without a recorded payout, more
//! than remains). A payout to another number than the beneficiary's own, or above the
//! approval threshold, waits for a second manager's approval ([`approval_reasons`]).

use crate::error::ErrorCode;
use crate::id::SessionId;
use crate::money::Amount;
use crate::passage::{PayoutRule, payout_rule};
use crate::tontine::TontineType;

/// Which validated payments fill a passage's pot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PotScope {
    /// The payments of one session (rotative, mixte).
    Session(SessionId),
    /// Every payment of the tontine (cumulative).
    Tontine,
}

/// The scope of a passage's pot in a tontine of type `kind`, given the session the passage
/// falls on (`None` when that session does not exist yet: a rotative passage then has no pot).
pub fn pot_scope(kind: TontineType, session: Option<SessionId>) -> Option<PotScope> {
    match payout_rule(kind) {
        PayoutRule::OnePerSession => session.map(PotScope::Session),
        PayoutRule::AllAtEnd => Some(PotScope::Tontine),
    }
}

/// What a pot holds: validated collections, and what already left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pot {
    pub collected: Amount,
    pub paid_out: Amount,
}

impl Pot {
    /// An empty pot (no session yet, nothing collected).
    pub fn empty(currency: crate::money::Currency) -> Self {
        Self {
            collected: Amount::zero(currency),
            paid_out: Amount::zero(currency),
        }
    }

    /// What may still be paid out: collected − paid out, never below zero.
    pub fn available(&self) -> Amount {
        self.collected
            .checked_sub(self.paid_out)
            .unwrap_or_else(|_| Amount::zero(self.collected.currency()))
    }
}

/// Why a payout (or a confirmation of receipt) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayoutRefusal {
    /// More than the pot holds. `Display` is French.
    #[error(
        "Versement refusé : {requested} demandés, mais seulement {available} collectés et \
         validés restent dans la cagnotte de ce passage"
    )]
    ExceedsPot {
        requested: DisplayAmount,
        available: DisplayAmount,
    },
    /// The beneficiary confirms more than was paid out.
    #[error("Montant refusé : {confirmed} confirmés, mais seulement {paid} ont été versés")]
    ExceedsPayout {
        confirmed: DisplayAmount,
        paid: DisplayAmount,
    },
}

impl PayoutRefusal {
    /// The stable API code.
    pub fn code(&self) -> ErrorCode {
        match self {
            PayoutRefusal::ExceedsPot { .. } => ErrorCode::PayoutExceedsPot,
            PayoutRefusal::ExceedsPayout { .. } => ErrorCode::ReceiptExceedsPayout,
        }
    }
}

/// An amount as printed in messages (`25000 XOF`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisplayAmount(pub Amount);

impl std::fmt::Display for DisplayAmount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.0.to_wire_string(), self.0.currency())
    }
}

/// A payout of `requested` out of `pot`: allowed only up to what remains.
pub fn check_payout(requested: Amount, pot: &Pot) -> Result<(), PayoutRefusal> {
    let available = pot.available();
    if requested.value() > available.value() {
        return Err(PayoutRefusal::ExceedsPot {
            requested: DisplayAmount(requested),
            available: DisplayAmount(available),
        });
    }
    Ok(())
}

/// The beneficiary confirms receiving `confirmed`: at most the recorded payout `paid`, or,
/// with no payout recorded, at most what remains in `pot`.
pub fn check_receipt(
    confirmed: Amount,
    paid: Option<Amount>,
    pot: &Pot,
) -> Result<(), PayoutRefusal> {
    match paid {
        Some(paid) if confirmed.value() > paid.value() => Err(PayoutRefusal::ExceedsPayout {
            confirmed: DisplayAmount(confirmed),
            paid: DisplayAmount(paid),
        }),
        Some(_) => Ok(()),
        None => check_payout(confirmed, pot),
    }
}

/// Why a payout waits for a second manager's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApprovalReason {
    /// To another number than the beneficiary's own on record.
    OtherPhone,
    /// Above the configured threshold.
    AboveThreshold,
}

impl ApprovalReason {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalReason::OtherPhone => "autre_numero",
            ApprovalReason::AboveThreshold => "au_dessus_du_seuil",
        }
    }

    /// Parses a wire string.
    pub fn parse(s: &str) -> Option<Self> {
        [ApprovalReason::OtherPhone, ApprovalReason::AboveThreshold]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Why a payout of `amount` needs a second manager (empty: it does not). `threshold` is the
/// approval threshold in the tontine's currency (`None`: no threshold); `other_phone` says the
/// payout goes to another number than the beneficiary's own.
pub fn approval_reasons(
    amount: Amount,
    threshold: Option<Amount>,
    other_phone: bool,
) -> Vec<ApprovalReason> {
    let mut reasons = Vec::new();
    if other_phone {
        reasons.push(ApprovalReason::OtherPhone);
    }
    if threshold.is_some_and(|t| amount.value() > t.value()) {
        reasons.push(ApprovalReason::AboveThreshold);
    }
    reasons
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn xof(n: i64) -> Amount {
        Amount::new(
            rust_decimal::Decimal::from(n),
            Currency::parse("XOF").unwrap(),
        )
        .unwrap()
    }

    fn pot(collected: i64, paid_out: i64) -> Pot {
        Pot {
            collected: xof(collected),
            paid_out: xof(paid_out),
        }
    }

    #[test]
    fn a_payout_never_exceeds_what_remains() {
        assert!(check_payout(xof(20000), &pot(20000, 0)).is_ok());
        assert!(check_payout(xof(5000), &pot(20000, 15000)).is_ok());
        let refused = check_payout(xof(999_999_999_999), &pot(0, 0)).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::PayoutExceedsPot);
        assert!(refused.to_string().contains("0 XOF"), "{refused}");
        assert!(check_payout(xof(5001), &pot(20000, 15000)).is_err());
        // paid out beyond collected (a validated payment refunded later): nothing remains
        assert_eq!(pot(1000, 3000).available(), xof(0));
    }

    #[test]
    fn a_receipt_is_bounded_by_the_payout_or_else_the_pot() {
        assert!(check_receipt(xof(19500), Some(xof(20000)), &pot(0, 0)).is_ok());
        let refused = check_receipt(xof(20001), Some(xof(20000)), &pot(99999, 0)).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::ReceiptExceedsPayout);
        assert!(check_receipt(xof(20000), None, &pot(20000, 0)).is_ok());
        assert!(check_receipt(xof(1), None, &pot(0, 0)).is_err());
    }

    #[test]
    fn rotative_and_mixte_pay_per_session_cumulative_from_the_whole_tontine() {
        let s = SessionId::new();
        assert_eq!(
            pot_scope(TontineType::Rotative, Some(s)),
            Some(PotScope::Session(s))
        );
        assert_eq!(
            pot_scope(TontineType::Mixte, Some(s)),
            Some(PotScope::Session(s))
        );
        assert_eq!(pot_scope(TontineType::Rotative, None), None);
        assert_eq!(
            pot_scope(TontineType::Cumulative, None),
            Some(PotScope::Tontine)
        );
    }

    #[test]
    fn another_number_or_a_large_amount_needs_a_second_manager() {
        let limit = Some(xof(100_000));
        assert!(approval_reasons(xof(100_000), limit, false).is_empty());
        assert_eq!(
            approval_reasons(xof(100_001), limit, false),
            [ApprovalReason::AboveThreshold]
        );
        assert_eq!(
            approval_reasons(xof(5), None, true),
            [ApprovalReason::OtherPhone]
        );
        for r in [ApprovalReason::OtherPhone, ApprovalReason::AboveThreshold] {
            assert_eq!(ApprovalReason::parse(r.as_str()), Some(r));
        }
    }
}
