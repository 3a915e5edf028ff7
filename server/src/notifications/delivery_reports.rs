//! Delivery reports from the SMS gateways: `POST /notifications/delivery-reports/{gateway}`,
//! authenticated by the secret token of `SMS_DELIVERY_REPORT_TOKEN` in the URL's query (the
//! gateways do not sign their reports; the query stays out of the request log, which records
//! the path only). The report is applied to the outbox row whose `provider_message_id` it
//! names (see `notify::delivery`).

use axum::{
    Json,
    body::Bytes,
    extract::{Path, RawQuery, State},
};
use kobiri_core::{ErrorCode, NotificationStatus};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    notify::delivery::ReportingGateway,
    state::AppState,
};

/// Where the reported message stands now.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "delivree"}))]
pub struct DeliveryReportResponse {
    /// The message's status after the report: `envoyee`, `delivree` or `echouee`.
    #[schema(value_type = String)]
    pub status: NotificationStatus,
}

/// A gateway's delivery report about an SMS it accepted (`orange`: the
/// `deliveryInfoNotification` JSON; `africastalking`: the form with `id` and `status`).
/// Public, authenticated by `?token=` (`SMS_DELIVERY_REPORT_TOKEN`, compared in constant
/// time). Delivered (`Success`, `DeliveredToTerminal`) makes the message and its notification
/// `delivree`; a definitive failure (`Failed`, `Rejected`, `DeliveryImpossible`) makes them
/// `echouee` with the reason; intermediate statuses change nothing. Only a message still
/// `envoyee` moves, so a repeated or late report changes nothing and answers 200. Unknown
/// gateway, delivery reports not configured, or no message with that id: 404 (logged); wrong
/// or missing token: 401; unreadable report: 422.
#[utoipa::path(post, path = "/api/v1/notifications/delivery-reports/{gateway}",
    tag = "notifications",
    params(
        ("gateway" = String, Path, description = "orange or africastalking"),
        ("token" = String, Query, description = "The SMS_DELIVERY_REPORT_TOKEN secret")),
    request_body(description = "The gateway's report: JSON (Orange) or a form (Africa's Talking)",
        content(
            (std::collections::HashMap<String, serde_json::Value> = "application/json"),
            (std::collections::HashMap<String, String> = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Applied, or nothing to change", body = DeliveryReportResponse),
        (status = 401, description = "Token missing or wrong", body = ErrorBody),
        (status = 404, description = "Unknown gateway or message, or reports not configured",
            body = ErrorBody),
        (status = 422, description = "Unreadable report", body = ErrorBody)))]
pub async fn delivery_report(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Json<DeliveryReportResponse>> {
    let Some(expected) = &state.config.notify.delivery_report_token else {
        tracing::warn!("SMS delivery report received, but SMS_DELIVERY_REPORT_TOKEN is not set");
        return Err(ApiError::not_found());
    };
    let gateway: ReportingGateway = segment.parse().map_err(|()| ApiError::not_found())?;
    let presented = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(key, _)| key == "token")
            .map(|(_, value)| value.into_owned())
    });
    if !presented.is_some_and(|token| expected.matches(&token)) {
        tracing::warn!(
            gateway = gateway.as_str(),
            "SMS delivery report refused: bad token"
        );
        return Err(ApiError::new(ErrorCode::CallbackRejected)
            .with_detail("Rapport de remise refusé : jeton invalide"));
    }
    let report = gateway.read(&body).map_err(|e| {
        tracing::warn!(gateway = gateway.as_str(), error = %e, "SMS delivery report unreadable");
        ApiError::new(ErrorCode::ValidationError).with_detail(e.to_string())
    })?;
    let id = &report.provider_message_id;
    let Some(recorded) = state
        .store()
        .record_delivery(id, &report.delivery, state.now())
        .await?
    else {
        tracing::warn!(gateway = gateway.as_str(), message = %id,
            "SMS delivery report for an unknown message: ignored");
        return Err(ApiError::not_found().with_detail("Message inconnu"));
    };
    tracing::info!(gateway = gateway.as_str(), message = %id, delivery = ?report.delivery,
        status = %recorded.status, changed = recorded.changed, "SMS delivery report");
    Ok(Json(DeliveryReportResponse {
        status: recorded.status,
    }))
}
