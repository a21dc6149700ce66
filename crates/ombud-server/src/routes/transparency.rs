//! `/api/v1/transparency`: the statement-of-reasons profile (one settings
//! document, code `default`), the export of EU DSA statements of reasons
//! for the decisions of a period — each checked against the schema before
//! it is exported, batched by 100, faults and exemptions accounted for —
//! and the aggregated transparency report of a period as JSON, CSV or XLSX.
//! Admins and managers only: both read every decision.
//!
//! The decisions of a period are found through the analytics views
//! (`decisions.decided_at`, portable SQL), then read whole from the store,
//! since a statement needs the subjects, the actions and the clocks. The
//! definitions are in docs/transparency.md.

use std::collections::{BTreeMap, HashMap};

use axum::Json as AxumJson;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use ombud_domain::sor::{Batch, SorProfile, Statement, StatementError, batches, statements_for};
use ombud_domain::transparency::{DecisionFacts, Period, Report};
use ombud_domain::{Escalation, EscalationKey, FieldError, Invalid, PartnerKind};
use ombud_store::{Scope, SettingKind, StoreError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::export::{Format, Row, Table, download};
use crate::extract::{IfMatch, Json, Principal};
use crate::routes::analytics::run_capped;
use crate::routes::documents::{Document, decode, get_response, put_response};

/// The code the one statement-of-reasons profile is kept under.
pub const PROFILE_CODE: &str = "default";
/// Most decisions one report or export covers; a longer period is refused.
const MAX_DECISIONS: u64 = 100_000;
/// Escalations read from the store at once.
const READS_IN_FLIGHT: usize = 8;

/// The statement-of-reasons profile as a settings document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Profile(pub SorProfile);

impl Document for Profile {
    const KIND: SettingKind = SettingKind::SorProfile;

    fn code(&self) -> &str {
        PROFILE_CODE
    }

    async fn check(&mut self, _: &AppState) -> ApiResult<()> {
        Ok(self.0.validate()?)
    }
}

/// The configured profile, if any.
pub(crate) async fn profile(state: &AppState) -> ApiResult<Option<SorProfile>> {
    match state
        .stores
        .settings
        .get(SettingKind::SorProfile, PROFILE_CODE)
        .await
    {
        Ok(stored) => Ok(Some(decode::<Profile>(&stored)?.0)),
        Err(StoreError::NotFound) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The statement-of-reasons profile, with its ETag.
#[utoipa::path(get, path = "/transparency/profile", tag = "transparency",
    responses((status = 200, body = Object, description = "The profile (see docs/transparency.md)"),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_profile(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_manager()?;
    get_response::<Profile>(&state, PROFILE_CODE).await
}

/// Set the statement-of-reasons profile, checked in full (every rule as the
/// statements it makes will be checked); `If-Match` replaces only that
/// version.
#[utoipa::path(put, path = "/transparency/profile", tag = "transparency", request_body = Object,
    params(("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Object), (status = 201, body = Object),
        (status = 403, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn put_profile(
    State(state): State<AppState>,
    principal: Principal,
    if_match: IfMatch,
    Json(profile): Json<Profile>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    put_response(&state, PROFILE_CODE, if_match, profile).await
}

fn parse_params<T: DeserializeOwned>(raw: Option<&str>) -> ApiResult<T> {
    serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|e| ApiError::new("bad_query", e.to_string()))
}

/// The period between two bounds, named by their fields; 400 `bad_query`
/// with each fault.
pub(crate) fn period(from: (&str, &str), to: (&str, &str)) -> ApiResult<Period> {
    Period::parse(from, to).map_err(|invalid| ApiError {
        code: "bad_query",
        ..ApiError::from(invalid)
    })
}

/// Which decisions to export.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatementParams {
    /// First instant (RFC 3339) or day (`YYYY-MM-DD`, UTC) of the period.
    pub decided_from: String,
    /// End of the period: an instant (excluded) or a day (included).
    pub decided_to: String,
    /// `json` (default) or `jsonl`: one batch body per line.
    pub format: Option<String>,
}

impl StatementParams {
    pub(crate) fn period(&self) -> ApiResult<Period> {
        period(
            ("decided_from", &self.decided_from),
            ("decided_to", &self.decided_to),
        )
    }
}

/// Which period to report on.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// First instant (RFC 3339) or day (`YYYY-MM-DD`, UTC) of the period.
    pub from: String,
    /// End of the period: an instant (excluded) or a day (included).
    pub to: String,
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<String>,
}

impl ReportParams {
    pub(crate) fn period(&self) -> ApiResult<Period> {
        period(("from", &self.from), ("to", &self.to))
    }
}

/// A decided escalation and the kind of partner that reported it (`None`
/// once the partner is deleted).
struct Decided {
    escalation: Escalation,
    partner_kind: Option<PartnerKind>,
}

/// Every escalation whose current decision was made in `period`, in the
/// order of their decisions.
async fn decided_in(state: &AppState, period: Period) -> ApiResult<Vec<Decided>> {
    // The views write times to the second: the query takes every second
    // the period touches, and the exact bounds are applied to what is read.
    let second = |at: Timestamp| at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let sql = format!(
        "SELECT escalation_key FROM decisions \
         WHERE decided_at >= '{}' AND decided_at <= '{}' \
         ORDER BY decided_at, escalation_key",
        second(period.from),
        second(period.to)
    );
    let found = run_capped(state, &sql, MAX_DECISIONS).await?;
    if found.truncated {
        return Err(ApiError::new(
            "bad_query",
            format!(
                "more than {MAX_DECISIONS} decisions were made in the period: ask for a shorter one"
            ),
        ));
    }
    let kinds: HashMap<String, PartnerKind> = state
        .stores
        .directory
        .list_partners()
        .await?
        .into_iter()
        .map(|p| (p.slug.as_str().to_string(), p.kind))
        .collect();
    let keys: Vec<EscalationKey> = found
        .rows
        .iter()
        .filter_map(|row| row.first()?.as_str().and_then(EscalationKey::parse))
        .collect();
    let escalations: Vec<Escalation> = futures::stream::iter(keys)
        .map(|key| async move { state.stores.escalations.get(key, &Scope::Staff).await })
        .buffered(READS_IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(escalations
        .into_iter()
        .filter(|e| {
            e.decision
                .as_ref()
                .is_some_and(|d| period.contains(d.decided_at))
        })
        .map(|escalation| Decided {
            partner_kind: kinds.get(&escalation.partner).copied(),
            escalation,
        })
        .collect())
}

/// An escalation whose decision owes a statement that cannot be made.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EscalationFaults {
    /// The escalation's key (`ESC-12`).
    pub escalation: String,
    /// What is missing or wrong, by statement field (`subjects[0].content_date`).
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldError>,
}

/// Decisions that owe no statement, by reason.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotApplicable {
    pub reason: String,
    pub decisions: u64,
}

/// The statements of a period, checked, and what could not be exported.
#[derive(Debug)]
pub(crate) struct Export {
    pub period: Period,
    /// Escalations whose current decision was made in the period.
    pub decisions: u64,
    /// Every statement made, each valid, in the order of their decisions.
    pub statements: Vec<Statement>,
    pub faults: Vec<EscalationFaults>,
    /// By reason, most first.
    pub not_applicable: Vec<NotApplicable>,
}

/// Makes the statements the decisions of `period` owe; 409 without a
/// profile.
pub(crate) async fn export(state: &AppState, period: Period) -> ApiResult<Export> {
    let profile = profile(state).await?.ok_or_else(|| {
        ApiError::new(
            "conflict",
            "no statement-of-reasons profile is configured: set one with PUT /api/v1/transparency/profile",
        )
    })?;
    let decided = decided_in(state, period).await?;
    let mut statements = Vec::new();
    let mut faults = Vec::new();
    let mut not_applicable: BTreeMap<String, u64> = BTreeMap::new();
    // Ombud does not know when the platform began hosting an item: the
    // profile's `content_date_from_report` decides what stands in for it.
    let content_dates = BTreeMap::new();
    for Decided {
        escalation,
        partner_kind,
    } in &decided
    {
        let made = match partner_kind {
            Some(kind) => statements_for(escalation, *kind, &content_dates, &profile),
            None => Err(StatementError::Invalid(Invalid::one(
                "partner",
                format!(
                    "partner {:?} no longer exists: its kind decides source_type",
                    escalation.partner
                ),
            ))),
        };
        match made {
            Ok(made) => statements.extend(made),
            Err(StatementError::NotApplicable(reason)) => {
                *not_applicable.entry(reason).or_default() += 1
            }
            Err(StatementError::Invalid(Invalid(errors))) => faults.push(EscalationFaults {
                escalation: escalation.key.to_string(),
                errors,
            }),
        }
    }
    let mut not_applicable: Vec<NotApplicable> = not_applicable
        .into_iter()
        .map(|(reason, decisions)| NotApplicable { reason, decisions })
        .collect();
    not_applicable.sort_by_key(|n| std::cmp::Reverse(n.decisions));
    Ok(Export {
        period,
        decisions: decided.len() as u64,
        statements,
        faults,
        not_applicable,
    })
}

/// The statements of reasons of a period, ready to submit.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementsExport<'a> {
    pub period: Period,
    /// Escalations whose current decision was made in the period.
    pub decisions: u64,
    /// Statements exported, in all batches.
    pub statements: u64,
    /// Bodies for `POST /api/v1/statements` of the Transparency Database:
    /// `{"statements": [...]}`, at most 100 each, every statement valid.
    #[schema(value_type = Vec<Object>)]
    pub batches: Vec<Batch<'a>>,
    /// Decisions that owe a statement that could not be made: not exported.
    pub faults: Vec<EscalationFaults>,
    /// Decisions that owe none, counted by reason.
    pub not_applicable: Vec<NotApplicable>,
}

/// Export the EU DSA statements of reasons (schema v2) for the decisions
/// made in a period: each statement checked against every rule of the
/// schema, in batches of at most 100. Decisions whose statement cannot be
/// made are listed under `faults` and not exported; those that owe none are
/// counted under `not_applicable`. `format=jsonl` downloads one batch body
/// per line instead. 409 until a profile is configured.
#[utoipa::path(get, path = "/transparency/statements", tag = "transparency",
    params(StatementParams),
    responses((status = 200, body = StatementsExport,
            description = "JSON; with format=jsonl, one batch body per line (application/x-ndjson)"),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn export_statements(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let params: StatementParams = parse_params(raw.as_deref())?;
    let jsonl = match params.format.as_deref() {
        None | Some("json") => false,
        Some("jsonl") => true,
        Some(other) => {
            return Err(ApiError::field(
                "bad_query",
                "format",
                format!("{other:?} is not json or jsonl"),
            ));
        }
    };
    let export = export(&state, params.period()?).await?;
    Ok(if jsonl {
        statements_jsonl(export.statements)
    } else {
        AxumJson(StatementsExport {
            period: export.period,
            decisions: export.decisions,
            statements: export.statements.len() as u64,
            batches: batches(&export.statements).collect(),
            faults: export.faults,
            not_applicable: export.not_applicable,
        })
        .into_response()
    })
}

/// The statements as JSON Lines, one batch body per line, for submission
/// tools; a download sent a batch at a time.
pub(crate) fn statements_jsonl(statements: Vec<Statement>) -> Response {
    let owned: Vec<Vec<Statement>> = batches(&statements)
        .map(|batch| batch.statements.to_vec())
        .collect();
    let lines = futures::stream::iter(owned).map(|statements| {
        let mut line = serde_json::to_vec(&Batch {
            statements: &statements,
        })
        .map_err(std::io::Error::other)?;
        line.push(b'\n');
        Ok::<_, std::io::Error>(Bytes::from(line))
    });
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"statements.jsonl\"",
            ),
        ],
        Body::from_stream(lines),
    )
        .into_response()
}

/// The aggregated report of the decisions made in `period`.
pub(crate) async fn report(state: &AppState, period: Period) -> ApiResult<Report> {
    let profile = profile(state).await?;
    let facts: Vec<DecisionFacts> = decided_in(state, period)
        .await?
        .iter()
        .filter_map(|d| DecisionFacts::of(&d.escalation, d.partner_kind, profile.as_ref()))
        .collect();
    Ok(Report::of(period, &facts))
}

/// The report as one table: a line for all decisions, then a line per
/// value of each dimension.
pub(crate) fn report_table(report: &Report) -> Table {
    let row =
        |dimension: &str, key: &str, label: &str, decisions: u64, median: Option<f64>| -> Row {
            Ok(vec![
                json!(dimension),
                json!(key),
                json!(label),
                json!(decisions),
                median.map_or(Value::Null, |m| json!(m)),
            ])
        };
    let mut rows = vec![row(
        "all",
        "all",
        "All decisions",
        report.decisions,
        report.median_seconds_to_action,
    )];
    for (dimension, table) in report.tables() {
        rows.extend(table.iter().map(|r| {
            row(
                dimension,
                &r.key,
                &r.label,
                r.decisions,
                r.median_seconds_to_action,
            )
        }));
    }
    Table {
        name: "transparency-report".into(),
        columns: [
            "dimension",
            "key",
            "label",
            "decisions",
            "median_seconds_to_action",
        ]
        .map(String::from)
        .to_vec(),
        rows: futures::stream::iter(rows).boxed(),
    }
}

/// The aggregated transparency report of the decisions made in a period:
/// counts by regime, category, outcome, source, trusted flagger and
/// automation, each with the median time from receipt to decision.
/// `format=csv|xlsx` downloads it as one table.
#[utoipa::path(get, path = "/transparency/report", tag = "transparency",
    params(ReportParams),
    responses((status = 200, body = Report), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn get_report(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let params: ReportParams = parse_params(raw.as_deref())?;
    let format = match params.format.as_deref() {
        None | Some("json") => None,
        Some(other) => Some(Format::parse(other).ok_or_else(|| {
            ApiError::field(
                "bad_query",
                "format",
                format!("{other:?} is not json, csv or xlsx"),
            )
        })?),
    };
    let report = report(&state, params.period()?).await?;
    Ok(match format {
        Some(format) => download(report_table(&report), format),
        None => AxumJson(report).into_response(),
    })
}
