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
}
