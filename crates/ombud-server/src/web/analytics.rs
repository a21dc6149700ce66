//! The console's SQL page: write a SELECT over the analytics views, see the
//! first rows, download all of them as CSV or XLSX, keep it as a saved query
//! the whole team can run, and email a saved query's rows on a schedule
//! (through `routes::schedules`, like the API). Admins and managers only,
//! as in the API.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ombud_domain::report::SavedQuery;
use ombud_domain::report::schedule::{Every, ReportSchedule, weekday_names};
use ombud_store::analytics::{VIEWS, View};
use ombud_store::{SettingKind, StoreError};
use serde::Deserialize;

use super::admin::require_manager;
use super::preferences::load_preferences;
use super::session::{StaffForm, WebUser};
use super::view::{fault_lines, form_value, when};
use super::{WebResult, render};
use crate::AppState;
use crate::error::ApiError;
use crate::export::Format;
use crate::extract::IfMatch;
use crate::routes::analytics::{QueryParams, download_query, run_capped};
use crate::routes::documents::{Document, decode, list, put_setting};
use crate::routes::schedules::{self, ScheduleView};

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
    /// The opened saved query's schedule, if it has one.
    report: Option<ReportShown>,
    /// The schedule form's values: the schedule's, or as typed when refused.
    schedule: ScheduleForm,
    /// Why the schedule form was refused.
    errors: Vec<String>,
    mail_configured: bool,
    weekdays: [&'static str; 7],
}

/// A schedule as the page shows it.
struct ReportShown {
    when: String,
    subscribers: String,
    next_run: String,
    last_run: String,
}

impl ReportShown {
    fn of(view: &ScheduleView) -> ReportShown {
        let zone = view
            .schedule
            .slots()
            .map(|slots| slots.time_zone().clone())
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let last_run = match &view.last_run {
            None => "none yet".to_string(),
            Some(run) => {
                let mut text = format!(
                    "{} (for {}, at {}",
                    run.state.label(),
                    when(run.slot, &zone),
                    when(run.at, &zone)
                );
                if let Some(rows) = run.rows {
                    text.push_str(&format!(", {rows} rows"));
                }
                if let Some(error) = &run.error {
                    text.push_str(&format!(": {error}"));
                }
                text.push(')');
                text
            }
        };
        ReportShown {
            when: view.schedule.describe(),
            subscribers: view.schedule.subscribers.join(", "),
            next_run: view
                .next_run
                .map_or_else(|| "never".to_string(), |at| when(at, &zone)),
            last_run,
        }
    }
}

/// The schedule form's fields, as text.
struct ScheduleForm {
    every: String,
    weekday: String,
    at: String,
    time_zone: String,
    /// One address per line.
    subscribers: String,
}

impl ScheduleForm {
    fn of(schedule: &ReportSchedule) -> ScheduleForm {
        ScheduleForm {
            every: match schedule.every {
                Every::Daily => "daily",
                Every::Weekly => "weekly",
            }
            .to_string(),
            weekday: schedule.weekday.clone().unwrap_or_default(),
            at: schedule.at.clone(),
            time_zone: schedule.time_zone.clone(),
            subscribers: schedule.subscribers.join("\n"),
        }
    }

    fn read(form: &[(String, String)]) -> ScheduleForm {
        ScheduleForm {
            every: form_value(form, "every").to_string(),
            weekday: form_value(form, "weekday").to_string(),
            at: form_value(form, "at").to_string(),
            time_zone: form_value(form, "time_zone").to_string(),
            subscribers: form_value(form, "subscribers").to_string(),
        }
    }

    /// The schedule typed; a daily one ignores the weekday chosen.
    fn schedule(&self) -> Result<ReportSchedule, ApiError> {
        let every = match self.every.as_str() {
            "daily" => Every::Daily,
            "weekly" => Every::Weekly,
            other => {
                return Err(ApiError::field(
                    "validation_failed",
                    "every",
                    format!("{other:?} is neither daily nor weekly"),
                ));
            }
        };
        Ok(ReportSchedule {
            every,
            weekday: (every == Every::Weekly && !self.weekday.is_empty())
                .then(|| self.weekday.clone()),
            at: self.at.clone(),
            time_zone: self.time_zone.clone(),
            subscribers: self
                .subscribers
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|address| !address.is_empty())
                .map(str::to_string)
                .collect(),
            set_by: String::new(),
            set_at: jiff::Timestamp::UNIX_EPOCH,
        })
    }
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
    show(&state, &user, asked, None).await
}

/// The page for `asked`; with the schedule form as typed and why it was
/// refused, when it was.
async fn show(
    state: &AppState,
    user: &WebUser,
    asked: PageQuery,
    refused: Option<(ScheduleForm, Vec<String>)>,
) -> WebResult<Response> {
    let saved = match &asked.saved {
        Some(code) => Some(saved_query(state, code).await?),
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
        match run_capped(state, &sql, PAGE_ROWS).await {
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
    let scheduled = match &saved {
        Some(query) => schedules::find(state, &query.code).await?,
        None => None,
    };
    let (schedule, errors) = match (refused, &scheduled) {
        (Some((typed, errors)), _) => (typed, errors),
        (None, Some((view, _))) => (ScheduleForm::of(&view.schedule), Vec::new()),
        (None, None) => {
            let zone = load_preferences(state, &user.user.email)
                .await?
                .time_zone
                .unwrap_or_else(|| "UTC".to_string());
            let form = ScheduleForm {
                every: "daily".into(),
                weekday: String::new(),
                at: "08:00".into(),
                time_zone: zone,
                subscribers: user.user.email.clone(),
            };
            (form, Vec::new())
        }
    };
    let page = AnalyticsPage {
        csrf: user.csrf.clone(),
        user_name: user.user.name.clone(),
        sql,
        saved,
        saved_queries: list::<SavedQuery>(state).await?,
        views: VIEWS,
        result,
        error,
        notice: asked.notice,
        query,
        report: scheduled.as_ref().map(|(view, _)| ReportShown::of(view)),
        schedule,
        errors,
        mail_configured: state.config.mail.is_some(),
        weekdays: weekday_names(),
    };
    let status = if page.error.is_some() || !page.errors.is_empty() {
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
    saved_page(&query.code, "Saved.")
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
    schedules::forget(&state, code).await?;
    Ok(Redirect::to("/console/analytics?notice=Deleted.").into_response())
}

fn saved_page(code: &str, notice: &str) -> WebResult<Response> {
    let to = serde_urlencoded::to_string([("saved", code), ("notice", notice)])
        .map_err(ApiError::internal)?;
    Ok(Redirect::to(&format!("/console/analytics?{to}")).into_response())
}

/// Sets the opened saved query's schedule; a refused one is shown again as
/// typed, with its faults.
pub(super) async fn save_schedule(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let code = form_value(&form, "code").to_string();
    let typed = ScheduleForm::read(&form);
    let set = match typed.schedule() {
        Ok(schedule) => {
            schedules::set(
                &state,
                &code,
                user.user.name.clone(),
                IfMatch(None),
                schedule,
            )
            .await
        }
        Err(error) => Err(error),
    };
    match set {
        Ok(_) => saved_page(&code, "Schedule saved."),
        Err(error) if error.code == "validation_failed" => {
            let asked = PageQuery {
                saved: Some(code),
                ..PageQuery::default()
            };
            show(&state, &user, asked, Some((typed, fault_lines(&error)))).await
        }
        Err(error) => Err(error.into()),
    }
}

/// Stops emailing the opened saved query.
pub(super) async fn delete_schedule(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let code = form_value(&form, "code");
    schedules::clear(&state, code).await?;
    saved_page(code, "Schedule removed: no more emails.")
}
