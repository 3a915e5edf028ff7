//! The mobile-money sandbox of a development server: with `ENVIRONMENT=development` (the
//! default), every provider left without credentials runs against Kobiri's own stand-in of
//! it ([`super::standin`]), in this process, on a loopback port. Nothing else changes: the
//! real adapters speak the provider's protocol to the stand-in, and the real callback handler
//! verifies what comes back.
//!
//! - Initiating a payment gives a `payment_url` to `/sandbox/payments/{id}`, a page of this
//!   server where one approves or refuses the payment (the payer's side).
//! - Approving or refusing sends the provider's genuine callback (Wave signed with its
//!   webhook secret, Orange with the stored `notif_token`, CinetPay with its `x-token` HMAC,
//!   MTN's plain trigger) to this server's callback route over loopback, so the payment is
//!   settled by the real verification and status query.
//! - Payouts (MTN, Wave) go to the same stand-ins and succeed at once.
//! - In any other environment the sandbox never starts and its pages answer 404; an
//!   unconfigured method is 400 `provider_not_configured`.
//!
//! The stand-ins' keys are public constants of the source: the sandbox is for trying Kobiri,
//! never for money.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use kobiri_core::PaymentId;

use super::standin::{self, Outcome, StandIn};
use super::{CinetPay, MobileMoneyAdapter, Mtn, Orange, Provider, ProviderError, Registry, Wave};
use crate::{config::Config, state::AppState};

/// The stand-ins serving the providers that have no credentials.
pub struct Sandbox {
    stand_ins: BTreeMap<Provider, StandIn>,
    /// This server, for the callbacks (loopback).
    local: SocketAddr,
    /// Where the payer's browser reaches this server (`PUBLIC_BASE_URL`).
    public: String,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("providers", &self.stand_ins.keys().collect::<Vec<_>>())
            .field("local", &self.local)
            .finish()
    }
}

impl Sandbox {
    /// Starts a stand-in for each provider `config` leaves unconfigured, in development
    /// only (`None` elsewhere, or when every provider is configured). `local` is the address
    /// this server listens on.
    pub async fn start(config: &Config, local: SocketAddr) -> std::io::Result<Option<Self>> {
        if config.environment != crate::config::Environment::Development {
            return Ok(None);
        }
        let mm = &config.mobile_money;
        let mut stand_ins = BTreeMap::new();
        for &provider in Provider::ALL {
            let configured = match provider {
                Provider::Orange => mm.orange.is_some(),
                Provider::Mtn => mm.mtn.is_some(),
                Provider::Wave => mm.wave.is_some(),
                Provider::CinetPay => mm.cinetpay.is_some(),
            };
            if configured {
                continue;
            }
            let stand_in = match provider {
                Provider::Orange => StandIn::orange().await?,
                Provider::Mtn => StandIn::mtn().await?,
                Provider::Wave => StandIn::wave().await?,
                Provider::CinetPay => StandIn::cinetpay().await?,
            };
            stand_in.set_outcome(Outcome::AwaitPayer);
            stand_in.set_payout_outcome(Outcome::Succeed);
            stand_ins.insert(provider, stand_in);
        }
        if stand_ins.is_empty() {
            return Ok(None);
        }
        let names: Vec<&str> = stand_ins.keys().map(|p| p.as_str()).collect();
        tracing::warn!(
            providers = %names.join(", "),
            "MOBILE MONEY SANDBOX: these providers have no credentials and run against \
             Kobiri's local stand-ins; no real money moves. Approve or refuse payments at \
             {}/sandbox/payments/{{id}}. Set ENVIRONMENT=production to turn the sandbox off.",
            config.public_base_url
        );
        Ok(Some(Self {
            stand_ins,
            local,
            public: config.public_base_url.clone(),
        }))
    }

    /// `registry` with an adapter for every sandboxed provider, pointing at its stand-in.
    pub fn install(self, registry: Registry, config: &Config) -> Result<Registry, ProviderError> {
        let t = config.mobile_money.timeouts;
        let mut registry = registry;
        for (provider, s) in &self.stand_ins {
            let adapter: Arc<dyn MobileMoneyAdapter> = match provider {
                Provider::Orange => Arc::new(Orange::new(standin::orange::config(s), t)?),
                Provider::Mtn => Arc::new(Mtn::new(standin::mtn::config(s), t)?),
                Provider::Wave => Arc::new(Wave::new(standin::wave::config(s), t)?),
                Provider::CinetPay => Arc::new(CinetPay::new(standin::cinetpay::config(s), t)?),
            };
            registry = registry.with(adapter);
        }
        Ok(registry.with_sandbox(Arc::new(self)))
    }

    /// The payer's page of payment `id`, when `provider` is sandboxed.
    pub fn page_url(&self, provider: Provider, id: PaymentId) -> Option<String> {
        self.stand_ins
            .contains_key(&provider)
            .then(|| format!("{}/sandbox/payments/{id}", self.public))
    }

    /// `url` (a callback address built from `PUBLIC_BASE_URL`) on this server over loopback.
    fn loopback(&self, url: &str, fallback_path: &str) -> String {
        let path = url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
            .unwrap_or_else(|| fallback_path.to_owned());
        let ip = match self.local.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}{path}", SocketAddr::new(ip, self.local.port()))
    }
}

/// The sandbox pages: `/sandbox/payments/{id}` and its approve and refuse actions. 404 on a
/// server without a sandbox.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sandbox/payments/{id}", get(page))
        .route("/sandbox/payments/{id}/approve", post(approve))
        .route("/sandbox/payments/{id}/refuse", post(refuse))
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{title}</title></head><body>\
         <p><strong>Bac à sable Kobiri</strong> : aucun argent réel ne circule.</p>\
         <h1>{title}</h1>{body}</body></html>"
    );
    (status, Html(page)).into_response()
}

fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        "Introuvable",
        "<p>Aucun paiement à cette adresse.</p>",
    )
}

/// The sandbox, the payment and its stand-in; `None` answers 404.
async fn lookup(
    state: &AppState,
    id: &str,
) -> Option<(Arc<Sandbox>, crate::store::MobilePayment, PaymentId)> {
    let sandbox = state.mobile_money.providers.sandbox()?;
    let id = PaymentId::parse(id).ok()?;
    let payment = state.store().mobile_payment(id).await.ok()??;
    sandbox
        .stand_ins
        .contains_key(&payment.provider)
        .then_some(())?;
    Some((sandbox, payment, id))
}

async fn page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some((_, mp, id)) = lookup(&state, &id).await else {
        return not_found();
    };
    let p = &mp.payment;
    let body = format!(
        "<p>Paiement de <strong>{} {}</strong> par {} ({}) depuis le {}.</p>\
         <p>Statut : {}</p>\
         <form method=\"post\" action=\"/sandbox/payments/{id}/approve\">\
         <button type=\"submit\">Approuver le paiement</button></form>\
         <form method=\"post\" action=\"/sandbox/payments/{id}/refuse\">\
         <button type=\"submit\">Refuser le paiement</button></form>",
        p.amount.to_wire_string(),
        p.amount.currency(),
        p.method.as_str(),
        mp.provider.as_str(),
        p.phone_number.as_deref().unwrap_or("?"),
        p.status.as_str(),
    );
    html(StatusCode::OK, "Payer avec le bac à sable", &body)
}

async fn approve(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    decide(&state, &id, true).await
}

async fn refuse(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    decide(&state, &id, false).await
}

/// Ends the payment at its stand-in and sends the provider's callback to this server.
async fn decide(state: &AppState, id: &str, approve: bool) -> Response {
    let Some((sandbox, mp, id)) = lookup(state, id).await else {
        return not_found();
    };
    let Some(stand_in) = sandbox.stand_ins.get(&mp.provider) else {
        return not_found();
    };
    let Some(mut callback) = stand_in.decide(id.as_uuid(), approve) else {
        return html(
            StatusCode::CONFLICT,
            "Déjà traité",
            "<p>Ce paiement a déjà été approuvé ou refusé.</p>",
        );
    };
    let fallback = format!("/api/v1/payments/callback/{}", mp.provider.as_str());
    callback.url = sandbox.loopback(&callback.url, &fallback);
    let (title, verb) = if approve {
        ("Paiement approuvé", "approuvé")
    } else {
        ("Paiement refusé", "refusé")
    };
    match callback.send().await {
        Ok(status) => html(
            StatusCode::OK,
            title,
            &format!(
                "<p>Le paiement est {verb}. La notification du fournisseur a été envoyée à \
                 Kobiri, qui a répondu {}.</p>",
                status.as_u16()
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "sandbox: the callback could not be sent");
            html(
                StatusCode::BAD_GATEWAY,
                title,
                "<p>La notification n'a pas pu être envoyée ; le paiement sera confirmé par \
                 la vérification périodique.</p>",
            )
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::mobile_money::{
        Method, PaymentRef, PaymentRequest, PayoutRef, PayoutRequest, Status,
    };
    use kobiri_core::{Amount, Currency, Phone};

    fn config(environment: &str) -> Config {
        let vars = [
            ("ENVIRONMENT", environment),
            (
                "SECRET_KEY",
                "a-production-secret-of-more-than-thirty-two-characters",
            ),
            ("CORS_ORIGINS", "https://app.kobiri.example"),
            ("WAVE_API_KEY", "wave_sn_prod_real"),
            ("WAVE_WEBHOOK_SECRET", "wave_sn_WHS_real"),
        ];
        Config::from_vars(vars.map(|(k, v)| (k.to_owned(), v.to_owned()))).unwrap()
    }

    fn xof(n: i64) -> Amount {
        Amount::new(
            rust_decimal::Decimal::from(n),
            Currency::parse("XOF").unwrap(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn only_development_runs_a_sandbox_and_only_for_unconfigured_providers() {
        let local: SocketAddr = "127.0.0.1:8000".parse().unwrap();
        for environment in ["production", "test"] {
            assert!(
                Sandbox::start(&config(environment), local)
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        let config = config("development");
        let sandbox = Sandbox::start(&config, local).await.unwrap().unwrap();
        assert!(
            !sandbox.stand_ins.contains_key(&Provider::Wave),
            "Wave is configured"
        );
        let id = PaymentId::new();
        assert_eq!(
            sandbox.page_url(Provider::Mtn, id),
            Some(format!("http://localhost:8000/sandbox/payments/{id}"))
        );
        assert_eq!(sandbox.page_url(Provider::Wave, id), None);
        assert_eq!(
            sandbox.loopback("http://kobiri.example/api/v1/payments/callback/mtn", "/x"),
            "http://127.0.0.1:8000/api/v1/payments/callback/mtn"
        );
        let registry = Registry::from_config(&config.mobile_money).unwrap();
        let registry = sandbox.install(registry, &config).unwrap();
        assert!(registry.sandbox().is_some());
        for method in Method::ALL {
            assert!(registry.for_method(method).is_ok(), "{method}");
        }
    }

    #[tokio::test]
    async fn a_sandbox_payment_waits_for_its_payer_and_a_payout_is_paid_at_once() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = config("development");
        let local: SocketAddr = "127.0.0.1:8000".parse().unwrap();
        let sandbox = Sandbox::start(&config, local).await.unwrap().unwrap();
        let mtn = sandbox.stand_ins.get(&Provider::Mtn).unwrap();
        let adapter = Mtn::new(standin::mtn::config(mtn), config.mobile_money.timeouts).unwrap();
        let phone = Phone::parse("+221770001122").unwrap();
        let reference = kobiri_core::new_uuid();
        let started = adapter
            .start_payment(&PaymentRequest {
                reference,
                amount: xof(5000),
                payer: phone.clone(),
                description: "Cotisation".into(),
                notify_url: "http://localhost:8000/api/v1/payments/callback/mtn".into(),
                return_url: "http://localhost:8000/".into(),
            })
            .await
            .unwrap();
        let payment = PaymentRef {
            reference,
            operator_reference: started.operator_reference,
            amount: xof(5000),
        };
        assert_eq!(
            adapter.payment_status(&payment).await.unwrap(),
            Status::Pending
        );
        let callback = mtn.decide(reference, true).expect("awaited its payer");
        assert!(callback.url.ends_with("/api/v1/payments/callback/mtn"));
        assert!(matches!(
            adapter.payment_status(&payment).await.unwrap(),
            Status::Succeeded { .. }
        ));
        assert!(mtn.decide(reference, false).is_none(), "decided once");
        let key = kobiri_core::new_uuid();
        let payout = adapter
            .start_payout(&PayoutRequest {
                reference: key,
                amount: xof(25000),
                beneficiary: phone,
                note: "Versement".into(),
            })
            .await
            .unwrap();
        let status = adapter
            .payout_status(&PayoutRef {
                reference: key,
                operator_reference: payout.operator_reference,
            })
            .await
            .unwrap();
        assert!(matches!(status, Status::Succeeded { .. }), "{status:?}");
        assert_eq!(mtn.payouts().len(), 1);
    }
}
