//! The one planner of a payment correction: [`plan_correction`].
//!
//! A correction is a compensating entry: it sets a payment to a new amount (zero withdraws
//! it). The phone checks it before queueing and the server plans it when pushed; both call
//! [`plan_correction`], which differs between them in one parameter, [`Correcting`], as
//! [`super::plan`] does for a new payment.
//!
//! Money already validated, flagged, or waiting for an operator moves again only after a
//! second person's review: such a correction is never refused for that, it waits flagged.

use serde_json::{Value, json};

use super::{PaymentStatus, WrongAmount, check_correction};
use crate::id::{PaymentId, UserId};
use crate::money::Amount;
use crate::permission::Action;

use crate::permission::Caller;

/// The flag code of a correction to zero that waits for review (it names the original).
pub const WITHDRAWAL: &str = "withdrawal";

/// The payment corrected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Original {
    pub id: PaymentId,
    /// Who recorded it: the server's `recorded_by_id`; for an entry a phone has not had back
    /// yet, the device's owner (the server credits a pushed entry to the device's owner).
    pub recorded_by: UserId,
    pub status: PaymentStatus,
    pub flagged: bool,
    pub amount: Amount,
}

/// How the correction arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correcting<'a> {
    /// A phone, checking before it queues: a broken amount rule is refused.
    Phone,
    /// Pushed by a phone: a broken amount rule is kept, flagged.
    Sync {
        seq: u64,
        /// What the log checks found wrong (a broken chain, a clock ahead).
        integrity: &'a [String],
    },
}

/// Everything [`plan_correction`] decides on.
#[derive(Debug, Clone, Copy)]
pub struct CorrectionFacts<'a> {
    pub caller: Caller,
    /// The tontine's contribution: the amount rule of a new payment, or zero.
    pub contribution: Amount,
    pub original: Original,
    /// The compensating entry's id.
    pub id: PaymentId,
    pub amount: Amount,
    pub reason: &'a str,
    pub via: Correcting<'a>,
}

/// Why a correction is refused, or (at sync) why it waits flagged. `Display` is French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorrectionRefusal {
    /// Neither the payment's recorder nor a treasurer.
    #[error("seul l'auteur du paiement ou un trésorier peut le corriger")]
    NotAllowed,
    #[error(transparent)]
    WrongAmount(WrongAmount),
    /// The money corrected already moved on: a second person reviews the correction.
    #[error(
        "correction de {from} à {to} demandée sur un paiement {status}{} : {reason}",
        if *.flagged { " signalé" } else { "" }
    )]
    NeedsReview {
        from: String,
        to: String,
        status: PaymentStatus,
        flagged: bool,
        reason: String,
    },
    /// What the log checks found (sync only).
    #[error("{0}")]
    Integrity(String),
}

impl CorrectionRefusal {
    /// The API error code of the refusal.
    pub fn code(&self) -> crate::ErrorCode {
        match self {
            CorrectionRefusal::NotAllowed => crate::ErrorCode::Forbidden,
            CorrectionRefusal::WrongAmount(_) | CorrectionRefusal::NeedsReview { .. } => {
                crate::ErrorCode::BusinessRule
            }
            CorrectionRefusal::Integrity(_) => crate::ErrorCode::ValidationError,
        }
    }

    /// The field of the request the refusal is about, if one is.
    pub fn field(&self) -> Option<&'static str> {
        matches!(self, CorrectionRefusal::WrongAmount(_)).then_some("amount")
    }

    fn flag_code(&self) -> &'static str {
        match self {
            CorrectionRefusal::NotAllowed => "forbidden",
            CorrectionRefusal::WrongAmount(_) => "wrong_amount",
            CorrectionRefusal::NeedsReview { .. } => "correction",
            CorrectionRefusal::Integrity(_) => "integrity",
        }
    }
}

/// What a correction writes.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectionPlan {
    /// The compensating entry is written (a correction to zero only withdraws).
    pub writes_entry: bool,
    /// The original is cancelled now (nothing to review).
    pub cancels_original: bool,
    /// Why it waits for a treasurer, in the order checked (sync; the phone ignores them).
    pub flags: Vec<CorrectionRefusal>,
    /// The audit entry's `after` (`payment.corrected`, on the original).
    pub audit: Value,
}

impl CorrectionPlan {
    /// The flag, when the correction waits for review: the payment it names (the entry, or the
    /// original when the correction withdraws it), its code and its reason.
    pub fn flag(&self, facts: &CorrectionFacts<'_>) -> Option<(PaymentId, &'static str, String)> {
        let last = self.flags.last()?;
        let reasons: Vec<String> = self.flags.iter().map(ToString::to_string).collect();
        let reason = reasons.join(" ; ");
        Some(if self.writes_entry {
            (facts.id, last.flag_code(), reason)
        } else {
            (facts.original.id, WITHDRAWAL, reason)
        })
    }
}

/// Plans a correction from `facts`: the refusal, or what to write.
pub fn plan_correction(facts: &CorrectionFacts<'_>) -> Result<CorrectionPlan, CorrectionRefusal> {
    let CorrectionFacts {
        caller,
        contribution,
        original,
        id,
        amount,
        reason,
        via,
    } = *facts;
    if original.recorded_by != caller.user && !caller.may(Action::ValidatePayment) {
        return Err(CorrectionRefusal::NotAllowed);
    }
    let mut flags = Vec::new();
    let seq = match via {
        Correcting::Sync { seq, integrity } => {
            flags.extend(integrity.iter().cloned().map(CorrectionRefusal::Integrity));
            Some(seq)
        }
        Correcting::Phone => None,
    };
    // The same amount rule as a new payment (or zero, which withdraws the payment).
    if let Err(e) = check_correction(amount, contribution) {
        match via {
            Correcting::Phone => return Err(CorrectionRefusal::WrongAmount(e)),
            Correcting::Sync { .. } => flags.push(CorrectionRefusal::WrongAmount(e)),
        }
    }
    if original.status != PaymentStatus::EnAttente || original.flagged {
        flags.push(CorrectionRefusal::NeedsReview {
            from: original.amount.to_wire_string(),
            to: amount.to_wire_string(),
            status: original.status,
            flagged: original.flagged,
            reason: reason.to_owned(),
        });
    }
    let mut audit = json!({
        "corrected_by": id,
        "amount": amount.to_wire_string(),
        "reason": reason,
    });
    if let Some(seq) = seq {
        audit["seq"] = json!(seq);
    }
    Ok(CorrectionPlan {
        writes_entry: !amount.is_zero(),
        cancels_original: flags.is_empty(),
        flags,
        audit,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::role::{PlatformRole, TontineRole};

    fn xof(v: i64) -> Amount {
        Amount::new(rust_decimal::Decimal::from(v), Currency::Xof).unwrap()
    }

    /// A collector corrects a cash payment they recorded, still waiting for validation.
    fn facts(via: Correcting<'static>) -> CorrectionFacts<'static> {
        let collector = UserId::new();
        CorrectionFacts {
            caller: Caller {
                user: collector,
                platform: PlatformRole::Membre,
                membership: Some(TontineRole::Collecteur),
            },
            contribution: xof(5000),
            original: Original {
                id: PaymentId::new(),
                recorded_by: collector,
                status: PaymentStatus::EnAttente,
                flagged: false,
                amount: xof(5000),
            },
            id: PaymentId::new(),
            amount: xof(5000),
            reason: "erreur de saisie",
            via,
        }
    }

    const SYNC: Correcting<'static> = Correcting::Sync {
        seq: 4,
        integrity: &[],
    };

    #[test]
    fn the_recorder_or_a_treasurer_corrects_on_both_paths() {
        for via in [Correcting::Phone, SYNC] {
            assert!(plan_correction(&facts(via)).unwrap().cancels_original);
            let mut f = facts(via);
            f.original.recorded_by = UserId::new();
            assert_eq!(plan_correction(&f), Err(CorrectionRefusal::NotAllowed));
            for (platform, role, allowed) in [
                (PlatformRole::Membre, Some(TontineRole::Membre), false),
                (PlatformRole::Membre, Some(TontineRole::Collecteur), false),
                (PlatformRole::Membre, Some(TontineRole::Tresorier), true),
                (PlatformRole::Membre, Some(TontineRole::President), true),
                (PlatformRole::Admin, None, true),
                (PlatformRole::Membre, None, false),
            ] {
                f.caller.platform = platform;
                f.caller.membership = role;
                assert_eq!(
                    plan_correction(&f).is_ok(),
                    allowed,
                    "{platform:?} {role:?}"
                );
            }
        }
    }

    #[test]
    fn a_wrong_amount_is_refused_on_the_phone_and_flagged_at_sync() {
        let mut f = facts(Correcting::Phone);
        f.amount = xof(1);
        let refused = plan_correction(&f).unwrap_err();
        assert_eq!(refused.field(), Some("amount"));
        assert_eq!(
            refused.to_string(),
            "le montant doit être égal à la cotisation (5000 XOF)"
        );
        f.via = SYNC;
        let plan = plan_correction(&f).unwrap();
        assert!(!plan.cancels_original);
        let (payment, code, _) = plan.flag(&f).unwrap();
        assert_eq!((payment, code), (f.id, "wrong_amount"));
        assert_eq!(plan.audit["seq"], 4);
    }

    #[test]
    fn moved_money_waits_for_review_and_a_withdrawal_names_the_original() {
        for via in [Correcting::Phone, SYNC] {
            let mut f = facts(via);
            f.original.status = PaymentStatus::Valide;
            let plan = plan_correction(&f).unwrap();
            assert!(!plan.cancels_original && plan.writes_entry);
            let (payment, code, reason) = plan.flag(&f).unwrap();
            assert_eq!((payment, code), (f.id, "correction"));
            assert_eq!(
                reason,
                "correction de 5000 à 5000 demandée sur un paiement valide : erreur de saisie"
            );
            f.amount = xof(0);
            let plan = plan_correction(&f).unwrap();
            assert!(!plan.writes_entry);
            assert_eq!(plan.flag(&f).unwrap().0, f.original.id);
            assert_eq!(plan.flag(&f).unwrap().1, WITHDRAWAL);
        }
        // A flagged payment waiting for validation is under review already.
        let mut f = facts(SYNC);
        f.original.flagged = true;
        let (_, _, reason) = plan_correction(&f).unwrap().flag(&f).unwrap();
        assert!(reason.contains("en_attente signalé"), "{reason}");
    }

    #[test]
    fn a_correction_to_zero_of_a_pending_payment_cancels_it_at_once() {
        let mut f = facts(SYNC);
        f.amount = xof(0);
        let plan = plan_correction(&f).unwrap();
        assert!(plan.cancels_original && !plan.writes_entry && plan.flag(&f).is_none());
        assert_eq!(plan.audit["amount"], "0");
        assert!(plan.audit.get("seq").is_some());
        assert!(
            plan_correction(&facts(Correcting::Phone))
                .unwrap()
                .audit
                .get("seq")
                .is_none()
        );
    }
}
