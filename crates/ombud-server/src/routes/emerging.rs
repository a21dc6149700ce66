//! `/api/v1/emerging`: similar escalations found together, so that a wave
//! of reports about one thing is seen as one thing. Texts are compared by
//! character shingles with MinHash/LSH (any script, Japanese and Thai
//! included) and joined by shared subjects (`ombud_domain::emerging`); a
//! cluster is turned into a link group by linking every member to its
//! representative.

use axum::Json as AxumJson;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use ombud_domain::emerging::similarity::{ClusterParams, Item, clusters};
use ombud_domain::links::LinkKind;
use ombud_domain::{Actor, EscalationKey};
use ombud_store::{EscalationFilter, Scope, SortDirection, SortField};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Json, Principal};
use crate::routes::escalations::{not_found, parse_key};
use crate::routes::links::{LinkRequest, link};

/// Escalations compared at most, newest first: a week of a large team's
/// intake, clustered in about a second.
pub const MAX_ITEMS: usize = 20_000;
/// Members a cluster may link in one request.
pub const MAX_LINKED: usize = 100;
/// The window looked at unless asked otherwise.
const DEFAULT_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);
const PAGE: u32 = 200;

/// Which escalations to compare.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ClusterParamsQuery {
    /// RFC 3339; default: seven days ago.
    #[serde(default)]
    pub created_after: Option<String>,
    /// RFC 3339; default: now.
    #[serde(default)]
    pub created_before: Option<String>,
}

/// Escalations that read alike or name the same subjects.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimilarCluster {
    /// Keys, the representative first.
    pub members: Vec<String>,
    /// Titles, in the order of `members`.
    pub titles: Vec<String>,
    /// Mean estimated text similarity to the representative (0 to 1).
    pub mean_similarity: f64,
    /// Subjects more than one member names.
    pub shared_subjects: Vec<String>,
    /// True when the members already form a link group: one of them is
    /// linked to every other (a possible duplicate found on intake does not
    /// count).
    pub linked: bool,
}

/// The clusters found in a window.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterReport {
    #[schema(value_type = String, format = DateTime)]
    pub created_after: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub created_before: Timestamp,
    /// Escalations compared.
    pub compared: usize,
    /// True when the window held more than `MAX_ITEMS` escalations and only
    /// the newest were compared.
    pub truncated: bool,
    pub clusters: Vec<SimilarCluster>,
}

fn instant(field: &str, text: Option<&str>, default: Timestamp) -> ApiResult<Timestamp> {
    match text {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| {
            ApiError::field(
                "bad_query",
                field,
                format!("{text:?} is not an RFC 3339 instant"),
            )
        }),
    }
}

/// Finds the clusters among the escalations created in the window.
pub(crate) async fn find_clusters(state: &AppState, raw: Option<&str>) -> ApiResult<ClusterReport> {
    let query: ClusterParamsQuery = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|e| ApiError::new("bad_query", e.to_string()))?;
    let now = state.clock.now();
    let before = instant("created_before", query.created_before.as_deref(), now)?;
    let after = instant(
        "created_after",
        query.created_after.as_deref(),
        before - DEFAULT_WINDOW,
    )?;
    if after >= before {
        return Err(ApiError::field(
            "bad_query",
            "created_after",
            "must be before created_before",
        ));
    }
    let mut filter = EscalationFilter {
        created_from: Some(after),
        // Without a bound asked for, what was created this very instant counts.
        created_to: query.created_before.is_some().then_some(before),
        sort: SortField::CreatedAt,
        direction: SortDirection::Desc,
        limit: PAGE,
        ..Default::default()
    };
    let mut escalations = Vec::new();
    let truncated = loop {
        let page = state
            .stores
            .escalations
            .list(&filter, &Scope::Staff)
            .await?;
        escalations.extend(page.items);
        match page.next {
            Some(_) if escalations.len() >= MAX_ITEMS => break true,
            Some(cursor) => filter.cursor = Some(cursor),
            None => break false,
        }
    };
    escalations.truncate(MAX_ITEMS);
    let items: Vec<Item> = escalations
        .iter()
        .map(|e| Item {
            id: e.key.0 as u64,
            text: format!("{}\n{}", e.title, e.description),
            subjects: e
                .subjects
                .iter()
                .map(|s| s.normalized_key.clone())
                .collect(),
        })
        .collect();
    let found = tokio::task::spawn_blocking(move || clusters(&items, &ClusterParams::default()))
        .await
        .map_err(ApiError::internal)?;
    let by_key: std::collections::HashMap<u64, &ombud_domain::Escalation> =
        escalations.iter().map(|e| (e.key.0 as u64, e)).collect();
    let clusters = found
        .into_iter()
        .map(|cluster| {
            let mut members = vec![cluster.representative];
            members.extend(
                cluster
                    .members
                    .iter()
                    .filter(|m| **m != cluster.representative),
            );
            // A link group has a hub every other member is linked to.
            let linked = members.iter().any(|hub| {
                members
                    .iter()
                    .filter(|m| *m != hub)
                    .all(|m| confirmed_link(by_key[hub], EscalationKey(*m as i64)))
            });
            SimilarCluster {
                titles: members.iter().map(|m| by_key[m].title.clone()).collect(),
                members: members.iter().map(|m| by_key[m].key.to_string()).collect(),
                mean_similarity: (cluster.mean_similarity * 1000.0).round() / 1000.0,
                shared_subjects: cluster.shared_subjects,
                linked,
            }
        })
        .collect();
    Ok(ClusterReport {
        created_after: after,
        created_before: before,
        compared: escalations.len(),
        truncated,
        clusters,
    })
}

/// Similar escalations created in a window (default: the last seven days),
/// largest clusters first.
#[utoipa::path(get, path = "/emerging/clusters", tag = "emerging", params(ClusterParamsQuery),
    responses((status = 200, body = ClusterReport), (status = 400, body = Problem),
        (status = 403, body = Problem)))]
pub async fn list_clusters(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    principal.require_staff()?;
    Ok(AxumJson(find_clusters(&state, raw.as_deref()).await?).into_response())
}

/// Whether `escalation` has a link to `to` that a person made or confirmed:
/// a possible duplicate found on intake is only a suggestion.
fn confirmed_link(escalation: &ombud_domain::Escalation, to: EscalationKey) -> bool {
    escalation
        .links
        .iter()
        .any(|l| l.key == to && l.kind != LinkKind::PossibleDuplicate)
}

/// The escalations to link as one group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkGroupRequest {
    /// Keys; the first is the one every other is linked to.
    pub members: Vec<String>,
    #[serde(default)]
    pub note: String,
}

/// Links every member to the first as related (both ways); members already
/// linked stay as they are. Answers the keys linked.
pub(crate) async fn link_group(
    state: &AppState,
    request: &LinkGroupRequest,
    actor: &Actor,
) -> ApiResult<Vec<EscalationKey>> {
    if !(2..=MAX_LINKED).contains(&request.members.len()) {
        return Err(ApiError::field(
            "validation_failed",
            "members",
            format!("give 2 to {MAX_LINKED} escalations"),
        ));
    }
    let keys = request
        .members
        .iter()
        .map(|k| parse_key(k))
        .collect::<ApiResult<Vec<_>>>()?;
    let note = if request.note.trim().is_empty() {
        "similar escalations".to_string()
    } else {
        request.note.trim().to_string()
    };
    for member in &keys[1..] {
        let already = state
            .stores
            .escalations
            .get(*member, &Scope::Staff)
            .await
            .map_err(not_found(*member))?;
        if confirmed_link(&already, keys[0]) {
            continue;
        }
        let request = LinkRequest {
            kind: LinkKind::Related,
            to: keys[0].to_string(),
            note: note.clone(),
        };
        link(state, *member, &request, actor).await?;
    }
    Ok(keys)
}

/// Turn a cluster into a link group: every member becomes related to the
/// first, both ways.
#[utoipa::path(post, path = "/emerging/clusters/link", tag = "emerging",
    request_body = LinkGroupRequest, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Vec<String>), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn link_cluster(
    State(state): State<AppState>,
    principal: Principal,
    Json(request): Json<LinkGroupRequest>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let keys = link_group(&state, &request, &principal.actor()).await?;
    let keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
    Ok((StatusCode::OK, AxumJson(keys)).into_response())
}
