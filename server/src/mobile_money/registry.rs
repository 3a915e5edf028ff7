//! The [`Registry`]: the configured adapters, looked up by method (to pay) or by callback path
//! segment.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::config::MobileMoneyConfig;
#[cfg(feature = "sandbox")]
use super::sandbox::Sandbox;
use super::{
    CallbackRoute, CinetPay, Method, MobileMoneyAdapter, Mtn, Orange, Provider, ProviderError, Wave,
};

/// The configured adapters, looked up by method (to pay) or by callback path segment.
#[derive(Clone)]
pub struct Registry {
    adapters: HashMap<Provider, Arc<dyn MobileMoneyAdapter>>,
    free_money: Provider,
    moov_money: Provider,
    /// The development sandbox serving the providers without credentials, if any.
    #[cfg(feature = "sandbox")]
    sandbox: Option<Arc<Sandbox>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut configured: Vec<Provider> = self.adapters.keys().copied().collect();
        configured.sort();
        let mut f = f.debug_struct("Registry");
        f.field("configured", &configured)
            .field("free_money", &self.free_money)
            .field("moov_money", &self.moov_money);
        #[cfg(feature = "sandbox")]
        f.field("sandbox", &self.sandbox);
        f.finish()
    }
}

impl Registry {
    /// Builds one adapter (with its own HTTP client) per configured provider.
    pub fn from_config(config: &MobileMoneyConfig) -> Result<Self, ProviderError> {
        let mut registry = Self::empty(config.free_money, config.moov_money);
        let t = config.timeouts;
        if let Some(c) = &config.orange {
            registry = registry.with(Arc::new(Orange::new(c.clone(), t)?));
        }
        if let Some(c) = &config.mtn {
            registry = registry.with(Arc::new(Mtn::new(c.clone(), t)?));
        }
        if let Some(c) = &config.wave {
            registry = registry.with(Arc::new(Wave::new(c.clone(), t)?));
        }
        if let Some(c) = &config.cinetpay {
            registry = registry.with(Arc::new(CinetPay::new(c.clone(), t)?));
        }
        Ok(registry)
    }

    /// No adapter yet; Free Money and Moov Money served by the given providers.
    pub fn empty(free_money: Provider, moov_money: Provider) -> Self {
        Self {
            adapters: HashMap::new(),
            free_money,
            moov_money,
            #[cfg(feature = "sandbox")]
            sandbox: None,
        }
    }

    /// Adds (or replaces) the adapter of its provider: for tests and custom wiring.
    pub fn with(mut self, adapter: Arc<dyn MobileMoneyAdapter>) -> Self {
        self.adapters.insert(adapter.provider(), adapter);
        self
    }

    /// The provider that serves `method`, configured or not (store it with the payment).
    pub fn provider_for(&self, method: Method) -> Provider {
        match method {
            Method::OrangeMoney => Provider::Orange,
            Method::MtnMomo => Provider::Mtn,
            Method::Wave => Provider::Wave,
            Method::FreeMoney => self.free_money,
            Method::MoovMoney => self.moov_money,
        }
    }

    /// The adapter for paying with `method`, or `NotConfigured`.
    pub fn for_method(&self, method: Method) -> Result<Arc<dyn MobileMoneyAdapter>, ProviderError> {
        self.adapters
            .get(&self.provider_for(method))
            .cloned()
            .ok_or(ProviderError::NotConfigured(method))
    }

    /// The adapter that handles callbacks on path segment `route`.
    pub fn for_callback(
        &self,
        route: CallbackRoute,
    ) -> Result<Arc<dyn MobileMoneyAdapter>, ProviderError> {
        let (provider, method) = match route {
            CallbackRoute::Orange => (Provider::Orange, Method::OrangeMoney),
            CallbackRoute::Mtn => (Provider::Mtn, Method::MtnMomo),
            CallbackRoute::Wave => (Provider::Wave, Method::Wave),
            CallbackRoute::Free => (self.free_money, Method::FreeMoney),
            CallbackRoute::Moov => (self.moov_money, Method::MoovMoney),
            // The aggregator's own segment; reported as the first method it serves by default.
            CallbackRoute::CinetPay => (Provider::CinetPay, Method::FreeMoney),
        };
        self.adapters
            .get(&provider)
            .cloned()
            .ok_or(ProviderError::NotConfigured(method))
    }
}

#[cfg(feature = "sandbox")]
impl Registry {
    /// Marks the providers `sandbox` serves (see [`Sandbox::install`]).
    pub fn with_sandbox(mut self, sandbox: Arc<Sandbox>) -> Self {
        self.sandbox = Some(sandbox);
        self
    }

    /// The development sandbox, if this server runs one.
    pub fn sandbox(&self) -> Option<Arc<Sandbox>> {
        self.sandbox.clone()
    }
}

impl Registry {
    /// The sandbox page of payment `id` when `provider` is sandboxed: the `payment_url`.
    /// Always `None` in a build without the `sandbox` feature.
    pub fn sandbox_page(&self, provider: Provider, id: kobiri_core::PaymentId) -> Option<String> {
        #[cfg(feature = "sandbox")]
        return self.sandbox.as_ref()?.page_url(provider, id);
        #[cfg(not(feature = "sandbox"))]
        {
            let _ = (provider, id);
            None
        }
    }

    /// The adapter of `provider`, when configured (the poller asks by stored provider).
    pub fn for_provider(&self, provider: Provider) -> Option<Arc<dyn MobileMoneyAdapter>> {
        self.adapters.get(&provider).cloned()
    }
}
