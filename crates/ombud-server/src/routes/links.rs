//! Links between escalations: likely duplicates found on intake, links
//! people make, and merging a duplicate into the case it duplicates (both
//! timelines stay whole).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use ombud_domain::links::{LinkKind, TEXT_WINDOW, likely_duplicates};
use ombud_domain::{Actor, Escalation, EscalationDraft, EscalationKey, Status};
use ombud_store::{EscalationFilter, Scope, StoreError};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal};
use crate::routes::escalations::{escalation_response, mutate, parse_key};

/// Escalations compared with a new one: those sharing a subject, and the
/// same partner's of the last week.
const CANDIDATES: u32 = 25;
/// Likely duplicates linked on intake, newest first: enough to point at the
/// cluster without writing to every case about a viral subject.
const MAX_LINKED: usize = 5;
/// Of those, how many get the inverse link: the newest, which chains a
/// cluster together at the cost of one extra write per intake.
const LINKED_BACK: usize = 1;

/// Links the likely duplicates of `draft` to it (as `possible_duplicate`).
pub async fn detect_duplicates(state: &AppState, draft: &mut EscalationDraft) -> ApiResult<()> {
    let subject_keys: Vec<String> = draft
        .subjects
        .iter()
        .map(|s| s.normalized_key.clone())
        .collect();
    let mut candidates: Vec<Escalation> = Vec::new();
    for key in state
        .stores
        .escalations
        .sharing_subjects(&subject_keys, 20)
        .await?
    {
        candidates.push(state.stores.escalations.get(key, &Scope::Staff).await?);
    }
    let recent = EscalationFilter {
        partners: vec![draft.partner.clone()],
        created_from: draft.received_at.checked_sub(TEXT_WINDOW).ok(),
        limit: CANDIDATES,
        ..Default::default()
    };
    for escalation in state
        .stores
        .escalations
        .list(&recent, &Scope::Staff)
        .await?
        .items
    {
        if !candidates.iter().any(|c| c.key == escalation.key) {
            candidates.push(escalation);
        }
    }
    let at = draft.received_at;
    let mut found = likely_duplicates(draft, &candidates);
    found.sort_by_key(|(key, _)| std::cmp::Reverse(*key));
    found.truncate(MAX_LINKED);
    draft.links = found
        .into_iter()
        .map(|(key, reason)| ombud_domain::links::Link {
            kind: LinkKind::PossibleDuplicate,
            key,
            reason,
            at,
        })
        .collect();
    Ok(())
}

/// Adds the inverse of the newest of `escalation`'s links to the other end.
pub async fn link_back(state: &AppState, escalation: &Escalation, actor: &Actor) -> ApiResult<()> {
    for link in escalation.links.iter().take(LINKED_BACK) {
        add_link(
            state,
            link.key,
            link.kind.inverse(),
            escalation.key,
            &link.reason,
            actor,
        )
        .await?;
    }
    Ok(())
}

async fn add_link(
    state: &AppState,
    on: EscalationKey,
    kind: LinkKind,
    to: EscalationKey,
    reason: &str,
    actor: &Actor,
) -> ApiResult<Escalation> {
    let now = state.clock.now();
    mutate(state, &Scope::Staff, on, None, |e| {
        if e.links.iter().any(|l| l.key == to && l.kind == kind) {
            return Ok((e.clone(), Vec::new()));
        }
        let (next, event) = e.link(kind, to, reason, actor, now)?;
        Ok((next, vec![event]))
    })
    .await
}

/// A link to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    pub kind: LinkKind,
    #[schema(example = "ESC-1042")]
    pub to: String,
    #[serde(default)]
    pub note: String,
}

async fn existing(state: &AppState, key: &str) -> ApiResult<EscalationKey> {
    let key = parse_key(key)?;
    match state.stores.escalations.get(key, &Scope::Staff).await {
        Ok(_) => Ok(key),
        Err(StoreError::NotFound) => Err(ApiError::field(
            "validation_failed",
            "to",
            format!("there is no escalation {key}"),
        )),
        Err(other) => Err(other.into()),
    }
}

/// Link two escalations; the other end gets the inverse link.
#[utoipa::path(post, path = "/escalations/{key}/links", tag = "links", request_body = LinkRequest,
    params(("key" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Escalation), (status = 422, body = Problem)))]
pub async fn link_escalations(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
    Json(request): Json<LinkRequest>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let key = parse_key(&key)?;
    let linked = link(&state, key, &request, &principal.actor()).await?;
    Ok(escalation_response(StatusCode::CREATED, linked, &principal))
}

/// Links `key` to the escalation `request` names, and that one back.
pub(crate) async fn link(
    state: &AppState,
    key: EscalationKey,
    request: &LinkRequest,
    actor: &Actor,
) -> ApiResult<Escalation> {
    let to = existing(state, &request.to).await?;
    let now = state.clock.now();
    let linked = mutate(state, &Scope::Staff, key, None, |e| {
        let (next, event) = e.link(request.kind, to, &request.note, actor, now)?;
        Ok((next, vec![event]))
    })
    .await?;
    add_link(state, to, request.kind.inverse(), key, &request.note, actor).await?;
    Ok(linked)
}

/// Which case this one duplicates.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    #[schema(example = "ESC-1042")]
    pub into: String,
    #[serde(default)]
    pub note: String,
}

/// Merge a duplicate into the case it duplicates: it is linked as
/// `duplicate_of` and resolved (if still open); the other gets
/// `has_duplicate`. Both keep their timelines.
#[utoipa::path(post, path = "/escalations/{key}/merge", tag = "links", request_body = MergeRequest,
    params(("key" = String, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Escalation), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn merge_escalation(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
    if_match: IfMatch,
    Json(request): Json<MergeRequest>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let key = parse_key(&key)?;
    let into = existing(&state, &request.into).await?;
    let (actor, now) = (principal.actor(), state.clock.now());
    let reason = format!("merged into {into}");
    let merged = mutate(&state, &principal.scope(), key, if_match.0, |e| {
        let (mut next, event) = e.link(LinkKind::DuplicateOf, into, &request.note, &actor, now)?;
        let mut events = vec![event];
        if next.status.allowed_next().contains(&Status::Resolved) {
            let (resolved, transition) =
                next.transition(Status::Resolved, Some(&reason), &actor, now)?;
            next = resolved;
            events.push(transition);
        }
        Ok((next, events))
    })
    .await?;
    add_link(
        &state,
        into,
        LinkKind::HasDuplicate,
        key,
        &request.note,
        &actor,
    )
    .await?;
    Ok(escalation_response(StatusCode::OK, merged, &principal))
}
