//! `/api/v1/escalations`: intake, reading, listing and search, updates,
//! transitions, comments, subjects, evidence and the timeline.

use axum::Json as AxumJson;
use axum::body::Body;
use axum::extract::multipart::Field;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ombud_domain::emerging::segments::NONE;
use ombud_domain::{
    Actor, Escalation, EscalationDraft, EscalationKey, EscalationPatch, Evidence, NewEscalation,
    NewEvent, NewSubject, Partner, Priority, RefKind, Status, StoredEvent, Visibility, workflow,
};
use ombud_store::{Cursor, EscalationFilter, Scope, SortDirection, SortField, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal, etag};
use crate::routes::settings;

/// How often a mutation without `If-Match` is tried when other writes win.
const RETRIES: u32 = 8;

pub(crate) fn parse_key(key: &str) -> ApiResult<EscalationKey> {
    EscalationKey::parse(key).ok_or_else(|| ApiError::not_found(format!("escalation {key:?}")))
}

fn view(escalation: Escalation, principal: &Principal) -> Escalation {
    if principal.partner().is_some() {
        escalation.partner_view()
    } else {
        escalation
    }
}

/// A 200/201 with the escalation, its ETag and (for 201) its location.
pub(crate) fn escalation_response(
    status: StatusCode,
    escalation: Escalation,
    principal: &Principal,
) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag(escalation.version)).expect("digits are a valid header"),
    );
    if status == StatusCode::CREATED {
        let location = format!("/api/v1/escalations/{}", escalation.key);
        headers.insert(
            header::LOCATION,
            HeaderValue::from_str(&location).expect("keys are valid in a header"),
        );
    }
    (status, headers, AxumJson(view(escalation, principal))).into_response()
}

pub(crate) async fn check_reference(
    state: &AppState,
    kind: RefKind,
    field: &str,
    code: &str,
) -> ApiResult<()> {
    match state.stores.reference.get(kind, code).await {
        Ok(item) if item.active => Ok(()),
        Ok(_) => Err(ApiError::field(
            "validation_failed",
            field,
            format!("{code:?} is retired"),
        )),
        Err(StoreError::NotFound) => Err(ApiError::field(
            "validation_failed",
            field,
            format!(
                "unknown {} {code:?}; see /api/v1/reference/{}",
                kind.as_str(),
                kind.path()
            ),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn check_subject_surfaces(
    state: &AppState,
    escalation_subjects: &[&str],
    prefix: &str,
) -> ApiResult<()> {
    for (i, surface) in escalation_subjects.iter().enumerate() {
        check_reference(
            state,
            RefKind::Surface,
            &format!("{prefix}[{i}].surface"),
            surface,
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn check_assignee(state: &AppState, email: &str) -> ApiResult<()> {
    match state.stores.directory.user_credentials(email).await {
        Ok(c) if c.user.active && c.user.role.is_staff() => Ok(()),
        Ok(_) => Err(ApiError::field(
            "validation_failed",
            "assignee",
            format!("{email} is not an active staff user"),
        )),
        Err(StoreError::NotFound) => Err(ApiError::field(
            "validation_failed",
            "assignee",
            format!("no user {email}"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// File a new escalation.
#[utoipa::path(post, path = "/escalations", tag = "escalations", request_body = NewEscalation,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = Escalation), (status = 422, body = Problem), (status = 401, body = Problem)))]
pub async fn create_escalation(
    State(state): State<AppState>,
    principal: Principal,
    Json(new): Json<NewEscalation>,
) -> ApiResult<Response> {
    let partner = match (principal.partner(), new.partner.as_deref()) {
        (Some(own), Some(other)) if own != other => {
            return Err(ApiError::field(
                "validation_failed",
                "partner",
                "a partner token files only for its own partner",
            ));
        }
        (Some(own), _) => own.to_string(),
        (None, Some(slug)) => slug.to_string(),
        (None, None) => {
            return Err(ApiError::field(
                "validation_failed",
                "partner",
                "staff must name the reporting partner",
            ));
        }
    };
    let escalation = file(&state, &new, &partner, "api", &principal.actor()).await?;
    Ok(escalation_response(
        StatusCode::CREATED,
        escalation,
        &principal,
    ))
}

/// Files `new` for `partner`, received by `channel`: validation against the
/// reference data and what the partner may file, then `intake`.
pub(crate) async fn file(
    state: &AppState,
    new: &NewEscalation,
    partner: &str,
    channel: &str,
    actor: &Actor,
) -> ApiResult<Escalation> {
    let draft = new.validate(partner, channel, state.clock.now())?;
    check_reference(
        state,
        RefKind::EscalationType,
        "type",
        &draft.escalation_type,
    )
    .await?;
    let surfaces: Vec<&str> = new.subjects.iter().map(|s| s.surface.as_str()).collect();
    check_subject_surfaces(state, &surfaces, "subjects").await?;
    let reporter = match state.stores.directory.get_partner(partner).await {
        Ok(p) if !p.active => {
            return Err(ApiError::field(
                "validation_failed",
                "partner",
                format!("partner {partner} is inactive"),
            ));
        }
        Ok(p) if !p.may_file(&draft.escalation_type) => {
            return Err(ApiError::field(
                "validation_failed",
                "type",
                format!(
                    "partner {partner} may file only: {}",
                    p.allowed_types.join(", ")
                ),
            ));
        }
        Ok(p) => p,
        Err(StoreError::NotFound) => {
            return Err(ApiError::field(
                "validation_failed",
                "partner",
                format!("unknown partner {partner:?}"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    intake(state, draft, &reporter, actor, true).await
}

/// Everything a new escalation goes through after validation, whatever
/// channel it came by: score, routing and clocks, duplicate detection, the
/// store's create, links back to the duplicates, auto-assignment, and (when
/// `acknowledge`) the acknowledgement email.
pub(crate) async fn intake(
    state: &AppState,
    mut draft: EscalationDraft,
    reporter: &Partner,
    actor: &Actor,
    acknowledge: bool,
) -> ApiResult<Escalation> {
    let routing = settings::prepare_intake(state, &mut draft, reporter).await?;
    crate::routes::links::detect_duplicates(state, &mut draft).await?;
    let escalation = state
        .stores
        .escalations
        .create(draft, actor, state.clock.now())
        .await?;
    // The escalation is committed: what follows must not turn that into an
    // error answer (a client would retry and file it twice), so failures
    // are logged and the escalation is returned as it stands.
    if let Err(error) = crate::routes::links::link_back(state, &escalation, &Actor::system()).await
    {
        tracing::warn!(key = %escalation.key, ?error, "could not link back to likely duplicates");
    }
    let escalation = match crate::routes::assignment::auto_assign(state, escalation.clone()).await {
        Ok(assigned) => assigned,
        Err(error) => {
            tracing::warn!(key = %escalation.key, ?error, "could not auto-assign");
            escalation
        }
    };
    let escalation = crate::mail::notify(state, escalation, &routing.notify).await;
    Ok(if acknowledge {
        crate::mail::acknowledge(state, escalation, reporter).await
    } else {
        escalation
    })
}

/// Read one escalation.
#[utoipa::path(get, path = "/escalations/{key}", tag = "escalations",
    params(("key" = String, Path, example = "ESC-1042")),
    responses((status = 200, body = Escalation), (status = 404, body = Problem)))]
pub async fn get_escalation(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let key = parse_key(&key)?;
    let escalation = state
        .stores
        .escalations
        .get(key, &principal.scope())
        .await
        .map_err(not_found(key))?;
    Ok(escalation_response(StatusCode::OK, escalation, &principal))
}

/// Maps a store miss to "no such escalation".
/// One escalation and its timeline, as `scope` may see them.
pub(crate) async fn with_timeline(
    state: &AppState,
    key: EscalationKey,
    scope: &Scope,
) -> ApiResult<(Escalation, Vec<StoredEvent>)> {
    let escalations = &state.stores.escalations;
    let escalation = escalations.get(key, scope).await.map_err(not_found(key))?;
    let timeline = escalations
        .timeline(key, scope)
        .await
        .map_err(not_found(key))?;
    Ok((escalation, timeline))
}

pub(crate) fn not_found(key: EscalationKey) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::not_found(format!("escalation {key}")),
        other => other.into(),
    }
}

/// Query parameters of the escalation list (each list filter accepts
/// repeated parameters or comma-separated values).
#[derive(Debug, Deserialize, IntoParams)]
#[allow(dead_code)] // Documents the parameters; parsing is done by `parse_filter`.
struct ListParams {
    status: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    escalation_type: Option<String>,
    priority: Option<String>,
    partner: Option<String>,
    /// A user's email, or `none` for unassigned.
    assignee: Option<String>,
    queue: Option<String>,
    /// `true`: only escalations with a consult still waiting for its answer.
    awaiting_consult: Option<bool>,
    country: Option<String>,
    language: Option<String>,
    /// The product surface of the first subject; `(none)`: no subjects.
    surface: Option<String>,
    /// The policy of the decision; `(none)`: undecided, or decided without one.
    policy: Option<String>,
    /// All given tags must be present.
    tag: Option<String>,
    created_after: Option<String>,
    created_before: Option<String>,
    /// When the report reached the partner (`received_at`): at or after.
    received_after: Option<String>,
    /// When the report reached the partner: before.
    received_before: Option<String>,
    updated_after: Option<String>,
    updated_before: Option<String>,
    /// Free text in any language.
    q: Option<String>,
    /// `created_at`, `updated_at`, `priority`, `key`, `due_at` (nearest deadline
    /// first, none last) or `relevance`; `-` for descending.
    sort: Option<String>,
    /// 1 to 200, default 50.
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationPage {
    pub items: Vec<Escalation>,
    pub next_cursor: Option<String>,
}

fn bad_query(param: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::field("bad_query", param, message.to_string())
}

pub(crate) fn parse_filter(query: Option<&str>) -> ApiResult<EscalationFilter> {
    let mut filter = EscalationFilter {
        limit: 50,
        ..Default::default()
    };
    let mut sort: Option<String> = None;
    let values = |v: &str| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let time = |param: &str, v: &str| {
        v.parse::<Timestamp>()
            .map_err(|e| bad_query(param, format!("{v:?} is not an RFC 3339 time: {e}")))
    };
    // `(none)` asks for the escalations without a value.
    let or_none = |v: String| (v != NONE).then_some(v);
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let (name, value) = (name.as_ref(), value.as_ref());
        match name {
            "status" => {
                for v in values(value) {
                    let known = Status::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    filter.statuses.push(Status::parse(&v).ok_or_else(|| {
                        bad_query(name, format!("unknown status {v:?}; known: {known}"))
                    })?);
                }
            }
            "priority" => {
                for v in values(value) {
                    filter.priorities.push(
                        Priority::parse(&v)
                            .ok_or_else(|| bad_query(name, format!("{v:?} is not P0-P4")))?,
                    );
                }
            }
            "type" => filter.types.extend(values(value)),
            "partner" => filter.partners.extend(values(value)),
            "country" => filter
                .countries
                .extend(values(value).into_iter().map(|c| c.to_ascii_uppercase())),
            "language" => filter.languages.extend(values(value)),
            "surface" => filter
                .surfaces
                .extend(values(value).into_iter().map(or_none)),
            "policy" => filter
                .policies
                .extend(values(value).into_iter().map(or_none)),
            "tag" => filter.tags.extend(values(value)),
            "assignee" => {
                filter.assignee = Some(if value == "none" {
                    None
                } else {
                    Some(value.trim().to_lowercase())
                });
            }
            "queue" => filter.queue = Some(value.to_string()),
            "awaiting_consult" => {
                filter.awaiting_consult = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad_query(name, "must be true or false")),
                }
            }
            "created_after" => filter.created_from = Some(time(name, value)?),
            "created_before" => filter.created_to = Some(time(name, value)?),
            "received_after" => filter.received_from = Some(time(name, value)?),
            "received_before" => filter.received_to = Some(time(name, value)?),
            "updated_after" => filter.updated_from = Some(time(name, value)?),
            "updated_before" => filter.updated_to = Some(time(name, value)?),
            "q" => filter.q = Some(value.to_string()).filter(|q| !q.trim().is_empty()),
            "sort" => sort = Some(value.to_string()),
            "limit" => {
                filter.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=200).contains(n))
                    .ok_or_else(|| bad_query(name, "must be a whole number from 1 to 200"))?;
            }
            "cursor" => {
                filter.cursor = Some(
                    Cursor::decode(value)
                        .ok_or_else(|| bad_query(name, "not a cursor this server issued"))?,
                )
            }
            other => return Err(bad_query(other, format!("unknown parameter {other:?}"))),
        }
    }
    let sort = sort.unwrap_or_else(|| {
        if filter.q.is_some() {
            "relevance"
        } else {
            "-created_at"
        }
        .to_string()
    });
    let (direction, field) = match sort.strip_prefix('-') {
        Some(field) => (SortDirection::Desc, field),
        None => (SortDirection::Asc, sort.as_str()),
    };
    filter.direction = direction;
    filter.sort = SortField::parse(field).ok_or_else(|| {
        bad_query(
            "sort",
            "sort by created_at, updated_at, priority, key, due_at or relevance (prefix - for descending)",
        )
    })?;
    if filter.sort == SortField::Relevance && filter.q.is_none() {
        return Err(bad_query("sort", "relevance needs a search text q"));
    }
    if let Some(cursor) = filter.cursor
        && matches!(cursor, Cursor::Offset(_)) != (filter.sort == SortField::Relevance)
    {
        return Err(bad_query(
            "cursor",
            "this cursor belongs to another sort order",
        ));
    }
    Ok(filter)
}

/// List, filter and search escalations.
#[utoipa::path(get, path = "/escalations", tag = "escalations", params(ListParams),
    responses((status = 200, body = EscalationPage), (status = 400, body = Problem)))]
pub async fn list_escalations(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let filter = parse_filter(query.as_deref())?;
    let page = state
        .stores
        .escalations
        .list(&filter, &principal.scope())
        .await?;
    let next_cursor = page.next.map(|c| c.encode());
    let headers = next_link(
        "/api/v1/escalations",
        query.as_deref(),
        next_cursor.as_deref(),
    );
    let items = page
        .items
        .into_iter()
        .map(|e| view(e, &principal))
        .collect();
    Ok((headers, AxumJson(EscalationPage { items, next_cursor })).into_response())
}

/// The `Link: <…>; rel="next"` header of a list page: the same query with
/// the next page's cursor, when there is one.
pub(crate) fn next_link(path: &str, query: Option<&str>, cursor: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(cursor) = cursor {
        let params = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .filter(|(k, _)| k != "cursor")
            .chain([("cursor".into(), cursor.into())]);
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        if let Ok(link) = HeaderValue::from_str(&format!("<{path}?{query}>; rel=\"next\"")) {
            headers.insert(header::LINK, link);
        }
    }
    headers
}

/// Reads the escalation, applies `change`, and saves; without `If-Match`
/// retries when another writer got there first, with it answers 412.
pub(crate) async fn mutate<F>(
    state: &AppState,
    scope: &Scope,
    key: EscalationKey,
    if_match: Option<i64>,
    change: F,
) -> ApiResult<Escalation>
where
    F: Fn(&Escalation) -> ApiResult<(Escalation, Vec<NewEvent>)>,
{
    for attempt in 0..RETRIES {
        let current = state
            .stores
            .escalations
            .get(key, scope)
            .await
            .map_err(not_found(key))?;
        if let Some(expected) = if_match
            && expected != current.version
        {
            return Err(ApiError::new(
                "version_mismatch",
                format!(
                    "{key} is at version {}, not {expected}; read it again and retry",
                    current.version
                ),
            ));
        }
        let (next, events) = change(&current)?;
        if events.is_empty() {
            return Ok(current);
        }
        match state
            .stores
            .escalations
            .save(&next, current.version, &events)
            .await
        {
            Ok(()) => return Ok(next),
            Err(StoreError::VersionConflict { .. }) if if_match.is_none() => {
                // Back off a random while, doubling each time, so that a
                // crowd writing to one escalation (a burst of duplicates
                // linking back to it) spreads out instead of colliding again.
                let ceiling_us = 1000_u64 << attempt.min(6);
                let pause = rand::random_range(0..ceiling_us);
                tokio::time::sleep(std::time::Duration::from_micros(pause)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        "conflict",
        format!("{key} is changing too fast; retry"),
    ))
}

/// [`mutate`] for changes the workflow follows up: in the same save, the
/// routing rules that have not fired yet run, and the score and the clocks
/// follow what changed; then the staff the rules asked to tell are told.
pub(crate) async fn mutate_routed<F>(
    state: &AppState,
    scope: &Scope,
    key: EscalationKey,
    if_match: Option<i64>,
    change: F,
) -> ApiResult<Escalation>
where
    F: Fn(&Escalation) -> ApiResult<(Escalation, Vec<NewEvent>)>,
{
    // Most changes (an assignee, a comment) touch nothing the rules read:
    // only those that do load the settings and the partner.
    let current = state
        .stores
        .escalations
        .get(key, scope)
        .await
        .map_err(not_found(key))?;
    let routed =
        change(&current).is_ok_and(|(next, _)| workflow::routing_inputs_changed(&current, &next));
    let routing = match routed {
        true => Some((
            settings::workflow(state).await?,
            state.stores.directory.get_partner(&current.partner).await?,
        )),
        false => None,
    };
    let now = state.clock.now();
    let notify = std::sync::Mutex::new(Vec::new());
    let escalation = mutate(state, scope, key, if_match, |current| {
        let (mut next, mut events) = change(current)?;
        if let Some((workflow, partner)) = &routing
            && !events.is_empty()
        {
            let follow_up = workflow
                .follow_up(current, &mut next, partner, now)
                .map_err(ApiError::internal)?;
            events.extend(follow_up.events);
            *notify.lock().expect("never held across a panic") = follow_up.notify;
        }
        Ok((next, events))
    })
    .await?;
    let notify = notify.into_inner().expect("never held across a panic");
    Ok(crate::mail::notify(state, escalation, &notify).await)
}

/// Change fields of an escalation (`If-Match` required).
#[utoipa::path(patch, path = "/escalations/{key}", tag = "escalations", request_body = EscalationPatch,
    params(("key" = String, Path), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Escalation), (status = 412, body = Problem), (status = 428, body = Problem)))]
pub async fn update_escalation(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
    if_match: IfMatch,
    Json(patch): Json<EscalationPatch>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let key = parse_key(&key)?;
    let version = if_match.required()?;
    if let Some(t) = &patch.escalation_type {
        check_reference(&state, RefKind::EscalationType, "type", t).await?;
    }
    if let Some(Some(email)) = &patch.assignee {
        check_assignee(&state, &email.trim().to_lowercase()).await?;
    }
    let (actor, now) = (principal.actor(), state.clock.now());
    let escalation = mutate_routed(&state, &principal.scope(), key, Some(version), |e| {
        Ok(e.apply_patch(&patch, &actor, now)?)
    })
    .await?;
    Ok(escalation_response(StatusCode::OK, escalation, &principal))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// The status to move to.
    #[schema(example = "investigating")]
    pub to: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Move an escalation through its lifecycle. Resolving is refused here (422
/// `decision_required`): `POST …/decision` resolves, recording the decision.
#[utoipa::path(post, path = "/escalations/{key}/transitions", tag = "escalations", request_body = TransitionRequest,
    params(("key" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Escalation), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn transition_escalation(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
    if_match: IfMatch,
    Json(request): Json<TransitionRequest>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let key = parse_key(&key)?;
    let to = Status::parse(&request.to).ok_or_else(|| {
        let known = Status::ALL
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        ApiError::field(
            "validation_failed",
            "to",
            format!("unknown status {:?}; known: {known}", request.to),
        )
    })?;
    if to == Status::Resolved {
        return Err(ApiError::field(
            "decision_required",
            "to",
            format!(
                "resolve with POST /api/v1/escalations/{key}/decision, which records the outcome, \
                 the policy and the root cause"
            ),
        ));
    }
    let reason = match request.reason.as_deref() {
        Some(r) => Some(ombud_domain::validation::text("reason", r, 1, 2000)?),
        None => None,
    };
    let (actor, now) = (principal.actor(), state.clock.now());
    let escalation = mutate(&state, &principal.scope(), key, if_match.0, |e| {
        let (next, event) = e.transition(to, reason.as_deref(), &actor, now)?;
        Ok((next, vec![event]))
    })
    .await?;
    Ok(escalation_response(StatusCode::OK, escalation, &principal))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    pub body: String,
    /// `internal` (staff only) or `partner`.
    #[schema(example = "internal")]
    pub visibility: String,
}

/// Comment on an escalation: an internal note or a message to the partner.
#[utoipa::path(post, path = "/escalations/{key}/comments", tag = "escalations", request_body = CommentRequest,
    params(("key" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Escalation), (status = 422, body = Problem)))]
pub async fn comment_escalation(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
    if_match: IfMatch,
    Json(request): Json<CommentRequest>,
) -> ApiResult<Response> {
    let key = parse_key(&key)?;
    let visibility = Visibility::parse(&request.visibility).ok_or_else(|| {
        ApiError::field(
            "validation_failed",
            "visibility",
            format!("{:?} is neither internal nor partner", request.visibility),
        )
    })?;
    if principal.partner().is_some() && visibility != Visibility::Partner {
        return Err(ApiError::field(
            "validation_failed",
            "visibility",
            "partners may only post partner-visible comments",
        ));
    }
    let (actor, now) = (principal.actor(), state.clock.now());
    let escalation = mutate(&state, &principal.scope(), key, if_match.0, |e| {
        let (next, event) = e.comment(&request.body, visibility, &actor, now)?;
        Ok((next, vec![event]))
    })
    .await?;
    Ok(escalation_response(
        StatusCode::CREATED,
        escalation,
        &principal,
    ))
}

/// Add a subject to an escalation.
#[utoipa::path(post, path = "/escalations/{key}/subjects", tag = "escalations", request_body = NewSubject,
    params(("key" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Escalation), (status = 422, body = Problem)))]
pub async fn add_subject(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
    if_match: IfMatch,
    Json(subject): Json<NewSubject>,
) -> ApiResult<Response> {
    let key = parse_key(&key)?;
    let escalation = add_subject_as(
        &state,
        &principal.scope(),
        key,
        if_match.0,
        &subject,
        &principal.actor(),
    )
    .await?;
    Ok(escalation_response(
        StatusCode::CREATED,
        escalation,
        &principal,
    ))
}

/// Adds `subject` to `key` as `actor`, once its surface is known; the
/// routing rules run again, since they read subjects.
pub(crate) async fn add_subject_as(
    state: &AppState,
    scope: &Scope,
    key: EscalationKey,
    if_match: Option<i64>,
    subject: &NewSubject,
    actor: &Actor,
) -> ApiResult<Escalation> {
    check_subject_surfaces(state, &[subject.surface.as_str()], "subjects")
        .await
        .map_err(|mut e| {
            for f in &mut e.errors {
                f.field = "surface".into();
            }
            e
        })?;
    let now = state.clock.now();
    mutate_routed(state, scope, key, if_match, |e| {
        let (next, event) = e.add_subject(subject, actor, now)?;
        Ok((next, vec![event]))
    })
    .await
}

/// Media types whose content must match what the uploader declared.
fn must_match(declared: &str) -> bool {
    ["image/", "video/", "audio/"]
        .iter()
        .any(|p| declared.starts_with(p))
        || declared == "application/pdf"
}

fn media_matches(declared: &str, sniffed: Option<&str>) -> bool {
    if !must_match(declared) {
        return true;
    }
    let Some(sniffed) = sniffed else { return false };
    if declared == "application/pdf" {
        return sniffed == "application/pdf";
    }
    declared.split('/').next() == sniffed.split('/').next()
}

/// An evidence file as uploaded, with what the form said about it.
pub(crate) struct Upload {
    pub bytes: axum::body::Bytes,
    pub filename: String,
    /// The media type the uploader declared.
    pub declared: String,
    pub sensitive: bool,
    /// As the form asked; the caller decides what a missing one means.
    pub visibility: Option<Visibility>,
    /// A web form's anti-forgery token (`csrf`), checked by its handler.
    pub form_token: Option<String>,
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        "payload_too_large",
        format!("evidence files may be at most {max} bytes"),
    )
}

/// The next part of a multipart body, or `None` at its end.
pub(crate) async fn next_part(
    multipart: &mut Multipart,
    max: usize,
) -> ApiResult<Option<Field<'_>>> {
    match multipart.next_field().await {
        Ok(field) => Ok(field),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large(max)),
        Err(e) => Err(ApiError::new(
            "bad_request",
            format!("malformed multipart body: {}", e.body_text()),
        )),
    }
}

/// The text of a multipart part that is not a file.
pub(crate) async fn part_text(field: Field<'_>) -> ApiResult<String> {
    field
        .text()
        .await
        .map_err(|e| ApiError::new("bad_request", e.body_text()))
}

/// Reads a file part: `None` for the empty part a browser sends when no
/// file was chosen; refused when empty or larger than `max`.
pub(crate) async fn read_file_part(field: Field<'_>, max: usize) -> ApiResult<Option<Upload>> {
    let filename = field.file_name().unwrap_or("evidence").to_string();
    let declared = field
        .content_type()
        .unwrap_or("application/octet-stream")
        .to_ascii_lowercase();
    let bytes = field.bytes().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(max)
        } else {
            ApiError::new("bad_request", e.body_text())
        }
    })?;
    if bytes.is_empty() && filename.is_empty() {
        return Ok(None);
    }
    if bytes.len() > max {
        return Err(too_large(max));
    }
    let filename = ombud_domain::validation::text("file", &filename, 1, 255)?;
    if bytes.is_empty() {
        return Err(ApiError::field(
            "validation_failed",
            "file",
            format!("{filename} is empty"),
        ));
    }
    Ok(Some(Upload {
        bytes,
        filename,
        declared,
        sensitive: false,
        visibility: None,
        form_token: None,
    }))
}

/// Reads `true` or `false`, as the `sensitive` part says it.
pub(crate) fn parse_flag(field: &str, text: &str) -> ApiResult<bool> {
    match text.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(ApiError::field(
            "validation_failed",
            field,
            format!("{other:?} is neither true nor false"),
        )),
    }
}

/// Reads an evidence upload: `file`, and optionally `sensitive`,
/// `visibility` and a web form's `csrf`.
pub(crate) async fn read_upload(mut multipart: Multipart, max: usize) -> ApiResult<Upload> {
    let mut file = None;
    let (mut sensitive, mut visibility, mut form_token) = (false, None, None);
    while let Some(field) = next_part(&mut multipart, max).await? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => file = read_file_part(field, max).await?,
            "sensitive" => sensitive = parse_flag("sensitive", &part_text(field).await?)?,
            "visibility" => {
                let text = part_text(field).await?;
                visibility = Some(Visibility::parse(text.trim()).ok_or_else(|| {
                    ApiError::field(
                        "validation_failed",
                        "visibility",
                        format!("{text:?} is neither internal nor partner"),
                    )
                })?);
            }
            "csrf" => form_token = Some(part_text(field).await?),
            other => {
                return Err(ApiError::field(
                    "validation_failed",
                    other,
                    "unknown multipart field; send file, sensitive, visibility",
                ));
            }
        }
    }
    let file = file.ok_or_else(|| {
        ApiError::field(
            "validation_failed",
            "file",
            "attach the evidence as a part named file",
        )
    })?;
    Ok(Upload {
        sensitive,
        visibility,
        form_token,
        ..file
    })
}

/// Upload an evidence file (multipart: `file`, optional `sensitive`, `visibility`).
#[utoipa::path(post, path = "/escalations/{key}/evidence", tag = "escalations",
    request_body(content_type = "multipart/form-data", description = "A part `file`; optional `sensitive` (true/false) and `visibility` (internal/partner)"),
    params(("key" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Escalation), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn upload_evidence(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
    multipart: Multipart,
) -> ApiResult<Response> {
    let key = parse_key(&key)?;
    state
        .stores
        .escalations
        .get(key, &principal.scope())
        .await
        .map_err(not_found(key))?;
    let upload = read_upload(multipart, state.config.max_upload_bytes).await?;
    let visibility = match (principal.partner(), upload.visibility) {
        (Some(_), Some(Visibility::Internal)) => {
            return Err(ApiError::field(
                "validation_failed",
                "visibility",
                "partners may only upload partner-visible evidence",
            ));
        }
        (Some(_), _) => Visibility::Partner,
        (None, v) => v.unwrap_or(Visibility::Internal),
    };
    let escalation = attach(
        &state,
        key,
        &principal.scope(),
        upload,
        visibility,
        &principal.actor(),
    )
    .await?;
    Ok(escalation_response(
        StatusCode::CREATED,
        escalation,
        &principal,
    ))
}

/// The media type recognised in `upload`'s content, once it is what the
/// upload declared (images, video, audio and PDF must match).
pub(crate) fn checked_media_type(upload: &Upload) -> ApiResult<Option<String>> {
    let sniffed = infer::get(&upload.bytes).map(|t| t.mime_type().to_string());
    if media_matches(&upload.declared, sniffed.as_deref()) {
        Ok(sniffed)
    } else {
        Err(ApiError::field(
            "media_type_mismatch",
            "file",
            format!(
                "{}: declared {} but the content is {}",
                upload.filename,
                upload.declared,
                sniffed.as_deref().unwrap_or("not recognisable")
            ),
        ))
    }
}

/// Stores `upload`'s bytes and describes them as evidence (its id is given
/// when it is added to an escalation).
pub(crate) async fn store_evidence(
    state: &AppState,
    upload: Upload,
    visibility: Visibility,
    actor: &Actor,
) -> ApiResult<Evidence> {
    let sniffed_type = checked_media_type(&upload)?;
    let size = i64::try_from(upload.bytes.len()).unwrap_or(i64::MAX);
    let sha256 = state.stores.blobs.put(upload.bytes).await?;
    Ok(Evidence {
        id: String::new(),
        sha256,
        filename: upload.filename,
        size,
        declared_type: upload.declared,
        sniffed_type,
        sensitive: upload.sensitive,
        visibility,
        uploaded_by: actor.id.clone(),
        uploaded_at: state.clock.now(),
    })
}

/// Stores `upload` as evidence of `key` with `visibility`, once its content
/// is what it was declared to be.
pub(crate) async fn attach(
    state: &AppState,
    key: EscalationKey,
    scope: &Scope,
    upload: Upload,
    visibility: Visibility,
    actor: &Actor,
) -> ApiResult<Escalation> {
    let evidence = store_evidence(state, upload, visibility, actor).await?;
    let now = evidence.uploaded_at;
    mutate(state, scope, key, None, |e| {
        let (next, event) = e.add_evidence(evidence.clone(), actor, now);
        Ok((next, vec![event]))
    })
    .await
}

/// Download an evidence file.
#[utoipa::path(get, path = "/escalations/{key}/evidence/{id}", tag = "escalations",
    params(("key" = String, Path), ("id" = String, Path, example = "ev-1")),
    responses((status = 200, description = "The file, as an attachment"), (status = 404, body = Problem)))]
pub async fn download_evidence(
    State(state): State<AppState>,
    principal: Principal,
    Path((key, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let key = parse_key(&key)?;
    let escalation = view(
        state
            .stores
            .escalations
            .get(key, &principal.scope())
            .await
            .map_err(not_found(key))?,
        &principal,
    );
    evidence_response(&state, &escalation, &id, "attachment").await
}

/// The bytes of evidence `id`, typed by what they were recognised as (never
/// by what the uploader declared), with `disposition` (`attachment`, or
/// `inline` for the console to show media on its own pages).
pub(crate) async fn evidence_response(
    state: &AppState,
    escalation: &Escalation,
    id: &str,
    disposition: &str,
) -> ApiResult<Response> {
    let evidence = escalation
        .evidence
        .iter()
        .find(|e| e.id == id)
        .ok_or_else(|| ApiError::not_found(format!("evidence {id}")))?;
    let bytes = state.stores.blobs.get(&evidence.sha256).await?;
    let media_type = evidence
        .sniffed_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    let disposition = format!(
        "{disposition}; filename=\"{}\"",
        evidence.filename.replace(['"', '\\', '\r', '\n'], "_")
    );
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(media_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// The timeline: every event in order (partners see only partner-visible ones).
#[utoipa::path(get, path = "/escalations/{key}/timeline", tag = "escalations", params(("key" = String, Path)),
    responses((status = 200, body = Vec<StoredEvent>), (status = 404, body = Problem)))]
pub async fn get_timeline(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let key = parse_key(&key)?;
    let events = state
        .stores
        .escalations
        .timeline(key, &principal.scope())
        .await
        .map_err(not_found(key))?;
    Ok(AxumJson(events).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parameters_parse_and_refuse_unknowns() {
        let f = parse_filter(Some(
            "status=new,triaged&status=resolved&priority=p1&assignee=none&sort=priority&limit=10",
        ))
        .unwrap();
        assert_eq!(f.statuses, [Status::New, Status::Triaged, Status::Resolved]);
        assert_eq!(f.priorities, [Priority::P1]);
        assert_eq!(f.assignee, Some(None));
        assert_eq!(
            (f.sort, f.direction, f.limit),
            (SortField::Priority, SortDirection::Asc, 10)
        );
        assert_eq!(
            parse_filter(Some("colour=red")).unwrap_err().errors[0].field,
            "colour"
        );
        assert_eq!(
            parse_filter(Some("limit=500")).unwrap_err().code,
            "bad_query"
        );
        assert_eq!(
            parse_filter(Some("status=open")).unwrap_err().errors[0].field,
            "status"
        );
        assert_eq!(
            parse_filter(Some("sort=relevance")).unwrap_err().errors[0].field,
            "sort"
        );
        assert_eq!(
            parse_filter(Some("q=詐欺")).unwrap().sort,
            SortField::Relevance
        );
    }

    #[test]
    fn declared_media_must_match_the_content_for_media_and_pdf() {
        assert!(media_matches("image/png", Some("image/jpeg")));
        assert!(!media_matches(
            "image/png",
            Some("application/x-executable")
        ));
        assert!(!media_matches("image/png", None));
        assert!(media_matches("text/plain", None));
        assert!(!media_matches("application/pdf", Some("application/zip")));
    }
}
