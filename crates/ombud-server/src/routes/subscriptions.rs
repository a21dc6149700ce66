//! `/api/v1/webhooks`: subscriptions to escalation events and their
//! delivery logs. Secrets are write-only.

use axum::Json as AxumJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ombud_domain::webhook::WebhookSubscription;
use ombud_store::{SettingKind, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal};
use crate::routes::settings::{decode, not_found, put_setting, with_etag};

fn without_secret(mut subscription: WebhookSubscription) -> WebhookSubscription {
    subscription.secret.clear();
    subscription
}

/// List webhook subscriptions (secrets are never shown).
#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses((status = 200, body = Vec<WebhookSubscription>)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let subscriptions = state
        .stores
        .settings
        .list(SettingKind::Webhook)
        .await?
        .iter()
        .map(|s| decode(s).map(without_secret))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(AxumJson(subscriptions).into_response())
}

/// Create or replace a subscription; leave `secret` out to keep the current one.
#[utoipa::path(put, path = "/webhooks/{code}", tag = "webhooks", request_body = WebhookSubscription,
    params(("code" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = WebhookSubscription), (status = 201, body = WebhookSubscription),
        (status = 422, body = Problem)))]
pub async fn put_webhook(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    if_match: IfMatch,
    Json(mut subscription): Json<WebhookSubscription>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    if subscription.code != code {
        return Err(ApiError::field(
            "validation_failed",
            "code",
            format!(
                "the body's code {:?} differs from the path's {code:?}",
                subscription.code
            ),
        ));
    }
    if subscription.secret.is_empty() {
        match state.stores.settings.get(SettingKind::Webhook, &code).await {
            Ok(stored) => {
                let current: WebhookSubscription = decode(&stored)?;
                subscription.secret = current.secret;
            }
            Err(StoreError::NotFound) => {}
            Err(other) => return Err(other.into()),
        }
    }
    subscription.validate()?;
    let body = serde_json::to_value(&subscription).map_err(ApiError::internal)?;
    let (status, stored) = put_setting(&state, SettingKind::Webhook, &code, body, if_match).await?;
    Ok(with_etag(
        status,
        stored.version,
        without_secret(subscription),
    ))
}

/// Delete a subscription; its pending deliveries are given up.
#[utoipa::path(delete, path = "/webhooks/{code}", tag = "webhooks", params(("code" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    state
        .stores
        .settings
        .delete(SettingKind::Webhook, &code)
        .await
        .map_err(not_found(SettingKind::Webhook, &code))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// One delivery in the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// The outbox id, sent as `Ombud-Event-Id`.
    pub event_id: i64,
    pub event_type: String,
    #[schema(example = "ESC-1042")]
    pub escalation: String,
    pub seq: i64,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: u32,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<Timestamp>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
}

/// The newest 100 deliveries of a subscription.
#[utoipa::path(get, path = "/webhooks/{code}/deliveries", tag = "webhooks", params(("code" = String, Path)),
    responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = Problem)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    state
        .stores
        .settings
        .get(SettingKind::Webhook, &code)
        .await
        .map_err(not_found(SettingKind::Webhook, &code))?;
    let log: Vec<DeliveryView> = state
        .stores
        .outbox
        .deliveries(&code, 100)
        .await?
        .into_iter()
        .map(|d| DeliveryView {
            id: d.id,
            event_id: d.entry.id,
            event_type: d.entry.kind,
            escalation: d.entry.key.to_string(),
            seq: d.entry.seq,
            state: d.state,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
            delivered_at: d.delivered_at,
        })
        .collect();
    Ok(AxumJson(log).into_response())
}
