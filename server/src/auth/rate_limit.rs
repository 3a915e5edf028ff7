//! Rate limits on login and forgot-password, per client address and per account
//! identifier, answered with 429 and `Retry-After`.

use std::{net::IpAddr, num::NonZeroU32, sync::Arc};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock as _, DefaultClock},
};

use crate::{config::RateLimitConfig, error::ApiError};

/// One limit: so many requests a minute per key, with that many as the burst.
#[derive(Clone)]
struct Limit(Arc<DefaultKeyedRateLimiter<String>>);

impl Limit {
    fn per_minute(n: u32) -> Self {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Self(Arc::new(RateLimiter::keyed(Quota::per_minute(n))))
    }

    fn check(&self, key: &str) -> Result<(), ApiError> {
        self.0.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::rate_limited(wait.as_secs().saturating_add(1))
        })
    }
}

/// The limits of the auth endpoints. Keys are kept in memory per process; with several
/// replicas each enforces its own share.
#[derive(Clone)]
pub struct RateLimits {
    login_ip: Limit,
    login_account: Limit,
    forgot_ip: Limit,
    forgot_account: Limit,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimits")
    }
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            login_ip: Limit::per_minute(config.login_per_ip),
            login_account: Limit::per_minute(config.login_per_account),
            forgot_ip: Limit::per_minute(config.forgot_per_ip),
            forgot_account: Limit::per_minute(config.forgot_per_account),
        }
    }

    /// Forgets keys whose quota has fully replenished, so memory stays bounded.
    pub fn prune(&self) {
        for limit in [
            &self.login_ip,
            &self.login_account,
            &self.forgot_ip,
            &self.forgot_account,
        ] {
            limit.0.retain_recent();
        }
    }

    /// `account` is the identifier as typed (normalised), whether or not the account exists.
    pub fn check_login(&self, ip: IpAddr, account: &str) -> Result<(), ApiError> {
        self.login_ip.check(&ip.to_string())?;
        self.login_account.check(account)
    }

    pub fn check_forgot(&self, ip: IpAddr, account: &str) -> Result<(), ApiError> {
        self.forgot_ip.check(&ip.to_string())?;
        self.forgot_account.check(account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kobiri_core::ErrorCode;

    fn limits(per_account: u32) -> RateLimits {
        RateLimits::new(&RateLimitConfig {
            login_per_ip: 100,
            login_per_account: per_account,
            forgot_per_ip: 2,
            forgot_per_account: 100,
        })
    }

    #[test]
    fn the_account_limit_counts_per_identifier() {
        let limits = limits(2);
        let ip = IpAddr::from([10, 0, 0, 1]);
        assert!(limits.check_login(ip, "a@x.sn").is_ok());
        assert!(limits.check_login(ip, "a@x.sn").is_ok());
        let err = limits.check_login(ip, "a@x.sn").unwrap_err();
        assert_eq!(err.code(), ErrorCode::RateLimited);
        assert!(limits.check_login(ip, "b@x.sn").is_ok());
    }

    #[test]
    fn the_address_limit_counts_across_accounts() {
        let limits = limits(100);
        let ip = IpAddr::from([10, 0, 0, 2]);
        assert!(limits.check_forgot(ip, "a").is_ok());
        assert!(limits.check_forgot(ip, "b").is_ok());
        assert!(limits.check_forgot(ip, "c").is_err());
        assert!(
            limits
                .check_forgot(IpAddr::from([10, 0, 0, 3]), "c")
                .is_ok()
        );
    }
}
