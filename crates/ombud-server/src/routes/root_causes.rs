//! `/api/v1/root-causes`: every root cause with the escalations decided
//! with it, its tracked fixes and its recurrences; one cause with its
//! escalations.
//!
//! The figures are read through the analytics views
//! (`ombud_store::analytics`), the one read-only SQL contract that is the
//! same on every backend, with portable SQL only (count, GROUP BY, and
//! timestamps compared as `YYYY-MM-DDTHH:MM:SSZ` text). Only codes checked
//! by `validation::code` and times this module formats are written into a
//! statement, and quoted even so.
//!
//! Recurrence: an escalation recurs after a fix when its current decision
//! names the fix's root cause and it was filed (`created_at`) strictly
//! after the fix's `shipped_at` — the first time the fix reached `shipped`,
//! kept if it later moved on — both read to the second, as the views write
//! them (`ombud_domain::fix::recurs`). A cause's recurrences count from the
//! earliest `shipped_at` of its fixes; each fix's from its own.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::Json as AxumJson;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use jiff::Timestamp;
use ombud_domain::decision::FixStatus;
use ombud_domain::fix::{self, Fix};
use ombud_domain::{RefKind, validation};
use ombud_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Principal;
use crate::routes::documents::list;

/// How long one figures query may run.
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);
/// Escalations of one cause per page, unless asked otherwise.
pub(crate) const DEFAULT_PAGE: u64 = 100;
/// The most escalations one page holds.
const MAX_PAGE: u64 = 500;

/// Every root cause, most frequent first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RootCauseList {
    /// Escalations with a current decision (whether it names a cause or not).
    pub decided: u64,
    /// Of those, decisions that name no root cause.
    pub without_root_cause: u64,
    /// Active root causes, and retired ones still named by a decision or a
    /// fix; by `total`, most first, then by code.
    pub root_causes: Vec<RootCause>,
}

/// One root cause and what it led to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RootCause {
    pub code: String,
    pub label: String,
    /// False when retired (or no longer in the reference data).
    pub active: bool,
    /// Escalations whose current decision names this cause.
    pub total: u64,
    /// Of those, resolved or closed.
    pub resolved: u64,
    /// Of those, open again (reopened since the decision).
    pub open: u64,
    /// The earliest `shipped_at` of its fixes: where recurrences start.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_shipped_at: Option<Timestamp>,
    /// Escalations counted in `total` filed after `first_shipped_at`.
    pub recurrences: u64,
    /// Its tracked fixes, by code.
    pub fixes: Vec<FixSummary>,
}

/// A tracked fix as a root cause lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FixSummary {
    pub code: String,
    pub url: String,
    pub status: FixStatus,
    pub owner: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub shipped_at: Option<Timestamp>,
    /// Escalations decided with this cause filed after this fix shipped.
    pub recurrences: u64,
}

/// One root cause with a page of its escalations.
#[derive(Debug, Serialize, ToSchema)]
pub struct RootCauseDetail {
    #[serde(flatten)]
    pub root_cause: RootCause,
    /// This page's escalations, newest filed first (then by key,
    /// descending); `total` counts them all.
    pub escalations: Vec<CauseEscalation>,
    pub offset: u64,
    pub limit: u64,
}

/// An escalation whose current decision names the cause.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CauseEscalation {
    pub key: String,
    pub title: String,
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub decided_at: Timestamp,
    /// The upstream fix its decision names, if any.
    pub fix_url: Option<String>,
    /// Filed after the cause's first fix shipped.
    pub recurring: bool,
}

/// Which escalations of a cause to show.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CausePage {
    /// Escalations to skip (default 0).
    pub offset: Option<u64>,
    /// Escalations to show: 1 to 500 (default 100).
    pub limit: Option<u64>,
}

/// List root causes with their escalation counts, fixes and recurrences.
#[utoipa::path(get, path = "/root-causes", tag = "root causes",
    responses((status = 200, body = RootCauseList), (status = 403, body = Problem)))]
pub async fn list_root_causes(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_staff()?;
    Ok(AxumJson(root_causes(&state).await?).into_response())
}

/// One root cause with a page of the escalations decided with it, the
/// recurring ones marked.
#[utoipa::path(get, path = "/root-causes/{code}", tag = "root causes",
    params(("code" = String, Path, example = "automation_false_positive"), CausePage),
    responses((status = 200, body = RootCauseDetail), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_root_cause(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let page: CausePage = serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
        .map_err(|e| {
            ApiError::new(
                "bad_query",
                format!("offset and limit are whole numbers ({e})"),
            )
        })?;
    Ok(AxumJson(root_cause(&state, &code, &page).await?).into_response())
}

/// Every root cause worth listing, most frequent first.
pub(crate) async fn root_causes(state: &AppState) -> ApiResult<RootCauseList> {
    let counts = rows(
        state,
        "SELECT root_cause, count(*), \
         count(CASE WHEN status IN ('resolved', 'closed') THEN 1 END) \
         FROM escalations WHERE outcome IS NOT NULL GROUP BY root_cause",
    )
    .await?;
    let mut decided = 0;
    let mut without_root_cause = 0;
    let mut by_cause: HashMap<String, (u64, u64)> = HashMap::new();
    for row in &counts {
        let (total, resolved) = (number(&row[1]), number(&row[2]));
        decided += total;
        match row[0].as_str() {
            Some(cause) => {
                by_cause.insert(cause.to_string(), (total, resolved));
            }
            None => without_root_cause += total,
        }
    }
    let mut fixes: BTreeMap<String, Vec<Fix>> = BTreeMap::new();
    for fix in list::<Fix>(state).await? {
        fixes.entry(fix.root_cause.clone()).or_default().push(fix);
    }
    let recurrences = recurrences(state, &fixes).await?;
    let items: HashMap<String, (String, bool)> = state
        .stores
        .reference
        .list(RefKind::RootCause)
        .await?
        .into_iter()
        .map(|item| (item.code, (item.label, item.active)))
        .collect();
    let mut codes: Vec<&String> = items
        .iter()
        .filter(|(_, (_, active))| *active)
        .map(|(code, _)| code)
        .chain(by_cause.keys())
        .chain(fixes.keys())
        .collect();
    codes.sort();
    codes.dedup();
    let mut root_causes: Vec<RootCause> = codes
        .into_iter()
        .map(|code| {
            let (label, active) = items.get(code).cloned().unwrap_or((code.clone(), false));
            let (total, resolved) = by_cause.get(code).copied().unwrap_or_default();
            summary(
                code,
                label,
                active,
                (total, resolved),
                fixes.get(code).map(Vec::as_slice).unwrap_or_default(),
                &recurrences,
            )
        })
        .collect();
    root_causes.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.code.cmp(&b.code)));
    Ok(RootCauseList {
        decided,
        without_root_cause,
        root_causes,
    })
}

/// Cause `code` with the page of its escalations `page` asks for; 404 when
/// the code is neither reference data nor named by a decision or a fix.
pub(crate) async fn root_cause(
    state: &AppState,
    code: &str,
    page: &CausePage,
) -> ApiResult<RootCauseDetail> {
    let not_found = || ApiError::not_found(format!("root cause {code:?}"));
    validation::code("code", code).map_err(|_| not_found())?;
    let offset = page.offset.unwrap_or(0);
    let limit = page.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::new(
            "bad_query",
            format!("limit must be 1 to {MAX_PAGE}"),
        ));
    }
    let cause = literal(code);
    let counts = rows(
        state,
        &format!(
            "SELECT count(*), count(CASE WHEN status IN ('resolved', 'closed') THEN 1 END) \
             FROM escalations WHERE outcome IS NOT NULL AND root_cause = {cause}"
        ),
    )
    .await?;
    let (total, resolved) = counts
        .first()
        .map_or((0, 0), |row| (number(&row[0]), number(&row[1])));
    let fixes = crate::routes::fixes::for_root_cause(state, code).await?;
    let (label, active) = match state.stores.reference.get(RefKind::RootCause, code).await {
        Ok(item) => (item.label, item.active),
        Err(StoreError::NotFound) if total > 0 || !fixes.is_empty() => (code.to_string(), false),
        Err(StoreError::NotFound) => return Err(not_found()),
        Err(other) => return Err(other.into()),
    };
    let by_cause = BTreeMap::from([(code.to_string(), fixes)]);
    let recurrences = recurrences(state, &by_cause).await?;
    let summary = summary(
        code,
        label,
        active,
        (total, resolved),
        &by_cause[code],
        &recurrences,
    );
    let listed = rows(
        state,
        &format!(
            "SELECT key, title, status, created_at, decided_at FROM escalations \
             WHERE outcome IS NOT NULL AND root_cause = {cause} \
             ORDER BY created_at DESC, key DESC LIMIT {limit} OFFSET {offset}"
        ),
    )
    .await?;
    let mut fix_urls: HashMap<String, String> = HashMap::new();
    if !listed.is_empty() {
        let keys: Vec<String> = listed
            .iter()
            .filter_map(|row| row[0].as_str())
            .map(literal)
            .collect();
        for row in rows(
            state,
            &format!(
                "SELECT escalation_key, fix_url FROM decisions \
                 WHERE fix_url IS NOT NULL AND escalation_key IN ({})",
                keys.join(", ")
            ),
        )
        .await?
        {
            if let (Some(key), Some(url)) = (row[0].as_str(), row[1].as_str()) {
                fix_urls.insert(key.to_string(), url.to_string());
            }
        }
    }
    let escalations = listed
        .iter()
        .map(|row| {
            let key = row[0].as_str().unwrap_or_default().to_string();
            let created_at = time(&row[3])?;
            Ok(CauseEscalation {
                title: row[1].as_str().unwrap_or_default().to_string(),
                status: row[2].as_str().unwrap_or_default().to_string(),
                decided_at: time(&row[4])?,
                recurring: fix::recurs(created_at, summary.first_shipped_at),
                created_at,
                fix_url: fix_urls.remove(&key),
                key,
            })
        })
        .collect::<ApiResult<_>>()?;
    Ok(RootCauseDetail {
        root_cause: summary,
        escalations,
        offset,
        limit,
    })
}

fn summary(
    code: &str,
    label: String,
    active: bool,
    (total, resolved): (u64, u64),
    fixes: &[Fix],
    recurrences: &Recurrences,
) -> RootCause {
    RootCause {
        code: code.to_string(),
        label,
        active,
        total,
        resolved,
        open: total - resolved,
        first_shipped_at: fix::first_shipped(fixes),
        recurrences: recurrences.cause(code),
        fixes: fixes
            .iter()
            .map(|f| FixSummary {
                code: f.code.clone(),
                url: f.url.clone(),
                status: f.status,
                owner: f.owner.clone(),
                shipped_at: f.shipped_at,
                recurrences: recurrences.fix(&f.code),
            })
            .collect(),
    }
}

/// Recurrence counts, per cause and per fix.
#[derive(Debug, Default)]
struct Recurrences(HashMap<(&'static str, String), u64>);

impl Recurrences {
    fn cause(&self, code: &str) -> u64 {
        self.0
            .get(&("cause", code.to_string()))
            .copied()
            .unwrap_or(0)
    }

    fn fix(&self, code: &str) -> u64 {
        self.0.get(&("fix", code.to_string())).copied().unwrap_or(0)
    }
}

/// Counts, in one statement, each shipped fix's recurrences and each
/// cause's (from its earliest shipped fix): a row per fix and per cause
/// with the moment it counts from, joined to the decided escalations of
/// that cause filed later.
async fn recurrences(
    state: &AppState,
    fixes: &BTreeMap<String, Vec<Fix>>,
) -> ApiResult<Recurrences> {
    let mut starts = Vec::new();
    for (cause, fixes) in fixes {
        if let Some(first) = fix::first_shipped(fixes) {
            starts.push(("cause", cause.as_str(), cause.as_str(), first));
        }
        for f in fixes {
            if let Some(shipped) = f.shipped_at {
                starts.push(("fix", f.code.as_str(), cause.as_str(), shipped));
            }
        }
    }
    if starts.is_empty() {
        return Ok(Recurrences::default());
    }
    let from = starts
        .iter()
        .map(|(kind, code, cause, since)| {
            format!(
                "SELECT {} AS kind, {} AS code, {} AS cause, {} AS since",
                literal(kind),
                literal(code),
                literal(cause),
                literal(&view_time(*since))
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let counted = rows(
        state,
        &format!(
            "SELECT s.kind, s.code, count(*) FROM ({from}) s \
             JOIN escalations e ON e.root_cause = s.cause AND e.created_at > s.since \
             WHERE e.outcome IS NOT NULL GROUP BY s.kind, s.code"
        ),
    )
    .await?;
    let mut recurrences = Recurrences::default();
    for row in counted {
        let kind = match row[0].as_str() {
            Some("cause") => "cause",
            _ => "fix",
        };
        let code = row[1].as_str().unwrap_or_default().to_string();
        recurrences.0.insert((kind, code), number(&row[2]));
    }
    Ok(recurrences)
}

/// Runs one figures statement to the end.
async fn rows(state: &AppState, sql: &str) -> ApiResult<Vec<Vec<Value>>> {
    // A refused or overlong statement here is our fault, not the caller's.
    let failed = |error: StoreError| match error {
        StoreError::Query(message) => ApiError::internal(format!("root-cause figures: {message}")),
        other => other.into(),
    };
    state
        .stores
        .analytics
        .query(sql, None, QUERY_TIMEOUT)
        .await
        .map_err(failed)?
        .rows
        .map_err(failed)
        .try_collect()
        .await
}

/// A string as an SQL literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// An instant as the analytics views write it.
fn view_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn time(cell: &Value) -> ApiResult<Timestamp> {
    cell.as_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| ApiError::internal(format!("root-cause figures: {cell} is not a time")))
}

fn number(cell: &Value) -> u64 {
    cell.as_u64().unwrap_or_default()
}
