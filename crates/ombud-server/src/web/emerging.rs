//! The console's emerging-issues page: intake spikes, each one click from
//! the escalations behind it and one button from acknowledged; and
//! clusters of similar escalations in a window, each one click from its
//! members and one form from being linked as a group.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::tz::TimeZone;

use super::admin::require_manager;
use super::preferences::load_preferences;
use super::session::{StaffForm, TokenForm, WebUser};
use super::view::{form_value, when};
use super::{WebResult, render};
use crate::AppState;
use crate::routes::emerging::{ClusterReport, LinkGroupRequest, find_clusters, link_group};
use crate::routes::spikes::{self, SpikeAlertView, SpikeListParams, acknowledge, parse_id};

/// One spike alert as the page lists it.
struct SpikeRow {
    id: i64,
    segment: String,
    granularity: &'static str,
    /// The bucket in the reader's time zone.
    bucket: String,
    count: u64,
    baseline: String,
    score: String,
    samples: u32,
    /// The console's work list of exactly its escalations.
    escalations: String,
    /// Who acknowledged it and when, once acknowledged.
    acknowledged: Option<String>,
}

impl SpikeRow {
    fn of(alert: SpikeAlertView, zone: &TimeZone) -> SpikeRow {
        SpikeRow {
            id: alert.id,
            segment: alert.segment.label(),
            granularity: alert.granularity.as_str(),
            bucket: format!(
                "{} – {}",
                when(alert.bucket_start, zone),
                when(alert.bucket_end, zone)
            ),
            count: alert.count,
            baseline: format!("{:.1}", alert.baseline),
            score: format!("{:.1}", alert.score),
            samples: alert.samples,
            escalations: alert.console,
            acknowledged: alert
                .acknowledged
                .map(|a| format!("{}, {}", a.name, when(a.at, zone))),
        }
    }
}

#[derive(Template)]
#[template(path = "emerging.html")]
struct EmergingPage {
    csrf: String,
    user_name: String,
    spikes: Vec<SpikeRow>,
    /// Alerts no one has acknowledged yet.
    waiting: u64,
    /// Whether the reader may acknowledge (admins and managers).
    acknowledges: bool,
    report: ClusterReport,
    notice: Option<String>,
}

/// The newest spike alerts, and the clusters of the window in the query
/// string (the API's parameters).
pub(super) async fn page(
    State(state): State<AppState>,
    user: WebUser,
    RawQuery(raw): RawQuery,
) -> WebResult<Response> {
    user.require_staff()?;
    // The notice after a link comes back beside the window's parameters.
    let (notice, rest): (Vec<_>, Vec<_>) = form_urlencoded_pairs(raw.as_deref())
        .into_iter()
        .partition(|(name, _)| name == "notice");
    let rest = serde_urlencoded::to_string(&rest).unwrap_or_default();
    let report = find_clusters(&state, Some(&rest)).await?;
    let zone = load_preferences(&state, &user.user.email).await?.zone();
    let spikes = spikes::page(&state, &SpikeListParams::default()).await?;
    Ok(render(
        StatusCode::OK,
        &EmergingPage {
            csrf: user.csrf.clone(),
            user_name: user.user.name.clone(),
            spikes: spikes
                .items
                .into_iter()
                .map(|a| SpikeRow::of(a, &zone))
                .collect(),
            waiting: state.stores.spikes.unacknowledged().await?,
            acknowledges: user.user.role.configures(),
            report,
            notice: notice.into_iter().next().map(|(_, text)| text),
        },
    ))
}

fn form_urlencoded_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    serde_urlencoded::from_str(raw.unwrap_or_default()).unwrap_or_default()
}

fn back_with(notice: &str) -> Response {
    let back = serde_urlencoded::to_string([("notice", notice)]).unwrap_or_default();
    Redirect::to(&format!("/console/emerging?{back}")).into_response()
}

/// Links a cluster's members to its first, as related.
pub(super) async fn link(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    let request = LinkGroupRequest {
        members: form
            .iter()
            .filter(|(name, _)| name == "member")
            .map(|(_, key)| key.clone())
            .collect(),
        note: form_value(&form, "note").to_string(),
    };
    let keys = link_group(&state, &request, &user.actor()).await?;
    Ok(back_with(&format!(
        "Linked {} escalations to {}.",
        keys.len() - 1,
        keys[0]
    )))
}

/// Acknowledges a spike alert, as the API's `POST …/acknowledge` does.
pub(super) async fn acknowledge_spike(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { user, .. }: StaffForm<TokenForm>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let alert = acknowledge(&state, parse_id(&id)?, &user.actor()).await?;
    Ok(back_with(&format!(
        "Acknowledged the spike in {}.",
        alert.segment.label()
    )))
}
