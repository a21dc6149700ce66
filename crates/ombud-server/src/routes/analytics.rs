//! `/api/v1/analytics`: analysts' SQL over the documented views (see
//! `ombud_store::analytics`), as JSON with a row cap or as a streamed CSV or
//! XLSX download without one, and the team's saved queries (their email
//! schedules are in `schedules.rs`). Admins and
//! managers only: the views hold every escalation, sensitive ones included.

use std::time::Duration;

use axum::Json as AxumJson;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, TryStreamExt};
use ombud_domain::report::SavedQuery;
use ombud_store::SettingKind;
use ombud_store::analytics::{QueryRows, VIEWS};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::export::{Format, Table, download};
use crate::extract::{IfMatch, Json, Principal};
use crate::routes::documents::{
    Document, decode, delete_response, get_response, list_response, not_found, put_response,
};

/// Rows a JSON answer holds unless asked for fewer.
pub const DEFAULT_ROWS: u64 = 1000;
/// Rows a JSON answer may hold; downloads have no cap.
pub const MAX_ROWS: u64 = 10_000;
/// How long a query answered as JSON may run.
pub const INTERACTIVE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a download's query may run.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

impl Document for SavedQuery {
    const KIND: SettingKind = SettingKind::SavedQuery;

    fn code(&self) -> &str {
        &self.code
    }

    async fn check(&mut self, _: &AppState) -> ApiResult<()> {
        check_shape(&self.sql)
            .map_err(|message| ApiError::field("validation_failed", "sql", message))?;
        Ok(self.validate()?)
    }
}

/// A column of an analytics view.
#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnDoc {
    pub name: &'static str,
    /// `text`, `integer` or `timestamp` (text, `YYYY-MM-DDTHH:MM:SSZ`, UTC).
    pub kind: &'static str,
    pub about: &'static str,
}

/// An analytics view analysts may query.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewDoc {
    pub name: &'static str,
    pub about: &'static str,
    pub columns: Vec<ColumnDoc>,
}

/// The analytics views, their columns and what they mean.
#[utoipa::path(get, path = "/analytics/views", tag = "analytics",
    responses((status = 200, body = Vec<ViewDoc>), (status = 403, body = Problem)))]
pub async fn list_views(principal: Principal) -> ApiResult<Response> {
    principal.require_manager()?;
    let views: Vec<ViewDoc> = VIEWS
        .iter()
        .map(|v| ViewDoc {
            name: v.name,
            about: v.about,
            columns: v
                .columns
                .iter()
                .map(|c| ColumnDoc {
                    name: c.name,
                    kind: c.kind,
                    about: c.about,
                })
                .collect(),
        })
        .collect();
    Ok(AxumJson(views).into_response())
}

/// Parameters of a query run.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueryParams {
    /// One SELECT over the analytics views (for `/analytics/query`).
    #[serde(default)]
    pub sql: Option<String>,
    /// JSON only: 1 to 10000 rows, default 1000.
    #[serde(default)]
    pub limit: Option<u64>,
    /// `json` (default), `csv` or `xlsx`; downloads have no row cap.
    #[serde(default)]
    pub format: Option<String>,
}

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> ApiResult<QueryParams> {
        serde_urlencoded::from_str(raw.unwrap_or_default())
            .map_err(|e| ApiError::new("bad_query", e.to_string()))
    }

    /// `None` for JSON, else the download format.
    fn download(&self) -> ApiResult<Option<Format>> {
        match self.format.as_deref() {
            None | Some("json") => Ok(None),
            Some(other) => Format::parse(other).map(Some).ok_or_else(|| {
                ApiError::field(
                    "bad_query",
                    "format",
                    format!("{other:?} is not json, csv or xlsx"),
                )
            }),
        }
    }

    fn rows(&self) -> ApiResult<u64> {
        match self.limit {
            None => Ok(DEFAULT_ROWS),
            Some(n @ 1..=MAX_ROWS) => Ok(n),
            Some(n) => Err(ApiError::field(
                "bad_query",
                "limit",
                format!("{n} is not between 1 and {MAX_ROWS}"),
            )),
        }
    }
}

/// A query's answer as JSON.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueryResult {
    pub columns: Vec<String>,
    /// Each row's cells in column order: null, a number or a string.
    #[schema(value_type = Vec<Vec<Object>>)]
    pub rows: Vec<Vec<serde_json::Value>>,
    /// True when more rows matched than `limit`; download to get them all.
    pub truncated: bool,
}

/// A friendly refusal of what plainly is not a query, before the database
/// is asked (which refuses it anyway, in its own words).
pub fn check_shape(sql: &str) -> Result<(), String> {
    let mut rest = sql.trim_start();
    loop {
        if let Some(comment) = rest.strip_prefix("--") {
            rest = comment
                .split_once('\n')
                .map_or("", |(_, after)| after)
                .trim_start();
        } else if let Some(comment) = rest.strip_prefix("/*") {
            rest = comment
                .split_once("*/")
                .map_or("", |(_, after)| after)
                .trim_start();
        } else {
            break;
        }
    }
    let first: String = rest
        .trim_start_matches('(')
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    match first.as_str() {
        "SELECT" | "WITH" | "VALUES" => Ok(()),
        "" => Err("write a SELECT over the analytics views".into()),
        other => Err(format!(
            "only SELECT queries may run here, not {other}; the analytics views are read-only"
        )),
    }
}

/// Runs `sql` as the params ask: JSON with a cap, or a download.
pub(crate) async fn run(
    state: &AppState,
    sql: &str,
    params: &QueryParams,
    name: &str,
) -> ApiResult<Response> {
    match params.download()? {
        Some(format) => download_query(state, sql, format, name).await,
        None => Ok(AxumJson(run_capped(state, sql, params.rows()?).await?).into_response()),
    }
}

/// Every row of `sql` as a streamed CSV or XLSX file called `name`.
pub(crate) async fn download_query(
    state: &AppState,
    sql: &str,
    format: Format,
    name: &str,
) -> ApiResult<Response> {
    Ok(download(query_table(state, sql, name).await?, format))
}

/// Every row of `sql`, as they come, under the download time limit: what a
/// download streams and a scheduled report attaches.
pub(crate) async fn query_table(state: &AppState, sql: &str, name: &str) -> ApiResult<Table> {
    check_shape(sql).map_err(|message| ApiError::field("query_failed", "sql", message))?;
    let QueryRows { columns, rows } = state
        .stores
        .analytics
        .query(sql, None, DOWNLOAD_TIMEOUT)
        .await?;
    Ok(Table {
        name: name.into(),
        columns,
        rows: rows.map(|row| row.map_err(|e| e.to_string())).boxed(),
    })
}

/// The first `limit` rows of `sql`, and whether there were more.
pub(crate) async fn run_capped(state: &AppState, sql: &str, limit: u64) -> ApiResult<QueryResult> {
    check_shape(sql).map_err(|message| ApiError::field("query_failed", "sql", message))?;
    let QueryRows { columns, rows } = state
        .stores
        .analytics
        .query(sql, Some(limit + 1), INTERACTIVE_TIMEOUT)
        .await?;
    let mut rows: Vec<Vec<serde_json::Value>> = rows.try_collect().await?;
    let truncated = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok(QueryResult {
        columns,
        rows,
        truncated,
    })
}

/// Run one read-only SELECT over the analytics views. JSON answers hold at
/// most `limit` rows and run for at most 15 s; `format=csv|xlsx` streams
/// every row (30 min). Writes, other tables and secrets are refused (422
/// `query_failed`, with the database's reason).
#[utoipa::path(get, path = "/analytics/query", tag = "analytics", params(QueryParams),
    responses((status = 200, body = QueryResult), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn run_query(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let params = QueryParams::parse(raw.as_deref())?;
    let sql = params
        .sql
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::field("bad_query", "sql", "give the query as ?sql=…"))?;
    run(&state, &sql, &params, "query").await
}

/// The team's saved queries.
#[utoipa::path(get, path = "/analytics/saved-queries", tag = "analytics",
    responses((status = 200, body = Vec<SavedQuery>), (status = 403, body = Problem)))]
pub async fn list_saved_queries(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_manager()?;
    list_response::<SavedQuery>(&state).await
}

/// One saved query, with its ETag.
#[utoipa::path(get, path = "/analytics/saved-queries/{code}", tag = "analytics",
    params(("code" = String, Path)),
    responses((status = 200, body = SavedQuery), (status = 404, body = Problem)))]
pub async fn get_saved_query(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    get_response::<SavedQuery>(&state, &code).await
}

/// Save a query under a code (refused unless it is a SELECT); `If-Match`
/// replaces only that version.
#[utoipa::path(put, path = "/analytics/saved-queries/{code}", tag = "analytics",
    request_body = SavedQuery, params(("code" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = SavedQuery), (status = 201, body = SavedQuery),
        (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn put_saved_query(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    if_match: IfMatch,
    Json(mut query): Json<SavedQuery>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    query.saved_by = principal.actor().name;
    put_response(&state, &code, if_match, query).await
}

/// Delete a saved query, and its schedule if it had one.
#[utoipa::path(delete, path = "/analytics/saved-queries/{code}", tag = "analytics",
    params(("code" = String, Path)), responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_saved_query(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let deleted = delete_response(&state, SettingKind::SavedQuery, &code).await?;
    crate::routes::schedules::forget(&state, &code).await?;
    Ok(deleted)
}

/// Run a saved query, as `/analytics/query` runs one given inline.
#[utoipa::path(get, path = "/analytics/saved-queries/{code}/run", tag = "analytics",
    params(("code" = String, Path), QueryParams),
    responses((status = 200, body = QueryResult), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn run_saved_query(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let params = QueryParams::parse(raw.as_deref())?;
    if params.sql.is_some() {
        return Err(ApiError::field(
            "bad_query",
            "sql",
            "a saved query runs its own SQL",
        ));
    }
    let saved: SavedQuery = decode(
        &state
            .stores
            .settings
            .get(SettingKind::SavedQuery, &code)
            .await
            .map_err(not_found(SettingKind::SavedQuery, &code))?,
    )?;
    run(&state, &saved.sql, &params, &saved.code).await
}

#[cfg(test)]
mod tests {
    use super::check_shape;

    #[test]
    fn only_what_looks_like_a_query_is_sent() {
        for ok in [
            "SELECT 1",
            "  select 1",
            "-- weekly\nSELECT 1",
            "/* a */ WITH x AS (SELECT 1) SELECT * FROM x",
            "(SELECT 1)",
            "VALUES (1)",
        ] {
            assert_eq!(check_shape(ok), Ok(()), "{ok}");
        }
        for refused in [
            "DELETE FROM events",
            "pragma table_info(users)",
            "",
            "-- only a comment",
        ] {
            assert!(check_shape(refused).is_err(), "{refused}");
        }
        assert!(check_shape("UPDATE x").unwrap_err().contains("UPDATE"));
    }
}
