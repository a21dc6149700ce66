//! `/api/v1/fixes`: upstream fixes as tracked records (`ombud_domain::fix`),
//! kept as settings documents of kind `fix`. Decisions create and move them
//! (`check_decision` before the decision is saved, `follow_decision` after);
//! staff change their status and owner here, each change in the history.
//!
//! Any staff member may change a fix, agents included: an agent already
//! moves a fix's status by recording a decision that names it, so a direct
//! change gives no further power, and the history says who did what when.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use ombud_domain::decision::{NewDecision, UpstreamFix};
use ombud_domain::fix::{Fix, FixUpdate};
use ombud_domain::{Actor, Escalation};
use ombud_store::{Expect, SettingKind, StoreError};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal};
use crate::routes::documents::{
    Document, decode, get_response, list, list_response, not_found, with_etag,
};

/// Attempts at a read-change-write of one fix before giving up.
const RETRIES: usize = 8;

impl Document for Fix {
    const KIND: SettingKind = SettingKind::Fix;

    fn code(&self) -> &str {
        &self.code
    }

    async fn check(&mut self, _: &AppState) -> ApiResult<()> {
        Ok(self.validate()?)
    }
}

/// Every tracked upstream fix, by code.
#[utoipa::path(get, path = "/fixes", tag = "root causes",
    responses((status = 200, body = Vec<Fix>), (status = 403, body = Problem)))]
pub async fn list_fixes(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_staff()?;
    list_response::<Fix>(&state).await
}

/// One tracked fix with its history, and its version as the ETag.
#[utoipa::path(get, path = "/fixes/{code}", tag = "root causes",
    params(("code" = String, Path, example = "fix-pol-12-5e1f0c2a")),
    responses((status = 200, body = Fix), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_fix(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    get_response::<Fix>(&state, &code).await
}

/// Change a fix's status or owner (any staff member). The change joins the
/// fix's history with who made it and when; the first move to `shipped`
/// sets `shipped_at`, from which recurrences count. A change to what is
/// already so changes nothing. With `If-Match`, only that version changes.
#[utoipa::path(post, path = "/fixes/{code}/changes", tag = "root causes", request_body = FixUpdate,
    params(("code" = String, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Fix), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn change_fix(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    if_match: IfMatch,
    Json(update): Json<FixUpdate>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let (fix, version) = change(&state, &code, if_match.0, &update, &principal.actor()).await?;
    Ok(with_etag(StatusCode::OK, version, fix))
}

/// Applies `update` to fix `code` as `actor`: read, change, write only over
/// the version read (retried when another write came between, unless the
/// caller named a version). Returns the fix and its version.
pub(crate) async fn change(
    state: &AppState,
    code: &str,
    if_match: Option<i64>,
    update: &FixUpdate,
    actor: &Actor,
) -> ApiResult<(Fix, i64)> {
    for _ in 0..RETRIES {
        let stored = state
            .stores
            .settings
            .get(SettingKind::Fix, code)
            .await
            .map_err(not_found(SettingKind::Fix, code))?;
        if let Some(expected) = if_match
            && expected != stored.version
        {
            return Err(ApiError::new(
                "version_mismatch",
                format!(
                    "fix {code} is at version {}, not {expected}; read it again and retry",
                    stored.version
                ),
            ));
        }
        let fix: Fix = decode(&stored)?;
        let Some(next) = fix.update(update, &actor.name, state.clock.now())? else {
            return Ok((fix, stored.version));
        };
        match put(state, &next, Expect::Version(stored.version)).await {
            Ok(version) => return Ok((next, version)),
            Err(StoreError::VersionConflict { .. }) if if_match.is_none() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        "conflict",
        format!("fix {code} kept changing under this request; try again"),
    ))
}

async fn put(state: &AppState, fix: &Fix, expect: Expect) -> Result<i64, StoreError> {
    let body = serde_json::to_value(fix).map_err(StoreError::backend)?;
    let stored = state
        .stores
        .settings
        .put(
            SettingKind::Fix,
            &fix.code,
            &body,
            expect,
            state.clock.now(),
        )
        .await?;
    Ok(stored.version)
}

/// The record tracking the fix behind `url`, if any, with its version.
pub(crate) async fn tracked(state: &AppState, url: &str) -> ApiResult<Option<(Fix, i64)>> {
    match state
        .stores
        .settings
        .get(SettingKind::Fix, &Fix::code_for(url))
        .await
    {
        Ok(stored) => {
            let fix: Fix = decode(&stored)?;
            // Two links whose codes collide are told apart, not merged.
            if fix.url != url.trim() {
                return Err(ApiError::field(
                    "conflict",
                    "upstream_fix.url",
                    format!(
                        "{url:?} has the code of the tracked fix {:?} ({}); give the link in another form",
                        fix.code, fix.url
                    ),
                ));
            }
            Ok(Some((fix, stored.version)))
        }
        Err(StoreError::NotFound) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The fixes tracked for `root_cause`, by code.
pub(crate) async fn for_root_cause(state: &AppState, root_cause: &str) -> ApiResult<Vec<Fix>> {
    Ok(list::<Fix>(state)
        .await?
        .into_iter()
        .filter(|f| f.root_cause == root_cause)
        .collect())
}

/// Refuses, before anything is saved, a decision whose upstream fix is
/// tracked for another root cause: a fix belongs to one cause, or its
/// recurrences would count against the wrong one.
pub(crate) async fn check_decision(state: &AppState, request: &NewDecision) -> ApiResult<()> {
    let (Some(fix), Some(cause)) = (&request.upstream_fix, &request.root_cause) else {
        return Ok(());
    };
    match tracked(state, &fix.url).await? {
        Some((tracked, _)) if &tracked.root_cause != cause => Err(ApiError::field(
            "validation_failed",
            "upstream_fix.url",
            format!(
                "this fix is tracked for root cause {:?}, not {cause:?}; name that cause, or another fix",
                tracked.root_cause
            ),
        )),
        _ => Ok(()),
    }
}

/// After a decision naming an upstream fix was saved: tracks the fix if it
/// is new, otherwise applies what the decision changed to the record
/// (`Fix::follow_decision`; `before` is the fix the escalation's previous
/// decision named). The decision has committed, so a failure here is
/// logged rather than turned into the answer; the next decision naming
/// the fix tracks it again.
pub(crate) async fn follow_decision(
    state: &AppState,
    escalation: &Escalation,
    before: Option<&UpstreamFix>,
    actor: &Actor,
) {
    let Some(decision) = &escalation.decision else {
        return;
    };
    let (Some(decided), Some(cause)) = (&decision.upstream_fix, &decision.root_cause) else {
        return;
    };
    let key = escalation.key.to_string();
    for _ in 0..RETRIES {
        let at = state.clock.now();
        let written = match tracked(state, &decided.url).await {
            Ok(None) => {
                let fix = Fix::track(decided, cause, &actor.name, Some(&key), at);
                put(state, &fix, Expect::Absent).await
            }
            Ok(Some((fix, _))) if &fix.root_cause != cause => {
                // Tracked for another cause in a race with this decision.
                tracing::warn!(
                    fix = fix.code,
                    escalation = key,
                    "decision names a fix of another root cause"
                );
                return;
            }
            Ok(Some((fix, version))) => {
                match fix.follow_decision(decided, before, &actor.name, &key, at) {
                    Some(next) => put(state, &next, Expect::Version(version)).await,
                    None => return,
                }
            }
            Err(error) => {
                tracing::warn!(escalation = key, detail = %error.detail, "could not read the decision's fix");
                return;
            }
        };
        match written {
            Ok(_) => return,
            // Someone tracked or changed it meanwhile: read it again.
            Err(StoreError::Conflict(_) | StoreError::VersionConflict { .. }) => continue,
            Err(error) => {
                tracing::warn!(escalation = key, %error, "could not track the decision's fix");
                return;
            }
        }
    }
    tracing::warn!(
        escalation = key,
        "the decision's fix kept changing; left as it was"
    );
}
