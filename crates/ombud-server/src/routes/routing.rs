//! `/api/v1/routing-rules`: ordered rules that route escalations on intake,
//! and a dry run that shows what they would do.

use axum::Json as AxumJson;
use axum::extract::{Path, State};

use axum::response::{IntoResponse, Response};
use ombud_domain::routing::{Action, FiredRule, PriorityScore, RoutingRule};
use ombud_domain::sla::EscalationClock;
use ombud_domain::{EscalationKey, NewEscalation, Priority, RefKind, RiskFlag};
use ombud_store::{Scope, SettingKind, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal};
use crate::routes::documents::{
    Document, codes, delete_response, get_response, list, put_response,
};
use crate::routes::escalations::{check_reference, not_found};
use crate::routes::settings;

impl Document for RoutingRule {
    const KIND: SettingKind = SettingKind::RoutingRule;

    fn code(&self) -> &str {
        &self.code
    }

    async fn check(&mut self, state: &AppState) -> ApiResult<()> {
        let policies = codes(state, SettingKind::SlaPolicy).await?;
        let policies: Vec<&str> = policies.iter().map(String::as_str).collect();
        self.validate(&policies)?;
        for (index, action) in self.then.iter().enumerate() {
            if let Action::RequireConsult { function, .. } = action {
                check_reference(
                    state,
                    RefKind::ConsultFunction,
                    &format!("then[{index}].require_consult.function"),
                    function,
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// List routing rules in the order they run.
#[utoipa::path(get, path = "/routing-rules", tag = "routing",
    responses((status = 200, body = Vec<RoutingRule>)))]
pub async fn list_routing_rules(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let mut rules = list::<RoutingRule>(&state).await?;
    rules.sort_by(|a, b| (a.position, &a.code).cmp(&(b.position, &b.code)));
    Ok(AxumJson(rules).into_response())
}

/// Read a routing rule.
#[utoipa::path(get, path = "/routing-rules/{code}", tag = "routing", params(("code" = String, Path)),
    responses((status = 200, body = RoutingRule), (status = 404, body = Problem)))]
pub async fn get_routing_rule(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    get_response::<RoutingRule>(&state, &code).await
}

/// Create or replace a routing rule (with `If-Match`, only that version).
#[utoipa::path(put, path = "/routing-rules/{code}", tag = "routing", request_body = RoutingRule,
    params(("code" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = RoutingRule), (status = 201, body = RoutingRule),
        (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn put_routing_rule(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    if_match: IfMatch,
    Json(rule): Json<RoutingRule>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    put_response(&state, &code, if_match, rule).await
}

/// Delete a routing rule.
#[utoipa::path(delete, path = "/routing-rules/{code}", tag = "routing", params(("code" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_routing_rule(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    delete_response(&state, SettingKind::RoutingRule, &code).await
}

/// What to dry-run the rules on: an existing escalation's key, or a draft
/// as it would be filed (with its partner).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunRequest {
    #[schema(example = "ESC-1042")]
    pub key: Option<String>,
    pub escalation: Option<NewEscalation>,
}

/// What intake would decide, changing nothing.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunResult {
    pub rules_fired: Vec<FiredRule>,
    pub score: Option<PriorityScore>,
    pub queue: Option<String>,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub risk_flags: Vec<RiskFlag>,
    pub sla_policy: Option<String>,
    pub clocks: Vec<EscalationClock>,
}

/// What the routing rules, the score and the clocks would make of an
/// escalation; nothing is stored.
#[utoipa::path(post, path = "/routing-rules/dry-run", tag = "routing", request_body = DryRunRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = DryRunResult), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn dry_run(
    State(state): State<AppState>,
    principal: Principal,
    Json(request): Json<DryRunRequest>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    Ok(AxumJson(dry_run_for(&state, request).await?).into_response())
}

/// What the routing rules, the score and the clocks would make of the
/// escalation `request` names or describes.
pub(crate) async fn dry_run_for(
    state: &AppState,
    request: DryRunRequest,
) -> ApiResult<DryRunResult> {
    let mut draft = match (request.key, request.escalation) {
        (Some(key), None) => {
            let key = EscalationKey::parse(&key).ok_or_else(|| {
                ApiError::field("validation_failed", "key", "a key looks like ESC-1042")
            })?;
            state
                .stores
                .escalations
                .get(key, &Scope::Staff)
                .await
                .map_err(not_found(key))?
                .to_draft()
        }
        (None, Some(new)) => {
            let partner = new.partner.clone().ok_or_else(|| {
                ApiError::field(
                    "validation_failed",
                    "escalation.partner",
                    "name the partner",
                )
            })?;
            new.validate(&partner, "api", state.clock.now())?
        }
        _ => {
            return Err(ApiError::new(
                "validation_failed",
                "send either `key` or `escalation`, not both",
            ));
        }
    };
    let partner = state
        .stores
        .directory
        .get_partner(&draft.partner)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::field(
                "validation_failed",
                "escalation.partner",
                format!("unknown partner {:?}", draft.partner),
            ),
            other => other.into(),
        })?;
    let outcome = settings::prepare_intake(state, &mut draft, &partner).await?;
    Ok(DryRunResult {
        rules_fired: draft.rules_fired,
        score: draft.score,
        queue: draft.queue,
        priority: draft.priority,
        tags: draft.tags,
        risk_flags: draft.risk_flags,
        sla_policy: outcome.sla_policy,
        clocks: draft.clocks,
    })
}
