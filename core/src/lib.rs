//! Kobiri domain rules shared by the server and the phone: money, contacts, names, ids, roles,
//! errors, and the tontine rules (configuration, schedule, state machines of sessions, payments
//! and passages, payout order, permissions, notification texts).
//!
//! Every type here is parsed once at the edge ("parse, don't validate"): a value of type
//! [`Amount`], [`Phone`] or [`Email`] is valid by construction. Nothing here does I/O.

#![forbid(unsafe_code)]
#![deny(clippy::float_arithmetic)]

pub mod ascii;
pub mod date;
pub mod dues;
pub mod email;
pub mod error;
pub mod id;
pub mod money;
pub mod notification;
pub mod passage;
pub mod password;
pub mod payment;
pub mod permission;
pub mod phone;
pub mod role;
pub mod schedule;
pub mod session;
pub mod sync;
pub mod text;
pub mod tontine;
pub mod wire;

pub use date::{DateError, parse_date_input};
pub use dues::{Dues, PaymentFact, session_to_pay};
pub use email::{Email, EmailError};
pub use error::{ErrorCode, FieldError, FieldErrors};
pub use id::{
    DeviceId, IdError, MemberId, NotificationId, PassageId, PaymentId, SessionId, TokenFamilyId,
    TontineId, UserId, new_uuid,
};
pub use money::{Amount, Currency, MAX_AMOUNT, MoneyError, parse_decimal_input};
pub use notification::{
    Channel, Event, NotificationStatus, NotificationType, Rendered, format_amount, format_date,
    render,
};
pub use passage::{
    ApprovalReason, Candidate, ConfirmRefusal, OrderError, OrderMethod, PassageStatus,
    PayoutMethod, PayoutRefusal, PayoutRule, Pot, PotScope, approval_reasons, check_payout,
    check_receipt, confirmation_audit, payout_order, payout_rule, plan_confirmation, pot_scope,
    validate_manual_order,
};
pub use password::{Password, PasswordError};
pub use payment::{
    Correcting, CorrectionFacts, CorrectionPlan, CorrectionRefusal, Original, Payer, PaymentFacts,
    PaymentMethod, PaymentPlan, PaymentRefusal, PaymentStatus, Provider, ReceiptCode,
    ReceiptCodeError, Target, Terms, ValidationRefusal, Via, WrongAmount, check_contribution,
    check_correction, may_record, may_validate, penalty_for, plan_correction, plan_payment,
    validation_allowed,
};
pub use permission::{Action, Actor, Caller, PaymentView, may, may_as, minimum_role, payment_view};
pub use phone::{Phone, PhoneError};
pub use role::{PlatformRole, TontineRole, UnknownRole};
pub use schedule::{due_date, is_late, late_after, nth_session_date, session_dates};
pub use session::{
    NoPayments, PaymentWindow, SessionFigures, SessionStatus, TransitionError, expected_amount,
};
pub use sync::{
    ChainError, DecodeError, Mutation, MutationKind, Outcome, PROTOCOL_VERSION, SyncRequest,
    SyncResponse, from_cbor, mutation_hash, receipt_code, to_canonical_cbor, verify_chain,
};
pub use text::{PersonName, TextError, bounded_text};
pub use tontine::{
    CODE_ALPHABET, Frequency, GracePeriod, MemberLimits, MemberRefusal, Roll, TontineCode,
    TontineError, TontineType, check_period, plan_member_addition,
};
pub use wire::UnknownVariant;
