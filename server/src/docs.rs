//! The OpenAPI document generated from the handlers, Swagger UI at `/docs` and ReDoc at
//! `/redoc`, both served from assets compiled into the binary (no CDN, no download).

use axum::{
    Router,
    http::header,
    response::{Html, IntoResponse},
    routing::get,
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{Flow, OAuth2, Password, Scopes, SecurityScheme},
};
use utoipa_swagger_ui::SwaggerUi;

use crate::{auth, error, health, state::AppState, store, users};
use tidy::Tidy;

mod tidy;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kobiri API",
        description = "Tontines (rotating and cumulative savings groups): accounts, tontines, \
            contributions, payouts and offline sync. Errors are `{detail, code, errors}` with a \
            French `detail` and a stable `code`.",
    ),
    paths(
        health::health, health::ready,
        auth::handlers::register, auth::handlers::login, auth::handlers::refresh,
        auth::handlers::logout, auth::handlers::me, auth::handlers::change_password,
        auth::handlers::forgot_password, auth::handlers::reset_password,
        auth::handlers::send_verification, auth::handlers::verify,
        users::list_users, users::get_user, users::update_user, users::deactivate_user,
        crate::tontines::handlers::create, crate::tontines::handlers::list,
        crate::tontines::handlers::get_one, crate::tontines::handlers::update,
        crate::tontines::handlers::delete, crate::tontines::members::join,
        crate::tontines::members::add, crate::tontines::members::list,
        crate::tontines::members::update, crate::tontines::members::leave,
        crate::tontines::stats::stats,
        crate::invitations::list_invitations, crate::invitations::accept, crate::invitations::refuse,
        crate::sessions::handlers::create, crate::sessions::handlers::generate,
        crate::sessions::handlers::list, crate::sessions::handlers::get_one,
        crate::sessions::handlers::open, crate::sessions::handlers::close,
        crate::sessions::handlers::stats,
        crate::payments::handlers::create, crate::payments::handlers::list,
        crate::payments::handlers::list_for_tontine,
        crate::payments::handlers::list_under_tontine, crate::payments::handlers::get_one,
        crate::payments::handlers::validate, crate::payments::handlers::audit,
        crate::mobile_money::handlers::initiate, crate::mobile_money::handlers::callback,
        crate::mobile_money::handlers::callback_put,
        crate::notifications::handlers::list, crate::notifications::handlers::unread_count,
        crate::notifications::handlers::mark_read, crate::notifications::handlers::get_preferences,
        crate::notifications::handlers::put_preferences,
        crate::notifications::handlers::send_reminder,
        crate::notifications::push_tokens::register,
        crate::notifications::delivery_reports::delivery_report,
        crate::passages::handlers::generate, crate::passages::handlers::reorder,
        crate::passages::handlers::list, crate::passages::handlers::schedule,
        crate::passages::handlers::start, crate::passages::payout::payout,
        crate::passages::payout::approve, crate::passages::payout::reject,
        crate::passages::payout::requests, crate::passages::payout::request_phone_code,
        crate::passages::payout::confirm_phone,
        crate::passages::handlers::confirm, crate::passages::handlers::postpone,
        crate::sync::sync, crate::sync::devices::enroll, crate::sync::devices::list,
        crate::sync::devices::revoke, crate::sync::review::flags, crate::sync::review::resolve,
        crate::sync::review::incidents, crate::sync::review::receipt,
    ),
    components(schemas(error::ErrorBody, error::FieldErrorBody, store::Page<auth::dto::UserResponse>,
        store::Page<crate::tontines::dto::TontineResponse>, store::Page<crate::sessions::dto::SessionResponse>,
        store::Page<crate::payments::dto::PaymentResponse>, store::Page<store::AuditEntry>,
        crate::mobile_money::InitiatePaymentRequest,
        crate::passages::dto::PassageResponse, crate::passages::dto::PassageOrderResponse,
        crate::passages::dto::ScheduleResponse, crate::passages::dto::GenerateRequest,
        crate::passages::dto::ReorderRequest, crate::passages::dto::OrderEntry,
        crate::passages::dto::PayoutRequest, crate::passages::dto::ConfirmRequest,
        crate::passages::dto::PostponeRequest, crate::passages::dto::PayoutRequestResponse,
        crate::passages::dto::RejectPayoutRequest, crate::passages::dto::PayoutPhoneRequest,
        crate::passages::dto::PayoutPhoneConfirmRequest)),
    modifiers(&SecurityAddon, &Tidy),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "users", description = "User profiles"),
        (name = "tontines", description = "Tontines"),
        (name = "members", description = "Members of a tontine"),
        (name = "sessions", description = "Contribution sessions"),
        (name = "payments", description = "Manual payments, validation and the audit log"),
        (name = "ops", description = "Health and readiness"),
        (name = "notifications", description = "In-app inbox, channel choices and reminders"),
        (name = "passages", description = "Payout order and payouts of the pot"),
        (name = "sync", description = "Offline sync: devices, /sync, review queue, receipts"),
    )
)]
pub struct ApiDoc;

/// Bearer tokens come from `/api/v1/auth/login`; declaring it as an OAuth2 password flow lets
/// Swagger UI's "Authorize" button log in with a phone or e-mail and a password.
struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::OAuth2(OAuth2::new([Flow::Password(Password::new(
                "/api/v1/auth/login",
                Scopes::new(),
            ))])),
        );
    }
}

const REDOC_JS: &[u8] = include_bytes!("../assets/redoc/redoc.standalone.js");

const REDOC_HTML: &str = r#"<!DOCTYPE html>
<html lang="fr">
  <head>
    <meta charset="utf-8"/>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Kobiri API — ReDoc</title>
  </head>
  <body>
    <redoc spec-url="/openapi.json"></redoc>
    <script src="/redoc/redoc.standalone.js"></script>
  </body>
</html>
"#;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
        .route("/redoc", get(|| async { Html(REDOC_HTML) }))
        .route(
            "/redoc/redoc.standalone.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "application/javascript"),
                        (header::CACHE_CONTROL, "public, max-age=86400"),
                    ],
                    REDOC_JS,
                )
                    .into_response()
            }),
        )
}
