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
    ),
    components(schemas(error::ErrorBody, error::FieldErrorBody, store::Page<auth::dto::UserResponse>)),
    modifiers(&SecurityAddon),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "users", description = "User profiles"),
        (name = "ops", description = "Health and readiness"),
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
