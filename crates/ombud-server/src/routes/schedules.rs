//! `/api/v1/analytics/saved-queries/{code}/schedule`: a saved query emailed
//! as an XLSX file to its subscribers every day or every week (the rules
//! are in docs/analytics.md, "Scheduled reports"). Admins and managers
//! only, like the queries. The schedule is the settings document
//! `report_schedule` under the query's code, versioned with ETags; the
//! worker's record of the last send is `report_run` (`crate::reports`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ombud_domain::report::schedule::{ReportRun, ReportSchedule};
use ombud_domain::{FieldError, Invalid};
use ombud_store::{Setting, SettingKind, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal};
use crate::reports::recipients;
use crate::routes::documents::{decode, not_found, put_setting, with_etag};

/// A schedule as read: what was set, when the report next goes out and how
/// its last send went.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    #[serde(flatten)]
    pub schedule: ReportSchedule,
    /// When the report next goes out: the next slot, or a pending retry.
    /// In the past when no node was running at the time: it goes out within
    /// a minute of one starting.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_run: Option<Timestamp>,
    /// The last send, for the last slot owed.
    pub last_run: Option<ReportRun>,
}

/// Answers 404 unless saved query `code` exists.
async fn require_query(state: &AppState, code: &str) -> ApiResult<()> {
    state
        .stores
        .settings
        .get(SettingKind::SavedQuery, code)
        .await
        .map_err(not_found(SettingKind::SavedQuery, code))?;
    Ok(())
}

async fn last_run(state: &AppState, code: &str) -> ApiResult<Option<ReportRun>> {
    match state
        .stores
        .settings
        .get(SettingKind::ReportRun, code)
        .await
    {
        Ok(run) => Ok(Some(decode(&run)?)),
        Err(StoreError::NotFound) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

async fn view_of(state: &AppState, stored: &Setting) -> ApiResult<ScheduleView> {
    let schedule: ReportSchedule = decode(stored)?;
    let last_run = last_run(state, &stored.code).await?;
    let next_run = schedule
        .slots()
        .map_err(ApiError::internal)?
        .next_run(schedule.set_at, last_run.as_ref());
    Ok(ScheduleView {
        schedule,
        next_run,
        last_run,
    })
}

/// The schedule of saved query `code` and its version, if it has one.
pub(crate) async fn find(state: &AppState, code: &str) -> ApiResult<Option<(ScheduleView, i64)>> {
    match state
        .stores
        .settings
        .get(SettingKind::ReportSchedule, code)
        .await
    {
        Ok(stored) => Ok(Some((view_of(state, &stored).await?, stored.version))),
        Err(StoreError::NotFound) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// Checks `schedule` in full — its shape, and that every subscriber is an
/// active admin or manager — and stores it for saved query `code`, as set
/// by `actor` now. Answers 201 when it created it.
pub(crate) async fn set(
    state: &AppState,
    code: &str,
    actor: String,
    if_match: IfMatch,
    mut schedule: ReportSchedule,
) -> ApiResult<(StatusCode, ScheduleView, i64)> {
    require_query(state, code).await?;
    if state.config.mail.is_none() {
        return Err(ApiError::new(
            "mail_not_configured",
            "scheduled reports go out by email, which is not configured (set smtp_url and mail_from)",
        ));
    }
    schedule.set_by = actor;
    schedule.set_at = state.clock.now();
    let mut faults = match schedule.validate() {
        Ok(()) => Vec::new(),
        Err(Invalid(faults)) => faults,
    };
    let allowed = recipients(state, &schedule.subscribers).await?;
    for (index, address) in schedule.subscribers.iter().enumerate() {
        let field = format!("subscribers[{index}]");
        if !allowed.contains(address) && !faults.iter().any(|f| f.field == field) {
            faults.push(FieldError {
                field,
                message: format!(
                    "{address:?} is not an active admin or manager; reports go only to people who may run the query"
                ),
            });
        }
    }
    if !faults.is_empty() {
        return Err(Invalid(faults).into());
    }
    let body = serde_json::to_value(&schedule).map_err(ApiError::internal)?;
    let (status, stored) =
        put_setting(state, SettingKind::ReportSchedule, code, body, if_match).await?;
    Ok((status, view_of(state, &stored).await?, stored.version))
}

/// Stops the reports of saved query `code`: 404 if it had no schedule.
pub(crate) async fn clear(state: &AppState, code: &str) -> ApiResult<()> {
    state
        .stores
        .settings
        .delete(SettingKind::ReportSchedule, code)
        .await
        .map_err(not_found(SettingKind::ReportSchedule, code))?;
    forget_run(state, code).await
}

/// Forgets whatever schedule saved query `code` had, with its last send:
/// the query is being deleted.
pub(crate) async fn forget(state: &AppState, code: &str) -> ApiResult<()> {
    match state
        .stores
        .settings
        .delete(SettingKind::ReportSchedule, code)
        .await
    {
        Ok(()) | Err(StoreError::NotFound) => forget_run(state, code).await,
        Err(other) => Err(other.into()),
    }
}

async fn forget_run(state: &AppState, code: &str) -> ApiResult<()> {
    match state
        .stores
        .settings
        .delete(SettingKind::ReportRun, code)
        .await
    {
        Ok(()) | Err(StoreError::NotFound) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

/// The saved query's schedule, with its next run and last send, and its ETag.
#[utoipa::path(get, path = "/analytics/saved-queries/{code}/schedule", tag = "analytics",
    params(("code" = String, Path)),
    responses((status = 200, body = ScheduleView), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn get_schedule(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    require_query(&state, &code).await?;
    let (view, version) = find(&state, &code)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("a schedule of saved query {code:?}")))?;
    Ok(with_etag(StatusCode::OK, version, view))
}

/// Email the saved query's rows as XLSX to subscribers (active admins and
/// managers) daily or weekly at a local time; replaces the schedule it had
/// (`If-Match` replaces only that version). Only slots after now are owed.
#[utoipa::path(put, path = "/analytics/saved-queries/{code}/schedule", tag = "analytics",
    request_body = ReportSchedule,
    params(("code" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = ScheduleView), (status = 201, body = ScheduleView),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "mail_not_configured"),
        (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn put_schedule(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    if_match: IfMatch,
    Json(schedule): Json<ReportSchedule>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let (status, view, version) =
        set(&state, &code, principal.actor().name, if_match, schedule).await?;
    Ok(with_etag(status, version, view))
}

/// Stop emailing the saved query: the schedule and its last send are
/// forgotten.
#[utoipa::path(delete, path = "/analytics/saved-queries/{code}/schedule", tag = "analytics",
    params(("code" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_schedule(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    require_query(&state, &code).await?;
    clear(&state, &code).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
