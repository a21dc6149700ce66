//! What every settings document the API edits shares: stored as JSON under
//! its kind and code, read by staff, written by admins and managers after
//! full validation, versioned with ETags (`If-Match` replaces only that
//! version), answered 201 when created.

use axum::Json as AxumJson;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ombud_store::{Expect, Setting, SettingKind, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{IfMatch, etag};

/// A settings document kept under `KIND` by its own code.
pub(crate) trait Document: Serialize + DeserializeOwned + Send {
    const KIND: SettingKind;
    /// The field the code is in, for errors (`code`, `email`).
    const CODE_FIELD: &'static str = "code";

    fn code(&self) -> &str;

    /// Validates the document against the rest of the settings, completing
    /// it where a write may leave parts out (a webhook's secret).
    async fn check(&mut self, state: &AppState) -> ApiResult<()>;

    /// What reads show of it.
    fn public(self) -> Self {
        self
    }
}

pub(crate) fn with_etag(status: StatusCode, version: i64, body: impl Serialize) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag(version)).expect("digits are a valid header"),
    );
    (status, headers, AxumJson(body)).into_response()
}

pub(crate) fn decode<T: DeserializeOwned>(setting: &Setting) -> ApiResult<T> {
    serde_json::from_value(setting.body.clone()).map_err(|e| {
        ApiError::internal(format!(
            "stored setting {:?} no longer decodes: {e}",
            setting.code
        ))
    })
}

pub(crate) fn not_found(kind: SettingKind, code: &str) -> impl Fn(StoreError) -> ApiError + '_ {
    move |e| match e {
        StoreError::NotFound => ApiError::not_found(format!("{} {code:?}", kind.as_str())),
        other => other.into(),
    }
}

/// Stores a validated setting body: replaces the version in `If-Match` when
/// given, else creates or replaces. Answers 201 when it created it.
pub(crate) async fn put_setting(
    state: &AppState,
    kind: SettingKind,
    code: &str,
    body: serde_json::Value,
    if_match: IfMatch,
) -> ApiResult<(StatusCode, Setting)> {
    let expect = if_match.0.map_or(Expect::Any, Expect::Version);
    let stored = state
        .stores
        .settings
        .put(kind, code, &body, expect, state.clock.now())
        .await
        .map_err(not_found(kind, code))?;
    let status = if stored.version == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, stored))
}

/// Every document of a kind, by code.
pub(crate) async fn list<T: Document>(state: &AppState) -> ApiResult<Vec<T>> {
    state
        .stores
        .settings
        .list(T::KIND)
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// The codes of every document of a kind.
pub(crate) async fn codes(state: &AppState, kind: SettingKind) -> ApiResult<Vec<String>> {
    Ok(state
        .stores
        .settings
        .list(kind)
        .await?
        .into_iter()
        .map(|s| s.code)
        .collect())
}

/// `GET /<kind>`: every document, as reads show it.
pub(crate) async fn list_response<T: Document>(state: &AppState) -> ApiResult<Response> {
    let documents: Vec<T> = list::<T>(state).await?.into_iter().map(T::public).collect();
    Ok(AxumJson(documents).into_response())
}

/// `GET /<kind>/{code}`, with its ETag.
pub(crate) async fn get_response<T: Document>(state: &AppState, code: &str) -> ApiResult<Response> {
    let stored = state
        .stores
        .settings
        .get(T::KIND, code)
        .await
        .map_err(not_found(T::KIND, code))?;
    let document: T = decode(&stored)?;
    Ok(with_etag(StatusCode::OK, stored.version, document.public()))
}

/// `PUT /<kind>/{code}`: checks the document in full, then stores it.
pub(crate) async fn put_response<T: Document>(
    state: &AppState,
    code: &str,
    if_match: IfMatch,
    mut document: T,
) -> ApiResult<Response> {
    if document.code() != code {
        return Err(ApiError::field(
            "validation_failed",
            T::CODE_FIELD,
            format!(
                "the body's {} {:?} differs from the path's {code:?}",
                T::CODE_FIELD,
                document.code()
            ),
        ));
    }
    document.check(state).await?;
    let body = serde_json::to_value(&document).map_err(ApiError::internal)?;
    let (status, stored) = put_setting(state, T::KIND, code, body, if_match).await?;
    Ok(with_etag(status, stored.version, document.public()))
}

/// `DELETE /<kind>/{code}`.
pub(crate) async fn delete_response(
    state: &AppState,
    kind: SettingKind,
    code: &str,
) -> ApiResult<Response> {
    state
        .stores
        .settings
        .delete(kind, code)
        .await
        .map_err(not_found(kind, code))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
