//! Prometheus metrics: requests by route and status, a latency histogram, the database pool.

use std::{
    sync::{Arc, Mutex, PoisonError, atomic::AtomicU64},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use kobiri_core::ErrorCode;

use crate::{error::ApiError, state::AppState};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: &'static str,
    code: String,
}

/// What an operator must be able to count and alert on: each one is also logged at WARN, with
/// its ids, where it happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A gap or a broken chain in a device's log (`code`: the incident's kind).
    IntegrityIncident,
    /// A synced mutation kept for a treasurer to resolve (`code`: the flag's code).
    SyncFlag,
    /// A synced mutation refused for good (`code`: the outcome's code).
    SyncRejected,
    /// A request from a revoked device, refused.
    RevokedDevice,
    /// A mobile-money callback refused (`code`: the provider).
    CallbackRefused,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::IntegrityIncident => "integrity_incident",
            Event::SyncFlag => "sync_flag",
            Event::SyncRejected => "sync_rejected",
            Event::RevokedDevice => "revoked_device",
            Event::CallbackRefused => "callback_refused",
        }
    }
}

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pool_size: Gauge<i64, std::sync::atomic::AtomicI64>,
    pool_idle: Gauge<i64, std::sync::atomic::AtomicI64>,
    pool_max: Gauge<i64, std::sync::atomic::AtomicI64>,
    events: Family<EventLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kobiri");
        let requests = Family::<RequestLabels, Counter<u64, AtomicU64>>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
        });
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        let pool_size = Gauge::default();
        let pool_idle = Gauge::default();
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Open database connections",
            pool_size.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            pool_idle.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Database pool capacity",
            pool_max.clone(),
        );
        let events = Family::<EventLabels, Counter<u64, AtomicU64>>::default();
        registry.register(
            "security_events",
            "Integrity incidents, sync flags and rejections, refused revoked devices and callbacks",
            events.clone(),
        );
        Self {
            registry: Arc::new(Mutex::new(registry)),
            events,
            requests,
            latency,
            pool_size,
            pool_idle,
            pool_max,
        }
    }

    /// Counts one `event` under `code` (a stable code or a provider, never an id or a secret).
    pub fn event(&self, event: Event, code: &str) {
        self.events
            .get_or_create(&EventLabels {
                event: event.as_str(),
                code: code.to_owned(),
            })
            .inc();
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let route = route.to_owned();
        let method = method.to_owned();
        self.requests
            .get_or_create(&RequestLabels {
                method: method.clone(),
                route: route.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { method, route })
            .observe(seconds);
    }

    /// The Prometheus text exposition, with the pool figures read now.
    pub fn render(&self, pool: crate::store::PoolStats) -> String {
        self.pool_size.set(i64::from(pool.size));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_max.set(i64::from(pool.max));
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = encode(&mut out, &registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}

/// Middleware: counts and times every request under its route template (not its raw path, so
/// ids do not explode the label space).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`; with `METRICS_TOKEN`, only for `Authorization: Bearer <token>`.
pub async fn handler(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(token) = &state.config.metrics_token {
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        if !presented.is_some_and(|p| token.matches(p)) {
            return Err(ApiError::new(ErrorCode::NotAuthenticated));
        }
    }
    let body = state.metrics.render(state.store().pool_stats());
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    ))
}

/// Serves `/metrics` alone on `addr` (`METRICS_ADDR`, e.g. an address only the monitoring
/// network reaches), until the returned task is aborted.
pub async fn serve_apart(
    addr: std::net::SocketAddr,
    state: AppState,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "metrics listening");
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(handler))
        .fallback(|| async { ApiError::not_found() })
        .with_state(state);
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics listener failed");
        }
    }))
}
