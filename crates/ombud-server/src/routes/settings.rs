//! `/api/v1/calendars`, `/api/v1/sla-policies` and `/api/v1/regulations`:
//! what decides an escalation's deadlines. Staff read them; admins and
//! managers change them. A write is validated in full (every faulty part
//! named) and changes nothing if refused.

use std::collections::BTreeMap;

use axum::Json as AxumJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ombud_domain::deadlines::{BusinessCalendar, CalendarSpec, Target};
use ombud_domain::regulatory::RegulatoryRule;
use ombud_domain::routing::{Action, RoutingOutcome, RoutingRule};
use ombud_domain::sla::{RegulationSetting, SlaPolicy};
use ombud_domain::validation::Collector;
use ombud_domain::workflow::WorkflowSettings;
use ombud_domain::{EscalationDraft, Partner};
use ombud_store::{SettingKind, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal};
use crate::routes::documents::{
    Document, codes, decode, delete_response, get_response, list, list_response, not_found,
    put_response, put_setting, with_etag,
};

/// A business calendar under its code.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NamedCalendar {
    pub code: String,
    #[serde(flatten)]
    pub calendar: CalendarSpec,
}

/// A regulatory rule of the catalogue with the administrators' setting.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegulationView {
    #[serde(flatten)]
    pub rule: RegulatoryRule,
    pub setting: RegulationSetting,
    /// Whether it starts clocks now: the setting, else the catalogue's default.
    pub enabled: bool,
    /// Graded `low` in the catalogue: counsel should confirm it before it drives deadlines.
    pub needs_legal_review: bool,
}

fn check_code(code: &str) -> ApiResult<()> {
    let mut errors = Collector::default();
    errors.check(ombud_domain::validation::code("code", code));
    Ok(errors.finish()?)
}

impl Document for SlaPolicy {
    const KIND: SettingKind = SettingKind::SlaPolicy;

    fn code(&self) -> &str {
        &self.code
    }

    async fn check(&mut self, state: &AppState) -> ApiResult<()> {
        let calendars = codes(state, SettingKind::Calendar).await?;
        let calendars: Vec<&str> = calendars.iter().map(String::as_str).collect();
        self.validate(&calendars)?;
        if let Some(slug) = &self.partner
            && let Err(StoreError::NotFound) = state.stores.directory.get_partner(slug).await
        {
            return Err(ApiError::field(
                "validation_failed",
                "partner",
                format!("unknown partner {slug:?}"),
            ));
        }
        Ok(())
    }
}

/// List business calendars.
#[utoipa::path(get, path = "/calendars", tag = "deadlines",
    responses((status = 200, body = Vec<NamedCalendar>)))]
pub async fn list_calendars(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let calendars = state
        .stores
        .settings
        .list(SettingKind::Calendar)
        .await?
        .iter()
        .map(|s| {
            Ok(NamedCalendar {
                code: s.code.clone(),
                calendar: decode(s)?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(AxumJson(calendars).into_response())
}

/// Read a business calendar.
#[utoipa::path(get, path = "/calendars/{code}", tag = "deadlines", params(("code" = String, Path)),
    responses((status = 200, body = NamedCalendar), (status = 404, body = Problem)))]
pub async fn get_calendar(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let stored = state
        .stores
        .settings
        .get(SettingKind::Calendar, &code)
        .await
        .map_err(not_found(SettingKind::Calendar, &code))?;
    let calendar = NamedCalendar {
        code,
        calendar: decode(&stored)?,
    };
    Ok(with_etag(StatusCode::OK, stored.version, calendar))
}

/// Create or replace a business calendar (with `If-Match`, only that version).
#[utoipa::path(put, path = "/calendars/{code}", tag = "deadlines", request_body = CalendarSpec,
    params(("code" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = NamedCalendar), (status = 201, body = NamedCalendar),
        (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn put_calendar(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    if_match: IfMatch,
    Json(spec): Json<CalendarSpec>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    check_code(&code)?;
    let canonical = BusinessCalendar::from_spec(&spec)?.to_spec();
    let body = serde_json::to_value(&canonical).map_err(ApiError::internal)?;
    let (status, stored) =
        put_setting(&state, SettingKind::Calendar, &code, body, if_match).await?;
    let calendar = NamedCalendar {
        code,
        calendar: canonical,
    };
    Ok(with_etag(status, stored.version, calendar))
}

/// Delete a business calendar no SLA policy uses.
#[utoipa::path(delete, path = "/calendars/{code}", tag = "deadlines", params(("code" = String, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_calendar(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let users: Vec<String> = list::<SlaPolicy>(&state)
        .await?
        .into_iter()
        .filter(|p| p.calendar.as_deref() == Some(code.as_str()))
        .map(|p| p.code)
        .collect();
    if !users.is_empty() {
        return Err(ApiError::new(
            "conflict",
            format!(
                "calendar {code:?} is used by SLA policies {}; change them first",
                users.join(", ")
            ),
        ));
    }
    delete_response(&state, SettingKind::Calendar, &code).await
}

/// List SLA policies.
#[utoipa::path(get, path = "/sla-policies", tag = "deadlines",
    responses((status = 200, body = Vec<SlaPolicy>)))]
pub async fn list_sla_policies(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_staff()?;
    list_response::<SlaPolicy>(&state).await
}

/// Read an SLA policy.
#[utoipa::path(get, path = "/sla-policies/{code}", tag = "deadlines", params(("code" = String, Path)),
    responses((status = 200, body = SlaPolicy), (status = 404, body = Problem)))]
pub async fn get_sla_policy(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    get_response::<SlaPolicy>(&state, &code).await
}

/// Create or replace an SLA policy (with `If-Match`, only that version).
#[utoipa::path(put, path = "/sla-policies/{code}", tag = "deadlines", request_body = SlaPolicy,
    params(("code" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = SlaPolicy), (status = 201, body = SlaPolicy),
        (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn put_sla_policy(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    if_match: IfMatch,
    Json(policy): Json<SlaPolicy>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    put_response(&state, &code, if_match, policy).await
}

/// Delete an SLA policy; escalations keep the clocks it started.
#[utoipa::path(delete, path = "/sla-policies/{code}", tag = "deadlines", params(("code" = String, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_sla_policy(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let users: Vec<String> = list::<RoutingRule>(&state)
        .await?
        .into_iter()
        .filter(|rule| {
            rule.then
                .iter()
                .any(|a| matches!(a, Action::SetSlaPolicy(p) if *p == code))
        })
        .map(|rule| rule.code)
        .collect();
    if !users.is_empty() {
        return Err(ApiError::new(
            "conflict",
            format!(
                "SLA policy {code:?} is chosen by routing rules {}; change them first",
                users.join(", ")
            ),
        ));
    }
    delete_response(&state, SettingKind::SlaPolicy, &code).await
}

async fn regulation_settings(state: &AppState) -> ApiResult<BTreeMap<String, RegulationSetting>> {
    state
        .stores
        .settings
        .list(SettingKind::Regulation)
        .await?
        .iter()
        .map(|s| Ok((s.code.clone(), decode(s)?)))
        .collect()
}

fn regulation_view(rule: &RegulatoryRule, setting: RegulationSetting) -> RegulationView {
    RegulationView {
        enabled: setting.enabled.unwrap_or_else(|| rule.enabled_by_default()),
        needs_legal_review: rule.confidence == ombud_domain::regulatory::Confidence::Low,
        rule: rule.clone(),
        setting,
    }
}

/// The regulatory catalogue with each rule's setting.
#[utoipa::path(get, path = "/regulations", tag = "deadlines",
    responses((status = 200, body = Vec<RegulationView>)))]
pub async fn list_regulations(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let mut settings = regulation_settings(&state).await?;
    let views: Vec<RegulationView> = RegulatoryRule::catalogue()
        .iter()
        .map(|rule| regulation_view(rule, settings.remove(&rule.id).unwrap_or_default()))
        .collect();
    Ok(AxumJson(views).into_response())
}

/// Enable, disable or override one regulatory rule.
#[utoipa::path(put, path = "/regulations/{id}", tag = "deadlines", request_body = RegulationSetting,
    params(("id" = String, Path, example = "in-itr-ncii-3-2-b")),
    responses((status = 200, body = RegulationView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_regulation(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(setting): Json<RegulationSetting>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let rule = RegulatoryRule::find(&id)
        .ok_or_else(|| ApiError::not_found(format!("regulation {id:?}")))?;
    let mut errors = Collector::default();
    for (field, value) in [
        ("acknowledge_within", &setting.acknowledge_within),
        ("act_within", &setting.act_within),
    ] {
        if let Some(text) = value
            && let Err(error) = Target::parse(text, rule.clock)
        {
            errors.push(field, error.0);
        }
    }
    errors.finish()?;
    let body = serde_json::to_value(&setting).map_err(ApiError::internal)?;
    let (_, stored) =
        put_setting(&state, SettingKind::Regulation, &id, body, IfMatch(None)).await?;
    Ok(with_etag(
        StatusCode::OK,
        stored.version,
        regulation_view(rule, setting),
    ))
}

/// Every setting the workflow engine reads: routing rules, SLA policies,
/// calendars and regulation settings.
pub async fn workflow(state: &AppState) -> ApiResult<WorkflowSettings> {
    let calendars = state
        .stores
        .settings
        .list(SettingKind::Calendar)
        .await?
        .iter()
        .map(|s| {
            let spec: CalendarSpec = decode(s)?;
            let calendar = BusinessCalendar::from_spec(&spec).map_err(ApiError::internal)?;
            Ok((s.code.clone(), calendar))
        })
        .collect::<ApiResult<BTreeMap<_, _>>>()?;
    Ok(WorkflowSettings {
        rules: list::<RoutingRule>(state).await?,
        policies: list::<SlaPolicy>(state).await?,
        calendars,
        regulation_settings: regulation_settings(state).await?,
    })
}

/// Everything intake decides from the settings, applied to `draft`: the
/// priority score, the routing rules (queue, priority, tags, risk flags,
/// SLA policy, consults) and the clocks.
pub async fn prepare_intake(
    state: &AppState,
    draft: &mut EscalationDraft,
    partner: &Partner,
) -> ApiResult<RoutingOutcome> {
    workflow(state)
        .await?
        .prepare(draft, partner)
        .map_err(ApiError::internal)
}
