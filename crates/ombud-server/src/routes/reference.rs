//! `/api/v1/reference/{kind}`: escalation types, surfaces, outcomes, root
//! causes and policies — data a platform edits, not code.

use axum::Json as AxumJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ombud_domain::{RefItem, RefKind};
use ombud_store::StoreError;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Json, Principal};

fn kind(path: &str) -> ApiResult<RefKind> {
    RefKind::from_path(path).ok_or_else(|| {
        let known = RefKind::ALL
            .iter()
            .map(|k| k.path())
            .collect::<Vec<_>>()
            .join(", ");
        ApiError::not_found(format!("reference kind {path:?} (known: {known})"))
    })
}

fn not_found(kind: RefKind, code: &str) -> impl Fn(StoreError) -> ApiError + '_ {
    move |e| match e {
        StoreError::NotFound => ApiError::not_found(format!("{} {code:?}", kind.as_str())),
        other => other.into(),
    }
}

/// List the items of one kind, active and retired.
#[utoipa::path(get, path = "/reference/{kind}", tag = "reference",
    params(("kind" = String, Path, description = "escalation-types, surfaces, outcomes, root-causes or policies")),
    responses((status = 200, body = Vec<RefItem>), (status = 404, body = Problem)))]
pub async fn list_reference(
    State(state): State<AppState>,
    _principal: Principal,
    Path(kind_path): Path<String>,
) -> ApiResult<Response> {
    let kind = kind(&kind_path)?;
    Ok(AxumJson(state.stores.reference.list(kind).await?).into_response())
}

/// Add an item.
#[utoipa::path(post, path = "/reference/{kind}", tag = "reference", request_body = RefItem,
    params(("kind" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = RefItem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_reference(
    State(state): State<AppState>,
    principal: Principal,
    Path(kind_path): Path<String>,
    Json(item): Json<RefItem>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let kind = kind(&kind_path)?;
    let item = item.validate()?;
    if let Some(parent) = &item.parent {
        state
            .stores
            .reference
            .get(kind, parent)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ApiError::field(
                    "validation_failed",
                    "parent",
                    format!("no {} {parent:?}", kind.as_str()),
                ),
                other => other.into(),
            })?;
    }
    state.stores.reference.create(kind, &item).await?;
    Ok((StatusCode::CREATED, AxumJson(item)).into_response())
}

/// Read an item.
#[utoipa::path(get, path = "/reference/{kind}/{code}", tag = "reference", params(("kind" = String, Path), ("code" = String, Path)),
    responses((status = 200, body = RefItem), (status = 404, body = Problem)))]
pub async fn get_reference(
    State(state): State<AppState>,
    _principal: Principal,
    Path((kind_path, code)): Path<(String, String)>,
) -> ApiResult<Response> {
    let kind = kind(&kind_path)?;
    let item = state
        .stores
        .reference
        .get(kind, &code)
        .await
        .map_err(not_found(kind, &code))?;
    Ok(AxumJson(item).into_response())
}

/// Replace an item (retire it with `active: false`).
#[utoipa::path(put, path = "/reference/{kind}/{code}", tag = "reference", request_body = RefItem,
    params(("kind" = String, Path), ("code" = String, Path)),
    responses((status = 200, body = RefItem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn replace_reference(
    State(state): State<AppState>,
    principal: Principal,
    Path((kind_path, code)): Path<(String, String)>,
    Json(item): Json<RefItem>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let kind = kind(&kind_path)?;
    let item = item.validate()?;
    if item.code != code {
        return Err(ApiError::field(
            "validation_failed",
            "code",
            format!(
                "the body's code {:?} differs from the URL's {code:?}",
                item.code
            ),
        ));
    }
    state
        .stores
        .reference
        .update(kind, &item)
        .await
        .map_err(not_found(kind, &code))?;
    Ok(AxumJson(item).into_response())
}

/// Delete an item no escalation uses.
#[utoipa::path(delete, path = "/reference/{kind}/{code}", tag = "reference", params(("kind" = String, Path), ("code" = String, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_reference(
    State(state): State<AppState>,
    principal: Principal,
    Path((kind_path, code)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    principal.require_manager()?;
    let kind = kind(&kind_path)?;
    state
        .stores
        .reference
        .delete(kind, &code)
        .await
        .map_err(not_found(kind, &code))?;
    Ok(StatusCode::NO_CONTENT)
}
