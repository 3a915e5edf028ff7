//! Access tokens (JWT, short-lived) and refresh tokens (random, opaque, stored hashed).
//!
//! An access token names its session (`sid`: the family of refresh tokens it was issued
//! with), so that revoking the session (logout, a password change or reset, a revoked
//! device) kills its access tokens too: `AuthUser` checks the session on every request.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::TimeDelta;
use jsonwebtoken::{
    DecodingKey, EncodingKey, Header, Validation, decode, encode, errors::ErrorKind,
};
use kobiri_core::{ErrorCode, TokenFamilyId, UserId};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    config::Config,
    error::ApiError,
    store::{Timestamp, TokenHash},
};

const ACCESS: &str = "access";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: uuid::Uuid,
    exp: i64,
    iat: i64,
    jti: uuid::Uuid,
    typ: String,
    /// The session: the refresh-token family the token was issued with.
    sid: uuid::Uuid,
}

/// What a valid access token says: who, and in which session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessClaims {
    pub user: UserId,
    pub session: TokenFamilyId,
}

/// Signs and checks access tokens; mints refresh tokens.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    algorithm: jsonwebtoken::Algorithm,
    access_ttl: TimeDelta,
    refresh_ttl: TimeDelta,
    device_refresh_ttl: TimeDelta,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// A freshly minted refresh token: the secret goes to the client, the hash to the store.
#[derive(Debug)]
pub struct MintedRefresh {
    pub secret: String,
    pub hash: TokenHash,
}

impl TokenService {
    pub fn new(config: &Config) -> Self {
        let secret = config.secret_key.as_bytes();
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            algorithm: config.algorithm,
            access_ttl: TimeDelta::from_std(config.access_token_expire)
                .unwrap_or(TimeDelta::minutes(30)),
            refresh_ttl: TimeDelta::from_std(config.refresh_token_expire)
                .unwrap_or(TimeDelta::days(7)),
            device_refresh_ttl: TimeDelta::from_std(config.device_refresh_token_expire)
                .unwrap_or(TimeDelta::days(60)),
        }
    }

    pub fn access_ttl(&self) -> TimeDelta {
        self.access_ttl
    }

    /// How long a refresh token lives: weeks for an enrolled device (a collector may stay
    /// offline that long), days otherwise.
    pub fn refresh_ttl(&self, device_bound: bool) -> TimeDelta {
        if device_bound {
            self.device_refresh_ttl
        } else {
            self.refresh_ttl
        }
    }

    pub fn issue_access(
        &self,
        user: UserId,
        session: TokenFamilyId,
        now: Timestamp,
    ) -> Result<String, ApiError> {
        let claims = Claims {
            sub: user.as_uuid(),
            sid: session.as_uuid(),
            iat: now.timestamp(),
            exp: (now + self.access_ttl).timestamp(),
            jti: uuid::Uuid::now_v7(),
            typ: ACCESS.to_owned(),
        };
        encode(&Header::new(self.algorithm), &claims, &self.encoding).map_err(|e| {
            tracing::error!(error = %e, "cannot sign an access token");
            ApiError::internal()
        })
    }

    /// The user and session an access token was issued to. Expiry is checked against `now`
    /// (the injected clock), not the system time. A token without a session (issued before
    /// sessions were checked) is invalid: the client refreshes.
    pub fn verify_access(&self, token: &str, now: Timestamp) -> Result<AccessClaims, ApiError> {
        let mut validation = Validation::new(self.algorithm);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data =
            decode::<Claims>(token, &self.decoding, &validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::new(ErrorCode::TokenExpired),
                _ => ApiError::new(ErrorCode::TokenInvalid),
            })?;
        if data.claims.typ != ACCESS {
            return Err(ApiError::new(ErrorCode::TokenInvalid));
        }
        if data.claims.exp <= now.timestamp() {
            return Err(ApiError::new(ErrorCode::TokenExpired));
        }
        Ok(AccessClaims {
            user: UserId::from_uuid(data.claims.sub),
            session: TokenFamilyId::from_uuid(data.claims.sid),
        })
    }

    /// 32 random bytes, URL-safe base64.
    pub fn mint_refresh(&self) -> MintedRefresh {
        let secret = random_token();
        let hash = hash_refresh(&secret);
        MintedRefresh { secret, hash }
    }
}

/// 32 random bytes from the OS-seeded generator, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash_refresh(secret: &str) -> TokenHash {
    TokenHash(Sha256::digest(secret.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn service() -> TokenService {
        TokenService::new(&Config::for_tests("sqlite::memory:"))
    }

    #[test]
    fn access_tokens_round_trip_until_they_expire() {
        let tokens = service();
        let user = UserId::new();
        let session = TokenFamilyId::new();
        let now = Utc::now();
        let jwt = tokens.issue_access(user, session, now).unwrap();
        assert_eq!(
            tokens.verify_access(&jwt, now).unwrap(),
            AccessClaims { user, session }
        );
        let later = now + TimeDelta::minutes(31);
        assert_eq!(
            tokens.verify_access(&jwt, later).unwrap_err().code(),
            ErrorCode::TokenExpired
        );
    }

    #[test]
    fn a_token_signed_with_another_key_is_invalid() {
        let mut other = Config::for_tests("sqlite::memory:");
        other.secret_key = "another-secret-another-secret-another".into();
        let jwt = TokenService::new(&other)
            .issue_access(UserId::new(), TokenFamilyId::new(), Utc::now())
            .unwrap();
        let err = service().verify_access(&jwt, Utc::now()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::TokenInvalid);
        assert_eq!(
            service()
                .verify_access("garbage", Utc::now())
                .unwrap_err()
                .code(),
            ErrorCode::TokenInvalid
        );
    }

    #[test]
    fn refresh_secrets_are_random_and_hash_deterministically() {
        let tokens = service();
        let a = tokens.mint_refresh();
        let b = tokens.mint_refresh();
        assert_ne!(a.secret, b.secret);
        assert_eq!(hash_refresh(&a.secret), a.hash);
    }
}
