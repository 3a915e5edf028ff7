//! The one planner of a beneficiary's payout confirmation: [`plan_confirmation`].
//!
//! The beneficiary confirms, through REST (`POST /passages/{id}/confirm`), on the phone before
//! it queues, or by a pushed mutation; all three call [`plan_confirmation`]. The amount's
//! bound (at most what was paid out, or what the pot holds) is [`super::check_receipt`],
//! asked where the pot is read (inside the write's transaction online).

use serde_json::{Value, json};

use super::PassageStatus;
use crate::error::ErrorCode;
use crate::id::MemberId;
use crate::money::Amount;
use crate::session::TransitionError;

/// Why a confirmation is refused. `Display` is the one French message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmRefusal {
    /// Only the passage's beneficiary confirms receiving it.
    #[error("seul le bénéficiaire peut confirmer la réception du passage")]
    NotBeneficiary,
    /// The passage is not `en_cours`.
    #[error(transparent)]
    Status(TransitionError),
}

impl ConfirmRefusal {
    /// The API error code of the refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            ConfirmRefusal::NotBeneficiary => ErrorCode::Forbidden,
            ConfirmRefusal::Status(_) => ErrorCode::BusinessRule,
        }
    }
}

/// Plans the confirmation, by the member `caller` (their active membership, if any), of a
/// passage of `beneficiary` in `status`: the passage's new status. The phone passes no status:
/// its copy may predate the passage's start (the treasurer hands over the pot, then the phone
/// confirms offline), and the server checks it when the confirmation arrives.
pub fn plan_confirmation(
    caller: Option<MemberId>,
    beneficiary: MemberId,
    status: Option<PassageStatus>,
) -> Result<PassageStatus, ConfirmRefusal> {
    if caller != Some(beneficiary) {
        return Err(ConfirmRefusal::NotBeneficiary);
    }
    status
        .unwrap_or(PassageStatus::EnCours)
        .confirm()
        .map_err(ConfirmRefusal::Status)
}

/// The audit entry's `after` of a confirmation to `to` of receiving `amount`; `seq` is the
/// mutation's number when pushed by a phone.
pub fn confirmation_audit(to: PassageStatus, amount: Amount, seq: Option<u64>) -> Value {
    let mut audit = json!({
        "status": to.as_str(),
        "amount_received": amount.to_wire_string(),
        "confirmed_by_member": true,
    });
    if let Some(seq) = seq {
        audit["seq"] = json!(seq);
    }
    audit
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn only_the_beneficiary_confirms_a_passage_under_way() {
        let (me, other) = (MemberId::new(), MemberId::new());
        let to = plan_confirmation(Some(me), me, Some(PassageStatus::EnCours)).unwrap();
        assert_eq!(to, PassageStatus::Complete);
        // The phone's copy may be old: the server checks the status.
        assert_eq!(
            plan_confirmation(Some(me), me, None),
            Ok(PassageStatus::Complete)
        );
        for caller in [None, Some(other)] {
            assert_eq!(
                plan_confirmation(caller, me, Some(PassageStatus::EnCours)),
                Err(ConfirmRefusal::NotBeneficiary)
            );
        }
        for status in [
            PassageStatus::Programme,
            PassageStatus::Complete,
            PassageStatus::Reporte,
            PassageStatus::Annule,
        ] {
            let refused = plan_confirmation(Some(me), me, Some(status)).unwrap_err();
            assert_eq!(refused.code(), ErrorCode::BusinessRule, "{status:?}");
        }
    }

    #[test]
    fn the_audit_entry_is_the_same_online_and_pushed_but_for_the_seq() {
        let amount = Amount::parse("10000", Currency::Xof).unwrap();
        let online = confirmation_audit(PassageStatus::Complete, amount, None);
        let mut pushed = confirmation_audit(PassageStatus::Complete, amount, Some(3));
        assert_eq!(pushed["seq"], 3);
        assert_eq!(online["amount_received"], "10000");
        pushed.as_object_mut().unwrap().remove("seq");
        assert_eq!(online, pushed);
    }
}
