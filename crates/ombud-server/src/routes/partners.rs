//! `/api/v1/partners`: the organisations that report escalations.

use axum::Json as AxumJson;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ombud_domain::{NewPartner, Partner, PartnerPatch};
use ombud_store::StoreError;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal, etag};

fn partner_response(status: StatusCode, partner: Partner) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag(partner.version)).expect("digits are a valid header"),
    );
    if status == StatusCode::CREATED
        && let Ok(location) =
            HeaderValue::from_str(&format!("/api/v1/partners/{}", partner.slug.as_str()))
    {
        headers.insert(header::LOCATION, location);
    }
    (status, headers, AxumJson(partner)).into_response()
}

pub(crate) fn not_found(slug: &str) -> impl Fn(StoreError) -> ApiError + '_ {
    move |e| match e {
        StoreError::NotFound => ApiError::not_found(format!("partner {slug:?}")),
        other => other.into(),
    }
}

/// List partners.
#[utoipa::path(get, path = "/partners", tag = "partners", responses((status = 200, body = Vec<Partner>)))]
pub async fn list_partners(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_staff()?;
    Ok(AxumJson(state.stores.directory.list_partners().await?).into_response())
}

/// Register a partner.
#[utoipa::path(post, path = "/partners", tag = "partners", request_body = NewPartner,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Partner), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_partner(
    State(state): State<AppState>,
    principal: Principal,
    Json(new): Json<NewPartner>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let partner = new.validate(state.clock.now())?;
    state.stores.directory.create_partner(&partner).await?;
    Ok(partner_response(StatusCode::CREATED, partner))
}

/// Read a partner.
#[utoipa::path(get, path = "/partners/{slug}", tag = "partners", params(("slug" = String, Path)),
    responses((status = 200, body = Partner), (status = 404, body = Problem)))]
pub async fn get_partner(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let partner = state
        .stores
        .directory
        .get_partner(&slug)
        .await
        .map_err(not_found(&slug))?;
    Ok(partner_response(StatusCode::OK, partner))
}

/// Change a partner (`If-Match` required; the slug never changes).
#[utoipa::path(patch, path = "/partners/{slug}", tag = "partners", request_body = PartnerPatch,
    params(("slug" = String, Path), ("If-Match" = String, Header)),
    responses((status = 200, body = Partner), (status = 412, body = Problem), (status = 428, body = Problem)))]
pub async fn update_partner(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
    if_match: IfMatch,
    Json(patch): Json<PartnerPatch>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let expected = if_match.required()?;
    let current = state
        .stores
        .directory
        .get_partner(&slug)
        .await
        .map_err(not_found(&slug))?;
    if current.version != expected {
        return Err(ApiError::new(
            "version_mismatch",
            format!(
                "partner {slug} is at version {}, not {expected}",
                current.version
            ),
        ));
    }
    let next = patch.apply(&current, state.clock.now())?;
    if next != current {
        state.stores.directory.save_partner(&next, expected).await?;
    }
    Ok(partner_response(StatusCode::OK, next))
}

/// Delete a partner that nothing refers to (deactivate it otherwise).
#[utoipa::path(delete, path = "/partners/{slug}", tag = "partners", params(("slug" = String, Path)),
    responses((status = 204), (status = 409, body = Problem)))]
pub async fn delete_partner(
    State(state): State<AppState>,
    principal: Principal,
    Path(slug): Path<String>,
) -> ApiResult<StatusCode> {
    principal.require_manager()?;
    state
        .stores
        .directory
        .delete_partner(&slug)
        .await
        .map_err(not_found(&slug))?;
    Ok(StatusCode::NO_CONTENT)
}
