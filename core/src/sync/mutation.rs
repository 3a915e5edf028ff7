//! Sync mutations: one change recorded on a phone, numbered and hash-chained per device.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::Amount;
use crate::{
    Currency, DeviceId, FieldErrors, MAX_AMOUNT, MemberId, MoneyError, PassageId, PaymentId,
    PersonName, Phone, SessionId, TextError, TontineId, UserId, bounded_text, parse_decimal_input,
};

/// The version of the sync protocol and of the canonical mutation encoding.
pub const PROTOCOL_VERSION: u32 = 1;

/// The `prev_hash` of a device's first mutation (seq 1).
pub const ZERO_HASH: [u8; 32] = [0; 32];

/// Most characters accepted in a correction's reason.
pub const MAX_REASON_CHARS: usize = 500;

/// One change recorded on a phone. Each device numbers its mutations 1, 2, 3… with no gaps,
/// and each carries the SHA-256 of the device's previous mutation (see [`super::chain`]).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutation {
    /// The device that recorded the mutation.
    pub device_id: DeviceId,
    /// The mutation's number on its device: 1, 2, 3…
    pub seq: u64,
    /// SHA-256 of the device's previous mutation; all zeros for seq 1. Hex in JSON.
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-fA-F]{64}$"))]
    pub prev_hash: [u8; 32],
    /// Unix seconds by the phone's clock: kept as a fact, never used for ordering.
    pub recorded_at: i64,
    /// What the mutation does.
    pub kind: MutationKind,
}

/// What a mutation does. Amounts are decimal text, checked like the REST API checks them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MutationKind {
    /// A cash contribution collected by a field collector.
    RecordCashPayment {
        /// The new payment's id, made on the phone.
        payment_id: PaymentId,
        /// The tontine paid into.
        tontine_id: TontineId,
        /// The session paid for.
        session_id: SessionId,
        /// The member who paid.
        member_id: MemberId,
        /// The amount, decimal text (e.g. "5000").
        amount: String,
        /// The currency code (e.g. "XOF").
        currency: String,
    },
    /// A member added to a tontine.
    AddMember {
        /// The new membership's id, made on the phone.
        member_id: MemberId,
        /// The tontine joined.
        tontine_id: TontineId,
        /// The member's account.
        user_id: UserId,
        /// The member's phone number, as typed.
        phone: String,
        /// The member's first name.
        first_name: String,
        /// The member's last name.
        last_name: String,
    },
    /// The beneficiary confirms having received a payout.
    ConfirmPayout {
        /// The payout confirmed.
        passage_id: PassageId,
        /// The amount received, decimal text, in the tontine's currency.
        amount_received: String,
    },
    /// A compensating entry for an earlier payment (payments are never overwritten).
    CorrectPayment {
        /// The new, compensating entry's id.
        payment_id: PaymentId,
        /// The payment corrected.
        corrects: PaymentId,
        /// The corrected amount, decimal text, in the tontine's currency ("0" cancels).
        amount: String,
        /// Why, 1 to 500 characters.
        reason: String,
    },
}

impl MutationKind {
    /// Every kind's wire string, in declaration order.
    pub const WIRE: &[&str] = &[
        "record_cash_payment",
        "add_member",
        "confirm_payout",
        "correct_payment",
    ];

    /// The kind's wire string (the serde tag and the CBOR `kind` value).
    pub fn as_str(&self) -> &'static str {
        match self {
            MutationKind::RecordCashPayment { .. } => "record_cash_payment",
            MutationKind::AddMember { .. } => "add_member",
            MutationKind::ConfirmPayout { .. } => "confirm_payout",
            MutationKind::CorrectPayment { .. } => "correct_payment",
        }
    }
}

impl Mutation {
    /// Checks the mutation with the REST API's rules; every invalid field is reported.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        if self.seq == 0 {
            errors.push(
                "seq",
                "le numéro de mutation doit être supérieur ou égal à 1",
            );
        } else if (self.seq == 1) != (self.prev_hash == ZERO_HASH) {
            let message = if self.seq == 1 {
                "la première mutation d'un appareil doit avoir une empreinte précédente nulle"
            } else {
                "seule la première mutation d'un appareil a une empreinte précédente nulle"
            };
            errors.push("prev_hash", message);
        }
        self.kind.check(&mut errors);
        errors.into_result()
    }
}

impl MutationKind {
    fn check(&self, errors: &mut FieldErrors) {
        match self {
            MutationKind::RecordCashPayment {
                amount, currency, ..
            } => {
                if let Some(currency) = errors.check("currency", Currency::parse(currency)) {
                    let parsed = Amount::parse(amount, currency).and_then(Amount::require_positive);
                    errors.check("amount", parsed);
                }
            }
            MutationKind::AddMember {
                phone,
                first_name,
                last_name,
                ..
            } => {
                errors.check("phone", Phone::parse(phone));
                errors.check("first_name", PersonName::parse(first_name));
                errors.check("last_name", PersonName::parse(last_name));
            }
            MutationKind::ConfirmPayout {
                amount_received, ..
            } => {
                errors.check("amount_received", plain_amount(amount_received));
            }
            MutationKind::CorrectPayment {
                payment_id,
                corrects,
                amount,
                reason,
            } => {
                if payment_id == corrects {
                    errors.push(
                        "corrects",
                        "une correction ne peut pas se corriger elle-même",
                    );
                }
                errors.check("amount", plain_amount(amount));
                let reason = bounded_text(reason, MAX_REASON_CHARS)
                    .and_then(|r| r.map(|_| ()).ok_or(TextError::Empty));
                errors.check("reason", reason);
            }
        }
    }
}

/// A non-negative decimal of at most [`MAX_AMOUNT`], for amounts whose currency (and so
/// precision) is the tontine's, known only to the server.
fn plain_amount(s: &str) -> Result<Decimal, MoneyError> {
    let value = parse_decimal_input(s)?;
    if value.is_sign_negative() && !value.is_zero() {
        Err(MoneyError::Negative)
    } else if value > MAX_AMOUNT {
        Err(MoneyError::TooLarge)
    } else {
        Ok(value)
    }
}

/// Serde for 32-byte hashes as lowercase hex strings.
mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(hash: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(hash))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut hash = [0u8; 32];
        hex::decode_to_slice(&text, &mut hash)
            .map_err(|_| D::Error::custom("empreinte invalide (64 chiffres hexadécimaux)"))?;
        Ok(hash)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::sync::fixtures::{mutation, payment};
    use proptest::prelude::*;

    fn fields(m: &Mutation) -> Vec<String> {
        m.validate()
            .unwrap_err()
            .iter()
            .map(|e| e.field.clone())
            .collect()
    }

    #[test]
    fn a_first_cash_payment_is_valid() {
        assert_eq!(payment(DeviceId::new(), 1, ZERO_HASH).validate(), Ok(()));
    }

    #[test]
    fn seq_zero_and_mismatched_zero_hashes_are_refused() {
        assert_eq!(fields(&payment(DeviceId::new(), 0, ZERO_HASH)), ["seq"]);
        assert_eq!(fields(&payment(DeviceId::new(), 1, [7; 32])), ["prev_hash"]);
        assert_eq!(
            fields(&payment(DeviceId::new(), 2, ZERO_HASH)),
            ["prev_hash"]
        );
        assert_eq!(payment(DeviceId::new(), 2, [7; 32]).validate(), Ok(()));
    }

    #[test]
    fn payment_amounts_follow_the_currency_rules() {
        let mut m = payment(DeviceId::new(), 1, ZERO_HASH);
        let set = |m: &mut Mutation, a: &str, c: &str| {
            if let MutationKind::RecordCashPayment {
                amount, currency, ..
            } = &mut m.kind
            {
                *amount = a.to_owned();
                *currency = c.to_owned();
            }
        };
        set(&mut m, "2500.50", "XOF");
        assert_eq!(fields(&m), ["amount"]);
        set(&mut m, "0", "XOF");
        assert_eq!(fields(&m), ["amount"]);
        set(&mut m, "10", "ZZZ");
        assert_eq!(fields(&m), ["currency"]);
        set(&mut m, "2500.50", "EUR");
        assert_eq!(m.validate(), Ok(()));
    }

    #[test]
    fn a_member_needs_a_phone_and_names() {
        let m = Mutation {
            kind: MutationKind::AddMember {
                member_id: MemberId::new(),
                tontine_id: TontineId::new(),
                user_id: UserId::new(),
                phone: "12".to_owned(),
                first_name: "  ".to_owned(),
                last_name: "Diop".to_owned(),
            },
            ..payment(DeviceId::new(), 1, ZERO_HASH)
        };
        assert_eq!(fields(&m), ["phone", "first_name"]);
    }

    #[test]
    fn a_correction_needs_a_reason_another_payment_and_a_plain_amount() {
        let id = PaymentId::new();
        let m = Mutation {
            kind: MutationKind::CorrectPayment {
                payment_id: id,
                corrects: id,
                amount: "-5".to_owned(),
                reason: "x".repeat(MAX_REASON_CHARS + 1),
            },
            ..payment(DeviceId::new(), 1, ZERO_HASH)
        };
        assert_eq!(fields(&m), ["corrects", "amount", "reason"]);
        let errors = m.validate().unwrap_err();
        assert_eq!(
            errors.iter().nth(2).unwrap().message,
            "ce champ dépasse 500 caractères"
        );
    }

    #[test]
    fn payout_amounts_must_be_plain_decimals() {
        let m = Mutation {
            kind: MutationKind::ConfirmPayout {
                passage_id: PassageId::new(),
                amount_received: "1e3".to_owned(),
            },
            ..payment(DeviceId::new(), 1, ZERO_HASH)
        };
        assert_eq!(fields(&m), ["amount_received"]);
    }

    #[test]
    fn json_has_the_kind_tag_and_a_hex_hash() {
        let m = payment(DeviceId::new(), 2, [0xab; 32]);
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["kind"]["kind"], "record_cash_payment");
        assert_eq!(json["prev_hash"], "ab".repeat(32));
        assert!(MutationKind::WIRE.contains(&m.kind.as_str()));
    }

    proptest! {
        #[test]
        fn generated_mutations_are_valid_and_survive_json(m in mutation()) {
            prop_assert_eq!(m.validate(), Ok(()));
            let json = serde_json::to_string(&m).unwrap();
            prop_assert_eq!(serde_json::from_str::<Mutation>(&json).unwrap(), m);
        }
    }
}
