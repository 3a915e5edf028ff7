// Over 400 lines on purpose: every error code with its HTTP status and its French message, with
// their tests.
//! Error vocabulary shared with clients: `ErrorCode` wire strings and per-field `FieldErrors`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The machine-readable `code` of an error response. Its wire string is [`ErrorCode::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// One or more fields are invalid (see `errors`).
    ValidationError,
    /// The body is not valid JSON, or not of the expected shape.
    InvalidJson,
    /// No credentials were given.
    NotAuthenticated,
    /// The token is malformed or its signature is wrong.
    TokenInvalid,
    /// The token has expired.
    TokenExpired,
    /// A refresh token was used twice; its family is revoked.
    TokenReused,
    /// The token's session was closed (logout, password change or reset, revoked device).
    SessionRevoked,
    /// Wrong login or password.
    InvalidCredentials,
    /// The account is disabled.
    AccountInactive,
    /// Authenticated but not allowed.
    Forbidden,
    /// No such resource (or not visible to the caller).
    NotFound,
    /// The e-mail address belongs to another account.
    EmailTaken,
    /// The phone number belongs to another account.
    PhoneTaken,
    /// The phone number belongs to an account without a password (a member added by a
    /// president): claiming it needs the code sent by SMS to that phone.
    PhoneNeedsVerification,
    /// The request conflicts with the current state.
    Conflict,
    /// Password and confirmation differ.
    PasswordMismatch,
    /// The current password given is wrong.
    WrongPassword,
    /// The verification code is wrong.
    InvalidCode,
    /// The verification code has expired.
    CodeExpired,
    /// Too many wrong codes: the code is spent.
    TooManyAttempts,
    /// Too many requests from this client.
    RateLimited,
    /// The body is too large.
    PayloadTooLarge,
    /// The body is not JSON.
    UnsupportedMediaType,
    /// The route exists, but not with that HTTP method.
    MethodNotAllowed,
    /// A rule of the tontine forbids the operation.
    BusinessRule,
    /// The device was revoked (a lost phone cut off).
    DeviceRevoked,
    /// A sync request in a protocol version this server does not speak.
    ProtocolVersionUnsupported,
    /// A sync request body that cannot be read (bad CBOR, oversized batch…).
    InvalidSyncRequest,
    /// The request took too long.
    Timeout,
    /// A dependency (database, mail) is down.
    ServiceUnavailable,
    /// No adapter is configured for this mobile-money method.
    ProviderNotConfigured,
    /// The mobile-money provider could not be reached (timeout, 5xx).
    ProviderUnavailable,
    /// The mobile-money provider refused the request or answered nonsense.
    ProviderRejected,
    /// The method cannot send money out (no payout API).
    PayoutUnavailable,
    /// A provider callback failed its authentication (signature, token).
    CallbackRejected,
    /// The provider confirmed another amount than the one stored.
    AmountMismatch,
    /// A payout above what was collected and validated for its pot, minus what left it.
    PayoutExceedsPot,
    /// A beneficiary confirms more than was paid out to them.
    ReceiptExceedsPayout,
    /// A payout to a phone neither verified on the beneficiary's account nor confirmed by code.
    PayoutPhoneUnverified,
    /// A payout's second approval given by the manager who asked for it (four eyes).
    SelfApproval,
    /// Anything unexpected; details only in the server log.
    InternalError,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: &[ErrorCode] = &[
        ErrorCode::ValidationError,
        ErrorCode::InvalidJson,
        ErrorCode::NotAuthenticated,
        ErrorCode::TokenInvalid,
        ErrorCode::TokenExpired,
        ErrorCode::TokenReused,
        ErrorCode::SessionRevoked,
        ErrorCode::InvalidCredentials,
        ErrorCode::AccountInactive,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::EmailTaken,
        ErrorCode::PhoneTaken,
        ErrorCode::PhoneNeedsVerification,
        ErrorCode::Conflict,
        ErrorCode::PasswordMismatch,
        ErrorCode::WrongPassword,
        ErrorCode::InvalidCode,
        ErrorCode::CodeExpired,
        ErrorCode::TooManyAttempts,
        ErrorCode::RateLimited,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::MethodNotAllowed,
        ErrorCode::BusinessRule,
        ErrorCode::DeviceRevoked,
        ErrorCode::ProtocolVersionUnsupported,
        ErrorCode::InvalidSyncRequest,
        ErrorCode::Timeout,
        ErrorCode::ServiceUnavailable,
        ErrorCode::ProviderNotConfigured,
        ErrorCode::ProviderUnavailable,
        ErrorCode::ProviderRejected,
        ErrorCode::PayoutUnavailable,
        ErrorCode::CallbackRejected,
        ErrorCode::AmountMismatch,
        ErrorCode::PayoutExceedsPot,
        ErrorCode::ReceiptExceedsPayout,
        ErrorCode::PayoutPhoneUnverified,
        ErrorCode::SelfApproval,
        ErrorCode::InternalError,
    ];

    /// The wire string (snake_case), identical to the serde form.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ValidationError => "validation_error",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::NotAuthenticated => "not_authenticated",
            ErrorCode::TokenInvalid => "token_invalid",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TokenReused => "token_reused",
            ErrorCode::SessionRevoked => "session_revoked",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::AccountInactive => "account_inactive",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::EmailTaken => "email_taken",
            ErrorCode::PhoneTaken => "phone_taken",
            ErrorCode::PhoneNeedsVerification => "phone_needs_verification",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PasswordMismatch => "password_mismatch",
            ErrorCode::WrongPassword => "wrong_password",
            ErrorCode::InvalidCode => "invalid_code",
            ErrorCode::CodeExpired => "code_expired",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::BusinessRule => "business_rule",
            ErrorCode::DeviceRevoked => "device_revoked",
            ErrorCode::ProtocolVersionUnsupported => "protocol_version_unsupported",
            ErrorCode::InvalidSyncRequest => "invalid_sync_request",
            ErrorCode::Timeout => "timeout",
            ErrorCode::ServiceUnavailable => "service_unavailable",
            ErrorCode::ProviderNotConfigured => "provider_not_configured",
            ErrorCode::ProviderUnavailable => "provider_unavailable",
            ErrorCode::ProviderRejected => "provider_rejected",
            ErrorCode::PayoutUnavailable => "payout_unavailable",
            ErrorCode::CallbackRejected => "callback_rejected",
            ErrorCode::AmountMismatch => "amount_mismatch",
            ErrorCode::PayoutExceedsPot => "payout_exceeds_pot",
            ErrorCode::ReceiptExceedsPayout => "receipt_exceeds_payout",
            ErrorCode::PayoutPhoneUnverified => "payout_phone_unverified",
            ErrorCode::SelfApproval => "self_approval",
            ErrorCode::InternalError => "internal_error",
        }
    }

    /// The French `detail` sent when nothing more specific is known.
    // Long on purpose: one French message per error code: a match that lists them all.
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorCode::ValidationError => "Données invalides",
            ErrorCode::InvalidJson => "Corps de requête JSON invalide",
            ErrorCode::NotAuthenticated => "Authentification requise",
            ErrorCode::TokenInvalid => "Jeton invalide",
            ErrorCode::TokenExpired => "Jeton expiré",
            ErrorCode::TokenReused => "Jeton de rafraîchissement déjà utilisé : session révoquée",
            ErrorCode::SessionRevoked => "Session fermée : reconnectez-vous",
            ErrorCode::InvalidCredentials => "Identifiants incorrects",
            ErrorCode::AccountInactive => "Ce compte est désactivé",
            ErrorCode::Forbidden => "Accès refusé",
            ErrorCode::NotFound => "Ressource introuvable",
            ErrorCode::EmailTaken => "Cette adresse e-mail est déjà utilisée",
            ErrorCode::PhoneTaken => "Ce numéro de téléphone est déjà utilisé",
            ErrorCode::PhoneNeedsVerification => {
                "Ce numéro est celui d'un membre ajouté par une tontine : un code vient d'être \
                 envoyé par SMS à ce numéro ; renvoyez l'inscription avec ce code dans \
                 le champ phone_code pour récupérer ce compte"
            }
            ErrorCode::Conflict => "Conflit avec l'état actuel de la ressource",
            ErrorCode::PasswordMismatch => "Les mots de passe ne correspondent pas",
            ErrorCode::WrongPassword => "Mot de passe actuel incorrect",
            ErrorCode::InvalidCode => "Code invalide",
            ErrorCode::CodeExpired => "Code expiré",
            ErrorCode::TooManyAttempts => "Trop de tentatives : demandez un nouveau code",
            ErrorCode::RateLimited => "Trop de tentatives, réessayez plus tard",
            ErrorCode::PayloadTooLarge => "Requête trop volumineuse",
            ErrorCode::UnsupportedMediaType => "Type de contenu non pris en charge (JSON attendu)",
            ErrorCode::MethodNotAllowed => "Méthode non autorisée pour cette ressource",
            ErrorCode::BusinessRule => "Opération contraire aux règles de la tontine",
            ErrorCode::DeviceRevoked => {
                "Cet appareil a été révoqué : reconnectez-vous sur un appareil autorisé"
            }
            ErrorCode::ProtocolVersionUnsupported => {
                "Version du protocole de synchronisation non prise en charge par ce serveur"
            }
            ErrorCode::InvalidSyncRequest => "Requête de synchronisation illisible",
            ErrorCode::Timeout => "Délai de traitement dépassé",
            ErrorCode::ServiceUnavailable => "Service temporairement indisponible",
            ErrorCode::ProviderNotConfigured => {
                "Ce moyen de paiement mobile n'est pas configuré sur ce serveur"
            }
            ErrorCode::ProviderUnavailable => {
                "Le fournisseur de paiement mobile est momentanément indisponible, réessayez plus tard"
            }
            ErrorCode::ProviderRejected => "Le fournisseur de paiement mobile a refusé la demande",
            ErrorCode::PayoutUnavailable => {
                "Ce moyen de paiement n'est pas disponible pour les versements"
            }
            ErrorCode::CallbackRejected => "Notification du fournisseur non authentifiée",
            ErrorCode::AmountMismatch => {
                "Le montant confirmé par le fournisseur diffère du montant attendu"
            }
            ErrorCode::PayoutExceedsPot => {
                "Versement refusé : il dépasse ce qui a été collecté et validé pour ce passage"
            }
            ErrorCode::ReceiptExceedsPayout => "Montant supérieur à ce qui a été versé",
            ErrorCode::PayoutPhoneUnverified => {
                "Ce numéro n'est pas vérifié pour recevoir le versement : confirmez-le par le \
                 code envoyé par SMS"
            }
            ErrorCode::SelfApproval => {
                "Un autre responsable que le demandeur doit approuver ce versement"
            }
            ErrorCode::InternalError => "Erreur interne du serveur",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One invalid field of a request and why, in French.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as the client sent it (e.g. `"montant"`, `"membres[2].telephone"`).
    pub field: String,
    /// A French message for the user.
    pub message: String,
}

/// The invalid fields of one request, collected so the user sees every mistake at once.
///
/// Serializes as the array of [`FieldError`]s.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` is invalid because of `message`.
    // By value so callers can hand over an error or a `String` without borrowing; the
    // signature is part of the API the server is written against.
    #[allow(clippy::needless_pass_by_value)]
    pub fn push(&mut self, field: impl Into<String>, message: impl ToString) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.to_string(),
        });
    }

    /// Returns the `Ok` value, or records the error's `Display` under `field` and returns `None`.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(value) => Some(value),
            Err(err) => {
                self.push(field, err);
                None
            }
        }
    }

    /// True when no field was invalid.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many errors were recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The recorded errors, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.0.iter()
    }

    /// The recorded errors, in order.
    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    /// `Ok(())` when empty, `Err(self)` otherwise.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("données invalides")
    }
}

impl std::error::Error for FieldErrors {}

impl<'a> IntoIterator for &'a FieldErrors {
    type Item = &'a FieldError;
    type IntoIter = std::slice::Iter<'a, FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for FieldErrors {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::money::{Amount, Currency};
    use crate::phone::Phone;

    #[test]
    fn codes_are_unique_snake_case_and_match_serde() {
        let mut seen = HashSet::new();
        for &code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate {s}");
            assert!(!s.is_empty() && !s.starts_with('_') && !s.ends_with('_'));
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{s}\""));
            assert_eq!(code.to_string(), s);
        }
        assert_eq!(ErrorCode::ALL.len(), 41);
    }

    #[test]
    fn every_code_has_a_message() {
        for &code in ErrorCode::ALL {
            assert!(!code.default_message().trim().is_empty(), "{code}");
        }
        assert_eq!(
            ErrorCode::NotAuthenticated.default_message(),
            "Authentification requise"
        );
        assert_eq!(
            ErrorCode::InternalError.default_message(),
            "Erreur interne du serveur"
        );
    }

    #[test]
    fn check_collects_every_error_and_keeps_ok_values() {
        let mut errors = FieldErrors::new();
        let phone = errors.check("telephone", Phone::parse("123"));
        let amount = errors.check("montant", Amount::parse("5000", Currency::Xof));
        let bad = errors.check("montant_bis", Amount::parse("-1", Currency::Xof));
        assert!(phone.is_none() && bad.is_none());
        assert_eq!(amount.unwrap().to_wire_string(), "5000");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["telephone", "montant_bis"]);
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn into_result_is_ok_only_when_empty() {
        assert_eq!(FieldErrors::new().into_result(), Ok(()));
        let mut errors = FieldErrors::new();
        errors.push("nom", "le nom est obligatoire");
        let err = errors.into_result().unwrap_err();
        assert_eq!(err.to_string(), "données invalides");
        assert_eq!(
            err.into_vec(),
            vec![FieldError {
                field: "nom".into(),
                message: "le nom est obligatoire".into()
            }]
        );
    }

    #[test]
    fn field_errors_serialize_as_an_array() {
        let mut errors = FieldErrors::new();
        errors.push(String::from("email"), "adresse e-mail invalide");
        assert_eq!(
            serde_json::to_value(&errors).unwrap(),
            serde_json::json!([{"field": "email", "message": "adresse e-mail invalide"}])
        );
    }
}
