//! The partner portal: a partner's users see only their organisation's
//! escalations (the store's partner scope) and only partner-visible events,
//! and reply to the escalations team. An invalid reply is shown again with
//! the error and the text as typed.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ombud_domain::{EscalationKey, Visibility};
use ombud_store::{EscalationFilter, Scope, SortField};
use serde::Deserialize;

use super::session::WebUser;
use super::view::{TimelineItem, subject_label};
use super::{WebResult, render};
use crate::AppState;
use crate::routes::escalations::{mutate, parse_key, with_timeline};

/// Rows on the portal's list.
const PAGE: u32 = 100;

struct Row {
    key: String,
    title: String,
    status: &'static str,
    received: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "portal_list.html")]
struct ListPage {
    csrf: String,
    user_name: String,
    partner: String,
    rows: Vec<Row>,
    more: bool,
}

/// The partner's escalations, most recently changed first.
pub(super) async fn list(State(state): State<AppState>, user: WebUser) -> WebResult<Response> {
    let partner = user.require_partner()?;
    let filter = EscalationFilter {
        sort: SortField::UpdatedAt,
        limit: PAGE,
        ..Default::default()
    };
    let page = state
        .stores
        .escalations
        .list(&filter, &Scope::Partner(partner.clone()))
        .await?;
    let rows = page
        .items
        .iter()
        .map(|e| Row {
            key: e.key.to_string(),
            title: e.title.clone(),
            status: e.status.as_str(),
            received: e.received_at.to_string(),
            updated: e.updated_at.to_string(),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &ListPage {
            csrf: user.csrf,
            user_name: user.user.name,
            partner,
            rows,
            more: page.next.is_some(),
        },
    ))
}

#[derive(Template)]
#[template(path = "portal_escalation.html")]
struct EscalationPage {
    csrf: String,
    user_name: String,
    partner: String,
    key: String,
    title: String,
    status: &'static str,
    received: String,
    partner_ref: String,
    description: String,
    subjects: Vec<String>,
    timeline: Vec<TimelineItem>,
    notice: Option<String>,
    error: Option<String>,
    /// The reply as typed, when it was refused.
    draft: String,
}

/// What a reply form brought back to the page.
#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    error: Option<String>,
    draft: String,
}

async fn escalation_page(
    state: &AppState,
    user: WebUser,
    partner: String,
    key: EscalationKey,
    outcome: Outcome,
) -> WebResult<EscalationPage> {
    let scope = Scope::Partner(partner.clone());
    let (e, timeline) = with_timeline(state, key, &scope).await?;
    let e = e.partner_view();
    Ok(EscalationPage {
        csrf: user.csrf,
        user_name: user.user.name,
        partner,
        key: e.key.to_string(),
        title: e.title,
        status: e.status.as_str(),
        received: e.received_at.to_string(),
        partner_ref: e.partner_ref.unwrap_or_else(|| "—".into()),
        description: e.description,
        subjects: e.subjects.iter().map(subject_label).collect(),
        timeline: timeline.iter().map(TimelineItem::of).collect(),
        notice: outcome.notice,
        error: outcome.error,
        draft: outcome.draft,
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

/// One of the partner's escalations; another partner's is not found.
pub(super) async fn escalation(
    State(state): State<AppState>,
    user: WebUser,
    Path(key): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> WebResult<Response> {
    let partner = user.require_partner()?;
    let key = parse_key(&key)?;
    let outcome = Outcome {
        notice: query.notice,
        ..Outcome::default()
    };
    let page = escalation_page(&state, user, partner, key, outcome).await?;
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub(super) struct ReplyForm {
    csrf: String,
    body: String,
}

/// A message from the partner to the escalations team, visible to both.
pub(super) async fn reply(
    State(state): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    Path(key): Path<String>,
    Form(form): Form<ReplyForm>,
) -> WebResult<Response> {
    let partner = user.require_partner()?;
    user.check_form(&form.csrf, &headers)?;
    let key = parse_key(&key)?;
    let (actor, now) = (user.actor(), state.clock.now());
    let scope = Scope::Partner(partner.clone());
    // A reply never waits on the case's version: whatever staff changed
    // meanwhile, the message stands.
    let sent = mutate(&state, &scope, key, None, |e| {
        let (next, event) = e.comment(&form.body, Visibility::Partner, &actor, now)?;
        Ok((next, vec![event]))
    })
    .await;
    match sent {
        Ok(_) => Ok(
            Redirect::to(&format!("/portal/escalations/{key}?notice=Reply+sent.")).into_response(),
        ),
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let outcome = Outcome {
                notice: None,
                error: Some(error.detail),
                draft: form.body,
            };
            let page = escalation_page(&state, user, partner, key, outcome).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(error) => Err(error.into()),
    }
}
