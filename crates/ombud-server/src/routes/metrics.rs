//! `/api/v1/metrics`: the team's numbers over a period and a filter —
//! intake, backlog, response times, deadline attainment, reopens, outcomes,
//! overturns, root causes, consult turnaround and the partner scorecard —
//! computed exactly from the per-escalation facts the stores keep
//! (`ombud_domain::metrics`). Every metric is a table; one metric also
//! downloads as CSV or XLSX. Admins and managers only. The definitions are
//! in docs/metrics.md.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::Json as AxumJson;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use ombud_domain::assignment::Queue;
use ombud_domain::metrics::tables::NONE;
use ombud_domain::metrics::{Dimension, EscalationFacts, Inputs, Lookups, Metric, MetricTable};
use ombud_domain::transparency::Period;
use ombud_store::FactsFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::export::{Format, Table, download};
use crate::extract::Principal;
use crate::routes::documents::list;

/// The period looked at unless asked otherwise: the last thirty days.
pub const DEFAULT_SPAN: SignedDuration = SignedDuration::from_hours(30 * 24);

/// The longest period asked for: ten years of days is a long chart already.
const LONGEST_SPAN: SignedDuration = SignedDuration::from_hours(3_660 * 24);

/// Which escalations to measure and how to slice them. Each filter is a
/// comma-separated list of values; `(none)` stands for a missing surface,
/// queue, team or partner kind.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MetricsParams {
    /// First instant (RFC 3339) or day (`YYYY-MM-DD`, UTC) of arrival;
    /// default: thirty days before `to`.
    pub from: Option<String>,
    /// End: an instant (excluded) or a day (included); default: now.
    pub to: Option<String>,
    /// What the sliced metrics are grouped by: `type` (default), `surface`,
    /// `country`, `language`, `partner`, `partner_kind`, `queue` or `team`.
    pub by: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub types: Option<String>,
    pub surface: Option<String>,
    pub country: Option<String>,
    pub language: Option<String>,
    pub partner: Option<String>,
    pub partner_kind: Option<String>,
    pub queue: Option<String>,
    pub team: Option<String>,
    /// `json` (default); for one metric also `csv` or `xlsx`.
    pub format: Option<String>,
}

/// A request read and checked: the period, the slicing and the filters.
#[derive(Debug, Clone)]
pub(crate) struct MetricsQuery {
    pub period: Period,
    pub by: Dimension,
    /// The filters asked for, by dimension name, as given.
    pub filters: BTreeMap<&'static str, Vec<String>>,
}

impl MetricsParams {
    pub(crate) fn parse(raw: Option<&str>) -> ApiResult<MetricsParams> {
        serde_urlencoded::from_str(raw.unwrap_or_default())
            .map_err(|e| ApiError::new("bad_query", e.to_string()))
    }

    /// Checks the request against `now`; 400 `bad_query` names each fault.
    pub(crate) fn query(&self, now: Timestamp) -> ApiResult<MetricsQuery> {
        // A console form sends its empty fields as empty values.
        let period = Period::parse_or_recent(
            ("from", given(&self.from)),
            ("to", given(&self.to)),
            now,
            DEFAULT_SPAN,
        )
        .map_err(|invalid| ApiError {
            code: "bad_query",
            ..ApiError::from(invalid)
        })?;
        if period.to.duration_since(period.from) > LONGEST_SPAN {
            return Err(ApiError::field(
                "bad_query",
                "to",
                "a period may span at most ten years (3,660 days)",
            ));
        }
        let by = match given(&self.by) {
            None => Dimension::Type,
            Some(text) => Dimension::parse(text).ok_or_else(|| {
                ApiError::field(
                    "bad_query",
                    "by",
                    format!("{text:?} is not one of {}", dimension_names()),
                )
            })?,
        };
        let asked = [
            (Dimension::Type, &self.types),
            (Dimension::Surface, &self.surface),
            (Dimension::Country, &self.country),
            (Dimension::Language, &self.language),
            (Dimension::Partner, &self.partner),
            (Dimension::PartnerKind, &self.partner_kind),
            (Dimension::Queue, &self.queue),
            (Dimension::Team, &self.team),
        ];
        let filters = asked
            .into_iter()
            .filter_map(|(dimension, values)| {
                let values: Vec<String> = values
                    .as_deref()?
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(String::from)
                    .collect();
                (!values.is_empty()).then_some((dimension.as_str(), values))
            })
            .collect();
        Ok(MetricsQuery {
            period,
            by,
            filters,
        })
    }

    /// The download format asked for: `None` for JSON.
    pub(crate) fn download_format(&self) -> ApiResult<Option<Format>> {
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
}

/// A value the request gave, unless blank.
fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|t| !t.trim().is_empty())
}

fn dimension_names() -> String {
    Dimension::ALL.map(Dimension::as_str).join(", ")
}

impl MetricsQuery {
    /// The store's filter. A partner kind or a team is looked up as it is
    /// now: asked for by name, it narrows the partners or queues; `(none)`
    /// (a deleted partner, a queue without a team) can only be applied
    /// after reading, by [`MetricsQuery::keep_looked_up`].
    fn store_filter(&self, lookups: &Lookups) -> FactsFilter {
        let values = |dimension: Dimension| -> Option<Vec<String>> {
            self.filters.get(dimension.as_str()).map(|values| {
                values
                    .iter()
                    .map(|v| if v == NONE { String::new() } else { v.clone() })
                    .collect()
            })
        };
        let narrowed =
            |given: Option<Vec<String>>, looked_up: Dimension, map: &HashMap<String, String>| {
                let Some(wanted) = self.filters.get(looked_up.as_str()) else {
                    return given;
                };
                if wanted.iter().any(|w| w == NONE) {
                    return given;
                }
                let matching = map
                    .iter()
                    .filter(|(_, value)| wanted.contains(value))
                    .map(|(key, _)| key.clone());
                Some(match given {
                    Some(given) => matching.filter(|key| given.contains(key)).collect(),
                    None => matching.collect(),
                })
            };
        FactsFilter {
            types: values(Dimension::Type),
            surfaces: values(Dimension::Surface),
            countries: values(Dimension::Country),
            languages: values(Dimension::Language),
            partners: narrowed(
                values(Dimension::Partner),
                Dimension::PartnerKind,
                &lookups.partner_kinds,
            ),
            queues: narrowed(
                values(Dimension::Queue),
                Dimension::Team,
                &lookups.queue_teams,
            ),
        }
    }

    /// Whether a filter asks for `(none)` of a looked-up dimension, which
    /// only [`MetricsQuery::keep_looked_up`] can apply.
    fn filters_after_reading(&self) -> bool {
        [Dimension::PartnerKind, Dimension::Team].iter().any(|d| {
            self.filters
                .get(d.as_str())
                .is_some_and(|values| values.iter().any(|v| v == NONE))
        })
    }

    /// Keeps the facts whose partner kind and team are among those asked for.
    fn keep_looked_up(&self, lookups: &Lookups, facts: &mut Vec<EscalationFacts>) {
        for dimension in [Dimension::PartnerKind, Dimension::Team] {
            if let Some(values) = self.filters.get(dimension.as_str()) {
                let wanted: HashSet<&str> = values.iter().map(String::as_str).collect();
                facts.retain(|f| wanted.contains(lookups.value(dimension, f).as_str()));
            }
        }
    }
}

/// Partner kinds and queue teams as they are now.
async fn lookups(state: &AppState) -> ApiResult<Lookups> {
    let partner_kinds: HashMap<String, String> = state
        .stores
        .directory
        .list_partners()
        .await?
        .into_iter()
        .map(|p| (p.slug.as_str().to_string(), p.kind.as_str().to_string()))
        .collect();
    let queue_teams: HashMap<String, String> = list::<Queue>(state)
        .await?
        .into_iter()
        .map(|q| (q.code, q.team))
        .collect();
    Ok(Lookups {
        partner_kinds,
        queue_teams,
    })
}

/// The tables of `metrics` for `query`, reading only the facts they need.
pub(crate) async fn compute(
    state: &AppState,
    query: &MetricsQuery,
    metrics: &[Metric],
) -> ApiResult<Vec<MetricTable>> {
    let lookups = lookups(state).await?;
    let filter = query.store_filter(&lookups);
    let Period { from, to } = query.period;
    let needs = |wanted: &[Metric]| metrics.iter().any(|m| wanted.contains(m));
    let mut arrived = if needs(&[Metric::Backlog, Metric::Consults]) && metrics.len() == 1 {
        Vec::new()
    } else {
        state.stores.metrics.arrived(&filter, from, to).await?
    };
    query.keep_looked_up(&lookups, &mut arrived);
    let mut open = if needs(&[Metric::Backlog]) {
        state.stores.metrics.open(&filter).await?
    } else {
        Vec::new()
    };
    query.keep_looked_up(&lookups, &mut open);
    let consults = if needs(&[Metric::Consults]) {
        let consults = state.stores.metrics.consults(&filter, from, to).await?;
        if query.filters_after_reading() {
            // Consults carry no partner or queue: keep those of escalations
            // the looked-up filters keep.
            let mut owners = state
                .stores
                .metrics
                .arrived(&filter, Timestamp::MIN, to)
                .await?;
            query.keep_looked_up(&lookups, &mut owners);
            let kept: HashSet<i64> = owners.iter().map(|f| f.key).collect();
            consults
                .into_iter()
                .filter(|c| kept.contains(&c.key))
                .collect()
        } else {
            consults
        }
    } else {
        Vec::new()
    };
    let inputs = Inputs {
        arrived: &arrived,
        open: &open,
        consults: &consults,
        from,
        to,
        now: state.clock.now(),
        by: query.by,
        lookups: &lookups,
    };
    Ok(metrics.iter().map(|m| inputs.table(*m)).collect())
}

/// Metrics over a period, with what they were computed over.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsReport {
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    /// When the backlog was counted.
    #[schema(value_type = String, format = DateTime)]
    pub now: Timestamp,
    pub by: String,
    /// The filters applied, by dimension.
    pub filters: BTreeMap<String, Vec<String>>,
    /// One table per metric: `metric`, `title`, `columns` and `rows` (cells
    /// in column order; times in seconds, rates from 0 to 1, null when
    /// nothing was there to measure).
    #[schema(value_type = Vec<Object>)]
    pub metrics: Vec<MetricTable>,
}

fn report(state: &AppState, query: &MetricsQuery, metrics: Vec<MetricTable>) -> MetricsReport {
    MetricsReport {
        from: query.period.from,
        to: query.period.to,
        now: state.clock.now(),
        by: query.by.as_str().to_string(),
        filters: query
            .filters
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        metrics,
    }
}

/// A metric's table as a download.
pub(crate) fn metric_table(table: MetricTable) -> Table {
    Table {
        name: format!("metric-{}", table.metric.as_str()),
        columns: table.columns,
        rows: futures::stream::iter(table.rows.into_iter().map(Ok)).boxed(),
    }
}

/// Every metric over the period and filter: the dashboard.
#[utoipa::path(get, path = "/metrics", tag = "metrics", params(MetricsParams),
    responses((status = 200, body = MetricsReport),
        (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn dashboard(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let params = MetricsParams::parse(raw.as_deref())?;
    if params.download_format()?.is_some() {
        return Err(ApiError::field(
            "bad_query",
            "format",
            "the dashboard is JSON; download one metric at /metrics/{metric}",
        ));
    }
    let query = params.query(state.clock.now())?;
    let tables = compute(&state, &query, &Metric::ALL).await?;
    Ok(AxumJson(report(&state, &query, tables)).into_response())
}

/// The metric named, by its code (`intake`, `intake_by_day`, `backlog`,
/// `response_times`, `attainment`, `reopens`, `outcomes`, `overturns`,
/// `root_causes`, `consults`, `partners`); `format=csv|xlsx` downloads its
/// table.
#[utoipa::path(get, path = "/metrics/{metric}", tag = "metrics",
    params(("metric" = String, Path), MetricsParams),
    responses((status = 200, body = MetricsReport,
            description = "JSON; with format=csv or xlsx, the table as a file"),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn one_metric(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let metric = Metric::parse(&code).ok_or_else(|| {
        ApiError::new(
            "not_found",
            format!(
                "there is no metric {code:?}; the metrics are {}",
                Metric::ALL.map(Metric::as_str).join(", ")
            ),
        )
    })?;
    let params = MetricsParams::parse(raw.as_deref())?;
    let format = params.download_format()?;
    let query = params.query(state.clock.now())?;
    let mut tables = compute(&state, &query, &[metric]).await?;
    Ok(match format {
        Some(format) => download(metric_table(tables.remove(0)), format),
        None => AxumJson(report(&state, &query, tables)).into_response(),
    })
}
