//! The partner portal: a partner's users see only their organisation's
//! escalations (the store's partner scope) and only partner-visible events,
//! file new ones (through the same intake as the API, acknowledgement
//! included) and reply to the escalations team. An invalid reply is shown again with
//! the error and the text as typed.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::tz::TimeZone;
use ombud_domain::{EscalationKey, NewEscalation, RefKind, SubjectKind, Visibility};
use ombud_store::{EscalationFilter, Scope, SortField};
use serde::Deserialize;

use super::session::{SignedForm, WebUser};
use super::view::{
    Choice, ClockRow, TimelineItem, choices, clock_row, fault_lines, reference_choices,
    subject_from, subject_label,
};
use super::{WebResult, render};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::escalations::{
    Upload, attach, checked_media_type, evidence_response, file, mutate, next_part, not_found,
    parse_flag, parse_key, part_text, read_file_part, read_upload, with_timeline,
};

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
    /// The decision's outcome, as the reference data words it.
    outcome: Option<String>,
    description: String,
    subjects: Vec<String>,
    timeline: Vec<TimelineItem>,
    /// The deadlines promised to the partner (the SLA policy's clocks).
    clocks: Vec<ClockRow>,
    /// Partner-visible evidence: `(id, filename, media type)`.
    evidence: Vec<(String, String, String)>,
    notice: Option<String>,
    error: Option<String>,
    /// Why the last file was refused.
    upload_error: Option<String>,
    /// The reply as typed, when it was refused.
    draft: String,
}

/// What a reply or upload form brought back to the page.
#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    error: Option<String>,
    upload_error: Option<String>,
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
    let outcome_label = match &e.decision {
        Some(decision) => Some(
            match state
                .stores
                .reference
                .get(RefKind::Outcome, &decision.outcome)
                .await
            {
                Ok(item) => item.label,
                Err(_) => decision.outcome.replace('_', " "),
            },
        ),
        None => None,
    };
    Ok(EscalationPage {
        outcome: outcome_label,
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
        timeline: timeline
            .iter()
            .map(|event| TimelineItem::of(event, &TimeZone::UTC))
            .collect(),
        clocks: e
            .clocks
            .iter()
            .map(|c| clock_row(c, state.clock.now(), &TimeZone::UTC))
            .collect(),
        evidence: e
            .evidence
            .iter()
            .map(|item| {
                let media = item
                    .sniffed_type
                    .clone()
                    .unwrap_or_else(|| item.declared_type.clone());
                (item.id.clone(), item.filename.clone(), media)
            })
            .collect(),
        notice: outcome.notice,
        error: outcome.error,
        upload_error: outcome.upload_error,
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
    body: String,
}

/// A message from the partner to the escalations team, visible to both.
pub(super) async fn reply(
    State(state): State<AppState>,
    Path(key): Path<String>,
    SignedForm { user, form }: SignedForm<ReplyForm>,
) -> WebResult<Response> {
    let partner = user.require_partner()?;
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
                error: Some(error.detail),
                draft: form.body,
                ..Outcome::default()
            };
            let page = escalation_page(&state, user, partner, key, outcome).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(error) => Err(error.into()),
    }
}

/// Subject rows the new-escalation form offers.
const SUBJECT_ROWS: usize = 3;
/// Files the new-escalation form takes at once.
pub(super) const MAX_NEW_FILES: usize = 5;

/// One subject row of the form, as typed.
#[derive(Debug, Default)]
struct SubjectFields {
    kind: String,
    surface: String,
    text: String,
}

/// The new-escalation form as typed; also what the page shows again.
#[derive(Debug, Default)]
pub(super) struct NewForm {
    kind: String,
    title: String,
    description: String,
    country: String,
    language: String,
    partner_ref: String,
    subjects: Vec<SubjectFields>,
    /// The files are sensitive media (shown blurred to staff).
    sensitive: bool,
}

impl NewForm {
    /// The escalation the form describes, with the subject rows that name one.
    fn escalation(&self) -> NewEscalation {
        let subjects = self
            .subjects
            .iter()
            .filter_map(|s| subject_from(&s.kind, &s.surface, &s.text))
            .collect();
        let partner_ref = self.partner_ref.trim();
        NewEscalation {
            escalation_type: self.kind.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            partner_ref: (!partner_ref.is_empty()).then(|| partner_ref.to_string()),
            country: self.country.trim().to_string(),
            language: self.language.trim().to_string(),
            subjects,
            ..NewEscalation::default()
        }
    }

    /// Reads the multipart form: its fields, its anti-forgery token and the
    /// files chosen (none yet checked or stored).
    async fn read(
        mut multipart: Multipart,
        max: usize,
    ) -> WebResult<(NewForm, String, Vec<Upload>)> {
        let (mut form, mut token, mut files) = (NewForm::default(), String::new(), Vec::new());
        while let Some(field) = next_part(&mut multipart, max).await? {
            let name = field.name().unwrap_or_default().to_string();
            if name == "file" {
                if let Some(upload) = read_file_part(field, max).await? {
                    files.push(upload);
                }
                continue;
            }
            let text = part_text(field).await?;
            match name.as_str() {
                "csrf" => token = text,
                "type" => form.kind = text,
                "title" => form.title = text,
                "description" => form.description = text,
                "country" => form.country = text,
                "language" => form.language = text,
                "partner_ref" => form.partner_ref = text,
                "sensitive" => form.sensitive = parse_flag("sensitive", &text)?,
                // Each row's fields arrive in order: kind, surface, subject.
                "subject_kind" => form.subjects.push(SubjectFields {
                    kind: text,
                    ..SubjectFields::default()
                }),
                "subject_surface" | "subject" => {
                    if form.subjects.is_empty() {
                        form.subjects.push(SubjectFields::default());
                    }
                    let row = form.subjects.last_mut().expect("just ensured");
                    match name.as_str() {
                        "subject_surface" => row.surface = text,
                        _ => row.text = text,
                    }
                }
                other => {
                    return Err(ApiError::field(
                        "validation_failed",
                        other,
                        "this form has no such field",
                    )
                    .into());
                }
            }
        }
        if files.len() > MAX_NEW_FILES {
            return Err(ApiError::field(
                "validation_failed",
                "file",
                format!(
                    "at most {MAX_NEW_FILES} files at once; attach more on the escalation's page"
                ),
            )
            .into());
        }
        for file in &mut files {
            file.sensitive = form.sensitive;
        }
        Ok((form, token, files))
    }
}

/// One subject row as the page shows it.
struct SubjectRow {
    n: usize,
    kinds: Vec<Choice>,
    surfaces: Vec<Choice>,
    text: String,
}

#[derive(Template)]
#[template(path = "portal_new.html")]
struct NewPage {
    csrf: String,
    user_name: String,
    partner: String,
    form: NewForm,
    types: Vec<Choice>,
    subject_rows: Vec<SubjectRow>,
    max_files: usize,
    errors: Vec<String>,
}

async fn new_page(
    state: &AppState,
    user: WebUser,
    partner: String,
    mut form: NewForm,
    errors: Vec<String>,
) -> WebResult<NewPage> {
    let types = reference_choices(state, RefKind::EscalationType, &form.kind).await?;
    form.subjects.resize_with(
        form.subjects.len().max(SUBJECT_ROWS),
        SubjectFields::default,
    );
    let mut subject_rows = Vec::with_capacity(form.subjects.len());
    for (i, subject) in form.subjects.iter().enumerate() {
        subject_rows.push(SubjectRow {
            n: i + 1,
            kinds: choices(
                SubjectKind::ALL
                    .iter()
                    .map(|k| (k.as_str().to_string(), k.as_str().replace('_', " "))),
                &subject.kind,
            ),
            surfaces: reference_choices(state, RefKind::Surface, &subject.surface).await?,
            text: subject.text.clone(),
        });
    }
    Ok(NewPage {
        csrf: user.csrf,
        user_name: user.user.name,
        partner,
        form,
        types,
        subject_rows,
        max_files: MAX_NEW_FILES,
        errors,
    })
}

/// The form to file a new escalation, country and language preset from
/// the partner's own.
pub(super) async fn new_form(State(state): State<AppState>, user: WebUser) -> WebResult<Response> {
    let partner = user.require_partner()?;
    let own = state.stores.directory.get_partner(&partner).await?;
    let form = NewForm {
        country: own.country.to_string(),
        language: own.language.to_string(),
        ..NewForm::default()
    };
    let page = new_page(&state, user, partner, form, Vec::new()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// Files the escalation with its subjects and files, and opens it. Files
/// are checked before anything is filed; an invalid submission comes back
/// with every fault listed and everything as typed (files must be chosen
/// again: no browser lets a page preset them).
pub(super) async fn file_new(
    State(state): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    multipart: Multipart,
) -> WebResult<Response> {
    let partner = user.require_partner()?;
    let (form, token, files) = NewForm::read(multipart, state.config.max_upload_bytes).await?;
    user.check_form(&token, &headers)?;
    let refused: Vec<String> = files
        .iter()
        .filter_map(|f| checked_media_type(f).err())
        .flat_map(|e| fault_lines(&e))
        .collect();
    let filed = match refused.is_empty() {
        true => {
            file(
                &state,
                &form.escalation(),
                &partner,
                "portal",
                &user.actor(),
            )
            .await
        }
        false => Err(ApiError::new("validation_failed", "files refused")),
    };
    match filed {
        Ok(escalation) => {
            let (key, scope, actor) = (escalation.key, Scope::Partner(partner), user.actor());
            let count = files.len();
            for upload in files {
                attach(&state, key, &scope, upload, Visibility::Partner, &actor).await?;
            }
            let files = match count {
                0 => String::new(),
                1 => "+with+1+file".into(),
                n => format!("+with+{n}+files"),
            };
            Ok(Redirect::to(&format!(
                "/portal/escalations/{key}?notice=Received+as+{key}{files}.+The+escalations+team+has+it."
            ))
            .into_response())
        }
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let mut errors = if refused.is_empty() {
                fault_lines(&error)
            } else {
                refused
            };
            if !files.is_empty() {
                errors.push("Please choose your files again.".into());
            }
            let page = new_page(&state, user, partner, form, errors).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(error) => Err(error.into()),
    }
}

/// Attaches a file to one of the partner's escalations (partner-visible,
/// its content checked against its declared type); a refused file is shown
/// on the page with why.
pub(super) async fn attach_evidence(
    State(state): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    Path(key): Path<String>,
    multipart: Multipart,
) -> WebResult<Response> {
    let partner = user.require_partner()?;
    let key = parse_key(&key)?;
    let refused = |error: ApiError| Outcome {
        upload_error: Some(error.detail),
        ..Outcome::default()
    };
    let outcome = match read_upload(multipart, state.config.max_upload_bytes).await {
        Ok(upload) => {
            user.check_form(upload.form_token.as_deref().unwrap_or_default(), &headers)?;
            let scope = Scope::Partner(partner.clone());
            match attach(
                &state,
                key,
                &scope,
                upload,
                Visibility::Partner,
                &user.actor(),
            )
            .await
            {
                Ok(_) => {
                    return Ok(Redirect::to(&format!(
                        "/portal/escalations/{key}?notice=File+attached."
                    ))
                    .into_response());
                }
                Err(error) if error.status().is_client_error() => refused(error),
                Err(error) => return Err(error.into()),
            }
        }
        Err(error) if error.status().is_client_error() => refused(error),
        Err(error) => return Err(error.into()),
    };
    let page = escalation_page(&state, user, partner, key, outcome).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// A partner-visible file of one of the partner's escalations.
pub(super) async fn evidence(
    State(state): State<AppState>,
    user: WebUser,
    Path((key, id)): Path<(String, String)>,
) -> WebResult<Response> {
    let partner = user.require_partner()?;
    let key = parse_key(&key)?;
    let escalation = state
        .stores
        .escalations
        .get(key, &Scope::Partner(partner))
        .await
        .map_err(not_found(key))?
        .partner_view();
    Ok(evidence_response(&state, &escalation, &id, "attachment").await?)
}
