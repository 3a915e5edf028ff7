//! Errors: a rich internal [`Error`] and the small public [`MobileError`] the apps act on.
//!
//! Every `Display` is French: the apps may show it as it is. [`MobileError::code`] is the
//! stable, machine-readable name of the variant.

use kobiri_core::FieldErrors;

/// What went wrong, as the apps see it. Each variant has a stable [`MobileError::code`].
///
/// Every variant carries its French text in `detail` (or, for [`MobileError::NotFound`], names
/// what is missing in `what`), so that no exception is blank in any language: the generated
/// Kotlin `message` and Python `str()` are built from the fields. `detail`, not `message`: a
/// Kotlin exception already has a `message` (the generated class would not compile), and the
/// server's own code is `server_code` so that it does not hide the `code()` method in Python.
/// [`MobileError::user_message`] is the French sentence to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum MobileError {
    /// The server could not be reached (after the retries).
    #[error("connexion au serveur impossible : {detail}")]
    Network {
        /// Why, in French.
        detail: String,
    },
    /// The server refused the credentials or the session has expired: log in again.
    #[error("{detail}")]
    Unauthorized {
        /// The server's message, in French.
        detail: String,
    },
    /// The device is not enrolled yet: log in, then enroll it.
    #[error("{detail}")]
    NotEnrolled {
        /// What to do, in French.
        detail: String,
    },
    /// No session: log in first.
    #[error("{detail}")]
    NotLoggedIn {
        /// What to do, in French.
        detail: String,
    },
    /// An input is invalid.
    #[error("{field} : {detail}")]
    Validation {
        /// The field at fault (the mutation's or the server's name for it).
        field: String,
        /// Why, in French.
        detail: String,
    },
    /// Something the call names is not on this phone.
    #[error("introuvable sur cet appareil : {what}")]
    NotFound {
        /// What was looked for, in French.
        what: String,
    },
    /// The server needs a newer application to sync; the outbox is kept.
    #[error("{detail}")]
    UpgradeRequired {
        /// What to do, in French.
        detail: String,
    },
    /// The server answered with an error.
    #[error("{detail}")]
    Server {
        /// The server's stable code (or the HTTP status when it gave none).
        server_code: String,
        /// The server's message, in French.
        detail: String,
    },
    /// The user's role in the tontine does not allow this (the rule the server applies at
    /// sync, checked before anything is queued): nothing was recorded.
    #[error("{detail}")]
    Forbidden {
        /// Why, in French.
        detail: String,
    },
    /// The phone does not know the user's role in the tontine yet (never synced since login,
    /// or the tontine's members not pulled yet): sync, then try again. Nothing was recorded.
    #[error("{detail}")]
    RoleUnknown {
        /// What to do, in French.
        detail: String,
    },
    /// The local database failed.
    #[error("erreur de la base locale : {detail}")]
    Storage {
        /// Why.
        detail: String,
    },
    /// The server and the phone disagree on what the phone has sent (a sequence gap).
    #[error("incohérence de synchronisation : {detail}")]
    Integrity {
        /// Why, in French.
        detail: String,
    },
}

#[uniffi::export]
impl MobileError {
    /// The stable, machine-readable code of the error (snake_case).
    pub fn code(&self) -> String {
        self.code_str().to_owned()
    }

    /// The French message to show the user (the error's `Display`).
    pub fn user_message(&self) -> String {
        self.to_string()
    }
}

impl MobileError {
    /// [`MobileError::NotEnrolled`] with its message.
    pub fn not_enrolled() -> MobileError {
        MobileError::NotEnrolled {
            detail: "cet appareil n'est pas encore enregistré : connectez-vous puis \
                     enregistrez-le"
                .to_owned(),
        }
    }

    /// [`MobileError::NotLoggedIn`] with its message.
    pub fn not_logged_in() -> MobileError {
        MobileError::NotLoggedIn {
            detail: "vous n'êtes pas connecté : connectez-vous d'abord".to_owned(),
        }
    }

    /// [`MobileError::UpgradeRequired`] with its message.
    pub fn upgrade_required() -> MobileError {
        MobileError::UpgradeRequired {
            detail: "une mise à jour de l'application est nécessaire pour synchroniser".to_owned(),
        }
    }

    /// [`MobileError::code`] without allocating.
    pub fn code_str(&self) -> &'static str {
        match self {
            MobileError::Network { .. } => "network",
            MobileError::Unauthorized { .. } => "unauthorized",
            MobileError::NotEnrolled { .. } => "not_enrolled",
            MobileError::NotLoggedIn { .. } => "not_logged_in",
            MobileError::Validation { .. } => "validation",
            MobileError::NotFound { .. } => "not_found",
            MobileError::UpgradeRequired { .. } => "upgrade_required",
            MobileError::Server { .. } => "server",
            MobileError::Forbidden { .. } => "forbidden",
            MobileError::RoleUnknown { .. } => "role_unknown",
            MobileError::Storage { .. } => "storage",
            MobileError::Integrity { .. } => "integrity",
        }
    }
}

/// The internal error: keeps its sources, becomes a [`MobileError`] at the FFI boundary.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Local data that does not read back (a row's JSON, a stored mutation).
    #[error("données locales illisibles : {0}")]
    Corrupt(String),
    #[error("{0}")]
    Public(MobileError),
}

/// Shorthand.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// Core's payment planner refused: the same message as the server's. A rule about a field is
/// `validation` on that field, a role that does not allow it `forbidden`. The others (a second
/// payment, a receipt code taken, a broken log) are left to the server at sync, so the phone
/// does not meet them; were it to, it says so as an integrity error.
impl From<kobiri_core::PaymentRefusal> for Error {
    fn from(refusal: kobiri_core::PaymentRefusal) -> Self {
        Error::refused(refusal.field(), refusal.code(), refusal)
    }
}

/// The same for core's correction planner.
impl From<kobiri_core::CorrectionRefusal> for Error {
    fn from(refusal: kobiri_core::CorrectionRefusal) -> Self {
        Error::refused(refusal.field(), refusal.code(), refusal)
    }
}

impl Error {
    fn refused(
        field: Option<&str>,
        code: kobiri_core::ErrorCode,
        message: impl std::fmt::Display,
    ) -> Error {
        match (field, code) {
            (Some(field), _) => Error::validation(field, message),
            (None, kobiri_core::ErrorCode::Forbidden) => Error::forbidden(message),
            (None, _) => Error::integrity(message),
        }
    }

    pub(crate) fn validation(field: &str, message: impl std::fmt::Display) -> Error {
        Error::Public(MobileError::Validation {
            field: field.to_owned(),
            detail: message.to_string(),
        })
    }

    pub(crate) fn not_found(what: &str) -> Error {
        Error::Public(MobileError::NotFound {
            what: what.to_owned(),
        })
    }

    pub(crate) fn integrity(message: impl std::fmt::Display) -> Error {
        Error::Public(MobileError::Integrity {
            detail: message.to_string(),
        })
    }

    pub(crate) fn forbidden(message: impl std::fmt::Display) -> Error {
        Error::Public(MobileError::Forbidden {
            detail: message.to_string(),
        })
    }

    pub(crate) fn network(message: impl std::fmt::Display) -> Error {
        Error::Public(MobileError::Network {
            detail: message.to_string(),
        })
    }
}

impl From<MobileError> for Error {
    fn from(e: MobileError) -> Error {
        Error::Public(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::Corrupt(e.to_string())
    }
}

/// The first invalid field of a mutation (the apps show one message at a time).
impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Error {
        match errors.into_iter().next() {
            Some(first) => Error::validation(&first.field, first.message),
            None => Error::validation("", "données invalides"),
        }
    }
}

impl From<Error> for MobileError {
    fn from(e: Error) -> MobileError {
        match e {
            Error::Public(public) => public,
            Error::Sqlite(e) => MobileError::Storage {
                detail: e.to_string(),
            },
            Error::Corrupt(message) => MobileError::Storage {
                detail: format!("données locales illisibles : {message}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_distinct_snake_case_code() {
        let all = [
            MobileError::Network {
                detail: String::new(),
            },
            MobileError::Unauthorized {
                detail: String::new(),
            },
            MobileError::not_enrolled(),
            MobileError::not_logged_in(),
            MobileError::Validation {
                field: String::new(),
                detail: String::new(),
            },
            MobileError::NotFound {
                what: String::new(),
            },
            MobileError::upgrade_required(),
            MobileError::Server {
                server_code: String::new(),
                detail: String::new(),
            },
            MobileError::Forbidden {
                detail: String::new(),
            },
            MobileError::RoleUnknown {
                detail: String::new(),
            },
            MobileError::Storage {
                detail: String::new(),
            },
            MobileError::Integrity {
                detail: String::new(),
            },
        ];
        let codes: std::collections::BTreeSet<String> = all.iter().map(MobileError::code).collect();
        assert_eq!(codes.len(), all.len());
        assert!(
            codes
                .iter()
                .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
    }

    #[test]
    fn the_errors_without_a_server_message_still_carry_their_french_text() {
        for (e, code) in [
            (MobileError::not_enrolled(), "not_enrolled"),
            (MobileError::not_logged_in(), "not_logged_in"),
            (MobileError::upgrade_required(), "upgrade_required"),
        ] {
            assert_eq!(e.code(), code);
            let (MobileError::NotEnrolled { detail }
            | MobileError::NotLoggedIn { detail }
            | MobileError::UpgradeRequired { detail }) = &e
            else {
                panic!("{e:?}");
            };
            assert!(!detail.trim().is_empty());
            assert_eq!(&e.user_message(), detail);
        }
        assert_eq!(
            MobileError::not_logged_in().to_string(),
            "vous n'êtes pas connecté : connectez-vous d'abord"
        );
    }

    #[test]
    fn field_errors_become_a_validation_error_on_the_first_field() {
        let mut errors = FieldErrors::new();
        errors.push("amount", "le montant doit être positif");
        errors.push("currency", "devise inconnue");
        let public = MobileError::from(Error::from(errors));
        assert_eq!(
            public,
            MobileError::Validation {
                field: "amount".to_owned(),
                detail: "le montant doit être positif".to_owned()
            }
        );
        assert_eq!(public.to_string(), "amount : le montant doit être positif");
    }
}
