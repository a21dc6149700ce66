//! The console's transparency page, for admins and managers: for a period,
//! the statements of reasons ready to submit (with every decision whose
//! statement cannot be made, linked to its workspace, and those that owe
//! none), and the aggregated report as tables; downloads of the statements
//! as JSON Lines and of the report as CSV or XLSX. The figures are the
//! API's (`routes::transparency`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::SignedDuration;
use ombud_domain::sor::{Day, batches};
use ombud_domain::transparency::{Period, ReportRow};
use serde::Deserialize;

use super::admin::require_manager;
use super::session::WebUser;
use super::view::span;
use super::{WebResult, render};
use crate::AppState;
use crate::error::ApiError;
use crate::export::{Format, download};
use crate::routes::transparency::{
    EscalationFaults, NotApplicable, StatementParams, export, period, report, report_table,
    statements_jsonl,
};

/// The period asked for, as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// What the statements section shows.
struct StatementsView {
    decisions: u64,
    statements: usize,
    batches: usize,
    faults: Vec<EscalationFaults>,
    not_applicable: Vec<NotApplicable>,
    not_applicable_total: u64,
}

/// One table of the report.
struct TableView {
    title: &'static str,
    rows: Vec<RowView>,
}

struct RowView {
    key: String,
    label: String,
    decisions: u64,
    median: String,
}

#[derive(Template)]
#[template(path = "transparency.html")]
struct TransparencyPage {
    csrf: String,
    user_name: String,
    from: String,
    to: String,
    error: Option<String>,
    /// `None` until a profile is configured.
    statements: Option<StatementsView>,
    decisions: u64,
    median: String,
    tables: Vec<TableView>,
    /// `from=…&to=…` for the report's downloads.
    report_query: String,
    /// `decided_from=…&decided_to=…` for the statements' download.
    statements_query: String,
}

/// A median in seconds, and as people read it.
fn median(seconds: Option<f64>) -> String {
    match seconds {
        None => "—".into(),
        Some(s) => match SignedDuration::try_from_secs_f64(s) {
            Ok(duration) => format!("{s} s ({})", span(duration)),
            Err(_) => format!("{s} s"),
        },
    }
}

fn rows(rows: &[ReportRow]) -> Vec<RowView> {
    rows.iter()
        .map(|r| RowView {
            key: r.key.clone(),
            label: r.label.clone(),
            decisions: r.decisions,
            median: median(r.median_seconds_to_action),
        })
        .collect()
}

/// The period of the query, by default this month (UTC) to today.
fn bounds(state: &AppState, query: PeriodQuery) -> (String, String) {
    let today = Day::of(state.clock.now());
    let first = Day(today.0.first_of_month()).to_string();
    (
        query.from.unwrap_or(first),
        query.to.unwrap_or_else(|| today.to_string()),
    )
}

/// The page: the period's statements and report.
pub(super) async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PeriodQuery>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let (from, to) = bounds(&state, query);
    let report_query =
        serde_urlencoded::to_string([("from", &from), ("to", &to)]).map_err(ApiError::internal)?;
    let statements_query =
        serde_urlencoded::to_string([("decided_from", &from), ("decided_to", &to)])
            .map_err(ApiError::internal)?;
    let mut page = TransparencyPage {
        csrf: user.csrf,
        user_name: user.user.name,
        from,
        to,
        error: None,
        statements: None,
        decisions: 0,
        median: median(None),
        tables: Vec::new(),
        report_query,
        statements_query,
    };
    let period = match period(("from", &page.from), ("to", &page.to)) {
        Ok(period) => period,
        Err(error) => {
            page.error = Some(error.detail.clone());
            return Ok(render(error.status(), &page));
        }
    };
    fill(&state, &mut page, period).await?;
    Ok(render(StatusCode::OK, &page))
}

async fn fill(state: &AppState, page: &mut TransparencyPage, period: Period) -> WebResult<()> {
    page.statements = match export(state, period).await {
        Ok(export) => Some(StatementsView {
            decisions: export.decisions,
            statements: export.statements.len(),
            batches: batches(&export.statements).count(),
            not_applicable_total: export.not_applicable.iter().map(|n| n.decisions).sum(),
            faults: export.faults,
            not_applicable: export.not_applicable,
        }),
        // No profile yet: the page says where to set one.
        Err(error) if error.code == "conflict" => None,
        Err(error) => return Err(error.into()),
    };
    let report = report(state, period).await?;
    page.decisions = report.decisions;
    page.median = median(report.median_seconds_to_action);
    page.tables = report
        .tables()
        .into_iter()
        .zip([
            "By regime",
            "By category",
            "By outcome",
            "By source (partner kind)",
            "Trusted flaggers",
            "Automated or human",
        ])
        .map(|((_, table), title)| TableView {
            title,
            rows: rows(table),
        })
        .collect();
    Ok(())
}

/// The period's statements as JSON Lines, a batch body per line.
pub(super) async fn statements(
    State(state): State<AppState>,
    user: WebUser,
    Query(params): Query<StatementParams>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let export = export(&state, params.period()?).await?;
    Ok(statements_jsonl(export.statements))
}

async fn report_download(
    state: AppState,
    user: WebUser,
    query: PeriodQuery,
    format: Format,
) -> WebResult<Response> {
    require_manager(&user)?;
    let (from, to) = bounds(&state, query);
    let period = period(("from", &from), ("to", &to))?;
    Ok(download(
        report_table(&report(&state, period).await?),
        format,
    ))
}

pub(super) async fn report_csv(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PeriodQuery>,
) -> WebResult<Response> {
    report_download(state, user, query, Format::Csv).await
}

pub(super) async fn report_xlsx(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PeriodQuery>,
) -> WebResult<Response> {
    report_download(state, user, query, Format::Xlsx).await
}
