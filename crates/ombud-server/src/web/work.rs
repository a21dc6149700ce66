//! The console's work lists: my work, unassigned, breaching soon, waiting
//! on consults, all open, any queue; filtered and sorted with the API's own
//! list parameters, saved under a name, and acted on in bulk (assign, move
//! to a queue, tag). Claim-next lives here too.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use futures::StreamExt;
use jiff::Timestamp;
use ombud_domain::assignment::{AgentProfile, Queue};
use ombud_domain::preferences::SavedView;
use ombud_domain::{Escalation, EscalationKey, EscalationPatch, Priority, RefKind, Status};
use ombud_store::{EscalationFilter, Scope, SortDirection, SortField};
use serde::Deserialize;

use super::preferences::{load_preferences, store_preferences};
use super::session::{StaffForm, TokenForm, WebUser};
use super::view::{
    Choice, Highlighted, SOON, choices, due, form_value, highlight, reference_choices,
};
use super::{WebResult, render};
use crate::AppState;
use crate::error::ApiError;
use crate::export::{Format, Table, download};
use crate::routes::assignment::claim_for;
use crate::routes::documents::list as settings_list;
use crate::routes::escalations::{check_assignee, mutate_routed, parse_filter};

/// Rows on one page of a work list.
const PAGE: u32 = 100;
/// Work-list counts stop here ("10,000+"): beyond it a number is a backlog
/// either way, and counting further would cost as much as the list.
const COUNT_CAP: u32 = 10_000;
/// Escalations one bulk action may change.
const MAX_BULK: usize = PAGE as usize;

/// The work lists, as `(view, heading)`.
const VIEWS: [(&str, &str); 5] = [
    ("mine", "My work"),
    ("unassigned", "Unassigned"),
    ("breaching", "Breaching soon"),
    ("consults", "Waiting on consults"),
    ("all", "All open"),
];

/// Sort orders the filter bar offers: `(sort parameter, label)`.
const SORTS: [(&str, &str); 4] = [
    ("due_at", "Nearest deadline"),
    ("priority", "Priority"),
    ("-created_at", "Newest"),
    ("-updated_at", "Recently changed"),
];

/// One escalation on a work list.
struct Row {
    key: String,
    title: Vec<Highlighted>,
    status: &'static str,
    priority: &'static str,
    partner: String,
    country: String,
    queue: String,
    assignee: String,
    due: String,
    urgency: &'static str,
}

impl Row {
    fn of(e: &Escalation, terms: &[String], now: Timestamp) -> Row {
        let (due, urgency) = due(e.due_at(), now);
        Row {
            key: e.key.to_string(),
            title: highlight(&e.title, terms),
            status: e.status.as_str(),
            priority: e.priority.as_str(),
            partner: e.partner.clone(),
            country: e.country.to_string(),
            queue: e.queue.clone().unwrap_or_default(),
            assignee: e.assignee.clone().unwrap_or_default(),
            due,
            urgency,
        }
    }
}

/// One work list's tab, with how many cases it holds.
struct Tab {
    view: &'static str,
    label: &'static str,
    count: String,
    current: bool,
}

/// `1,234`, or `10,000+` at the cap.
fn count_label(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if n >= u64::from(COUNT_CAP) {
        grouped.push('+');
    }
    grouped
}

/// A saved view as the list page links it.
struct ViewLink {
    name: String,
    query: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "work.html")]
struct WorkPage {
    csrf: String,
    user_name: String,
    heading: String,
    view: String,
    tabs: Vec<Tab>,
    /// The list's query string without its notice: for links and saving.
    query: String,
    q: String,
    country: String,
    queues: Vec<Choice>,
    priorities: Vec<Choice>,
    types: Vec<Choice>,
    sorts: Vec<Choice>,
    saved_views: Vec<ViewLink>,
    /// Who a bulk action may assign to (agents with a profile).
    colleagues: Vec<Choice>,
    rows: Vec<Row>,
    more: bool,
    notice: Option<String>,
    /// For admins and managers: spike alerts no one has acknowledged.
    spikes_waiting: u64,
}

/// A work list as its query string asks: `view` plus the API's list
/// parameters (`queue`, `priority`, `type`, `country`, `q`, `sort`…).
struct WorkList {
    view: String,
    /// The list parameters that were given a value, in order.
    params: Vec<(String, String)>,
    notice: Option<String>,
}

impl WorkList {
    fn parse(raw: &str) -> WorkList {
        let mut list = WorkList {
            view: "mine".into(),
            params: Vec::new(),
            notice: None,
        };
        for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            match name.as_ref() {
                "view" => list.view = value.into_owned(),
                "notice" => list.notice = Some(value.into_owned()),
                // An empty select or box of the filter bar means "any".
                _ if value.trim().is_empty() => {}
                _ => list.params.push((name.into_owned(), value.into_owned())),
            }
        }
        list
    }

    fn param(&self, name: &str) -> &str {
        form_value(&self.params, name)
    }

    /// `view=…&…`, as links and saved views keep it.
    fn query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("view", &self.view);
        for (name, value) in &self.params {
            query.append_pair(name, value);
        }
        query.finish()
    }

    /// The store filter: the parameters as the API reads them (so unknown
    /// ones are refused by name), then the view; open cases by nearest
    /// deadline unless the parameters say otherwise.
    fn filter(&self, me: &str) -> WebResult<(&'static str, EscalationFilter)> {
        let heading = VIEWS
            .iter()
            .find(|(view, _)| *view == self.view)
            .map(|(_, heading)| *heading)
            .ok_or_else(|| {
                let known: Vec<&str> = VIEWS.iter().map(|(v, _)| *v).collect();
                ApiError::field(
                    "validation_failed",
                    "view",
                    format!("unknown view {:?}; known: {}", self.view, known.join(", ")),
                )
            })?;
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.params {
            params.append_pair(name, value);
        }
        let mut filter = parse_filter(Some(&params.finish()))?;
        if self.param("limit").is_empty() {
            filter.limit = PAGE;
        }
        if filter.statuses.is_empty() {
            filter.statuses = Status::ALL.into_iter().filter(|s| s.is_open()).collect();
        }
        if self.param("sort").is_empty() {
            filter.sort = SortField::DueAt;
            filter.direction = SortDirection::Asc;
        }
        match self.view.as_str() {
            "mine" => filter.assignee = Some(Some(me.to_string())),
            "unassigned" => filter.assignee = Some(None),
            "consults" => filter.awaiting_consult = true,
            _ => {}
        }
        Ok((heading, filter))
    }
}

/// A work list, filtered and sorted as its query string says.
pub(super) async fn work(
    State(state): State<AppState>,
    user: WebUser,
    RawQuery(raw): RawQuery,
) -> WebResult<Response> {
    user.require_staff()?;
    let list = WorkList::parse(raw.as_deref().unwrap_or_default());
    let (heading, filter) = list.filter(&user.user.email)?;
    let page = state
        .stores
        .escalations
        .list(&filter, &Scope::Staff)
        .await?;
    let preferences = load_preferences(&state, &user.user.email).await?;
    let query = list.query();
    let saved_views: Vec<ViewLink> = preferences
        .saved_views
        .into_iter()
        .map(|v| ViewLink {
            current: v.query == query,
            name: v.name,
            query: v.query,
        })
        .collect();
    let heading = saved_views
        .iter()
        .find(|v| v.current)
        .map(|v| v.name.clone())
        .unwrap_or_else(|| heading.to_string());
    let now = state.clock.now();
    let counts = state
        .stores
        .escalations
        .work_counts(&user.user.email, now + SOON, COUNT_CAP)
        .await?;
    let tabs = VIEWS
        .iter()
        .map(|(view, label)| Tab {
            view,
            label,
            count: count_label(match *view {
                "mine" => counts.mine,
                "unassigned" => counts.unassigned,
                "breaching" => counts.breaching,
                "consults" => counts.awaiting_consult,
                _ => counts.open,
            }),
            current: *view == list.view,
        })
        .collect();
    let terms = ombud_store::listing::search_terms(list.param("q"));
    let queues = settings_list::<Queue>(&state).await?;
    let agents = settings_list::<AgentProfile>(&state).await?;
    let page = WorkPage {
        csrf: user.csrf,
        user_name: user.user.name,
        heading,
        view: list.view.clone(),
        tabs,
        q: list.param("q").to_string(),
        country: list.param("country").to_string(),
        queues: choices(
            queues.into_iter().map(|q| (q.code, q.name)),
            list.param("queue"),
        ),
        priorities: choices(
            Priority::ALL
                .iter()
                .map(|p| (p.as_str().to_string(), p.as_str().to_string())),
            list.param("priority"),
        ),
        types: reference_choices(&state, RefKind::EscalationType, list.param("type")).await?,
        sorts: choices(
            SORTS.iter().map(|(v, l)| (v.to_string(), l.to_string())),
            list.param("sort"),
        ),
        saved_views,
        colleagues: choices(agents.into_iter().map(|a| (a.email.clone(), a.email)), ""),
        rows: page.items.iter().map(|e| Row::of(e, &terms, now)).collect(),
        more: page.next.is_some(),
        notice: list.notice,
        spikes_waiting: match user.user.role.configures() {
            true => state.stores.spikes.unacknowledged().await?,
            false => 0,
        },
        query,
    };
    Ok(render(StatusCode::OK, &page))
}

/// Escalations read per page while a list is exported.
const EXPORT_PAGE: u32 = 200;

const EXPORT_COLUMNS: [&str; 14] = [
    "key",
    "title",
    "status",
    "priority",
    "type",
    "partner",
    "country",
    "language",
    "queue",
    "assignee",
    "due_at",
    "created_at",
    "updated_at",
    "tags",
];

/// One escalation as an export row, in `EXPORT_COLUMNS` order.
fn export_row(e: &Escalation) -> Vec<serde_json::Value> {
    let instant = |at: Option<Timestamp>| at.map(|t| t.to_string()).unwrap_or_default();
    [
        e.key.to_string(),
        e.title.clone(),
        e.status.as_str().to_string(),
        e.priority.as_str().to_string(),
        e.escalation_type.clone(),
        e.partner.clone(),
        e.country.to_string(),
        e.language.to_string(),
        e.queue.clone().unwrap_or_default(),
        e.assignee.clone().unwrap_or_default(),
        instant(e.due_at()),
        instant(Some(e.created_at)),
        instant(Some(e.updated_at)),
        e.tags.join(" "),
    ]
    .into_iter()
    .map(serde_json::Value::from)
    .collect()
}

/// The whole list, every page of it, as CSV or XLSX: streamed a page at a
/// time, with no cap on the rows.
async fn export(
    state: AppState,
    user: WebUser,
    raw: Option<String>,
    format: Format,
) -> WebResult<Response> {
    user.require_staff()?;
    let list = WorkList::parse(raw.as_deref().unwrap_or_default());
    let (_, mut filter) = list.filter(&user.user.email)?;
    filter.limit = EXPORT_PAGE;
    let pages = futures::stream::unfold(Some(filter), move |next| {
        let state = state.clone();
        async move {
            let filter = next?;
            let page = match state.stores.escalations.list(&filter, &Scope::Staff).await {
                Ok(page) => page,
                Err(error) => return Some((vec![Err(error.to_string())], None)),
            };
            let rows = page.items.iter().map(|e| Ok(export_row(e))).collect();
            let next = page.next.map(|cursor| EscalationFilter {
                cursor: Some(cursor),
                ..filter
            });
            Some((rows, next))
        }
    });
    let table = Table {
        name: "escalations".into(),
        columns: EXPORT_COLUMNS.iter().map(|c| c.to_string()).collect(),
        rows: pages.flat_map(futures::stream::iter).boxed(),
    };
    Ok(download(table, format))
}

pub(super) async fn export_csv(
    State(state): State<AppState>,
    user: WebUser,
    RawQuery(raw): RawQuery,
) -> WebResult<Response> {
    export(state, user, raw, Format::Csv).await
}

pub(super) async fn export_xlsx(
    State(state): State<AppState>,
    user: WebUser,
    RawQuery(raw): RawQuery,
) -> WebResult<Response> {
    export(state, user, raw, Format::Xlsx).await
}

/// Claims the best case for the signed-in agent and opens it.
pub(super) async fn claim(
    State(state): State<AppState>,
    StaffForm { user, .. }: StaffForm<TokenForm>,
) -> WebResult<Response> {
    Ok(
        match claim_for(&state, &user.user.email, user.actor()).await? {
            Some(claimed) => Redirect::to(&format!("/console/escalations/{}", claimed.key)),
            None => Redirect::to(
                "/console?view=mine&notice=Nothing+to+claim%3A+no+open+case+matches+your+skills.",
            ),
        }
        .into_response(),
    )
}

/// The list a form came from, with a notice added.
fn back_to(query: &str, notice: &str) -> Redirect {
    let notice: String = url::form_urlencoded::byte_serialize(notice.as_bytes()).collect();
    let query = WorkList::parse(query).query();
    Redirect::to(&format!("/console?{query}&notice={notice}"))
}

/// What a bulk action does to each chosen escalation.
enum BulkAction {
    Assign(Option<String>),
    Move(String),
    Tag(String),
}

impl BulkAction {
    fn patch(&self, e: &Escalation) -> EscalationPatch {
        match self {
            BulkAction::Assign(to) => EscalationPatch {
                assignee: Some(to.clone()),
                ..Default::default()
            },
            BulkAction::Move(queue) => EscalationPatch {
                queue: Some(Some(queue.clone())),
                ..Default::default()
            },
            BulkAction::Tag(tag) => EscalationPatch {
                tags: Some(e.tags.iter().cloned().chain([tag.clone()]).collect()),
                ..Default::default()
            },
        }
    }
}

/// Assigns, moves or tags the escalations ticked on a list, each through
/// the same change as the API's `PATCH` (routing follows a move). Each one
/// stands alone: the notice says which changed and why any did not.
pub(super) async fn bulk(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    let get = |name: &str| form_value(&form, name);
    let keys: Vec<&str> = form
        .iter()
        .filter(|(n, _)| n == "key")
        .map(|(_, v)| v.as_str())
        .collect();
    let back = get("back");
    if keys.is_empty() {
        return Ok(back_to(back, "Tick the escalations to change first.").into_response());
    }
    if keys.len() > MAX_BULK {
        return Err(ApiError::field(
            "validation_failed",
            "key",
            format!("at most {MAX_BULK} escalations at once"),
        )
        .into());
    }
    let action = match get("action") {
        "assign" => match get("assignee") {
            "" => BulkAction::Assign(None),
            "me" => BulkAction::Assign(Some(user.user.email.clone())),
            email => {
                check_assignee(&state, email).await?;
                BulkAction::Assign(Some(email.to_string()))
            }
        },
        "move" => {
            let queue = get("queue");
            if !settings_list::<Queue>(&state)
                .await?
                .iter()
                .any(|q| q.code == queue)
            {
                return Err(ApiError::field("validation_failed", "queue", "choose a queue").into());
            }
            BulkAction::Move(queue.to_string())
        }
        "tag" => BulkAction::Tag(get("tag").to_string()),
        other => {
            return Err(ApiError::field(
                "validation_failed",
                "action",
                format!("unknown action {other:?}; known: assign, move, tag"),
            )
            .into());
        }
    };
    let (actor, now) = (user.actor(), state.clock.now());
    let (mut changed, mut refused) = (0, Vec::new());
    for key in keys {
        let Some(parsed) = EscalationKey::parse(key) else {
            refused.push(format!("{key}: not an escalation key"));
            continue;
        };
        let outcome = mutate_routed(&state, &Scope::Staff, parsed, None, |e| {
            Ok(e.apply_patch(&action.patch(e), &actor, now)?)
        })
        .await;
        match outcome {
            Ok(_) => changed += 1,
            Err(error) if error.status().is_client_error() => {
                refused.push(format!("{key}: {}", error.detail));
            }
            Err(error) => return Err(error.into()),
        }
    }
    let mut notice = format!("Changed {changed}.");
    if !refused.is_empty() {
        notice.push_str(&format!(" Not changed: {}.", refused.join("; ")));
    }
    Ok(back_to(back, &notice).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct SaveViewForm {
    name: String,
    query: String,
}

/// Keeps the list's query under a name, replacing one of that name.
pub(super) async fn save_view(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<SaveViewForm>,
) -> WebResult<Response> {
    let list = WorkList::parse(&form.query);
    list.filter(&user.user.email)?;
    let mut preferences = load_preferences(&state, &user.user.email).await?;
    preferences
        .save_view(SavedView {
            name: form.name,
            query: list.query(),
        })
        .map_err(ApiError::from)?;
    store_preferences(&state, &user.user.email, &preferences).await?;
    Ok(back_to(&form.query, "View saved.").into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct DeleteViewForm {
    name: String,
}

/// Forgets a saved view.
pub(super) async fn delete_view(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<DeleteViewForm>,
) -> WebResult<Response> {
    let mut preferences = load_preferences(&state, &user.user.email).await?;
    if !preferences.delete_view(&form.name) {
        return Err(ApiError::not_found(format!("saved view {:?}", form.name)).into());
    }
    store_preferences(&state, &user.user.email, &preferences).await?;
    Ok(back_to("view=mine", "View deleted.").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_with_thousands_and_say_when_they_stopped() {
        assert_eq!(count_label(0), "0");
        assert_eq!(count_label(999), "999");
        assert_eq!(count_label(1234), "1,234");
        assert_eq!(count_label(9_999), "9,999");
        assert_eq!(count_label(10_000), "10,000+");
    }
}
