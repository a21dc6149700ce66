//! `/api/v1/escalations/{key}/consults`: asking Legal, Public Policy,
//! Security… for input, and their answers.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use ombud_domain::consult::{NewConsult, Verdict};
use ombud_domain::{Actor, Escalation, EscalationKey, RefKind};
use ombud_store::Scope;
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
    let escalation = ask(&state, key, if_match.0, &request, &principal.actor()).await?;
    Ok(escalation_response(
        StatusCode::CREATED,
        escalation,
        &principal,
    ))
}

/// Opens consult `request` on `key` as `actor` (staff), once the function
/// is known to the reference data.
pub(crate) async fn ask(
    state: &AppState,
    key: EscalationKey,
    if_match: Option<i64>,
    request: &NewConsult,
    actor: &Actor,
) -> ApiResult<Escalation> {
    check_reference(
        state,
        RefKind::ConsultFunction,
        "function",
        &request.function,
    )
    .await?;
    let now = state.clock.now();
    mutate(state, &Scope::Staff, key, if_match, |e| {
        let (next, event) = e.request_consult(request, actor, now)?;
        Ok((next, vec![event]))
    })
    .await
}

/// Records the function's answer to consult `id` of `key`, given by `actor`.
pub(crate) async fn answer(
    state: &AppState,
    key: EscalationKey,
    if_match: Option<i64>,
    id: u32,
    answer: &ConsultAnswerRequest,
    actor: &Actor,
) -> ApiResult<Escalation> {
    let now = state.clock.now();
    mutate(state, &Scope::Staff, key, if_match, |e| {
        let (next, event) = e.answer_consult(id, answer.verdict, &answer.note, actor, now)?;
        Ok((next, vec![event]))
    })
    .await
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
    let escalation = self::answer(&state, key, if_match.0, id, &answer, &principal.actor()).await?;
    Ok(escalation_response(StatusCode::OK, escalation, &principal))
}
