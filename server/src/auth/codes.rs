//! Six-digit one-time codes (password reset, verification): generated uniformly, stored as an
//! HMAC keyed by the server secret (a bare hash of a 6-digit code is reversed in a second),
//! valid 15 minutes, 5 tries. The code in clear leaves only through the outbox row stored with
//! it (see `notify::codes`).

use chrono::TimeDelta;
use hmac::{Hmac, Mac};
use kobiri_core::{ErrorCode, UserId};
use rand::Rng;
use sha2::Sha256;

use crate::{
    error::ApiError,
    notify::codes::{self, CodeRecipient},
    store::{Code, CodePurpose, NewCode, Store, Timestamp, TokenHash},
};

pub const CODE_TTL: TimeDelta = TimeDelta::minutes(15);
pub const MAX_ATTEMPTS: u32 = 5;

#[derive(Clone)]
pub struct CodeService {
    key: Vec<u8>,
}

impl std::fmt::Debug for CodeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeService")
    }
}

impl CodeService {
    pub fn new(secret: &str) -> Self {
        Self {
            key: secret.as_bytes().to_vec(),
        }
    }

    /// The stored hash of `code`. A code `bound` to a subject (a payout phone) hashes it too,
    /// so it proves that subject only.
    fn hash(&self, user: UserId, purpose: CodePurpose, bound: &str, code: &str) -> TokenHash {
        // A key of any length is accepted by HMAC; this cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        };
        mac.update(purpose.as_str().as_bytes());
        mac.update(user.as_uuid().as_bytes());
        if !bound.is_empty() {
            mac.update(b"\0");
            mac.update(bound.as_bytes());
            mac.update(b"\0");
        }
        mac.update(code.as_bytes());
        TokenHash(mac.finalize().into_bytes().into())
    }

    /// Makes a new code for `user` (retiring earlier ones) and queues the message that
    /// carries it to `to`, in one transaction. The outbox worker sends it.
    pub async fn issue(
        &self,
        store: &dyn Store,
        user: UserId,
        purpose: CodePurpose,
        to: &CodeRecipient,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        self.issue_bound(store, user, purpose, "", to, now).await
    }

    /// Like [`CodeService::issue`], for a code that proves `bound` (e.g. the phone it is sent
    /// to) and nothing else: it redeems only with the same `bound`.
    pub async fn issue_bound(
        &self,
        store: &dyn Store,
        user: UserId,
        purpose: CodePurpose,
        bound: &str,
        to: &CodeRecipient,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
        let id = kobiri_core::new_uuid();
        let record = NewCode {
            id,
            user_id: user,
            purpose,
            hash: self.hash(user, purpose, bound, &code),
            expires_at: now + CODE_TTL,
            created_at: now,
            message: codes::message(purpose, &code, id, to),
        };
        store.replace_code(&record).await?;
        Ok(())
    }

    /// Checks `code` against the user's live code for `purpose` and consumes it on success.
    /// A wrong code counts an attempt; the fifth wrong one kills the code.
    pub async fn redeem(
        &self,
        store: &dyn Store,
        user: UserId,
        purpose: CodePurpose,
        code: &str,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        self.redeem_bound(store, user, purpose, "", code, now).await
    }

    /// Like [`CodeService::redeem`], for a code issued with [`CodeService::issue_bound`].
    pub async fn redeem_bound(
        &self,
        store: &dyn Store,
        user: UserId,
        purpose: CodePurpose,
        bound: &str,
        code: &str,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let Some(live) = store.latest_code(user, purpose).await? else {
            return Err(ApiError::new(ErrorCode::InvalidCode));
        };
        check_live(&live, now)?;
        let given = self.hash(user, purpose, bound, code.trim());
        if !crate::secret::constant_time_eq(&given.0, &live.hash.0) {
            let attempts = store.record_failed_attempt(live.id).await?;
            return Err(if attempts >= MAX_ATTEMPTS {
                ApiError::new(ErrorCode::TooManyAttempts)
            } else {
                ApiError::new(ErrorCode::InvalidCode)
            });
        }
        if !store.consume_code(live.id, now).await? {
            return Err(ApiError::new(ErrorCode::InvalidCode));
        }
        Ok(())
    }
}

fn check_live(code: &Code, now: Timestamp) -> Result<(), ApiError> {
    if code.attempts >= MAX_ATTEMPTS {
        Err(ApiError::new(ErrorCode::TooManyAttempts))
    } else if code.expires_at <= now {
        Err(ApiError::new(ErrorCode::CodeExpired))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn hashes_depend_on_user_purpose_and_code() {
        let codes = CodeService::new("secret");
        let user = UserId::new();
        let a = codes.hash(user, CodePurpose::PasswordReset, "", "123456");
        assert_eq!(
            a,
            codes.hash(user, CodePurpose::PasswordReset, "", "123456")
        );
        assert_ne!(a, codes.hash(user, CodePurpose::VerifyEmail, "", "123456"));
        assert_ne!(
            a,
            codes.hash(UserId::new(), CodePurpose::PasswordReset, "", "123456")
        );
        assert_ne!(
            a,
            codes.hash(user, CodePurpose::PasswordReset, "", "123457")
        );
        let phone = codes.hash(user, CodePurpose::PayoutPhone, "+221770001122", "123456");
        assert_ne!(
            phone,
            codes.hash(user, CodePurpose::PayoutPhone, "+221770009988", "123456")
        );
    }

    #[test]
    fn expired_and_exhausted_codes_are_refused() {
        let now = Utc::now();
        let code = Code {
            id: uuid::Uuid::nil(),
            user_id: UserId::new(),
            hash: TokenHash([0; 32]),
            attempts: 0,
            expires_at: now + CODE_TTL,
        };
        assert!(check_live(&code, now).is_ok());
        let expired = Code {
            expires_at: now,
            ..code.clone()
        };
        assert_eq!(
            check_live(&expired, now).unwrap_err().code(),
            ErrorCode::CodeExpired
        );
        let exhausted = Code {
            attempts: MAX_ATTEMPTS,
            ..code
        };
        assert_eq!(
            check_live(&exhausted, now).unwrap_err().code(),
            ErrorCode::TooManyAttempts
        );
    }
}
