//! Kobiri domain rules shared by the server and the phone: money, contacts, names, ids, roles,
//! errors.
//!
//! Every type here is parsed once at the edge ("parse, don't validate"): a value of type
//! [`Amount`], [`Phone`] or [`Email`] is valid by construction. Nothing here does I/O.

#![forbid(unsafe_code)]
#![deny(clippy::float_arithmetic)]

pub mod email;
pub mod error;
pub mod id;
pub mod money;
pub mod password;
pub mod phone;
pub mod role;
pub mod text;

pub use email::{Email, EmailError};
pub use error::{ErrorCode, FieldError, FieldErrors};
pub use id::{
    DeviceId, IdError, MemberId, NotificationId, PassageId, PaymentId, SessionId, TokenFamilyId,
    TontineId, UserId, new_uuid,
};
pub use money::{Amount, Currency, MAX_AMOUNT, MoneyError, parse_decimal_input};
pub use password::{Password, PasswordError};
pub use phone::{Phone, PhoneError};
pub use role::{PlatformRole, TontineRole, UnknownRole};
pub use text::{PersonName, TextError, bounded_text};
