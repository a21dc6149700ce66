//! The console's emerging-issues page: clusters of similar escalations in
//! a window, each one click from its members and one form from being
//! linked as a group.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::session::{StaffForm, WebUser};
use super::view::form_value;
use super::{WebResult, render};
use crate::AppState;
use crate::routes::emerging::{ClusterReport, LinkGroupRequest, find_clusters, link_group};

#[derive(Template)]
#[template(path = "emerging.html")]
struct EmergingPage {
    csrf: String,
    user_name: String,
    report: ClusterReport,
    notice: Option<String>,
}

/// The clusters of the window in the query string (the API's parameters).
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
    Ok(render(
        StatusCode::OK,
        &EmergingPage {
            csrf: user.csrf.clone(),
            user_name: user.user.name.clone(),
            report,
            notice: notice.into_iter().next().map(|(_, text)| text),
        },
    ))
}

fn form_urlencoded_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    serde_urlencoded::from_str(raw.unwrap_or_default()).unwrap_or_default()
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
    let notice = format!("Linked {} escalations to {}.", keys.len() - 1, keys[0]);
    let back = serde_urlencoded::to_string([("notice", notice.as_str())]).unwrap_or_default();
    Ok(Redirect::to(&format!("/console/emerging?{back}")).into_response())
}
