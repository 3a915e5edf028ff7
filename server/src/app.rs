//! The router and its middleware, shared by the binary and the tests.

use std::{future::Future, net::SocketAddr};

use axum::{
    Router, ServiceExt,
    body::Body,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderValue, Method, StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use tokio::net::TcpListener;
use tower::Layer as _;
use tower_http::{
    compression::CompressionLayer,
    cors::{AllowOrigin, Any, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    auth, docs,
    error::{ApiError, code_for_status},
    health, metrics, passages, payments, sessions,
    state::AppState,
    tontines, users,
};

/// Every route of the API with its middleware.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(auth::router())
        .merge(users::router())
        .merge(tontines::router())
        .merge(crate::invitations::router())
        .merge(crate::notifications::router())
        .merge(sessions::router())
        .merge(payments::router())
        .merge(crate::mobile_money::router())
        .merge(passages::router())
        .merge(crate::sync::api_router());
    let config = &state.config;
    let mut root = Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready));
    if config.metrics_on_api() {
        root = root.route("/metrics", get(metrics::handler));
    }
    root = root
        .merge(crate::sync::sync_router())
        .nest("/api/v1", api)
        .merge(docs::router());
    #[cfg(feature = "sandbox")]
    {
        root = root.merge(crate::mobile_money::sandbox::router());
    }
    root.fallback(|| async { ApiError::not_found() })
        // Innermost: a write runs to its commit or rollback even if the client goes away.
        .layer(middleware::from_fn(crate::complete::run_to_completion))
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(middleware::map_response(bare_errors_as_json))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(CompressionLayer::new())
        .layer(cors(&config.cors_origins))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, config.request_timeout))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let request_id =
                req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .expose_headers([
            header::RETRY_AFTER,
            header::HeaderName::from_static("x-request-id"),
        ]);
    if origins.iter().any(|o| o == "*") {
        layer.allow_origin(Any)
    } else {
        let list: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
        layer.allow_origin(AllowOrigin::list(list))
    }
}

/// Responses that no handler shaped (a wrong method, a timeout, an extractor outside our
/// wrappers) get the contract's JSON error body too.
async fn bare_errors_as_json(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let mut shaped = ApiError::new(code_for_status(status)).into_response();
    *shaped.status_mut() = status;
    if let Some(allow) = response.headers().get(header::ALLOW) {
        shaped.headers_mut().insert(header::ALLOW, allow.clone());
    }
    shaped
}

/// `/api/v1/users/` routes as `/api/v1/users`. Swagger UI keeps its own slashes (it redirects
/// `/docs` to `/docs/`).
fn trim_trailing_slash(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') && !path.starts_with("/docs") {
        let trimmed = path.trim_end_matches('/');
        let new = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = new.parse() {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// Serves the app on `listener` until `shutdown` completes, then drains in-flight requests.
/// Paths answer with and without a trailing slash. The job runner (reminders, late penalties)
/// runs alongside, every `JOBS_INTERVAL_SECONDS`, and the outbox worker every
/// `OUTBOX_INTERVAL_SECONDS`; both stop with the server.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    for warning in state.config.warnings() {
        tracing::warn!("{warning}");
    }
    let limits = state.clone();
    let pruner = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            limits.limits.prune(limits.now());
        }
    });
    let metrics = match state.config.metrics_addr {
        Some(addr) => Some(metrics::serve_apart(addr, state.clone()).await?),
        None => None,
    };
    let jobs = crate::jobs::spawn(
        state.store.clone(),
        state.clock.clone(),
        state.config.jobs_interval,
        state.jobs_wake.clone(),
    );
    let outbox = spawn_outbox(&state);
    let poller =
        crate::mobile_money::poll::spawn(state.mobile_money.clone(), state.config.jobs_interval);
    let app = tower::util::MapRequestLayer::new(trim_trailing_slash).layer(router(state));
    let service =
        ServiceExt::<Request<Body>>::into_make_service_with_connect_info::<SocketAddr>(app);
    let served = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await;
    pruner.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    if let Some(poller) = poller {
        // A pass cut short leaves leases that expire; nothing is settled twice.
        poller.abort();
    }
    if let Some(jobs) = jobs {
        jobs.stop(std::time::Duration::from_secs(10)).await;
    }
    if let Some(outbox) = outbox {
        outbox.stop(std::time::Duration::from_secs(10)).await;
    }
    served
}

/// The outbox worker's loop, every `OUTBOX_INTERVAL_SECONDS` (zero: off) and whenever a
/// handler wakes it (an account code must not wait for the next tick).
/// It takes what it uses (the store, the clock, the senders), not the application state.
fn spawn_outbox(state: &AppState) -> Option<crate::jobs::JobRunner> {
    let (store, clock) = (state.store.clone(), state.clock.clone());
    let worker = std::sync::Arc::new(state.outbox.clone());
    let every = state.config.notify.outbox.interval;
    let wake = Some(state.outbox_wake.clone());
    crate::jobs::spawn_loop("outbox", every, wake, move || {
        let (store, clock, worker) = (store.clone(), clock.clone(), worker.clone());
        async move {
            let report =
                crate::notify::worker::run_pass(store.as_ref(), clock.as_ref(), &worker).await?;
            Ok((report != crate::notify::OutboxReport::default()).then(|| format!("{report:?}")))
        }
    })
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received, draining requests");
}
