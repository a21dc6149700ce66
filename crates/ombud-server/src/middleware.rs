//! Request middleware: authentication, idempotency keys, and the request id
//! in every 5xx body.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ombud_store::{IdempotencyBegin, SavedResponse, StoreError, sha256_hex};

use crate::AppState;
use crate::error::{ApiError, problem_response};
use crate::extract::Principal;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// Response headers worth replaying with a saved response.
const REPLAYED_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// Resolves `Authorization: Bearer <token>` to a `Principal`, or answers 401.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let secret = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(secret) = secret else {
        return ApiError::new("unauthorized", "send Authorization: Bearer <token>").into_response();
    };
    match state
        .stores
        .directory
        .find_token(&sha256_hex(secret.as_bytes()))
        .await
    {
        Ok(token) => {
            request.extensions_mut().insert(Principal { token });
            next.run(request).await
        }
        Err(StoreError::NotFound) => {
            ApiError::new("unauthorized", "unknown or revoked token").into_response()
        }
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// Makes every POST with an `Idempotency-Key` safe to retry: the first
/// response is saved and replayed; the same key with another request is refused.
pub async fn idempotency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(&IDEMPOTENCY_KEY).cloned() else {
        return next.run(request).await;
    };
    let key = match key.to_str() {
        Ok(k) if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_string()
        }
        _ => {
            return ApiError::new(
                "bad_idempotency_key",
                "Idempotency-Key must be 1-255 printable ASCII characters",
            )
            .into_response();
        }
    };
    let Some(principal) = request.extensions().get::<Principal>().map(Principal::id) else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let limit = state
        .config
        .max_upload_bytes
        .max(state.config.max_body_bytes)
        + 1024 * 1024;
    let Ok(bytes) = to_bytes(body, limit).await else {
        return ApiError::new(
            "payload_too_large",
            "the body is larger than this server accepts",
        )
        .into_response();
    };
    let mut fingerprint_input = format!("{} {}\n", parts.method, parts.uri.path()).into_bytes();
    fingerprint_input.extend_from_slice(&bytes);
    let fingerprint = sha256_hex(&fingerprint_input);
    let now = state.clock.now();
    match state
        .stores
        .idempotency
        .begin(&principal, &key, &fingerprint, now)
        .await
    {
        Err(error) => return ApiError::from(error).into_response(),
        Ok(IdempotencyBegin::Mismatch) => {
            return ApiError::new(
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            )
            .into_response();
        }
        Ok(IdempotencyBegin::InProgress) => {
            return ApiError::new(
                "idempotency_in_progress",
                "the first request with this Idempotency-Key has not finished; retry shortly",
            )
            .into_response();
        }
        Ok(IdempotencyBegin::Replay(saved)) => return replay(saved),
        Ok(IdempotencyBegin::Started) => {}
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, usize::MAX).await else {
        let _ = state.stores.idempotency.abandon(&principal, &key).await;
        return ApiError::internal("response body could not be buffered").into_response();
    };
    if parts.status.is_server_error() {
        // Nothing was done, so a retry must be allowed to run.
        let _ = state.stores.idempotency.abandon(&principal, &key).await;
    } else {
        let saved = SavedResponse {
            status: parts.status.as_u16(),
            headers: REPLAYED_HEADERS
                .iter()
                .filter_map(|h| {
                    Some((
                        h.as_str().to_string(),
                        parts.headers.get(h)?.to_str().ok()?.to_string(),
                    ))
                })
                .collect(),
            body: body.to_vec(),
        };
        if let Err(error) = state
            .stores
            .idempotency
            .complete(&principal, &key, &saved)
            .await
        {
            return ApiError::from(error).into_response();
        }
    }
    Response::from_parts(parts, Body::from(body))
}

fn replay(saved: SavedResponse) -> Response {
    let mut response = Response::builder().status(saved.status);
    for (name, value) in &saved.headers {
        response = response.header(name, value);
    }
    let mut response = response
        .body(Body::from(saved.body))
        .unwrap_or_else(|_| ApiError::internal("bad saved response").into_response());
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

/// Puts the request id into every 5xx problem, so a user can quote it.
pub async fn request_id_in_errors(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let response = next.run(request).await;
    if !response.status().is_server_error() {
        return response;
    }
    let mut problem = ApiError::new(
        if response.status().as_u16() == 503 {
            "unavailable"
        } else {
            "internal"
        },
        if response.status().as_u16() == 503 {
            "the database is not reachable"
        } else {
            "internal error"
        },
    )
    .problem();
    problem.request_id = request_id;
    let mut fresh = problem_response(&problem);
    if let Some(id) = response.headers().get(&REQUEST_ID) {
        fresh.headers_mut().insert(REQUEST_ID, id.clone());
    }
    fresh
}
