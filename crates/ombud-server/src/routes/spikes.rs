//! `/api/v1/emerging/spikes`: the intake spikes the spike worker
//! (`crate::spikes`) found, each one link from the escalations behind it,
//! acknowledged by a manager once seen; and `/api/v1/emerging/spike-rule`,
//! the rule it applies (docs/emerging.md).

use axum::Json as AxumJson;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use ombud_domain::Status;
use ombud_domain::emerging::segments::Segment;
use ombud_domain::emerging::spikes::{Granularity, SpikeRule};
use ombud_store::{SettingKind, SpikeAlert, SpikeFilter, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal};
use crate::routes::documents::{Document, put_response, with_etag};
use crate::routes::escalations::next_link;

/// The code the one spike rule is kept under.
pub const RULE_CODE: &str = "default";

/// The spike rule as a settings document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleDocument(pub SpikeRule);

impl Document for RuleDocument {
    const KIND: SettingKind = SettingKind::SpikeRule;

    fn code(&self) -> &str {
        RULE_CODE
    }

    async fn check(&mut self, _: &AppState) -> ApiResult<()> {
        Ok(self.0.validate()?)
    }
}

/// The rule in force and its version: the stored one, else the default
/// (version `None`).
pub(crate) async fn rule(state: &AppState) -> Result<(SpikeRule, Option<i64>), StoreError> {
    match state
        .stores
        .settings
        .get(SettingKind::SpikeRule, RULE_CODE)
        .await
    {
        Ok(stored) => Ok((
            serde_json::from_value(stored.body).map_err(StoreError::backend)?,
            Some(stored.version),
        )),
        Err(StoreError::NotFound) => Ok((SpikeRule::default(), None)),
        Err(other) => Err(other),
    }
}

/// The spike rule in force (the default until one is set), with its ETag
/// once set.
#[utoipa::path(get, path = "/emerging/spike-rule", tag = "emerging",
    responses((status = 200, body = SpikeRule), (status = 403, body = Problem)))]
pub async fn get_rule(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_staff()?;
    Ok(match rule(&state).await? {
        (rule, Some(version)) => with_etag(StatusCode::OK, version, RuleDocument(rule)),
        (rule, None) => AxumJson(rule).into_response(),
    })
}

/// Set the spike rule, every field checked (422 naming each fault, and
/// nothing changes); `If-Match` replaces only that version. It applies from
/// the next bucket evaluated.
#[utoipa::path(put, path = "/emerging/spike-rule", tag = "emerging", request_body = SpikeRule,
    params(("If-Match" = Option<String>, Header)),
    responses((status = 200, body = SpikeRule), (status = 201, body = SpikeRule),
        (status = 403, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn put_rule(
    State(state): State<AppState>,
    principal: Principal,
    if_match: IfMatch,
    Json(rule): Json<RuleDocument>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    put_response(&state, RULE_CODE, if_match, rule).await
}

/// Who acknowledged an alert, and when.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AcknowledgementView {
    /// `user:<id>` or `token:<id>`.
    pub actor: String,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// A segment's intake in one hour or day, far above its seasonal baseline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SpikeAlertView {
    pub id: i64,
    pub segment: Segment,
    pub granularity: Granularity,
    /// The bucket: UTC, from its start (included) to its end (excluded).
    #[schema(value_type = String, format = DateTime)]
    pub bucket_start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub bucket_end: Timestamp,
    /// Escalations received in the bucket.
    pub count: u64,
    /// The median count of the same hour of the week (or day of the week)
    /// over the past weeks.
    pub baseline: f64,
    /// What the score divides by: the scaled MAD of those weeks, or
    /// `max(1, √baseline)` when larger.
    pub spread: f64,
    /// `(count − baseline) / spread`, a robust z-score.
    pub score: f64,
    /// How many past weeks the baseline read.
    pub samples: u32,
    #[schema(value_type = String, format = DateTime)]
    pub detected_at: Timestamp,
    pub acknowledged: Option<AcknowledgementView>,
    /// `GET` this: exactly the escalations counted, through the escalation
    /// list's own filters.
    #[schema(
        example = "/api/v1/escalations?type=scams_fraud&surface=ads&country=JP&received_after=2026-11-23T10:00:00Z&received_before=2026-11-23T11:00:00Z"
    )]
    pub escalations: String,
    /// The same escalations in the console's work list.
    pub console: String,
}

/// The escalation list's parameters that select the segment's escalations
/// received in the bucket.
fn segment_query(alert: &SpikeAlert) -> String {
    let found = &alert.alert;
    let segment = &found.segment;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("type", &segment.escalation_type)
        .append_pair("surface", &segment.surface)
        .append_pair("country", &segment.country);
    if let Some(policy) = &segment.policy {
        query.append_pair("policy", policy);
    }
    query
        .append_pair("received_after", &found.bucket.to_string())
        .append_pair("received_before", &bucket_end(alert).to_string())
        .finish()
}

fn bucket_end(alert: &SpikeAlert) -> Timestamp {
    alert.alert.bucket + SignedDuration::from_secs(alert.alert.granularity.seconds())
}

impl From<SpikeAlert> for SpikeAlertView {
    fn from(alert: SpikeAlert) -> Self {
        let query = segment_query(&alert);
        // The work lists show open cases unless told every status.
        let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        let console = format!("/console?view=all&status={}&{query}", statuses.join(","));
        SpikeAlertView {
            id: alert.id,
            bucket_end: bucket_end(&alert),
            escalations: format!("/api/v1/escalations?{query}"),
            console,
            acknowledged: alert.acknowledged.map(|a| AcknowledgementView {
                actor: a.actor.id,
                name: a.actor.name,
                at: a.at,
            }),
            segment: alert.alert.segment,
            granularity: alert.alert.granularity,
            bucket_start: alert.alert.bucket,
            count: alert.alert.count,
            baseline: alert.alert.baseline,
            spread: alert.alert.spread,
            score: alert.alert.score,
            samples: alert.alert.samples,
            detected_at: alert.alert.created_at,
        }
    }
}

/// Which alerts to list, newest bucket first.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SpikeListParams {
    /// `false`: only those waiting for acknowledgement; `true`: only the
    /// acknowledged.
    pub acknowledged: Option<bool>,
    /// `hour` or `day`.
    pub granularity: Option<String>,
    /// Escalation type codes, comma-separated.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub escalation_type: Option<String>,
    /// Countries, comma-separated.
    pub country: Option<String>,
    /// Buckets starting at or after this RFC 3339 instant.
    pub bucket_after: Option<String>,
    /// Buckets starting before this RFC 3339 instant.
    pub bucket_before: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// One page of alerts.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpikeAlertPage {
    pub items: Vec<SpikeAlertView>,
    pub next_cursor: Option<String>,
}

fn bad_query(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::field("bad_query", param, message)
}

/// A cursor: after the alert with this bucket start and id.
fn encode_cursor(alert: &SpikeAlert) -> String {
    hex::encode(format!(
        "{}:{}",
        alert.alert.bucket.as_microsecond(),
        alert.id
    ))
}

fn decode_cursor(token: &str) -> Option<(Timestamp, i64)> {
    let plain = String::from_utf8(hex::decode(token).ok()?).ok()?;
    let (bucket, id) = plain.split_once(':')?;
    Some((
        Timestamp::from_microsecond(bucket.parse().ok()?).ok()?,
        id.parse().ok()?,
    ))
}

impl SpikeListParams {
    pub(crate) fn parse(raw: Option<&str>) -> ApiResult<SpikeListParams> {
        serde_urlencoded::from_str(raw.unwrap_or_default())
            .map_err(|e| ApiError::new("bad_query", e.to_string()))
    }

    fn filter(&self) -> ApiResult<SpikeFilter> {
        let list = |v: &Option<String>| -> Vec<String> {
            v.iter()
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        let time = |param: &str, v: &Option<String>| -> ApiResult<Option<Timestamp>> {
            v.as_deref()
                .map(|v| {
                    v.parse()
                        .map_err(|_| bad_query(param, format!("{v:?} is not an RFC 3339 instant")))
                })
                .transpose()
        };
        Ok(SpikeFilter {
            acknowledged: self.acknowledged,
            granularity: self
                .granularity
                .as_deref()
                .map(|g| {
                    Granularity::parse(g).ok_or_else(|| bad_query("granularity", "use hour or day"))
                })
                .transpose()?,
            types: list(&self.escalation_type),
            countries: list(&self.country)
                .into_iter()
                .map(|c| c.to_ascii_uppercase())
                .collect(),
            bucket_from: time("bucket_after", &self.bucket_after)?,
            bucket_to: time("bucket_before", &self.bucket_before)?,
            after: self
                .cursor
                .as_deref()
                .map(|c| {
                    decode_cursor(c)
                        .ok_or_else(|| bad_query("cursor", "not a cursor this server issued"))
                })
                .transpose()?,
            limit: match self.limit {
                None => 50,
                Some(n @ 1..=200) => n,
                Some(_) => return Err(bad_query("limit", "must be a whole number from 1 to 200")),
            },
        })
    }
}

/// One page of alerts as `params` ask.
pub(crate) async fn page(state: &AppState, params: &SpikeListParams) -> ApiResult<SpikeAlertPage> {
    let mut filter = params.filter()?;
    let limit = filter.limit as usize;
    // One more than the page tells whether another follows.
    filter.limit += 1;
    let mut alerts = state.stores.spikes.list(&filter).await?;
    let next_cursor = (alerts.len() > limit).then(|| encode_cursor(&alerts[limit - 1]));
    alerts.truncate(limit);
    Ok(SpikeAlertPage {
        items: alerts.into_iter().map(SpikeAlertView::from).collect(),
        next_cursor,
    })
}

/// Spike alerts, newest bucket first, filtered and paged like the
/// escalation list (`next_cursor` and a `Link` header).
#[utoipa::path(get, path = "/emerging/spikes", tag = "emerging", params(SpikeListParams),
    responses((status = 200, body = SpikeAlertPage), (status = 400, body = Problem),
        (status = 403, body = Problem)))]
pub async fn list_spikes(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let page = page(&state, &SpikeListParams::parse(raw.as_deref())?).await?;
    let headers = next_link(
        "/api/v1/emerging/spikes",
        raw.as_deref(),
        page.next_cursor.as_deref(),
    );
    Ok((headers, AxumJson(page)).into_response())
}

/// An alert id from a path: a number, or no such alert.
pub(crate) fn parse_id(id: &str) -> ApiResult<i64> {
    id.parse()
        .map_err(|_| ApiError::not_found(format!("spike alert {id:?}")))
}

fn not_found(id: i64) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::not_found(format!("spike alert {id}")),
        other => other.into(),
    }
}

/// One spike alert.
#[utoipa::path(get, path = "/emerging/spikes/{id}", tag = "emerging", params(("id" = i64, Path)),
    responses((status = 200, body = SpikeAlertView), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn get_spike(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let id = parse_id(&id)?;
    let alert = state.stores.spikes.get(id).await.map_err(not_found(id))?;
    Ok(AxumJson(SpikeAlertView::from(alert)).into_response())
}

/// Marks an alert seen by `actor`; the first acknowledgement stands.
pub(crate) async fn acknowledge(
    state: &AppState,
    id: i64,
    actor: &ombud_domain::Actor,
) -> ApiResult<SpikeAlertView> {
    let alert = state
        .stores
        .spikes
        .acknowledge(id, actor, state.clock.now())
        .await
        .map_err(not_found(id))?;
    Ok(alert.into())
}

/// Acknowledge a spike alert (admins and managers): it leaves the list of
/// alerts waiting. Acknowledging again changes nothing; the first
/// acknowledgement stands.
#[utoipa::path(post, path = "/emerging/spikes/{id}/acknowledge", tag = "emerging",
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = SpikeAlertView), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn acknowledge_spike(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let id = parse_id(&id)?;
    Ok(AxumJson(acknowledge(&state, id, &principal.actor()).await?).into_response())
}
