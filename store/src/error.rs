//! The store's error type: what callers act on, with the engine's details kept for the log.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record not found")]
    NotFound,
    /// A unique constraint refused the write. `constraint` names it: the constraint name on
    /// PostgreSQL (`users_email_key`), `table.column` on SQLite (`users.email`).
    #[error("unique constraint violated: {constraint}")]
    Conflict { constraint: String },
    /// A stored value that does not parse into its domain type.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A database URL of no engine Kobiri runs on.
    #[error("DATABASE_URL must start with postgres://, postgresql:// or sqlite:")]
    UnknownEngine,
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                let constraint = match db.constraint() {
                    Some(name) => name.to_owned(),
                    // SQLite names the columns in its message: "UNIQUE constraint failed: users.email".
                    None => db
                        .message()
                        .rsplit(": ")
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                };
                StoreError::Conflict { constraint }
            }
            _ => StoreError::Database(err),
        }
    }
}

impl StoreError {
    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }

    /// The unique constraint this error broke, when callers answer it in words of its own.
    pub fn unique(&self) -> Option<Unique> {
        match self {
            StoreError::Conflict { constraint } => Unique::named(constraint),
            _ => None,
        }
    }
}

/// The unique constraints that callers tell apart, matched by their exact name on each
/// engine (see [`Unique::named`]); any other is a plain conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    /// `users.email`: the e-mail is another account's.
    UserEmail,
    /// `users.phone`: the phone is another account's.
    UserPhone,
    /// `tontines.code`: a join code drawn twice.
    TontineCode,
    /// `payments.receipt_code`: a receipt code drawn twice.
    ReceiptCode,
}

impl Unique {
    /// Each constraint with its PostgreSQL name and its SQLite name (the `table.column` list
    /// of SQLite's message), as the migrations create them.
    const NAMES: [(Unique, &'static str, &'static str); 4] = [
        (Unique::UserEmail, "users_email_key", "users.email"),
        (Unique::UserPhone, "users_phone_key", "users.phone"),
        (Unique::TontineCode, "tontines_code_key", "tontines.code"),
        (
            Unique::ReceiptCode,
            "payments_receipt_code_key",
            "payments.receipt_code",
        ),
    ];

    /// The constraint a name stands for, on either engine; `None` for any other.
    pub fn named(constraint: &str) -> Option<Unique> {
        Self::NAMES
            .iter()
            .find(|(_, postgres, sqlite)| constraint == *postgres || constraint == *sqlite)
            .map(|(unique, ..)| *unique)
    }
}
