//! Health, readiness, metrics and who-am-I.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ombud_domain::Role;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Principal;

/// The process is alive (no database access).
pub async fn healthz() -> Response {
    AxumJson(serde_json::json!({"status": "ok"})).into_response()
}

/// The database answers.
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Response> {
    state.stores.maintenance.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::new("unavailable", "the database is not reachable")
    })?;
    Ok(AxumJson(
        serde_json::json!({"status": "ready", "backend": state.stores.maintenance.backend_name()}),
    )
    .into_response())
}

/// Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let escalations = state.stores.maintenance.escalation_count().await.ok();
    let mut response = state.metrics.render(escalations).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub token_id: i64,
    pub name: String,
    #[schema(value_type = String)]
    pub role: Role,
    pub partner: Option<String>,
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/me", tag = "system", responses((status = 200, body = Me)))]
pub async fn me(principal: Principal) -> Response {
    let t = principal.token;
    AxumJson(Me {
        token_id: t.id,
        name: t.name,
        role: t.role,
        partner: t.partner,
    })
    .into_response()
}
