//! The console's metrics page, for admins and managers: a period, a slicing
//! and filters, then every metric as an SVG chart with its numbers in a
//! table and CSV/XLSX downloads. The figures are the API's
//! (`routes::metrics`); definitions in docs/metrics.md.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::SignedDuration;
use ombud_domain::metrics::{Dimension, Metric, MetricTable};
use serde_json::Value;

use super::admin::require_manager;
use super::chart::BarChart;
use super::session::WebUser;
use super::view::span;
use super::{WebResult, render};
use crate::AppState;
use crate::error::ApiError;
use crate::export::{Format, download};
use crate::routes::metrics::{MetricsParams, compute, metric_table};

/// Bars a ranked chart draws at most; its table holds every row.
const MOST_BARS: usize = 20;

/// A filter field of the form.
struct FilterField {
    name: &'static str,
    label: &'static str,
    value: String,
}

/// One metric as the page shows it.
struct MetricView {
    code: &'static str,
    title: &'static str,
    chart: Option<BarChart>,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

#[derive(Template)]
#[template(path = "metrics.html")]
struct MetricsPage {
    csrf: String,
    user_name: String,
    from: String,
    to: String,
    by: String,
    /// The dimensions to slice by: (value, label).
    dimensions: Vec<(&'static str, String)>,
    filters: Vec<FilterField>,
    error: Option<String>,
    /// The period actually measured, once it is known.
    measured: Option<String>,
    metrics: Vec<MetricView>,
    /// The form's query, for the downloads.
    query: String,
}

/// A cell as people read it: times as spans, rates as percentages.
fn cell(column: &str, value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::String(text) => text.clone(),
        Value::Number(n) if column.ends_with("_seconds") => match n.as_i64() {
            Some(seconds) => span(SignedDuration::from_secs(seconds)),
            None => n.to_string(),
        },
        Value::Number(n) if is_rate(column) => {
            format!("{:.1}%", n.as_f64().unwrap_or_default() * 100.0)
        }
        other => other.to_string(),
    }
}

fn is_rate(column: &str) -> bool {
    column.ends_with("_rate") || column.ends_with("share") || column.ends_with("attainment")
}

/// The chart of a table: bars over time, or the largest rows ranked.
fn chart(table: &MetricTable) -> Option<BarChart> {
    if table.rows.is_empty() {
        return None;
    }
    let spec = table.chart;
    let bars: Vec<(String, f64)> = table
        .rows
        .iter()
        .take(if spec.over_time {
            usize::MAX
        } else {
            MOST_BARS
        })
        .map(|row| {
            let label = row[..=spec.label]
                .iter()
                .map(|v| cell("", v))
                .collect::<Vec<_>>()
                .join(" · ");
            (label, row[spec.value].as_f64().unwrap_or(0.0))
        })
        .collect();
    let title = format!(
        "{}: {}",
        table.title,
        table.columns[spec.value].replace('_', " ")
    );
    Some(if spec.over_time {
        BarChart::vertical(&title, &bars)
    } else {
        BarChart::horizontal(&title, &bars)
    })
}

fn view(table: MetricTable) -> MetricView {
    MetricView {
        code: table.metric.as_str(),
        title: table.title,
        chart: chart(&table),
        rows: table
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&table.columns)
                    .map(|(value, column)| cell(column, value))
                    .collect()
            })
            .collect(),
        columns: table.columns.iter().map(|c| c.replace('_', " ")).collect(),
    }
}

/// The page: the form, and every metric for what it asks.
pub(super) async fn page(
    State(state): State<AppState>,
    user: WebUser,
    RawQuery(raw): RawQuery,
) -> WebResult<Response> {
    require_manager(&user)?;
    let params = MetricsParams::parse(raw.as_deref())?;
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let filters = [
        ("type", "Type", &params.types),
        ("surface", "Surface", &params.surface),
        ("country", "Country", &params.country),
        ("language", "Language", &params.language),
        ("partner", "Partner", &params.partner),
        ("partner_kind", "Partner kind", &params.partner_kind),
        ("queue", "Queue", &params.queue),
        ("team", "Team", &params.team),
    ]
    .into_iter()
    .map(|(name, label, value)| FilterField {
        name,
        label,
        value: text(value),
    })
    .collect();
    let mut page = MetricsPage {
        csrf: user.csrf,
        user_name: user.user.name,
        from: text(&params.from),
        to: text(&params.to),
        by: params.by.clone().unwrap_or_else(|| "type".into()),
        dimensions: Dimension::ALL
            .map(|d| (d.as_str(), d.as_str().replace('_', " ")))
            .to_vec(),
        filters,
        error: None,
        measured: None,
        metrics: Vec::new(),
        query: raw.unwrap_or_default(),
    };
    let query = match params.query(state.clock.now()) {
        Ok(query) => query,
        Err(error) => {
            page.error = Some(error.detail.clone());
            return Ok(render(error.status(), &page));
        }
    };
    page.measured = Some(format!(
        "Escalations that arrived from {} to {} (UTC); the backlog is as of now.",
        query.period.from.strftime("%Y-%m-%d %H:%M"),
        query.period.to.strftime("%Y-%m-%d %H:%M"),
    ));
    page.metrics = compute(&state, &query, &Metric::ALL)
        .await?
        .into_iter()
        .map(view)
        .collect();
    Ok(render(StatusCode::OK, &page))
}

/// One metric's table as `{metric}.csv` or `{metric}.xlsx`.
pub(super) async fn download_metric(
    State(state): State<AppState>,
    user: WebUser,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> WebResult<Response> {
    require_manager(&user)?;
    let (metric, format) = file
        .rsplit_once('.')
        .and_then(|(metric, extension)| Some((Metric::parse(metric)?, Format::parse(extension)?)))
        .ok_or_else(|| ApiError::new("not_found", format!("there is no download {file:?}")))?;
    let params = MetricsParams::parse(raw.as_deref())?;
    let query = params.query(state.clock.now())?;
    let mut tables = compute(&state, &query, &[metric]).await?;
    Ok(download(metric_table(tables.remove(0)), format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_people_read_them() {
        assert_eq!(
            cell("resolution_p50_seconds", &Value::from(36_000)),
            "10h 0m"
        );
        assert_eq!(cell("overturn_rate", &Value::from(0.5)), "50.0%");
        assert_eq!(cell("share", &Value::from(1.0)), "100.0%");
        assert_eq!(cell("escalations", &Value::from(3)), "3");
        assert_eq!(cell("reopen_rate", &Value::Null), "—");
    }
}
