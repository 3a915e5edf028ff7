//! Mobile-money configuration read from the environment (see [`super::Registry`] for the
//! adapters built from it).
//!
//! A provider is configured when all its required keys are set; setting only some of them is
//! an error at start, so a typo cannot silently switch a provider off.

use std::time::Duration;

use super::Provider;

pub use crate::secret::Secret;

/// Timeouts of every provider client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(15),
        }
    }
}

/// Orange Money Web Payment.
#[derive(Debug, Clone)]
pub struct OrangeConfig {
    /// OAuth client id (`ORANGE_MONEY_API_KEY`).
    pub client_id: Secret,
    /// OAuth client secret (`ORANGE_MONEY_API_SECRET`).
    pub client_secret: Secret,
    pub merchant_key: Secret,
    pub base_url: String,
    /// Base of the token endpoint (`{oauth_url}/oauth/v3/token`).
    pub oauth_url: String,
    /// Country path segment; `dev` is the sandbox, which takes the currency `OUV`.
    pub country: String,
}

/// MTN MoMo Collections and Disbursements.
#[derive(Debug, Clone)]
pub struct MtnConfig {
    /// The API user id, the Basic user name (`MTN_MOMO_API_KEY`).
    pub api_user: Secret,
    /// The API key generated for that user, the Basic password (`MTN_MOMO_API_SECRET`).
    pub api_key: Secret,
    pub subscription_key: Secret,
    /// Falls back to the collection subscription key.
    pub disbursement_subscription_key: Secret,
    /// `sandbox` or `mtn<country>`.
    pub target_environment: String,
    pub base_url: String,
}

/// Wave Checkout and payouts.
#[derive(Debug, Clone)]
pub struct WaveConfig {
    pub api_key: Secret,
    pub webhook_secret: Secret,
    pub base_url: String,
    /// How far a webhook timestamp may be from now.
    pub signature_tolerance: Duration,
}

/// CinetPay, the aggregator serving Free Money and Moov Money.
#[derive(Debug, Clone)]
pub struct CinetPayConfig {
    pub api_key: Secret,
    pub site_id: String,
    /// Keys the `x-token` HMAC of notifications.
    pub secret_key: Secret,
    pub base_url: String,
}

/// Every provider's settings; `None` means not configured.
#[derive(Debug, Clone)]
pub struct MobileMoneyConfig {
    pub orange: Option<OrangeConfig>,
    pub mtn: Option<MtnConfig>,
    pub wave: Option<WaveConfig>,
    pub cinetpay: Option<CinetPayConfig>,
    /// The adapter serving `free_money` (`FREE_MONEY_PROVIDER`, default `cinetpay`).
    pub free_money: Provider,
    /// The adapter serving `moov_money` (`MOOV_MONEY_PROVIDER`, default `cinetpay`).
    pub moov_money: Provider,
    pub timeouts: Timeouts,
}

/// A configuration that cannot start the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{provider} is partly configured: missing {}", .missing.join(", "))]
    Incomplete {
        provider: Provider,
        missing: Vec<&'static str>,
    },
    #[error("{var}: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// Reads the required keys `names`: all set gives `Some`, none set gives `None`, some is an
/// error.
fn required<const N: usize>(
    get: &impl Fn(&str) -> Option<String>,
    provider: Provider,
    names: [&'static str; N],
) -> Result<Option<[String; N]>, ConfigError> {
    let values = names.map(|name| get(name).filter(|v| !v.trim().is_empty()));
    let missing: Vec<&'static str> = names
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(name, _)| *name)
        .collect();
    if missing.len() == N {
        return Ok(None);
    }
    if !missing.is_empty() {
        return Err(ConfigError::Incomplete { provider, missing });
    }
    Ok(Some(values.map(Option::unwrap_or_default)))
}

fn or_default(get: &impl Fn(&str) -> Option<String>, name: &str, default: &str) -> String {
    get(name)
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
        .trim_end_matches('/')
        .to_owned()
}

fn provider_var(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Provider, ConfigError> {
    or_default(get, var, "cinetpay")
        .parse()
        .map_err(|_| ConfigError::Invalid {
            var,
            reason: "expected orange, mtn, wave or cinetpay".into(),
        })
}

impl MobileMoneyConfig {
    /// Reads the configuration through `get` (the environment in production, a map in tests).
    // Long on purpose: reads each provider's variables in one place, provider by provider.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let orange = required(
            &get,
            Provider::Orange,
            [
                "ORANGE_MONEY_API_KEY",
                "ORANGE_MONEY_API_SECRET",
                "ORANGE_MONEY_MERCHANT_KEY",
            ],
        )?
        .map(|[id, secret, merchant]| OrangeConfig {
            client_id: Secret::new(id),
            client_secret: Secret::new(secret),
            merchant_key: Secret::new(merchant),
            base_url: or_default(&get, "ORANGE_MONEY_BASE_URL", "https://api.orange.com"),
            oauth_url: or_default(&get, "ORANGE_OAUTH_URL", "https://api.orange.com"),
            country: or_default(&get, "ORANGE_MONEY_COUNTRY", "dev"),
        });
        let mtn = required(
            &get,
            Provider::Mtn,
            [
                "MTN_MOMO_API_KEY",
                "MTN_MOMO_API_SECRET",
                "MTN_MOMO_SUBSCRIPTION_KEY",
            ],
        )?
        .map(|[user, key, subscription]| MtnConfig {
            api_user: Secret::new(user),
            api_key: Secret::new(key),
            disbursement_subscription_key: Secret::new(
                get("MTN_MOMO_DISBURSEMENT_SUBSCRIPTION_KEY")
                    .filter(|v| !v.trim().is_empty())
                    .unwrap_or_else(|| subscription.clone()),
            ),
            subscription_key: Secret::new(subscription),
            target_environment: or_default(&get, "MTN_MOMO_TARGET_ENVIRONMENT", "sandbox"),
            base_url: or_default(
                &get,
                "MTN_MOMO_BASE_URL",
                "https://sandbox.momodeveloper.mtn.com",
            ),
        });
        let wave = required(
            &get,
            Provider::Wave,
            ["WAVE_API_KEY", "WAVE_WEBHOOK_SECRET"],
        )?
        .map(|[key, secret]| WaveConfig {
            api_key: Secret::new(key),
            webhook_secret: Secret::new(secret),
            base_url: or_default(&get, "WAVE_BASE_URL", "https://api.wave.com"),
            signature_tolerance: Duration::from_secs(300),
        });
        let cinetpay = required(
            &get,
            Provider::CinetPay,
            [
                "CINETPAY_API_KEY",
                "CINETPAY_SITE_ID",
                "CINETPAY_SECRET_KEY",
            ],
        )?
        .map(|[key, site, secret]| CinetPayConfig {
            api_key: Secret::new(key),
            site_id: site,
            secret_key: Secret::new(secret),
            base_url: or_default(
                &get,
                "CINETPAY_BASE_URL",
                "https://api-checkout.cinetpay.com",
            ),
        });
        Ok(Self {
            orange,
            mtn,
            wave,
            cinetpay,
            free_money: provider_var(&get, "FREE_MONEY_PROVIDER")?,
            moov_money: provider_var(&get, "MOOV_MONEY_PROVIDER")?,
            timeouts: Timeouts::default(),
        })
    }

    /// Nothing configured: every lookup is `NotConfigured`.
    pub fn none() -> Self {
        Self {
            orange: None,
            mtn: None,
            wave: None,
            cinetpay: None,
            free_money: Provider::CinetPay,
            moov_money: Provider::CinetPay,
            timeouts: Timeouts::default(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::mobile_money::{CallbackRoute, Method, ProviderError, Registry};

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const CINETPAY: [(&str, &str); 3] = [
        ("CINETPAY_API_KEY", "key"),
        ("CINETPAY_SITE_ID", "105901"),
        ("CINETPAY_SECRET_KEY", "secret"),
    ];

    #[test]
    fn an_unconfigured_provider_is_not_configured() {
        let config = MobileMoneyConfig::from_vars(vars(&[])).unwrap();
        let registry = Registry::from_config(&config).unwrap();
        for method in Method::ALL {
            let answer = registry.for_method(method).err();
            assert_eq!(answer, Some(ProviderError::NotConfigured(method)));
            assert_eq!(answer.map(|e| e.code()), Some("provider_not_configured"));
        }
    }

    #[test]
    fn free_and_moov_money_go_to_cinetpay_by_default() {
        let config = MobileMoneyConfig::from_vars(vars(&CINETPAY)).unwrap();
        let registry = Registry::from_config(&config).unwrap();
        for method in [Method::FreeMoney, Method::MoovMoney] {
            assert_eq!(registry.provider_for(method), Provider::CinetPay);
            assert_eq!(
                registry.for_method(method).unwrap().provider(),
                Provider::CinetPay
            );
        }
        for route in [
            CallbackRoute::Free,
            CallbackRoute::Moov,
            CallbackRoute::CinetPay,
        ] {
            assert_eq!(
                registry.for_callback(route).unwrap().provider(),
                Provider::CinetPay
            );
        }
        assert!(registry.for_method(Method::Wave).is_err());
    }

    #[test]
    fn free_money_can_be_mapped_to_another_provider() {
        let mut pairs = CINETPAY.to_vec();
        pairs.extend([
            ("WAVE_API_KEY", "k"),
            ("WAVE_WEBHOOK_SECRET", "s"),
            ("FREE_MONEY_PROVIDER", "wave"),
        ]);
        let config = MobileMoneyConfig::from_vars(vars(&pairs)).unwrap();
        let registry = Registry::from_config(&config).unwrap();
        assert_eq!(
            registry.for_method(Method::FreeMoney).unwrap().provider(),
            Provider::Wave
        );
        assert_eq!(
            registry
                .for_callback(CallbackRoute::Free)
                .unwrap()
                .provider(),
            Provider::Wave
        );
        assert_eq!(
            registry.for_method(Method::MoovMoney).unwrap().provider(),
            Provider::CinetPay
        );
    }

    #[test]
    fn defaults_and_fallbacks_apply() {
        let config = MobileMoneyConfig::from_vars(vars(&[
            ("MTN_MOMO_API_KEY", "user"),
            ("MTN_MOMO_API_SECRET", "key"),
            ("MTN_MOMO_SUBSCRIPTION_KEY", "sub"),
            ("ORANGE_MONEY_API_KEY", "id"),
            ("ORANGE_MONEY_API_SECRET", "secret"),
            ("ORANGE_MONEY_MERCHANT_KEY", "merchant"),
            ("WAVE_API_KEY", "k"),
            ("WAVE_WEBHOOK_SECRET", "s"),
        ]))
        .unwrap();
        let mtn = config.mtn.unwrap();
        assert_eq!(mtn.target_environment, "sandbox");
        assert_eq!(mtn.disbursement_subscription_key.expose(), "sub");
        assert_eq!(config.orange.unwrap().country, "dev");
        assert_eq!(config.wave.unwrap().base_url, "https://api.wave.com");
        assert_eq!(config.timeouts, Timeouts::default());
    }

    #[test]
    fn a_partly_configured_provider_is_an_error() {
        let answer = MobileMoneyConfig::from_vars(vars(&[("WAVE_API_KEY", "k")]));
        assert_eq!(
            answer.err(),
            Some(ConfigError::Incomplete {
                provider: Provider::Wave,
                missing: vec!["WAVE_WEBHOOK_SECRET"],
            })
        );
    }

    #[test]
    fn an_unknown_provider_name_is_an_error() {
        let answer = MobileMoneyConfig::from_vars(vars(&[("MOOV_MONEY_PROVIDER", "moov")]));
        assert!(matches!(
            answer,
            Err(ConfigError::Invalid {
                var: "MOOV_MONEY_PROVIDER",
                ..
            })
        ));
    }

    #[test]
    fn methods_and_routes_parse_from_their_wire_strings() {
        for method in Method::ALL {
            assert_eq!(method.as_str().parse::<Method>(), Ok(method));
            let route: CallbackRoute = method.callback_segment().parse().unwrap();
            assert_eq!(route.as_str(), method.callback_segment());
        }
        assert!("especes".parse::<Method>().is_err());
        assert_eq!(
            Method::try_from(kobiri_core::payment::PaymentMethod::FreeMoney),
            Ok(Method::FreeMoney)
        );
        assert!(Method::try_from(kobiri_core::payment::PaymentMethod::Especes).is_err());
    }

    #[test]
    fn secrets_are_not_printed() {
        let config = MobileMoneyConfig::from_vars(vars(&CINETPAY)).unwrap();
        assert!(!format!("{config:?}").contains("secret\""));
    }
}
