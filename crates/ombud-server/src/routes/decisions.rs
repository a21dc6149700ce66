//! `/api/v1/escalations/{key}/decision`: resolving an escalation with its
//! decision (outcome, policy, per-subject actions, root cause), which
//! tracks or moves the upstream fix it names (`routes::fixes`).

use std::sync::Mutex;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use ombud_domain::decision::NewDecision;
use ombud_domain::{Actor, Escalation, EscalationKey, RefKind};
use ombud_store::Scope;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal};
use crate::routes::escalations::{check_reference, escalation_response, mutate, parse_key};
use crate::routes::fixes;

/// Resolve an escalation with a decision, or amend the decision of a
/// resolved one. Every code must be active reference data; every action
/// must name a subject of the escalation; a required consult still open
/// refuses it (409). An upstream fix not yet tracked is tracked (see
/// `/fixes`) with the decision's status; a tracked one takes the status
/// and owner the decision changed, in its history. A fix belongs to one
/// root cause: naming it with another is refused (422).
#[utoipa::path(post, path = "/escalations/{key}/decision", tag = "escalations", request_body = NewDecision,
    params(("key" = String, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Escalation), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn decide_escalation(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
    if_match: IfMatch,
    Json(request): Json<NewDecision>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let key = parse_key(&key)?;
    let escalation = decide(&state, key, if_match.0, &request, &principal.actor()).await?;
    Ok(escalation_response(StatusCode::OK, escalation, &principal))
}

/// Checks `request`'s codes against the reference data, then records it on
/// `key` as `actor`.
pub(crate) async fn decide(
    state: &AppState,
    key: EscalationKey,
    if_match: Option<i64>,
    request: &NewDecision,
    actor: &Actor,
) -> ApiResult<Escalation> {
    let codes = request.codes();
    let checks = codes
        .outcomes
        .iter()
        .map(|(field, code)| (RefKind::Outcome, field.as_str(), *code))
        .chain(
            codes
                .policies
                .iter()
                .map(|(f, c)| (RefKind::Policy, *f, *c)),
        )
        .chain(
            codes
                .root_causes
                .iter()
                .map(|(f, c)| (RefKind::RootCause, *f, *c)),
        );
    for (kind, field, code) in checks {
        check_reference(state, kind, field, code).await?;
    }
    fixes::check_decision(state, request).await?;
    let now = state.clock.now();
    // The fix the decision replaces, as read by the attempt that saved.
    let before = Mutex::new(None);
    let decided = mutate(state, &Scope::Staff, key, if_match, |e| {
        let subjects: Vec<&str> = e
            .subjects
            .iter()
            .map(|s| s.normalized_key.as_str())
            .collect();
        let decision = request.validate(&subjects, &actor.name, now)?;
        *before.lock().expect("not poisoned") =
            e.decision.as_ref().and_then(|d| d.upstream_fix.clone());
        Ok(e.decide(decision, actor, now)?)
    })
    .await?;
    let before = before.into_inner().expect("not poisoned");
    fixes::follow_decision(state, &decided, before.as_ref(), actor).await;
    Ok(decided)
}
