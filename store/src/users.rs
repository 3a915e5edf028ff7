// Over 400 lines on purpose: an aggregate's rows, its SQL for both engines and the macro that binds
// them stay together (one file per aggregate, as lib.rs describes).
//! User accounts: the row shape, the SQL each engine supplies, and the operations written
//! once for both engines.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{StoreError, User};
use kobiri_core::{Email, Phone, PlatformRole, UserId};

/// A `users` row as both engines return it.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct UserRow {
    id: Uuid,
    email: Option<String>,
    phone: String,
    password_hash: Option<String>,
    first_name: String,
    last_name: String,
    role: String,
    is_active: bool,
    email_verified: bool,
    phone_verified: bool,
    profile_picture: Option<String>,
    address: Option<String>,
    city: Option<String>,
    country: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_login: Option<DateTime<Utc>>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(User {
            id: UserId::from_uuid(row.id),
            email: row
                .email
                .as_deref()
                .map(Email::parse)
                .transpose()
                .map_err(StoreError::corrupt)?,
            phone: Phone::parse(&row.phone).map_err(StoreError::corrupt)?,
            password_hash: row.password_hash,
            first_name: row.first_name,
            last_name: row.last_name,
            role: row
                .role
                .parse::<PlatformRole>()
                .map_err(StoreError::corrupt)?,
            is_active: row.is_active,
            email_verified: row.email_verified,
            phone_verified: row.phone_verified,
            profile_picture: row.profile_picture,
            address: row.address,
            city: row.city,
            country: row.country,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_login: row.last_login,
        })
    }
}

/// The `WHERE` clause of the user search; `$1` is a `LIKE` pattern or NULL.
macro_rules! user_search {
    () => {
        "($1 IS NULL OR lower(COALESCE(email, '')) LIKE $1 ESCAPE '\\' \
         OR lower(first_name || ' ' || last_name) LIKE $1 ESCAPE '\\' \
         OR phone LIKE $1 ESCAPE '\\')"
    };
}

/// The SQL of the user operations, supplied once per engine.
pub(super) struct UserQueries {
    /// Binds: id, email, phone, password_hash, first_name, last_name, role, address, city,
    /// country, now.
    pub insert: &'static str,
    /// Binds: id, email, password_hash, first_name, last_name, address, city, country, now.
    pub claim: &'static str,
    pub by_id: &'static str,
    pub by_email: &'static str,
    pub by_phone: &'static str,
    /// Binds: search pattern (or NULL), limit, offset.
    pub list: &'static str,
    /// Binds: search pattern (or NULL).
    pub count: &'static str,
    /// Binds: id, first_name, last_name, phone, (set_picture, picture), (set_address, address),
    /// (set_city, city), (set_country, country), role, is_active, now.
    pub update: &'static str,
    /// Binds: id, password_hash, now.
    pub set_password: &'static str,
    /// Binds: user id, now.
    pub revoke_user_tokens: &'static str,
    /// Binds: id, now.
    pub record_login: &'static str,
    /// Binds: id, now.
    pub deactivate: &'static str,
    /// Binds: id, now.
    pub verify_email: &'static str,
    /// Binds: id, now.
    pub verify_phone: &'static str,
}

/// The column list every user query returns.
macro_rules! user_columns {
    () => {
        "id, email, phone, password_hash, first_name, last_name, role, is_active, \
         email_verified, phone_verified, profile_picture, address, city, country, created_at, \
         updated_at, last_login"
    };
}

/// SQL that reads the same on both engines (sqlx binds `$n` on SQLite too, and sends typed
/// parameters to PostgreSQL). An engine whose dialect differs overrides a field.
pub(super) const SHARED: UserQueries = UserQueries {
    insert: concat!(
        "INSERT INTO users (id, email, phone, password_hash, first_name, last_name, role, ",
        "address, city, country, created_at, updated_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING ",
        user_columns!()
    ),
    claim: concat!(
        "UPDATE users SET email = $2, password_hash = $3, first_name = $4, last_name = $5, ",
        "address = COALESCE($6, address), city = COALESCE($7, city), ",
        "country = COALESCE($8, country), phone_verified = true, updated_at = $9 ",
        "WHERE id = $1 AND password_hash IS NULL RETURNING ",
        user_columns!()
    ),
    by_id: concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"),
    by_email: concat!("SELECT ", user_columns!(), " FROM users WHERE email = $1"),
    by_phone: concat!("SELECT ", user_columns!(), " FROM users WHERE phone = $1"),
    list: concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE ",
        user_search!(),
        " ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
    ),
    count: concat!("SELECT COUNT(*) FROM users WHERE ", user_search!()),
    update: concat!(
        "UPDATE users SET first_name = COALESCE($2, first_name), ",
        "last_name = COALESCE($3, last_name), phone = COALESCE($4, phone), ",
        // A new number is not verified (SET reads the old row, so `phone` is the old number).
        "phone_verified = CASE WHEN $4 IS NULL OR $4 = phone THEN phone_verified ELSE false END, ",
        "profile_picture = CASE WHEN $5 THEN $6 ELSE profile_picture END, ",
        "address = CASE WHEN $7 THEN $8 ELSE address END, ",
        "city = CASE WHEN $9 THEN $10 ELSE city END, ",
        "country = CASE WHEN $11 THEN $12 ELSE country END, ",
        "role = COALESCE($13, role), is_active = COALESCE($14, is_active), updated_at = $15 ",
        "WHERE id = $1 RETURNING ",
        user_columns!()
    ),
    set_password: "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
    revoke_user_tokens: "UPDATE refresh_tokens SET revoked_at = $2 \
         WHERE user_id = $1 AND revoked_at IS NULL",
    record_login: "UPDATE users SET last_login = $2 WHERE id = $1",
    deactivate: concat!(
        "UPDATE users SET is_active = false, updated_at = $2 WHERE id = $1 RETURNING ",
        user_columns!()
    ),
    verify_email: concat!(
        "UPDATE users SET email_verified = true, updated_at = $2 WHERE id = $1 RETURNING ",
        user_columns!()
    ),
    verify_phone: concat!(
        "UPDATE users SET phone_verified = true, updated_at = $2 WHERE id = $1 RETURNING ",
        user_columns!()
    ),
};

/// Turns a free-text search into a `LIKE` pattern on lower-cased columns, escaping the
/// wildcards the user typed.
pub(super) fn search_pattern(search: Option<&str>) -> Option<String> {
    let term = search?.trim();
    if term.is_empty() {
        return None;
    }
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Some(pattern)
}

/// Implements `UserStore` for an engine's store type, given its `UserQueries`.
/// Inserts a new user on `$conn` (a pool or a transaction) and gives its row.
macro_rules! insert_user {
    ($conn:expr, $q:expr, $u:expr) => {{
        let row: $crate::users::UserRow = sqlx::query_as($q.insert)
            .bind($u.id.as_uuid())
            .bind($u.email.as_ref().map(|e| e.as_str()))
            .bind($u.phone.as_str())
            .bind($u.password_hash.as_deref())
            .bind(&$u.first_name)
            .bind(&$u.last_name)
            .bind($u.role.as_str())
            .bind($u.address.as_deref())
            .bind($u.city.as_deref())
            .bind($u.country.as_deref())
            .bind($u.now)
            .fetch_one($conn)
            .await?;
        row
    }};
}
pub(super) use insert_user;

macro_rules! impl_user_store {
    ($store:ty, $q:expr) => {
        #[async_trait::async_trait]
        impl $crate::UserStore for $store {
            async fn insert_user(
                &self,
                u: &$crate::NewUser,
            ) -> $crate::StoreResult<$crate::User> {
                $crate::users::insert_user!(self.writer(), $q, u).try_into()
            }

            async fn claim_user(
                &self,
                id: kobiri_core::UserId,
                u: &$crate::NewUser,
            ) -> $crate::StoreResult<Option<$crate::User>> {
                let row: Option<$crate::users::UserRow> = sqlx::query_as($q.claim)
                    .bind(id.as_uuid())
                    .bind(u.email.as_ref().map(|e| e.as_str()))
                    .bind(u.password_hash.as_deref())
                    .bind(&u.first_name)
                    .bind(&u.last_name)
                    .bind(u.address.as_deref())
                    .bind(u.city.as_deref())
                    .bind(u.country.as_deref())
                    .bind(u.now)
                    .fetch_optional(self.writer())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn user_by_id(
                &self,
                id: kobiri_core::UserId,
            ) -> $crate::StoreResult<Option<$crate::User>> {
                let row: Option<$crate::users::UserRow> = sqlx::query_as($q.by_id)
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn user_by_email(
                &self,
                email: &kobiri_core::Email,
            ) -> $crate::StoreResult<Option<$crate::User>> {
                let row: Option<$crate::users::UserRow> = sqlx::query_as($q.by_email)
                    .bind(email.as_str())
                    .fetch_optional(self.reader())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn user_by_phone(
                &self,
                phone: &kobiri_core::Phone,
            ) -> $crate::StoreResult<Option<$crate::User>> {
                let row: Option<$crate::users::UserRow> = sqlx::query_as($q.by_phone)
                    .bind(phone.as_str())
                    .fetch_optional(self.reader())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn list_users(
                &self,
                search: Option<&str>,
                page: $crate::PageRequest,
            ) -> $crate::StoreResult<$crate::Page<$crate::User>> {
                let pattern = $crate::users::search_pattern(search);
                Ok($crate::fetch_page!(
                    self.reader(), $q.count, $q.list,
                    $crate::users::UserRow => $crate::User,
                    page, pattern.as_deref()
                ))
            }

            async fn update_user(
                &self,
                id: kobiri_core::UserId,
                p: &$crate::UserPatch,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<$crate::User> {
                let row: $crate::users::UserRow = sqlx::query_as($q.update)
                    .bind(id.as_uuid())
                    .bind(p.first_name.as_deref())
                    .bind(p.last_name.as_deref())
                    .bind(p.phone.as_ref().map(|ph| ph.as_str()))
                    .bind(p.profile_picture.is_some())
                    .bind(p.profile_picture.clone().flatten())
                    .bind(p.address.is_some())
                    .bind(p.address.clone().flatten())
                    .bind(p.city.is_some())
                    .bind(p.city.clone().flatten())
                    .bind(p.country.is_some())
                    .bind(p.country.clone().flatten())
                    .bind(p.role.map(|r| r.as_str()))
                    .bind(p.is_active)
                    .bind(now)
                    .fetch_one(self.writer())
                    .await?;
                row.try_into()
            }

            async fn set_password(
                &self,
                id: kobiri_core::UserId,
                hash: &str,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                let done = sqlx::query($q.set_password)
                    .bind(id.as_uuid())
                    .bind(hash)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::NotFound);
                }
                sqlx::query($q.revoke_user_tokens)
                    .bind(id.as_uuid())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn record_login(
                &self,
                id: kobiri_core::UserId,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<()> {
                sqlx::query($q.record_login)
                    .bind(id.as_uuid())
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn deactivate_user(
                &self,
                id: kobiri_core::UserId,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<$crate::User> {
                let mut tx = self.writer().begin().await?;
                let row: $crate::users::UserRow = sqlx::query_as($q.deactivate)
                    .bind(id.as_uuid())
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query($q.revoke_user_tokens)
                    .bind(id.as_uuid())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.try_into()
            }

            async fn mark_verified(
                &self,
                id: kobiri_core::UserId,
                channel: $crate::VerifyChannel,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<$crate::User> {
                let sql = match channel {
                    $crate::VerifyChannel::Email => $q.verify_email,
                    $crate::VerifyChannel::Sms => $q.verify_phone,
                };
                let row: $crate::users::UserRow = sqlx::query_as(sql)
                    .bind(id.as_uuid())
                    .bind(now)
                    .fetch_one(self.writer())
                    .await?;
                row.try_into()
            }
        }
    };
}
pub(super) use impl_user_store;

#[cfg(test)]
mod tests {
    use super::search_pattern;

    #[test]
    fn search_pattern_escapes_wildcards_and_lowercases() {
        assert_eq!(search_pattern(Some("  Diop ")), Some("%diop%".into()));
        assert_eq!(search_pattern(Some("50%_")), Some("%50\\%\\_%".into()));
        assert_eq!(search_pattern(Some("   ")), None);
        assert_eq!(search_pattern(None), None);
    }
}
