//! The console's SQL page: write a SELECT over the analytics views, see the
//! first rows, download all of them as CSV or XLSX, keep it as a saved query
//! the whole team can run. Admins and managers only, as in the API.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ombud_domain::report::SavedQuery;
use ombud_store::analytics::{VIEWS, View};
use ombud_store::{SettingKind, StoreError};
use serde::Deserialize;

use super::admin::require_manager;
use super::session::{StaffForm, WebUser};
use super::view::form_value;
use super::{WebResult, render};
use crate::AppState;
use crate::error::ApiError;
use crate::export::Format;
use crate::extract::IfMatch;
use crate::routes::analytics::{QueryParams, download_query, run_capped};
use crate::routes::documents::{Document, decode, list, put_setting};

/// Rows the page shows; the downloads have them all.
const PAGE_ROWS: u64 = 500;

#[derive(Template)]
#[template(path = "analytics.html")]
struct AnalyticsPage {
    csrf: String,
    user_name: String,
    sql: String,
    /// The saved query shown, if one was opened.
    saved: Option<SavedQuery>,
    saved_queries: Vec<SavedQuery>,
    views: &'static [View],
    result: Option<Shown>,
    error: Option<String>,
    notice: Option<String>,
    /// `sql=…` for the download links.
    query: String,
}

struct Shown {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    truncated: bool,
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    sql: Option<String>,
    /// A saved query's code, to open (and run) it.
    saved: Option<String>,
    notice: Option<String>,
}

async fn saved_query(state: &AppState, code: &str) -> WebResult<SavedQuery> {
    match state
        .stores
        .settings
        .get(SettingKind::SavedQuery, code)
        .await
    {
        Ok(stored) => Ok(decode(&stored)?),
        Err(StoreError::NotFound) => {
            Err(ApiError::not_found(format!("saved query {code:?}")).into())
        }
        Err(other) => Err(other.into()),
    }
}

/// The page; runs the query it is given, showing the first rows.
pub(super) async fn page(
    State(state): State<AppState>,
    user: WebUser,
    RawQuery(raw): RawQuery,
) -> WebResult<Response> {
    require_manager(&user)?;
    let asked: PageQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::new("bad_query", e.to_string()))?;
    let saved = match &asked.saved {
        Some(code) => Some(saved_query(&state, code).await?),
        None => None,
    };
    let sql = asked
        .sql
        .clone()
        .or_else(|| saved.as_ref().map(|s| s.sql.clone()))
        .unwrap_or_default();
    let (result, error) = if sql.trim().is_empty() {
        (None, None)
    } else {
        match run_capped(&state, &sql, PAGE_ROWS).await {
            Ok(answer) => (
                Some(Shown {
                    columns: answer.columns,
                    rows: answer
                        .rows
                        .iter()
                        .map(|row| row.iter().map(text).collect())
                        .collect(),
                    truncated: answer.truncated,
                }),
                None,
            ),
            // The refusal is shown beside the query, which stays as typed.
            Err(error) if error.code == "query_failed" => (None, Some(error.detail)),
            Err(error) => return Err(error.into()),
        }
    };
    let query = serde_urlencoded::to_string([("sql", sql.as_str())]).map_err(ApiError::internal)?;
    let page = AnalyticsPage {
        csrf: user.csrf.clone(),
        user_name: user.user.name.clone(),
        sql,
        saved,
        saved_queries: list::<SavedQuery>(&state).await?,
        views: VIEWS,
        result,
        error,
        notice: asked.notice,
        query,
    };
    let status = if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render(status, &page))
}

/// Every row of the query, as CSV or XLSX.
async fn download(
    state: AppState,
    user: WebUser,
    raw: Option<String>,
    format: Format,
) -> WebResult<Response> {
    require_manager(&user)?;
    let params = QueryParams::parse(raw.as_deref())?;
    let sql = params.sql.unwrap_or_default();
    Ok(download_query(&state, &sql, format, "query").await?)
}

pub(super) async fn download_csv(
    State(state): State<AppState>,
    user: WebUser,
    RawQuery(raw): RawQuery,
) -> WebResult<Response> {
    download(state, user, raw, Format::Csv).await
}

pub(super) async fn download_xlsx(
    State(state): State<AppState>,
    user: WebUser,
    RawQuery(raw): RawQuery,
) -> WebResult<Response> {
    download(state, user, raw, Format::Xlsx).await
}

/// Saves the query on the page under a code (replacing one of that code).
pub(super) async fn save(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let mut query = SavedQuery {
        code: form_value(&form, "code").trim().to_string(),
        name: form_value(&form, "name").trim().to_string(),
        description: form_value(&form, "description").trim().to_string(),
        sql: form_value(&form, "sql").to_string(),
        saved_by: user.user.name.clone(),
    };
    query.check(&state).await?;
    let body = serde_json::to_value(&query).map_err(ApiError::internal)?;
    put_setting(
        &state,
        SettingKind::SavedQuery,
        &query.code,
        body,
        IfMatch(None),
    )
    .await?;
    let to = serde_urlencoded::to_string([("saved", query.code.as_str()), ("notice", "Saved.")])
        .map_err(ApiError::internal)?;
    Ok(Redirect::to(&format!("/console/analytics?{to}")).into_response())
}

/// Deletes a saved query.
pub(super) async fn delete(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let code = form_value(&form, "code");
    state
        .stores
        .settings
        .delete(SettingKind::SavedQuery, code)
        .await
        .map_err(crate::routes::documents::not_found(
            SettingKind::SavedQuery,
            code,
        ))?;
    Ok(Redirect::to("/console/analytics?notice=Deleted.").into_response())
}
