//! Limits on the auth endpoints, kept in memory per process and read on the app's clock,
//! answered with 429, a French detail and `Retry-After`.
//!
//! Login follows OWASP's authentication guidance: only **failed** attempts count. Each account
//! identifier gets a few free failures, then an exponentially growing lockout; each client
//! address may fail many times a minute (a carrier-grade NAT carries thousands of phones), and
//! a successful login never counts against its address. Registration and forgot-password count
//! every request.

use std::{
    collections::HashMap,
    hash::Hash,
    net::IpAddr,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use chrono::TimeDelta;

use crate::{config::RateLimitConfig, error::ApiError, store::Timestamp};

/// Failures of an account are forgotten this long after the last one (at least twice the
/// longest lockout).
const FORGET_FAILURES_AFTER: TimeDelta = TimeDelta::hours(1);

/// So many events a minute per key, all of them at once as the burst (GCRA: each key keeps the
/// time at which its bucket is empty again).
struct Bucket<K> {
    interval: TimeDelta,
    burst: TimeDelta,
    keys: Mutex<HashMap<K, Timestamp>>,
}

impl<K: Hash + Eq> Bucket<K> {
    fn per_minute(n: u32) -> Self {
        let n = n.max(1);
        let interval =
            TimeDelta::milliseconds(60_000 / i64::from(n)).max(TimeDelta::milliseconds(1));
        Self {
            interval,
            burst: interval * i32::try_from(n).unwrap_or(i32::MAX),
            keys: Mutex::default(),
        }
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<K, Timestamp>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How long until one more event fits, or `None` if it fits now.
    fn wait(&self, empty_at: Option<Timestamp>, now: Timestamp) -> Option<TimeDelta> {
        let level = empty_at.map_or(TimeDelta::zero(), |t| (t - now).max(TimeDelta::zero()));
        let over = level + self.interval - self.burst;
        (over > TimeDelta::zero()).then_some(over)
    }

    /// Refuses when the bucket is full, without counting.
    fn peek(&self, key: &K, now: Timestamp) -> Result<(), TimeDelta> {
        self.wait(self.keys().get(key).copied(), now)
            .map_or(Ok(()), Err)
    }

    /// Counts one event, or refuses (and counts nothing) when the bucket is full.
    fn take(&self, key: K, now: Timestamp) -> Result<(), TimeDelta> {
        let mut keys = self.keys();
        let empty_at = keys.get(&key).copied();
        if let Some(wait) = self.wait(empty_at, now) {
            return Err(wait);
        }
        keys.insert(key, empty_at.map_or(now, |t| t.max(now)) + self.interval);
        Ok(())
    }

    /// Counts one event that happened, full bucket or not.
    fn record(&self, key: K, now: Timestamp) {
        let mut keys = self.keys();
        let empty_at = keys.get(&key).map_or(now, |t| (*t).max(now));
        keys.insert(key, empty_at + self.interval);
    }

    fn prune(&self, now: Timestamp) {
        self.keys().retain(|_, empty_at| *empty_at > now);
    }
}

/// An account's recent failed logins.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Timestamp,
    locked_until: Timestamp,
}

/// Failed logins per account identifier: `free` failures, then a lockout of `base`, doubled at
/// each further failure up to `max`. A success forgets them.
struct Lockouts {
    free: u32,
    base: TimeDelta,
    max: TimeDelta,
    keys: Mutex<HashMap<String, Failures>>,
}

impl Lockouts {
    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn forget_after(&self) -> TimeDelta {
        FORGET_FAILURES_AFTER.max(self.max * 2)
    }

    /// The lockout after the `count`-th failure in a row.
    fn lockout(&self, count: u32) -> TimeDelta {
        if count < self.free.max(1) {
            return TimeDelta::zero();
        }
        let doublings = (count - self.free.max(1)).min(20);
        (self.base * 2_i32.pow(doublings)).min(self.max)
    }

    /// Refuses while the account is locked; otherwise counts this attempt as a failure until
    /// [`Lockouts::succeeded`] says otherwise, so that parallel guesses see the lockout at once.
    fn attempt(&self, key: &str, now: Timestamp) -> Result<(), TimeDelta> {
        let mut keys = self.keys();
        let previous = keys
            .get(key)
            .copied()
            .filter(|f| now - f.last < self.forget_after());
        if let Some(f) = previous
            && f.locked_until > now
        {
            return Err(f.locked_until - now);
        }
        let count = previous.map_or(0, |f| f.count).saturating_add(1);
        keys.insert(
            key.to_owned(),
            Failures {
                count,
                last: now,
                locked_until: now + self.lockout(count),
            },
        );
        Ok(())
    }

    fn succeeded(&self, key: &str) {
        self.keys().remove(key);
    }

    fn prune(&self, now: Timestamp) {
        let forget_after = self.forget_after();
        self.keys()
            .retain(|_, f| f.locked_until > now || now - f.last < forget_after);
    }
}

/// The key of a client address: the address itself for IPv4, its /64 network for IPv6 (one
/// subscriber holds a whole /64 and may pick any address in it).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

fn refused(wait: TimeDelta, detail: &str) -> ApiError {
    let secs = u64::try_from(wait.num_milliseconds())
        .unwrap_or(0)
        .div_ceil(1000);
    ApiError::rate_limited(secs).with_detail(format!("{detail} Réessayez dans {} s.", secs.max(1)))
}

/// The limits of the auth endpoints. Keys are kept in memory per process; with several
/// replicas each enforces its own share.
pub struct RateLimits {
    login_failures_ip: Bucket<IpAddr>,
    login_account: Lockouts,
    register_ip: Bucket<IpAddr>,
    forgot_ip: Bucket<IpAddr>,
    forgot_account: Bucket<String>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimits")
    }
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            login_failures_ip: Bucket::per_minute(config.login_failures_per_ip),
            login_account: Lockouts {
                free: config.login_failures_per_account,
                base: delta(config.login_lockout),
                max: delta(config.login_lockout_max).max(delta(config.login_lockout)),
                keys: Mutex::default(),
            },
            register_ip: Bucket::per_minute(config.register_per_ip),
            forgot_ip: Bucket::per_minute(config.forgot_per_ip),
            forgot_account: Bucket::per_minute(config.forgot_per_account),
        }
    }

    /// Forgets keys whose limits have fully replenished, so memory stays bounded.
    pub fn prune(&self, now: Timestamp) {
        self.login_failures_ip.prune(now);
        self.login_account.prune(now);
        self.register_ip.prune(now);
        self.forgot_ip.prune(now);
        self.forgot_account.prune(now);
    }

    /// Before verifying a password: refuses an address that failed too often, or an account
    /// in its lockout. `account` is the identifier as typed (normalised), whether or not the
    /// account exists. Report the outcome with [`RateLimits::login_failed`] or
    /// [`RateLimits::login_succeeded`].
    pub fn check_login(&self, ip: IpAddr, account: &str, now: Timestamp) -> Result<(), ApiError> {
        self.login_failures_ip
            .peek(&address_key(ip), now)
            .map_err(|w| refused(w, "Trop de connexions échouées depuis cette adresse."))?;
        self.login_account
            .attempt(account, now)
            .map_err(|w| refused(w, "Trop de connexions échouées pour ce compte."))
    }

    /// A wrong password or an unknown account: counts against the address (the account's
    /// failure was counted by [`RateLimits::check_login`]).
    pub fn login_failed(&self, ip: IpAddr, now: Timestamp) {
        self.login_failures_ip.record(address_key(ip), now);
    }

    /// The right password: the account's failures are forgotten.
    pub fn login_succeeded(&self, account: &str) {
        self.login_account.succeeded(account);
    }

    /// Counts a registration from `ip` (each costs an argon2 hash).
    pub fn check_register(&self, ip: IpAddr, now: Timestamp) -> Result<(), ApiError> {
        self.register_ip
            .take(address_key(ip), now)
            .map_err(|w| refused(w, "Trop d'inscriptions depuis cette adresse."))
    }

    pub fn check_forgot(&self, ip: IpAddr, account: &str, now: Timestamp) -> Result<(), ApiError> {
        self.forgot_ip.take(address_key(ip), now).map_err(|w| {
            refused(
                w,
                "Trop de demandes de réinitialisation depuis cette adresse.",
            )
        })?;
        self.forgot_account
            .take(account.to_owned(), now)
            .map_err(|w| refused(w, "Trop de demandes de réinitialisation pour ce compte."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kobiri_core::ErrorCode;

    fn config() -> RateLimitConfig {
        RateLimitConfig {
            login_failures_per_ip: 100,
            login_failures_per_account: 3,
            login_lockout: Duration::from_secs(30),
            login_lockout_max: Duration::from_secs(120),
            register_per_ip: 2,
            forgot_per_ip: 2,
            forgot_per_account: 100,
        }
    }

    fn t0() -> Timestamp {
        chrono::Utc::now()
    }

    fn secs(n: i64) -> TimeDelta {
        TimeDelta::seconds(n)
    }

    #[test]
    fn an_account_is_locked_after_its_free_failures_for_a_growing_time() {
        let limits = RateLimits::new(&config());
        let ip = IpAddr::from([10, 0, 0, 1]);
        let now = t0();
        for _ in 0..3 {
            limits.check_login(ip, "a@x.sn", now).unwrap();
        }
        let err = limits.check_login(ip, "a@x.sn", now).unwrap_err();
        assert_eq!(err.code(), ErrorCode::RateLimited);
        // 30 s, then 60 s, then capped at 120 s.
        assert!(limits.check_login(ip, "a@x.sn", now + secs(29)).is_err());
        limits.check_login(ip, "a@x.sn", now + secs(30)).unwrap();
        assert!(limits.check_login(ip, "a@x.sn", now + secs(89)).is_err());
        limits.check_login(ip, "a@x.sn", now + secs(90)).unwrap();
        limits.check_login(ip, "a@x.sn", now + secs(210)).unwrap();
        assert!(limits.check_login(ip, "a@x.sn", now + secs(329)).is_err());
        limits.check_login(ip, "a@x.sn", now + secs(330)).unwrap();
        // Another account is not affected; a success forgets the failures.
        limits.check_login(ip, "b@x.sn", now).unwrap();
        limits.login_succeeded("a@x.sn");
        limits.check_login(ip, "a@x.sn", now + secs(331)).unwrap();
    }

    #[test]
    fn failures_are_forgotten_after_an_hour_without_one() {
        let limits = RateLimits::new(&config());
        let ip = IpAddr::from([10, 0, 0, 1]);
        let now = t0();
        for _ in 0..2 {
            limits.check_login(ip, "a", now).unwrap();
        }
        let later = now + TimeDelta::hours(1);
        limits.prune(later);
        for _ in 0..3 {
            limits.check_login(ip, "a", later).unwrap();
        }
    }

    #[test]
    fn only_failures_count_against_an_address() {
        let mut c = config();
        c.login_failures_per_ip = 2;
        let limits = RateLimits::new(&c);
        let ip = IpAddr::from([10, 0, 0, 2]);
        let now = t0();
        for n in 0..50 {
            let account = format!("user{n}");
            limits.check_login(ip, &account, now).unwrap();
            limits.login_succeeded(&account);
        }
        limits.login_failed(ip, now);
        limits.login_failed(ip, now);
        assert!(limits.check_login(ip, "other", now).is_err());
        assert!(
            limits
                .check_login(IpAddr::from([10, 0, 0, 3]), "other", now)
                .is_ok()
        );
        // One failure's worth replenishes in 30 s.
        assert!(limits.check_login(ip, "other", now + secs(30)).is_ok());
    }

    #[test]
    fn an_ipv6_subscriber_is_one_address_per_64_bits() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(address_key(mapped), IpAddr::from([10, 0, 0, 1]));
    }

    #[test]
    fn the_address_limit_counts_across_accounts() {
        let limits = RateLimits::new(&config());
        let ip = IpAddr::from([10, 0, 0, 2]);
        let now = t0();
        assert!(limits.check_forgot(ip, "a", now).is_ok());
        assert!(limits.check_forgot(ip, "b", now).is_ok());
        let err = limits.check_forgot(ip, "c", now).unwrap_err();
        assert_eq!(err.retry_after_secs(), Some(30));
        assert!(
            limits
                .check_forgot(IpAddr::from([10, 0, 0, 3]), "c", now)
                .is_ok()
        );
        assert!(limits.check_register(ip, now).is_ok());
        assert!(limits.check_register(ip, now).is_ok());
        assert!(limits.check_register(ip, now).is_err());
    }
}
