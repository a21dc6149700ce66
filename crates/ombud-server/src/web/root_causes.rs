//! The console's root causes: a Pareto table of every cause (escalations,
//! share, cumulative share, fix status, recurrences), and one page per
//! cause with its escalations and its fixes, each fix with a form to change
//! its status or owner. The figures are the API's (`routes::root_causes`),
//! and a change goes through `routes::fixes::change` as the API's does.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_domain::decision::FixStatus;
use ombud_domain::fix::{Fix, FixUpdate};
use serde::Deserialize;

use super::preferences::load_preferences;
use super::session::{StaffForm, WebUser};
use super::view::{Choice, choices, when};
use super::{WebResult, render};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::fixes;
use crate::routes::root_causes::{self, CausePage, DEFAULT_PAGE, RootCause};

/// One row of the Pareto table.
struct ParetoRow {
    code: String,
    label: String,
    active: bool,
    total: u64,
    share: String,
    cumulative: String,
    open: u64,
    /// Each fix's status, e.g. `shipped, in progress`; `—` for none.
    fixes: String,
    recurrences: u64,
    /// When recurrences count from, in the reader's time zone.
    since: String,
}

#[derive(Template)]
#[template(path = "root_causes.html")]
struct ListPage {
    csrf: String,
    user_name: String,
    decided: u64,
    without_root_cause: u64,
    with_cause: u64,
    rows: Vec<ParetoRow>,
}

/// The Pareto table.
pub(super) async fn list(State(state): State<AppState>, user: WebUser) -> WebResult<Response> {
    user.require_staff()?;
    let zone = load_preferences(&state, &user.user.email).await?.zone();
    let list = root_causes::root_causes(&state).await?;
    let with_cause: u64 = list.root_causes.iter().map(|c| c.total).sum();
    let mut running = 0;
    let rows = list
        .root_causes
        .iter()
        .map(|cause| {
            running += cause.total;
            ParetoRow {
                code: cause.code.clone(),
                label: cause.label.clone(),
                active: cause.active,
                total: cause.total,
                share: percent(cause.total, with_cause),
                cumulative: percent(running, with_cause),
                open: cause.open,
                fixes: fix_statuses(cause),
                recurrences: cause.recurrences,
                since: cause
                    .first_shipped_at
                    .map(|at| when(at, &zone))
                    .unwrap_or_default(),
            }
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &ListPage {
            csrf: user.csrf,
            user_name: user.user.name,
            decided: list.decided,
            without_root_cause: list.without_root_cause,
            with_cause,
            rows,
        },
    ))
}

/// `part` of `whole` as a percentage with one decimal, kept on one line.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "—".into();
    }
    format!("{:.1}\u{a0}%", part as f64 * 100.0 / whole as f64)
}

fn fix_statuses(cause: &RootCause) -> String {
    if cause.fixes.is_empty() {
        return "—".into();
    }
    cause
        .fixes
        .iter()
        .map(|f| words(f.status.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn words(code: &str) -> String {
    code.replace('_', " ")
}

/// One change in a fix's history, as the page lists it.
struct ChangeRow {
    at: String,
    at_local: String,
    status: String,
    owner: String,
    by: String,
    escalation: Option<String>,
    note: String,
}

/// A fix with its history and its form.
struct FixBlock {
    code: String,
    url: String,
    status: String,
    owner: String,
    shipped: String,
    recurrences: u64,
    version: i64,
    statuses: Vec<Choice>,
    history: Vec<ChangeRow>,
}

/// One escalation of the cause.
struct EscalationRow {
    key: String,
    title: String,
    status: String,
    created_at: String,
    created_local: String,
    decided_local: String,
    fix_url: String,
    recurring: bool,
}

#[derive(Template)]
#[template(path = "root_cause.html")]
struct CausePageView {
    csrf: String,
    user_name: String,
    notice: Option<String>,
    code: String,
    label: String,
    active: bool,
    total: u64,
    open: u64,
    resolved: u64,
    recurrences: u64,
    since: String,
    fixes: Vec<FixBlock>,
    escalations: Vec<EscalationRow>,
    /// `first–last` of this page, e.g. `1–100`.
    shown: String,
    newer: Option<u64>,
    older: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CauseQuery {
    offset: Option<u64>,
    notice: Option<String>,
}

/// One cause: its figures, its fixes with their forms, and a page of its
/// escalations (newest filed first, a hundred at a time).
pub(super) async fn cause(
    State(state): State<AppState>,
    user: WebUser,
    Path(code): Path<String>,
    Query(query): Query<CauseQuery>,
) -> WebResult<Response> {
    user.require_staff()?;
    let zone = load_preferences(&state, &user.user.email).await?.zone();
    let offset = query.offset.unwrap_or(0);
    let page = CausePage {
        offset: Some(offset),
        limit: Some(DEFAULT_PAGE),
    };
    let detail = root_causes::root_cause(&state, &code, &page).await?;
    let cause = &detail.root_cause;
    let mut fixes = Vec::with_capacity(cause.fixes.len());
    for summary in &cause.fixes {
        // The record itself, for its history and the version its form
        // must replace.
        let stored = state
            .stores
            .settings
            .get(ombud_store::SettingKind::Fix, &summary.code)
            .await?;
        let fix: Fix = crate::routes::documents::decode(&stored)?;
        fixes.push(fix_block(&fix, summary.recurrences, stored.version, &zone));
    }
    let listed = detail.escalations.len() as u64;
    let escalations = detail
        .escalations
        .iter()
        .map(|e| EscalationRow {
            key: e.key.clone(),
            title: e.title.clone(),
            status: words(&e.status),
            created_at: e.created_at.to_string(),
            created_local: when(e.created_at, &zone),
            decided_local: when(e.decided_at, &zone),
            fix_url: e.fix_url.clone().unwrap_or_default(),
            recurring: e.recurring,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &CausePageView {
            csrf: user.csrf,
            user_name: user.user.name,
            notice: query.notice,
            code: cause.code.clone(),
            label: cause.label.clone(),
            active: cause.active,
            total: cause.total,
            open: cause.open,
            resolved: cause.resolved,
            recurrences: cause.recurrences,
            since: cause
                .first_shipped_at
                .map(|at| when(at, &zone))
                .unwrap_or_default(),
            fixes,
            escalations,
            shown: match listed {
                0 => String::new(),
                n => format!("{}–{}", offset + 1, offset + n),
            },
            newer: (offset > 0).then(|| offset.saturating_sub(DEFAULT_PAGE)),
            older: (offset + listed < cause.total).then_some(offset + listed),
        },
    ))
}

fn fix_block(fix: &Fix, recurrences: u64, version: i64, zone: &TimeZone) -> FixBlock {
    let local = |at: Timestamp| when(at, zone);
    FixBlock {
        code: fix.code.clone(),
        url: fix.url.clone(),
        status: words(fix.status.as_str()),
        owner: fix.owner.clone(),
        shipped: fix.shipped_at.map(local).unwrap_or_default(),
        recurrences,
        version,
        statuses: choices(
            FixStatus::ALL
                .iter()
                .map(|s| (s.as_str().to_string(), words(s.as_str()))),
            fix.status.as_str(),
        ),
        history: fix
            .history
            .iter()
            .rev()
            .map(|c| ChangeRow {
                at: c.at.to_string(),
                at_local: local(c.at),
                status: words(c.status.as_str()),
                owner: c.owner.clone(),
                by: c.by.clone(),
                escalation: c.escalation.clone(),
                note: c.note.clone(),
            })
            .collect(),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct FixForm {
    /// The version the page showed, so that a change made meanwhile is
    /// not overwritten unseen.
    version: i64,
    status: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    note: String,
}

/// Changes a fix's status or owner, then shows its cause again.
pub(super) async fn change_fix(
    State(state): State<AppState>,
    Path(code): Path<String>,
    StaffForm { user, form }: StaffForm<FixForm>,
) -> WebResult<Response> {
    let status = FixStatus::parse(&form.status).ok_or_else(|| {
        ApiError::field(
            "validation_failed",
            "status",
            format!("unknown fix status {:?}", form.status),
        )
    })?;
    let update = FixUpdate {
        status: Some(status),
        owner: Some(form.owner),
        note: form.note,
    };
    let (fix, _) = fixes::change(&state, &code, Some(form.version), &update, &user.actor()).await?;
    let notice = format!("{} is {}.", fix.url, words(fix.status.as_str()));
    let location = format!(
        "/console/root-causes/{}?{}#fixes-h",
        fix.root_cause,
        serde_urlencoded::to_string([("notice", notice)]).map_err(ApiError::internal)?
    );
    Ok(Redirect::to(&location).into_response())
}
