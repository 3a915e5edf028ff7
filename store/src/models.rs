//! The records the store reads and writes, in domain types.

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use kobiri_core::{Email, Phone, PlatformRole, TokenFamilyId, UserId};

/// A point in time, always UTC, truncated to microseconds (both engines keep that precision).
pub type Timestamp = DateTime<Utc>;

/// A user account. A user added by phone by a tontine president has no password until they
/// register with that phone and claim the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Option<Email>,
    pub phone: Phone,
    pub password_hash: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub role: PlatformRole,
    pub is_active: bool,
    pub email_verified: bool,
    pub phone_verified: bool,
    pub profile_picture: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_login: Option<Timestamp>,
}

impl User {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    pub fn is_admin(&self) -> bool {
        self.role.is_admin()
    }
}

/// What registration (or claiming a password-less account) stores.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub email: Option<Email>,
    pub phone: Phone,
    pub password_hash: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub role: PlatformRole,
    pub address: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub now: Timestamp,
}

/// A partial update of a user; `None` leaves a field as it is. The nullable profile fields
/// take `Some(None)` to clear them.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<Phone>,
    pub profile_picture: Option<Option<String>>,
    pub address: Option<Option<String>>,
    pub city: Option<Option<String>>,
    pub country: Option<Option<String>>,
    pub role: Option<PlatformRole>,
    pub is_active: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyChannel {
    Email,
    Sms,
}

/// A validated page request: `page` from 1, `page_size` from 1 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    page_size: u32,
}

impl PageRequest {
    pub const MAX_PAGE_SIZE: u32 = 100;
    pub const DEFAULT_PAGE_SIZE: u32 = 20;

    /// `None` when out of range.
    pub fn new(page: u32, page_size: u32) -> Option<Self> {
        (page >= 1 && (1..=Self::MAX_PAGE_SIZE).contains(&page_size))
            .then_some(Self { page, page_size })
    }

    pub fn page(self) -> u32 {
        self.page
    }

    pub fn page_size(self) -> u32 {
        self.page_size
    }

    pub fn limit(self) -> i64 {
        i64::from(self.page_size)
    }

    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.page_size)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            page_size: Self::DEFAULT_PAGE_SIZE,
        }
    }
}

/// One page of a list, in the contract's shape.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
    pub pages: u32,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, total: u64, request: PageRequest) -> Self {
        let size = u64::from(request.page_size());
        let pages = u32::try_from(total.div_ceil(size)).unwrap_or(u32::MAX);
        Self {
            items,
            total,
            page: request.page(),
            page_size: request.page_size(),
            pages,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            page_size: self.page_size,
            pages: self.pages,
        }
    }
}

/// Reads every page of a paginated store listing, in order.
pub async fn all_pages<T, F, Fut>(mut fetch: F) -> super::StoreResult<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = super::StoreResult<Page<T>>>,
{
    let mut out = Vec::new();
    let mut page_no = 1;
    loop {
        let request = PageRequest {
            page: page_no,
            page_size: PageRequest::MAX_PAGE_SIZE,
        };
        let batch = fetch(request).await?;
        let done = page_no >= batch.pages;
        out.extend(batch.items);
        if done {
            return Ok(out);
        }
        page_no += 1;
    }
}

/// SHA-256 of a refresh token: only the hash is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub id: uuid::Uuid,
    pub user_id: UserId,
    pub family_id: TokenFamilyId,
    pub hash: TokenHash,
    pub device_id: Option<uuid::Uuid>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub id: uuid::Uuid,
    pub user_id: UserId,
    pub family_id: TokenFamilyId,
    pub device_id: Option<uuid::Uuid>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl RefreshToken {
    /// A token that was already rotated or revoked: presenting it again is a re-use.
    pub fn is_spent(&self) -> bool {
        self.used_at.is_some() || self.revoked_at.is_some()
    }

    /// A device's token rotated less than `grace` ago and not revoked: presenting it again is
    /// most likely the phone retrying after the answer was lost on a bad link, not a theft.
    pub fn is_lost_answer_replay(&self, now: Timestamp, grace: chrono::TimeDelta) -> bool {
        self.device_id.is_some()
            && self.revoked_at.is_none()
            && self.used_at.is_some_and(|used| now - used <= grace)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    Rotated,
    AlreadyUsed,
}

/// What a one-time code is for; serialised as its database string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodePurpose {
    PasswordReset,
    VerifyEmail,
    VerifyPhone,
    /// Proves the beneficiary of a payout holds the phone it is to be sent to.
    PayoutPhone,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::PasswordReset => "password_reset",
            CodePurpose::VerifyEmail => "verify_email",
            CodePurpose::VerifyPhone => "verify_phone",
            CodePurpose::PayoutPhone => "payout_phone",
        }
    }
}

impl From<VerifyChannel> for CodePurpose {
    fn from(channel: VerifyChannel) -> Self {
        match channel {
            VerifyChannel::Email => CodePurpose::VerifyEmail,
            VerifyChannel::Sms => CodePurpose::VerifyPhone,
        }
    }
}

/// A new code, and the message that carries it to its owner (stored together).
#[derive(Debug, Clone)]
pub struct NewCode {
    pub id: uuid::Uuid,
    pub user_id: UserId,
    pub purpose: CodePurpose,
    pub hash: TokenHash,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    pub message: CodeMessage,
}

/// The outbox row that carries a code (see `notify::codes`). It has no notification row: a
/// code is not an inbox item, and no preference may hold it back.
#[derive(Clone)]
pub struct CodeMessage {
    pub outbox_id: uuid::Uuid,
    /// `sms` or `email`.
    pub channel: kobiri_core::Channel,
    /// A phone in E.164 or an e-mail address.
    pub recipient: String,
    /// The outbox payload; it holds the code in clear until the row is final.
    pub payload: serde_json::Value,
}

impl std::fmt::Debug for CodeMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeMessage")
            .field("outbox_id", &self.outbox_id)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub id: uuid::Uuid,
    pub user_id: UserId,
    pub hash: TokenHash,
    pub attempts: u32,
    pub expires_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_request_bounds() {
        assert!(PageRequest::new(0, 20).is_none());
        assert!(PageRequest::new(1, 0).is_none());
        assert!(PageRequest::new(1, 101).is_none());
        let p = PageRequest::new(3, 20).unwrap();
        assert_eq!(p.offset(), 40);
        assert_eq!(p.limit(), 20);
    }

    #[test]
    fn page_counts_pages_rounding_up() {
        let page = Page::new(vec![1, 2], 41, PageRequest::new(1, 20).unwrap());
        assert_eq!(page.pages, 3);
        let empty: Page<u8> = Page::new(vec![], 0, PageRequest::default());
        assert_eq!(empty.pages, 0);
    }
}
