//! `/api/v1/queues`, `/api/v1/agents`, `/api/v1/claim-next` and hand-offs:
//! who works which escalation.

use axum::Json as AxumJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ombud_domain::assignment::{AgentProfile, Queue, least_loaded};
use ombud_domain::{Actor, Escalation, EscalationPatch, Status};
use ombud_store::{Claim, ClaimQuery, EscalationFilter, Scope, SettingKind, StoreError};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal, etag};
use crate::routes::documents::{
    Document, codes, decode, get_response, list, list_response, put_response, with_etag,
};
use crate::routes::escalations::{mutate, not_found, parse_key};

impl Document for Queue {
    const KIND: SettingKind = SettingKind::Queue;

    fn code(&self) -> &str {
        &self.code
    }

    async fn check(&mut self, _: &AppState) -> ApiResult<()> {
        Ok(self.validate()?)
    }
}

impl Document for AgentProfile {
    const KIND: SettingKind = SettingKind::Agent;
    const CODE_FIELD: &'static str = "email";

    fn code(&self) -> &str {
        &self.email
    }

    async fn check(&mut self, state: &AppState) -> ApiResult<()> {
        let queues = codes(state, SettingKind::Queue).await?;
        let queues: Vec<&str> = queues.iter().map(String::as_str).collect();
        self.validate(&queues)?;
        let users = state.stores.directory.list_users().await?;
        if !users.iter().any(|u| u.email == self.email) {
            return Err(ApiError::field(
                "validation_failed",
                "email",
                format!("there is no user {:?}", self.email),
            ));
        }
        Ok(())
    }
}

/// List queues.
#[utoipa::path(get, path = "/queues", tag = "assignment", responses((status = 200, body = Vec<Queue>)))]
pub async fn list_queues(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_staff()?;
    list_response::<Queue>(&state).await
}

/// Create or replace a queue (with `If-Match`, only that version).
#[utoipa::path(put, path = "/queues/{code}", tag = "assignment", request_body = Queue,
    params(("code" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Queue), (status = 201, body = Queue), (status = 422, body = Problem)))]
pub async fn put_queue(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    if_match: IfMatch,
    Json(queue): Json<Queue>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    put_response(&state, &code, if_match, queue).await
}

/// List agent profiles.
#[utoipa::path(get, path = "/agents", tag = "assignment", responses((status = 200, body = Vec<AgentProfile>)))]
pub async fn list_agents(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_staff()?;
    list_response::<AgentProfile>(&state).await
}

/// Read an agent profile.
#[utoipa::path(get, path = "/agents/{email}", tag = "assignment", params(("email" = String, Path)),
    responses((status = 200, body = AgentProfile), (status = 404, body = Problem)))]
pub async fn get_agent(
    State(state): State<AppState>,
    principal: Principal,
    Path(email): Path<String>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    get_response::<AgentProfile>(&state, &email).await
}

/// Create or replace an agent profile: skills, capacity, absence.
#[utoipa::path(put, path = "/agents/{email}", tag = "assignment", request_body = AgentProfile,
    params(("email" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = AgentProfile), (status = 201, body = AgentProfile), (status = 422, body = Problem)))]
pub async fn put_agent(
    State(state): State<AppState>,
    principal: Principal,
    Path(email): Path<String>,
    if_match: IfMatch,
    Json(agent): Json<AgentProfile>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let away = agent.out_of_office;
    let response = put_response(&state, &email, if_match, agent).await?;
    if away {
        release_cases(&state, &email).await?;
    }
    Ok(response)
}

/// Every open escalation `email` holds.
async fn held_cases(state: &AppState, email: &str) -> ApiResult<Vec<Escalation>> {
    let mut filter = EscalationFilter {
        assignee: Some(Some(email.to_string())),
        statuses: Status::ALL.into_iter().filter(|s| s.is_open()).collect(),
        limit: 200,
        ..Default::default()
    };
    let mut held = Vec::new();
    loop {
        let page = state
            .stores
            .escalations
            .list(&filter, &Scope::Staff)
            .await?;
        held.extend(page.items);
        match page.next {
            Some(next) => filter.cursor = Some(next),
            None => return Ok(held),
        }
    }
}

/// An agent gone out of office hands their open cases back: each goes to
/// the least loaded colleague if its queue auto-assigns, else back to its
/// queue, unassigned, with a note saying why.
async fn release_cases(state: &AppState, email: &str) -> ApiResult<()> {
    for case in held_cases(state, email).await? {
        let note = format!("{email} is out of office");
        let released = mutate(state, &Scope::Staff, case.key, None, |e| {
            if e.assignee.as_deref() != Some(email) {
                return Ok((e.clone(), Vec::new()));
            }
            let (next, event) =
                e.hand_off(None, Some(&note), &Actor::system(), state.clock.now())?;
            Ok((next, vec![event]))
        })
        .await?;
        auto_assign(state, released).await?;
    }
    Ok(())
}

/// Who claims.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    /// The agent's email; their profile decides what they may take.
    pub agent: String,
}

/// Assign the best case this agent may take: eligible by skills, by
/// priority, then nearest deadline. 204 when there is none.
#[utoipa::path(post, path = "/claim-next", tag = "assignment", request_body = ClaimRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Escalation), (status = 204), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn claim_next(
    State(state): State<AppState>,
    principal: Principal,
    Json(request): Json<ClaimRequest>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    Ok(
        match claim_for(&state, &request.agent, principal.actor()).await? {
            Some(escalation) => {
                let version = escalation.version;
                let mut response = AxumJson(escalation).into_response();
                response.headers_mut().insert(
                    axum::http::header::ETAG,
                    etag(version).parse().expect("digits are a valid header"),
                );
                response
            }
            None => StatusCode::NO_CONTENT.into_response(),
        },
    )
}

/// Assigns the best case `agent` may take to them, acting as `actor`;
/// `None` if there is none. Refuses an agent with no profile, out of
/// office, or at capacity.
pub(crate) async fn claim_for(
    state: &AppState,
    agent: &str,
    actor: Actor,
) -> ApiResult<Option<Escalation>> {
    let agent: AgentProfile = match state.stores.settings.get(SettingKind::Agent, agent).await {
        Ok(stored) => decode(&stored)?,
        Err(StoreError::NotFound) => {
            return Err(ApiError::field(
                "validation_failed",
                "agent",
                format!("{agent:?} has no agent profile"),
            ));
        }
        Err(other) => return Err(other.into()),
    };
    if agent.out_of_office {
        return Err(ApiError::new(
            "conflict",
            format!("{} is out of office", agent.email),
        ));
    }
    let query = ClaimQuery {
        agent: agent.email.clone(),
        capacity: Some(agent.capacity),
        queues: agent.queues.clone(),
        languages: agent.languages.clone(),
        countries: agent.countries.clone(),
        types: agent.types.clone(),
        sensitive_media: agent.sensitive_media,
    };
    let (at, email) = (state.clock.now(), agent.email.clone());
    let claimed = state
        .stores
        .escalations
        .claim_next(
            &query,
            Box::new(move |current: &Escalation| {
                let patch = EscalationPatch {
                    assignee: Some(Some(email)),
                    ..Default::default()
                };
                current
                    .apply_patch(&patch, &actor, at)
                    .expect("an email the profile validated is a valid assignee")
            }),
        )
        .await?;
    match claimed {
        Claim::Assigned(escalation) => Ok(Some(*escalation)),
        Claim::NoneEligible => Ok(None),
        Claim::AtCapacity { held } => Err(ApiError::new(
            "conflict",
            format!(
                "{} holds {held} open escalations, their capacity",
                agent.email
            ),
        )),
    }
}

/// To whom, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOff {
    /// A colleague's email; `null` puts the case back in its queue.
    pub to: Option<String>,
    pub note: Option<String>,
}

/// Hand an escalation to a colleague (or back to its queue) with a note.
#[utoipa::path(post, path = "/escalations/{key}/handoff", tag = "assignment", request_body = HandOff,
    params(("key" = String, Path), ("If-Match" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Escalation), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn hand_off(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
    if_match: IfMatch,
    Json(request): Json<HandOff>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let expected = if_match.required()?;
    let key = parse_key(&key)?;
    let current = state
        .stores
        .escalations
        .get(key, &Scope::Staff)
        .await
        .map_err(not_found(key))?;
    let (next, event) = current.hand_off(
        request.to.as_deref(),
        request.note.as_deref(),
        &principal.actor(),
        state.clock.now(),
    )?;
    state
        .stores
        .escalations
        .save(&next, expected, &[event])
        .await?;
    Ok(with_etag(StatusCode::OK, next.version, next))
}

/// Gives a new escalation in an auto-assigning queue to the least loaded
/// eligible member; returns it as stored.
pub async fn auto_assign(state: &AppState, escalation: Escalation) -> ApiResult<Escalation> {
    let Some(queue) = &escalation.queue else {
        return Ok(escalation);
    };
    if !list::<Queue>(state)
        .await?
        .iter()
        .any(|q| &q.code == queue && q.auto_assign)
    {
        return Ok(escalation);
    }
    let mut loads = Vec::new();
    for agent in list::<AgentProfile>(state).await? {
        let open = state.stores.escalations.held_open(&agent.email).await?;
        loads.push((agent, open));
    }
    let Some(agent) = least_loaded(&loads, &escalation) else {
        return Ok(escalation);
    };
    let (next, event) = escalation.hand_off(
        Some(&agent.email),
        Some(&format!("auto-assigned from queue {queue}, least loaded")),
        &Actor::system(),
        state.clock.now(),
    )?;
    state
        .stores
        .escalations
        .save(&next, escalation.version, &[event])
        .await?;
    Ok(next)
}
