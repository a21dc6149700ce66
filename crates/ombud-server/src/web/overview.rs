//! The console's overview: the open backlog by status and priority, what is
//! breached or due within a day, and thirty days of intake, each chart drawn
//! as SVG on the server with its numbers beside it in a table.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan};
use ombud_domain::{Priority, Status};
use ombud_store::Overview;

use super::chart::BarChart;
use super::session::WebUser;
use super::{WebResult, render};
use crate::AppState;
use crate::error::ApiError;

/// Days of intake the overview shows, today included.
const INTAKE_DAYS: i64 = 30;

/// One row of the backlog table.
struct BacklogRow {
    status: &'static str,
    counts: Vec<u64>,
    total: u64,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    csrf: String,
    user_name: String,
    breached: u64,
    due_soon: u64,
    open_total: u64,
    priorities: Vec<&'static str>,
    backlog: Vec<BacklogRow>,
    backlog_chart: BarChart,
    intake_chart: BarChart,
    intake_by_type: Vec<(String, u64)>,
}

/// The first day of the intake window: `INTAKE_DAYS` days, today included.
fn first_day(now: Timestamp) -> WebResult<Date> {
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    Ok(today
        .checked_sub((INTAKE_DAYS - 1).days())
        .map_err(ApiError::internal)?)
}

async fn load(state: &AppState) -> WebResult<(Overview, Date, Timestamp)> {
    let now = state.clock.now();
    let first = first_day(now)?;
    let since = first
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(ApiError::internal)?
        .timestamp();
    let soon = now + SignedDuration::from_hours(24);
    let overview = state.stores.escalations.overview(now, soon, since).await?;
    Ok((overview, first, now))
}

/// The overview page.
pub(super) async fn overview(State(state): State<AppState>, user: WebUser) -> WebResult<Response> {
    user.require_staff()?;
    let (overview, first, now) = load(&state).await?;
    let open: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_open()).collect();
    let backlog: Vec<BacklogRow> = open
        .iter()
        .map(|status| {
            let counts: Vec<u64> = Priority::ALL
                .iter()
                .map(|priority| {
                    overview
                        .backlog
                        .iter()
                        .filter(|(s, p, _)| s == status && p == priority)
                        .map(|(_, _, n)| n)
                        .sum()
                })
                .collect();
            BacklogRow {
                status: status.as_str(),
                total: counts.iter().sum(),
                counts,
            }
        })
        .collect();
    let by_status: Vec<(String, f64)> = backlog
        .iter()
        .map(|row| (row.status.replace('_', " "), row.total as f64))
        .collect();
    let mut per_day: BTreeMap<Date, u64> = BTreeMap::new();
    let mut per_type: BTreeMap<String, u64> = BTreeMap::new();
    for (day, kind, n) in &overview.intake {
        *per_day.entry(*day).or_default() += n;
        *per_type.entry(kind.clone()).or_default() += n;
    }
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let days: Vec<(String, f64)> = first
        .series(1.day())
        .take_while(|day| *day <= today)
        .map(|day| {
            (
                day.strftime("%m-%d").to_string(),
                per_day.get(&day).copied().unwrap_or(0) as f64,
            )
        })
        .collect();
    let mut intake_by_type: Vec<(String, u64)> = per_type.into_iter().collect();
    intake_by_type.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let page = OverviewPage {
        csrf: user.csrf,
        user_name: user.user.name,
        breached: overview.breached,
        due_soon: overview.due_soon,
        open_total: backlog.iter().map(|row| row.total).sum(),
        priorities: Priority::ALL.iter().map(|p| p.as_str()).collect(),
        backlog_chart: BarChart::horizontal("Open escalations by status", &by_status),
        intake_chart: BarChart::vertical("Escalations received per day", &days),
        backlog,
        intake_by_type,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The intake behind the chart, per day and type, as CSV.
pub(super) async fn intake_csv(
    State(state): State<AppState>,
    user: WebUser,
) -> WebResult<Response> {
    user.require_staff()?;
    let (overview, _, _) = load(&state).await?;
    let mut csv = String::from("day,type,escalations\r\n");
    for (day, kind, n) in &overview.intake {
        // Type codes are lowercase words and underscores: nothing to quote.
        csv.push_str(&format!("{day},{kind},{n}\r\n"));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"intake.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}
