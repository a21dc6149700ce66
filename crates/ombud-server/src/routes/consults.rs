//! `/api/v1/escalations/{key}/consults`: asking Legal, Public Policy,
//! Security… for input, and their answers.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use ombud_domain::consult::{NewConsult, Verdict};
use ombud_domain::{Escalation, RefKind};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal};
use crate::routes::escalations::{check_reference, escalation_response, mutate, parse_key};

/// Ask a function for input, with a deadline; a required consult blocks
/// resolving until answered.
#[utoipa::path(post, path = "/escalations/{key}/consults", tag = "consults", request_body = NewConsult,
    params(("key" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Escalation), (status = 422, body = Problem)))]
pub async fn request_consult(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
    if_match: IfMatch,
    Json(request): Json<NewConsult>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let key = parse_key(&key)?;
    check_reference(
        &state,
        RefKind::ConsultFunction,
        "function",
        &request.function,
    )
    .await?;
    let (actor, now) = (principal.actor(), state.clock.now());
    let escalation = mutate(&state, &principal.scope(), key, if_match.0, |e| {
        let (next, event) = e.request_consult(&request, &actor, now)?;
        Ok((next, vec![event]))
    })
    .await?;
    Ok(escalation_response(
        StatusCode::CREATED,
        escalation,
        &principal,
    ))
}

/// A function's answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultAnswerRequest {
    pub verdict: Verdict,
    #[serde(default)]
    pub note: String,
}

/// Answer a consult: approve, object or advise, with a note.
#[utoipa::path(post, path = "/escalations/{key}/consults/{id}/answer", tag = "consults",
    request_body = ConsultAnswerRequest,
    params(("key" = String, Path), ("id" = u32, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Escalation), (status = 422, body = Problem)))]
pub async fn answer_consult(
    State(state): State<AppState>,
    principal: Principal,
    Path((key, id)): Path<(String, u32)>,
    if_match: IfMatch,
    Json(answer): Json<ConsultAnswerRequest>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let key = parse_key(&key)?;
    let (actor, now) = (principal.actor(), state.clock.now());
    let escalation = mutate(&state, &principal.scope(), key, if_match.0, |e| {
        let (next, event) = e.answer_consult(id, answer.verdict, &answer.note, &actor, now)?;
        Ok((next, vec![event]))
    })
    .await?;
    Ok(escalation_response(StatusCode::OK, escalation, &principal))
}
