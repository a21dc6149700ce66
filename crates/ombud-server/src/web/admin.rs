//! The console's admin pages, for admins and managers: reference data,
//! partners, the settings documents (queues, agents and their skills,
//! routing rules with a dry run, SLA policies, calendars, message
//! templates, webhooks, the statement-of-reasons profile), and for admins
//! users and API tokens. Documents are
//! edited as the JSON the API takes and checked exactly as the API checks
//! them; a refused one comes back with every fault and the text as typed.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ombud_domain::assignment::{AgentProfile, Queue};
use ombud_domain::deadlines::{BusinessCalendar, CalendarSpec};
use ombud_domain::routing::RoutingRule;
use ombud_domain::sla::SlaPolicy;
use ombud_domain::template::Template as MessageTemplate;
use ombud_domain::webhook::WebhookSubscription;
use ombud_domain::{NewPartner, PartnerPatch, RefItem, RefKind, Role};
use ombud_store::{Expect, Setting, SettingKind, StoreError};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::session::{StaffForm, WebUser};
use super::view::{Choice, choices, fault_lines};
use super::{WebResult, render};
use crate::AppState;
use crate::auth::{UserRequest, create_token, create_user};
use crate::error::{ApiError, ApiResult};
use crate::routes::documents::{Document, decode, not_found};
use crate::routes::partners::not_found as partner_not_found;
use crate::routes::routing::{DryRunRequest, dry_run_for};
use crate::routes::spikes::RuleDocument;
use crate::routes::transparency::Profile;

/// The settings documents edited here: (path, kind, title).
const DOCUMENTS: [(&str, SettingKind, &str); 9] = [
    ("queues", SettingKind::Queue, "Queues"),
    ("agents", SettingKind::Agent, "Agents and their skills"),
    ("routing-rules", SettingKind::RoutingRule, "Routing rules"),
    ("sla-policies", SettingKind::SlaPolicy, "SLA policies"),
    ("calendars", SettingKind::Calendar, "Business calendars"),
    ("templates", SettingKind::Template, "Message templates"),
    ("webhooks", SettingKind::Webhook, "Webhooks"),
    (
        "sor-profile",
        SettingKind::SorProfile,
        "Statement-of-reasons profile",
    ),
    ("spike-rule", SettingKind::SpikeRule, "Spike detection rule"),
];

/// Admins and managers configure Ombud and query its data; agents may not.
pub(super) fn require_manager(user: &WebUser) -> WebResult<()> {
    if user.user.role.configures() {
        Ok(())
    } else {
        Err(ApiError::forbidden("only admins and managers may use this page").into())
    }
}

fn require_admin(user: &WebUser) -> WebResult<()> {
    match user.user.role {
        Role::Admin => Ok(()),
        _ => Err(ApiError::forbidden("only admins manage users and tokens").into()),
    }
}

fn document(path: &str) -> WebResult<(SettingKind, &'static str)> {
    DOCUMENTS
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, kind, title)| (*kind, *title))
        .ok_or_else(|| ApiError::not_found(format!("settings {path:?}")).into())
}

fn reference_kind(path: &str) -> WebResult<RefKind> {
    RefKind::from_path(path)
        .ok_or_else(|| ApiError::not_found(format!("reference data {path:?}")).into())
}

/// Parses `text` as `T`, naming the place of a fault (`rules[2].when`).
fn parse_json<T: DeserializeOwned>(text: &str) -> ApiResult<T> {
    let mut reader = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut reader).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." { "document".into() } else { path };
        ApiError::field("validation_failed", &field, error.into_inner().to_string())
    })
}

/// `text` as a checked `T` named `code` (the document's own code when
/// `code` is `None`): the body to store and its code.
async fn checked<T: Document>(
    state: &AppState,
    code: Option<&str>,
    text: &str,
) -> ApiResult<(String, serde_json::Value)> {
    let mut document: T = parse_json(text)?;
    if let Some(code) = code
        && document.code() != code
    {
        return Err(ApiError::field(
            "validation_failed",
            T::CODE_FIELD,
            format!("is {:?}; this page edits {code:?}", document.code()),
        ));
    }
    document.check(state).await?;
    let code = document.code().to_string();
    Ok((
        code,
        serde_json::to_value(&document).map_err(ApiError::internal)?,
    ))
}

/// Checks a document of `kind` as the API's `PUT` does.
async fn checked_document(
    state: &AppState,
    kind: SettingKind,
    code: Option<&str>,
    text: &str,
) -> ApiResult<(String, serde_json::Value)> {
    match kind {
        SettingKind::Queue => checked::<Queue>(state, code, text).await,
        SettingKind::Agent => checked::<AgentProfile>(state, code, text).await,
        SettingKind::RoutingRule => checked::<RoutingRule>(state, code, text).await,
        SettingKind::SlaPolicy => checked::<SlaPolicy>(state, code, text).await,
        SettingKind::Template => checked::<MessageTemplate>(state, code, text).await,
        SettingKind::Webhook => checked::<WebhookSubscription>(state, code, text).await,
        SettingKind::SorProfile => checked::<Profile>(state, code, text).await,
        SettingKind::SpikeRule => checked::<RuleDocument>(state, code, text).await,
        SettingKind::Calendar => {
            // A calendar's code is its key, not a field of its body.
            let code = code.ok_or_else(|| {
                ApiError::field("validation_failed", "code", "name the new calendar")
            })?;
            ombud_domain::validation::code("code", code)?;
            let spec: CalendarSpec = parse_json(text)?;
            let canonical = BusinessCalendar::from_spec(&spec)?.to_spec();
            Ok((
                code.to_string(),
                serde_json::to_value(canonical).map_err(ApiError::internal)?,
            ))
        }
        other => Err(ApiError::not_found(format!("settings {}", other.as_str()))),
    }
}

/// A stored document as the editor shows it (a webhook without its secret).
fn shown(kind: SettingKind, setting: &Setting) -> ApiResult<String> {
    let body = match kind {
        SettingKind::Webhook => {
            serde_json::to_value(decode::<WebhookSubscription>(setting)?.public())
                .map_err(ApiError::internal)?
        }
        _ => setting.body.clone(),
    };
    serde_json::to_string_pretty(&body).map_err(ApiError::internal)
}

#[derive(Template)]
#[template(path = "admin.html")]
struct IndexPage {
    csrf: String,
    user_name: String,
    documents: Vec<(&'static str, &'static str)>,
    references: Vec<(&'static str, String)>,
    admin: bool,
}

/// What there is to configure.
pub(super) async fn index(user: WebUser) -> WebResult<Response> {
    require_manager(&user)?;
    Ok(render(
        StatusCode::OK,
        &IndexPage {
            admin: user.user.role == Role::Admin,
            csrf: user.csrf,
            user_name: user.user.name,
            documents: DOCUMENTS.iter().map(|(p, _, t)| (*p, *t)).collect(),
            references: RefKind::ALL
                .iter()
                .map(|k| (k.path(), k.as_str().replace('_', " ")))
                .collect(),
        },
    ))
}

/// One entry of a list of documents: (link, code, name).
struct Entry {
    href: String,
    code: String,
    name: String,
}

#[derive(Template)]
#[template(path = "admin_json.html")]
struct JsonPage {
    csrf: String,
    user_name: String,
    title: String,
    /// Where the list of this kind is.
    list_href: String,
    entries: Vec<Entry>,
    /// Where the form posts; with a version when it edits a stored one.
    action: String,
    version: Option<i64>,
    /// A new calendar's code is asked for apart from its body.
    ask_code: bool,
    code: String,
    text: String,
    errors: Vec<String>,
    notice: Option<String>,
    delete: Option<String>,
    dry_run: Option<DryRunView>,
}

/// A dry run of the routing rules over one escalation.
struct DryRunView {
    key: String,
    lines: Vec<String>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    notice: Option<String>,
    /// An escalation key to dry-run the routing rules on.
    dry_run: Option<String>,
}

async fn dry_run_view(state: &AppState, key: Option<String>) -> WebResult<Option<DryRunView>> {
    let Some(key) = key else { return Ok(None) };
    let request = DryRunRequest {
        key: Some(key.trim().to_string()),
        escalation: None,
    };
    let (lines, error) = match dry_run_for(state, request).await {
        Ok(result) => {
            let mut lines: Vec<String> = result
                .rules_fired
                .iter()
                .map(|r| format!("rule {} fired: {}", r.code, r.name))
                .collect();
            if lines.is_empty() {
                lines.push("no rule fired".into());
            }
            lines.push(format!("priority {}", result.priority.as_str()));
            lines.push(format!(
                "queue {}",
                result.queue.as_deref().unwrap_or("none")
            ));
            if let Some(score) = &result.score {
                lines.push(format!("score {}", score.total));
            }
            lines.push(format!(
                "SLA policy {}",
                result.sla_policy.as_deref().unwrap_or("the usual choice")
            ));
            (lines, None)
        }
        Err(error) if error.status().is_client_error() => (Vec::new(), Some(error.detail)),
        Err(error) => return Err(error.into()),
    };
    Ok(Some(DryRunView { key, lines, error }))
}

async fn entries(state: &AppState, path: &str, kind: SettingKind) -> ApiResult<Vec<Entry>> {
    Ok(state
        .stores
        .settings
        .list(kind)
        .await?
        .into_iter()
        .map(|s| Entry {
            href: format!("/console/admin/settings/{path}/{}", s.code),
            name: ["name", "email", "url"]
                .iter()
                .find_map(|f| s.body.get(*f).and_then(|v| v.as_str()))
                .unwrap_or_default()
                .to_string(),
            code: s.code,
        })
        .collect())
}

/// The documents of one kind and a form for a new one.
async fn document_list(
    state: &AppState,
    user: WebUser,
    path: &str,
    text: String,
    code: String,
    errors: Vec<String>,
    query: ListQuery,
) -> WebResult<JsonPage> {
    let (kind, title) = document(path)?;
    let entries = entries(state, path, kind).await?;
    let text = match text.is_empty() {
        // The first document is the best example of the shape.
        true => match state.stores.settings.list(kind).await?.first() {
            Some(first) => shown(kind, first)?,
            None => "{}".into(),
        },
        false => text,
    };
    Ok(JsonPage {
        csrf: user.csrf,
        user_name: user.user.name,
        title: title.to_string(),
        list_href: format!("/console/admin/settings/{path}"),
        entries,
        action: format!("/console/admin/settings/{path}"),
        version: None,
        ask_code: kind == SettingKind::Calendar,
        code,
        text,
        errors,
        notice: query.notice,
        delete: None,
        dry_run: match kind {
            SettingKind::RoutingRule => Some(dry_run_view(state, query.dry_run).await?.unwrap_or(
                DryRunView {
                    key: String::new(),
                    lines: Vec::new(),
                    error: None,
                },
            )),
            _ => None,
        },
    })
}

pub(super) async fn documents(
    State(state): State<AppState>,
    user: WebUser,
    Path(path): Path<String>,
    Query(query): Query<ListQuery>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let page = document_list(
        &state,
        user,
        &path,
        String::new(),
        String::new(),
        Vec::new(),
        query,
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub(super) struct JsonForm {
    text: String,
    /// A new calendar's code.
    #[serde(default)]
    code: String,
    /// The version the editor showed; absent for a new document.
    version: Option<i64>,
}

/// Adds a document; refuses one whose code is taken.
pub(super) async fn create_document(
    State(state): State<AppState>,
    Path(path): Path<String>,
    StaffForm { user, form }: StaffForm<JsonForm>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let (kind, _) = document(&path)?;
    let code = Some(form.code.trim()).filter(|c| !c.is_empty());
    let stored = match checked_document(&state, kind, code, &form.text).await {
        Ok((code, body)) => state
            .stores
            .settings
            .put(kind, &code, &body, Expect::Absent, state.clock.now())
            .await
            .map(|_| code)
            .map_err(ApiError::from),
        Err(error) => Err(error),
    };
    match stored {
        Ok(code) => Ok(Redirect::to(&format!(
            "/console/admin/settings/{path}/{code}?notice=Created."
        ))
        .into_response()),
        Err(error) if error.status().is_client_error() => {
            let page = document_list(
                &state,
                user,
                &path,
                form.text,
                form.code,
                fault_lines(&error),
                ListQuery::default(),
            )
            .await?;
            Ok(render(error.status(), &page))
        }
        Err(error) => Err(error.into()),
    }
}

async fn document_editor(
    state: &AppState,
    user: WebUser,
    path: &str,
    code: &str,
    edit: Option<(String, i64, Vec<String>)>,
    notice: Option<String>,
) -> WebResult<JsonPage> {
    let (kind, title) = document(path)?;
    let stored = state
        .stores
        .settings
        .get(kind, code)
        .await
        .map_err(not_found(kind, code))?;
    let (text, version, errors) = match edit {
        Some(edit) => edit,
        None => (shown(kind, &stored)?, stored.version, Vec::new()),
    };
    Ok(JsonPage {
        csrf: user.csrf,
        user_name: user.user.name,
        title: format!("{title}: {code}"),
        list_href: format!("/console/admin/settings/{path}"),
        entries: Vec::new(),
        action: format!("/console/admin/settings/{path}/{code}"),
        version: Some(version),
        ask_code: false,
        code: code.to_string(),
        text,
        errors,
        notice,
        delete: Some(format!("/console/admin/settings/{path}/{code}/delete")),
        dry_run: None,
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

pub(super) async fn edit_document(
    State(state): State<AppState>,
    user: WebUser,
    Path((path, code)): Path<(String, String)>,
    Query(query): Query<NoticeQuery>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let page = document_editor(&state, user, &path, &code, None, query.notice).await?;
    Ok(render(StatusCode::OK, &page))
}

/// Replaces the version the editor showed; a document changed meanwhile
/// is refused (412) rather than overwritten.
pub(super) async fn save_document(
    State(state): State<AppState>,
    Path((path, code)): Path<(String, String)>,
    StaffForm { user, form }: StaffForm<JsonForm>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let (kind, _) = document(&path)?;
    let version = form.version.ok_or_else(|| {
        ApiError::field(
            "validation_failed",
            "version",
            "the form lost its version; reload it",
        )
    })?;
    let saved = match checked_document(&state, kind, Some(&code), &form.text).await {
        Ok((_, body)) => state
            .stores
            .settings
            .put(
                kind,
                &code,
                &body,
                Expect::Version(version),
                state.clock.now(),
            )
            .await
            .map_err(ApiError::from),
        Err(error) => Err(error),
    };
    match saved {
        Ok(_) => Ok(Redirect::to(&format!(
            "/console/admin/settings/{path}/{code}?notice=Saved."
        ))
        .into_response()),
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let edit = Some((form.text, version, fault_lines(&error)));
            let page = document_editor(&state, user, &path, &code, edit, None).await?;
            Ok(render(error.status(), &page))
        }
        Err(error) => Err(error.into()),
    }
}

pub(super) async fn delete_document(
    State(state): State<AppState>,
    Path((path, code)): Path<(String, String)>,
    StaffForm { user, .. }: StaffForm<super::session::TokenForm>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let (kind, _) = document(&path)?;
    state.stores.settings.delete(kind, &code).await?;
    Ok(Redirect::to(&format!(
        "/console/admin/settings/{path}?notice=Deleted+{code}."
    ))
    .into_response())
}

#[derive(Template)]
#[template(path = "admin_reference.html")]
struct ReferencePage {
    csrf: String,
    user_name: String,
    title: String,
    path: &'static str,
    items: Vec<RefItem>,
    /// The new item's fields as typed, when refused.
    new: RefForm,
    errors: Vec<String>,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RefForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    parent: String,
    /// A checkbox: present when ticked.
    active: Option<String>,
}

impl RefForm {
    fn item(&self, code: &str) -> RefItem {
        RefItem {
            code: code.trim().to_string(),
            label: self.label.clone(),
            description: self.description.clone(),
            parent: Some(self.parent.trim().to_string()).filter(|p| !p.is_empty()),
            active: self.active.is_some(),
        }
    }
}

async fn reference_page(
    state: &AppState,
    user: WebUser,
    kind: RefKind,
    new: RefForm,
    errors: Vec<String>,
    notice: Option<String>,
) -> WebResult<ReferencePage> {
    Ok(ReferencePage {
        csrf: user.csrf,
        user_name: user.user.name,
        title: kind.as_str().replace('_', " "),
        path: kind.path(),
        items: state.stores.reference.list(kind).await?,
        new,
        errors,
        notice,
    })
}

pub(super) async fn reference(
    State(state): State<AppState>,
    user: WebUser,
    Path(path): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let kind = reference_kind(&path)?;
    let new = RefForm {
        active: Some("on".into()),
        ..RefForm::default()
    };
    let page = reference_page(&state, user, kind, new, Vec::new(), query.notice).await?;
    Ok(render(StatusCode::OK, &page))
}

/// Checks an item's parent (policies nest) exists.
async fn check_parent(state: &AppState, kind: RefKind, item: &RefItem) -> ApiResult<()> {
    let Some(parent) = &item.parent else {
        return Ok(());
    };
    match state.stores.reference.get(kind, parent).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(ApiError::field(
            "validation_failed",
            "parent",
            format!("no {} {parent:?}", kind.as_str()),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Adds an item, or changes one (`code` in the path): label, description,
/// parent, and whether it is active (retired items stay on old cases).
async fn store_reference(
    state: &AppState,
    kind: RefKind,
    code: Option<&str>,
    form: &RefForm,
) -> ApiResult<()> {
    let item = form.item(code.unwrap_or(&form.code)).validate()?;
    check_parent(state, kind, &item).await?;
    match code {
        Some(_) => state.stores.reference.update(kind, &item).await?,
        None => state.stores.reference.create(kind, &item).await?,
    }
    Ok(())
}

async fn reference_outcome(
    state: &AppState,
    user: WebUser,
    kind: RefKind,
    form: RefForm,
    stored: ApiResult<()>,
) -> WebResult<Response> {
    match stored {
        Ok(()) => Ok(Redirect::to(&format!(
            "/console/admin/reference/{}?notice=Saved.",
            kind.path()
        ))
        .into_response()),
        Err(error) if error.status().is_client_error() => {
            let errors = fault_lines(&error);
            let page = reference_page(state, user, kind, form, errors, None).await?;
            Ok(render(error.status(), &page))
        }
        Err(error) => Err(error.into()),
    }
}

pub(super) async fn add_reference(
    State(state): State<AppState>,
    Path(path): Path<String>,
    StaffForm { user, form }: StaffForm<RefForm>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let kind = reference_kind(&path)?;
    let stored = store_reference(&state, kind, None, &form).await;
    reference_outcome(&state, user, kind, form, stored).await
}

pub(super) async fn change_reference(
    State(state): State<AppState>,
    Path((path, code)): Path<(String, String)>,
    StaffForm { user, form }: StaffForm<RefForm>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let kind = reference_kind(&path)?;
    let stored = store_reference(&state, kind, Some(&code), &form).await;
    reference_outcome(&state, user, kind, RefForm::default(), stored).await
}

/// The partners, and a form for a new one.
async fn partner_list(
    state: &AppState,
    user: WebUser,
    text: String,
    errors: Vec<String>,
    notice: Option<String>,
) -> WebResult<JsonPage> {
    let partners = state.stores.directory.list_partners().await?;
    let text = match text.is_empty() {
        true => serde_json::to_string_pretty(&NewPartner {
            slug: "new-partner".into(),
            name: "New partner".into(),
            kind: "government".into(),
            tier: 2,
            country: "JP".into(),
            language: "ja".into(),
            contacts: Vec::new(),
            allowed_types: Vec::new(),
        })
        .map_err(ApiError::internal)?,
        false => text,
    };
    Ok(JsonPage {
        csrf: user.csrf,
        user_name: user.user.name,
        title: "Partners".into(),
        list_href: "/console/admin/partners".into(),
        entries: partners
            .into_iter()
            .map(|p| Entry {
                href: format!("/console/admin/partners/{}", p.slug.as_str()),
                code: p.slug.as_str().to_string(),
                name: format!(
                    "{} ({}, tier {}{})",
                    p.name,
                    p.kind.as_str(),
                    p.tier.get(),
                    if p.active { "" } else { ", inactive" }
                ),
            })
            .collect(),
        action: "/console/admin/partners".into(),
        version: None,
        ask_code: false,
        code: String::new(),
        text,
        errors,
        notice,
        delete: None,
        dry_run: None,
    })
}

pub(super) async fn partners(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<NoticeQuery>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let page = partner_list(&state, user, String::new(), Vec::new(), query.notice).await?;
    Ok(render(StatusCode::OK, &page))
}

pub(super) async fn create_partner(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<JsonForm>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let created = async {
        let partner = parse_json::<NewPartner>(&form.text)?.validate(state.clock.now())?;
        state.stores.directory.create_partner(&partner).await?;
        ApiResult::Ok(partner.slug.as_str().to_string())
    }
    .await;
    match created {
        Ok(slug) => Ok(
            Redirect::to(&format!("/console/admin/partners/{slug}?notice=Created."))
                .into_response(),
        ),
        Err(error) if error.status().is_client_error() => {
            let page = partner_list(&state, user, form.text, fault_lines(&error), None).await?;
            Ok(render(error.status(), &page))
        }
        Err(error) => Err(error.into()),
    }
}

/// A partner as its editor shows it: every field a change may set.
fn partner_patch(partner: &ombud_domain::Partner) -> PartnerPatch {
    PartnerPatch {
        name: Some(partner.name.clone()),
        kind: Some(partner.kind.as_str().to_string()),
        tier: Some(partner.tier.get()),
        country: Some(partner.country.to_string()),
        language: Some(partner.language.to_string()),
        contacts: Some(partner.contacts.clone()),
        allowed_types: Some(partner.allowed_types.clone()),
        active: Some(partner.active),
    }
}

async fn partner_editor(
    state: &AppState,
    user: WebUser,
    slug: &str,
    edit: Option<(String, Vec<String>)>,
    notice: Option<String>,
) -> WebResult<JsonPage> {
    let partner = state
        .stores
        .directory
        .get_partner(slug)
        .await
        .map_err(partner_not_found(slug))?;
    let (text, errors) = match edit {
        Some(edit) => edit,
        None => (
            serde_json::to_string_pretty(&partner_patch(&partner)).map_err(ApiError::internal)?,
            Vec::new(),
        ),
    };
    Ok(JsonPage {
        csrf: user.csrf,
        user_name: user.user.name,
        title: format!("Partner {slug}"),
        list_href: "/console/admin/partners".into(),
        entries: Vec::new(),
        action: format!("/console/admin/partners/{slug}"),
        version: Some(partner.version),
        ask_code: false,
        code: slug.to_string(),
        text,
        errors,
        notice,
        delete: None,
        dry_run: None,
    })
}

pub(super) async fn edit_partner(
    State(state): State<AppState>,
    user: WebUser,
    Path(slug): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let page = partner_editor(&state, user, &slug, None, query.notice).await?;
    Ok(render(StatusCode::OK, &page))
}

/// Applies the edited fields to the version the editor showed.
pub(super) async fn save_partner(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    StaffForm { user, form }: StaffForm<JsonForm>,
) -> WebResult<Response> {
    require_manager(&user)?;
    let saved = async {
        let patch: PartnerPatch = parse_json(&form.text)?;
        let current = state.stores.directory.get_partner(&slug).await?;
        let expected = form.version.unwrap_or_default();
        let next = patch.apply(&current, state.clock.now())?;
        if next != current {
            state.stores.directory.save_partner(&next, expected).await?;
        }
        ApiResult::Ok(())
    }
    .await;
    match saved {
        Ok(()) => Ok(
            Redirect::to(&format!("/console/admin/partners/{slug}?notice=Saved.")).into_response(),
        ),
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let edit = Some((form.text, fault_lines(&error)));
            let page = partner_editor(&state, user, &slug, edit, None).await?;
            Ok(render(error.status(), &page))
        }
        Err(error) => Err(error.into()),
    }
}

/// A user or token row.
struct PrincipalRow {
    id: String,
    name: String,
    role: &'static str,
    partner: String,
    state: String,
    /// An active user, or a token not revoked.
    active: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    csrf: String,
    user_name: String,
    users: Vec<PrincipalRow>,
    tokens: Vec<PrincipalRow>,
    roles: Vec<Choice>,
    partners: Vec<Choice>,
    /// A new token's secret, shown this once.
    secret: Option<String>,
    errors: Vec<String>,
    notice: Option<String>,
    /// The new user's fields as typed (never the password).
    email: String,
    name: String,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct UserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    partner: String,
    #[serde(default)]
    password: String,
}

struct UsersOutcome {
    form: UserForm,
    secret: Option<String>,
    errors: Vec<String>,
    notice: Option<String>,
}

async fn users_page(
    state: &AppState,
    user: WebUser,
    outcome: UsersOutcome,
) -> WebResult<UsersPage> {
    let users = state.stores.directory.list_users().await?;
    let tokens = state.stores.directory.list_tokens().await?;
    let partners = state.stores.directory.list_partners().await?;
    Ok(UsersPage {
        csrf: user.csrf,
        user_name: user.user.name,
        users: users
            .into_iter()
            .map(|u| PrincipalRow {
                id: u.email,
                name: u.name,
                role: u.role.as_str(),
                partner: u.partner.unwrap_or_default(),
                state: if u.active { "active" } else { "inactive" }.into(),
                active: u.active,
            })
            .collect(),
        tokens: tokens
            .into_iter()
            .map(|t| PrincipalRow {
                id: t.id.to_string(),
                name: format!("{} ({}…)", t.name, t.prefix),
                role: t.role.as_str(),
                partner: t.partner.unwrap_or_default(),
                active: t.revoked_at.is_none(),
                state: match t.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None => format!("since {}", t.created_at),
                },
            })
            .collect(),
        roles: choices(
            Role::ALL
                .iter()
                .map(|r| (r.as_str().to_string(), r.as_str().to_string())),
            &outcome.form.role,
        ),
        partners: choices(
            partners
                .into_iter()
                .map(|p| (p.slug.as_str().to_string(), p.name)),
            &outcome.form.partner,
        ),
        secret: outcome.secret,
        errors: outcome.errors,
        notice: outcome.notice,
        email: outcome.form.email,
        name: outcome.form.name,
    })
}

pub(super) async fn users(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<NoticeQuery>,
) -> WebResult<Response> {
    require_admin(&user)?;
    let outcome = UsersOutcome {
        form: UserForm::default(),
        secret: None,
        errors: Vec::new(),
        notice: query.notice,
    };
    Ok(render(
        StatusCode::OK,
        &users_page(&state, user, outcome).await?,
    ))
}

fn role(value: &str) -> ApiResult<Role> {
    Role::parse(value).ok_or_else(|| {
        ApiError::field(
            "validation_failed",
            "role",
            format!("unknown role {value:?}"),
        )
    })
}

fn partner_of(value: &str) -> Option<String> {
    Some(value.trim().to_string()).filter(|p| !p.is_empty())
}

/// Adds a user with a first password.
pub(super) async fn add_user(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<UserForm>,
) -> WebResult<Response> {
    require_admin(&user)?;
    let created = async {
        let request = UserRequest {
            email: form.email.clone(),
            name: form.name.clone(),
            role: role(&form.role)?,
            partner: partner_of(&form.partner),
            password: form.password.clone(),
        };
        create_user(&state.stores, &request, state.clock.now()).await
    }
    .await;
    let (status, outcome) = match created {
        Ok(created) => {
            let notice = format!("Added {}.", created.email);
            let notice: String = url::form_urlencoded::byte_serialize(notice.as_bytes()).collect();
            return Ok(
                Redirect::to(&format!("/console/admin/users?notice={notice}")).into_response(),
            );
        }
        Err(error) if error.status().is_client_error() => (
            error.status(),
            UsersOutcome {
                errors: fault_lines(&error),
                form,
                secret: None,
                notice: None,
            },
        ),
        Err(error) => return Err(error.into()),
    };
    let page = users_page(&state, user, outcome).await?;
    Ok(render(status, &page))
}

#[derive(Debug, Deserialize)]
pub(super) struct ActiveForm {
    active: bool,
}

/// Stops a user (their sessions end at once) or lets them sign in again;
/// an admin cannot stop themselves.
pub(super) async fn set_user_active(
    State(state): State<AppState>,
    Path(email): Path<String>,
    StaffForm { user, form }: StaffForm<ActiveForm>,
) -> WebResult<Response> {
    require_admin(&user)?;
    if !form.active && email == user.user.email {
        return Err(ApiError::field(
            "validation_failed",
            "active",
            "you cannot deactivate yourself; ask another admin",
        )
        .into());
    }
    state
        .stores
        .directory
        .set_user_active(&email, form.active)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found(format!("user {email:?}")),
            other => other.into(),
        })?;
    let notice = match form.active {
        true => format!("{email} may sign in again."),
        false => format!("{email} is deactivated and signed out."),
    };
    let notice: String = url::form_urlencoded::byte_serialize(notice.as_bytes()).collect();
    Ok(Redirect::to(&format!("/console/admin/users?notice={notice}")).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct TokenRequestForm {
    name: String,
    role: String,
    #[serde(default)]
    partner: String,
}

/// Creates an API token and shows its secret on this one page.
pub(super) async fn add_token(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<TokenRequestForm>,
) -> WebResult<Response> {
    require_admin(&user)?;
    let created = async {
        let partner = partner_of(&form.partner);
        create_token(
            &state.stores,
            &form.name,
            role(&form.role)?,
            partner.as_deref(),
            state.clock.now(),
        )
        .await
    }
    .await;
    let (status, outcome) = match created {
        Ok(secret) => (
            StatusCode::OK,
            UsersOutcome {
                form: UserForm::default(),
                secret: Some(secret),
                errors: Vec::new(),
                notice: Some("Token created: copy its secret now, it is not shown again.".into()),
            },
        ),
        Err(error) if error.status().is_client_error() => (
            error.status(),
            UsersOutcome {
                form: UserForm::default(),
                secret: None,
                errors: fault_lines(&error),
                notice: None,
            },
        ),
        Err(error) => return Err(error.into()),
    };
    // Shown on this response only (pages are never cached: no-store).
    Ok(render(status, &users_page(&state, user, outcome).await?))
}

pub(super) async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    StaffForm { user, .. }: StaffForm<super::session::TokenForm>,
) -> WebResult<Response> {
    require_admin(&user)?;
    state
        .stores
        .directory
        .revoke_token(id, state.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found(format!("token {id}")),
            other => other.into(),
        })?;
    Ok(Redirect::to(&format!("/console/admin/users?notice=Token+{id}+revoked.")).into_response())
}
