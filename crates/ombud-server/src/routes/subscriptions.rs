//! `/api/v1/webhooks`: subscriptions to escalation events and their
//! delivery logs. Secrets are write-only.

use axum::Json as AxumJson;
use axum::extract::{Path, State};

use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ombud_domain::webhook::WebhookSubscription;
use ombud_store::{OutboxSource, SettingKind, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal};
use crate::routes::documents::{
    Document, decode, delete_response, list_response, not_found, put_response,
};

impl Document for WebhookSubscription {
    const KIND: SettingKind = SettingKind::Webhook;

    fn code(&self) -> &str {
        &self.code
    }

    /// A write without a secret keeps the stored one.
    async fn check(&mut self, state: &AppState) -> ApiResult<()> {
        if self.secret.is_empty() {
            match state.stores.settings.get(Self::KIND, &self.code).await {
                Ok(stored) => {
                    let current: WebhookSubscription = decode(&stored)?;
                    self.secret = current.secret;
                }
                Err(StoreError::NotFound) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Ok(self.validate()?)
    }

    fn public(mut self) -> Self {
        self.secret.clear();
        self
    }
}

/// List webhook subscriptions (secrets are never shown).
#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses((status = 200, body = Vec<WebhookSubscription>)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_manager()?;
    list_response::<WebhookSubscription>(&state).await
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
    Json(subscription): Json<WebhookSubscription>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    put_response(&state, &code, if_match, subscription).await
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
    delete_response(&state, SettingKind::Webhook, &code).await
}

/// One delivery in the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// The outbox id, sent as `Ombud-Event-Id`.
    pub event_id: i64,
    pub event_type: String,
    /// The escalation whose event it is (`null` for a spike alert).
    #[schema(example = "ESC-1042")]
    pub escalation: Option<String>,
    /// The event's place on that escalation's timeline.
    pub seq: Option<i64>,
    /// The spike alert it announces (`spike_detected`).
    pub spike_alert: Option<i64>,
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
        .map(|d| {
            let (escalation, seq, spike_alert) = match d.entry.source {
                OutboxSource::Event { key, seq } => (Some(key.to_string()), Some(seq), None),
                OutboxSource::SpikeAlert(alert) => (None, None, Some(alert)),
            };
            DeliveryView {
                id: d.id,
                event_id: d.entry.id,
                event_type: d.entry.kind,
                escalation,
                seq,
                spike_alert,
                state: d.state,
                attempts: d.attempts,
                next_attempt_at: d.next_attempt_at,
                last_status: d.last_status,
                last_error: d.last_error,
                delivered_at: d.delivered_at,
            }
        })
        .collect();
    Ok(AxumJson(log).into_response())
}
