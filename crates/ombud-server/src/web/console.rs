//! The staff console's escalation workspace and the forms that act on it. Every change
//! goes through the same domain operation and optimistic save as the API.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_domain::assignment::AgentProfile;
use ombud_domain::consult::{Consult, NewConsult, Verdict};
use ombud_domain::decision::{Decision, FixStatus, NewDecision, SubjectAction, UpstreamFix};
use ombud_domain::links::LinkKind;
use ombud_domain::template::Template as MessageTemplate;
use ombud_domain::validation::Collector;
use ombud_domain::{
    Country, Escalation, EscalationKey, Evidence, RefKind, Status, SubjectKind, Visibility,
};
use ombud_store::Scope;
use serde::Deserialize;

use super::preferences::load_preferences;
use super::session::{StaffForm, TokenForm, WebUser};
use super::view::{
    Choice, ClockRow, TimelineItem, choices, clock_row, due, form_value, reference_choices,
    subject_from, subject_label, when,
};
use super::{WebResult, render};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::consults::{self, ConsultAnswerRequest};
use crate::routes::documents::list;
use crate::routes::escalations::{
    add_subject_as, attach, evidence_response, mutate, not_found, parse_key, read_upload,
    with_timeline,
};
use crate::routes::links::{self, LinkRequest};
use crate::routes::messages::{self, MessageRequest, compose_request};
use crate::routes::{decisions, fixes};

/// One piece of evidence as the workspace shows it.
struct EvidenceItem {
    id: String,
    filename: String,
    media_type: String,
    size: String,
    /// `image`, `video`, `audio`, or `file`: how the page presents it.
    presentation: &'static str,
    sensitive: bool,
    /// Sensitive and not revealed on this page view: shown blurred and grey.
    blurred: bool,
}

impl EvidenceItem {
    fn of(evidence: &Evidence, revealed: Option<&str>, reveal_all: bool) -> EvidenceItem {
        let media_type = evidence
            .sniffed_type
            .clone()
            .unwrap_or_else(|| "unrecognised".into());
        let presentation = match media_type.split('/').next() {
            Some("image") => "image",
            Some("video") => "video",
            Some("audio") => "audio",
            _ => "file",
        };
        EvidenceItem {
            id: evidence.id.clone(),
            filename: evidence.filename.clone(),
            size: format!("{:.1} kB", evidence.size as f64 / 1000.0),
            presentation,
            sensitive: evidence.sensitive,
            blurred: evidence.sensitive && !reveal_all && revealed != Some(evidence.id.as_str()),
            media_type,
        }
    }
}

/// One consult as the workspace shows it.
struct ConsultRow {
    id: u32,
    function: String,
    question: String,
    required: bool,
    /// `open, due …`, or the verdict with its note.
    status: String,
    open: bool,
}

impl ConsultRow {
    fn of(consult: &Consult, now: Timestamp) -> ConsultRow {
        let status = match &consult.answer {
            Some(answer) => format!(
                "{} by {}{}",
                answer.verdict.as_str(),
                answer.by,
                if answer.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", answer.note)
                }
            ),
            None => match consult.due_at {
                Some(at) => format!("open, due {}", due(Some(at), now).0),
                None => "open".into(),
            },
        };
        ConsultRow {
            id: consult.id,
            function: consult.function.clone(),
            question: consult.question.clone(),
            required: consult.required,
            status,
            open: consult.is_open(),
        }
    }
}

/// A message to the partner as it would go out.
struct Preview {
    template: String,
    to: String,
    subject: String,
    body: String,
}

#[derive(Template)]
#[template(path = "escalation.html")]
struct WorkspacePage {
    csrf: String,
    user_name: String,
    e: Escalation,
    notice: Option<String>,
    score_total: Option<u32>,
    score_parts: Vec<String>,
    partner_tier: String,
    queue: String,
    assignee: String,
    clocks: Vec<ClockRow>,
    subjects: Vec<String>,
    evidence: Vec<EvidenceItem>,
    consults: Vec<ConsultRow>,
    verdicts: Vec<&'static str>,
    functions: Vec<Choice>,
    templates: Vec<Choice>,
    subject_kinds: Vec<Choice>,
    surfaces: Vec<Choice>,
    /// Colleagues to hand the case to (agents with a profile).
    colleagues: Vec<Choice>,
    preview: Option<Preview>,
    /// Why the chosen template cannot be sent (no relay, no contacts…).
    preview_error: Option<String>,
    timeline: Vec<TimelineItem>,
    /// Where the status form may move it (resolving goes through a decision).
    next_statuses: Vec<&'static str>,
    decision: Option<DecisionFacts>,
    decide: Option<DecideForm>,
    /// Related and duplicate escalations: (kind, key, why).
    links: Vec<(String, String, String)>,
    link_kinds: Vec<Choice>,
}

/// The recorded decision, as the facts column shows it.
struct DecisionFacts {
    outcome: String,
    policy: String,
    actions: Vec<String>,
    root_cause: String,
    /// For the link to the cause's page.
    root_cause_code: Option<String>,
    fix: String,
    by: String,
}

impl DecisionFacts {
    fn of(decision: &Decision, zone: &TimeZone) -> DecisionFacts {
        let words = |code: &str| code.replace('_', " ");
        DecisionFacts {
            outcome: words(&decision.outcome),
            policy: match (&decision.policy, &decision.policy_version) {
                (Some(p), Some(v)) => format!("{} (version {v})", words(p)),
                (Some(p), None) => words(p),
                _ => "—".into(),
            },
            actions: decision
                .actions
                .iter()
                .map(|a| {
                    let place = match a.countries.is_empty() {
                        true => "everywhere".to_string(),
                        false => format!(
                            "in {}",
                            a.countries
                                .iter()
                                .map(|c| c.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    format!("{}: {} {place}", a.subject, words(&a.action))
                })
                .collect(),
            root_cause: match &decision.root_cause {
                Some(cause) if decision.root_cause_note.is_empty() => words(cause),
                Some(cause) => format!("{} — {}", words(cause), decision.root_cause_note),
                None => "—".into(),
            },
            root_cause_code: decision.root_cause.clone(),
            fix: match &decision.upstream_fix {
                Some(fix) => format!("{} ({})", fix.url, words(fix.status.as_str())),
                None => "—".into(),
            },
            by: format!(
                "{} at {}",
                decision.decided_by,
                when(decision.decided_at, zone)
            ),
        }
    }
}

/// The decision form, preset from the recorded decision when amending.
struct DecideForm {
    amend: bool,
    outcomes: Vec<Choice>,
    policies: Vec<Choice>,
    policy_version: String,
    root_causes: Vec<Choice>,
    root_cause_note: String,
    owning_team: String,
    fix_url: String,
    fix_owner: String,
    fix_statuses: Vec<Choice>,
    subjects: Vec<SubjectDecision>,
}

/// One subject's row of the decision form.
struct SubjectDecision {
    key: String,
    label: String,
    actions: Vec<Choice>,
    countries: String,
}

impl DecideForm {
    async fn of(state: &AppState, e: &Escalation) -> WebResult<DecideForm> {
        let last = e.decision.as_ref();
        let chosen = |value: Option<&String>| value.cloned().unwrap_or_default();
        let outcomes: Vec<(String, String)> = reference_choices(state, RefKind::Outcome, "")
            .await?
            .into_iter()
            .map(|c| (c.value, c.label))
            .collect();
        let subjects = e
            .subjects
            .iter()
            .map(|subject| {
                let action = last.and_then(|d| {
                    d.actions
                        .iter()
                        .find(|a| a.subject == subject.normalized_key)
                });
                SubjectDecision {
                    key: subject.normalized_key.clone(),
                    label: subject_label(subject),
                    actions: choices(
                        outcomes.iter().cloned(),
                        action.map(|a| a.action.as_str()).unwrap_or_default(),
                    ),
                    countries: action
                        .map(|a| {
                            let codes: Vec<&str> = a.countries.iter().map(|c| c.as_str()).collect();
                            codes.join(" ")
                        })
                        .unwrap_or_default(),
                }
            })
            .collect();
        let fix = last.and_then(|d| d.upstream_fix.as_ref());
        Ok(DecideForm {
            amend: last.is_some(),
            outcomes: choices(
                outcomes,
                last.map(|d| d.outcome.as_str()).unwrap_or_default(),
            ),
            policies: reference_choices(
                state,
                RefKind::Policy,
                &chosen(last.and_then(|d| d.policy.as_ref())),
            )
            .await?,
            policy_version: chosen(last.and_then(|d| d.policy_version.as_ref())),
            root_causes: reference_choices(
                state,
                RefKind::RootCause,
                &chosen(last.and_then(|d| d.root_cause.as_ref())),
            )
            .await?,
            root_cause_note: last.map(|d| d.root_cause_note.clone()).unwrap_or_default(),
            owning_team: chosen(last.and_then(|d| d.owning_team.as_ref())),
            fix_url: fix.map(|f| f.url.clone()).unwrap_or_default(),
            fix_owner: fix.map(|f| f.owner.clone()).unwrap_or_default(),
            fix_statuses: choices(
                FixStatus::ALL
                    .iter()
                    .map(|s| (s.as_str().to_string(), s.as_str().replace('_', " "))),
                fix.map(|f| f.status.as_str()).unwrap_or_default(),
            ),
            subjects,
        })
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct WorkspaceQuery {
    notice: Option<String>,
    /// The sensitive evidence this view shows unblurred (its reveal logged).
    revealed: Option<String>,
    /// A template to preview as a message to the partner.
    preview: Option<String>,
}

/// The escalation workspace: facts, clocks, score, subjects, timeline and
/// the forms to act on it.
pub(super) async fn workspace(
    State(state): State<AppState>,
    user: WebUser,
    Path(key): Path<String>,
    Query(query): Query<WorkspaceQuery>,
) -> WebResult<Response> {
    user.require_staff()?;
    let key = parse_key(&key)?;
    let preferences = load_preferences(&state, &user.user.email).await?;
    let (reveal_all, zone) = (preferences.reveal_sensitive, preferences.zone());
    if reveal_all {
        log_reveals(&state, key, &user).await?;
    }
    let (e, timeline) = with_timeline(&state, key, &Scope::Staff).await?;
    let partner_tier = match state.stores.directory.get_partner(&e.partner).await {
        Ok(partner) => partner.tier.get().to_string(),
        Err(_) => "unknown".into(),
    };
    let now = state.clock.now();
    let templates = list::<MessageTemplate>(&state)
        .await?
        .into_iter()
        .map(|t| (t.code, t.name));
    let chosen = query.preview.clone().unwrap_or_default();
    let (preview, preview_error) = match query.preview {
        None => (None, None),
        Some(template) => {
            let request = MessageRequest {
                template,
                to: Vec::new(),
            };
            match compose_request(&state, key, &request).await {
                Ok((_, message)) => (
                    Some(Preview {
                        template: request.template,
                        to: message.to.join(", "),
                        subject: message.subject,
                        body: message.body,
                    }),
                    None,
                ),
                Err(error) if error.status().is_client_error() => (None, Some(error.detail)),
                Err(error) => return Err(error.into()),
            }
        }
    };
    let page = WorkspacePage {
        csrf: user.csrf,
        user_name: user.user.name,
        notice: query.notice,
        score_total: e.score.as_ref().map(|s| s.total),
        score_parts: e
            .score
            .iter()
            .flat_map(|s| &s.parts)
            .map(|p| {
                format!(
                    "{} — {}: {} points",
                    p.factor.replace('_', " "),
                    p.detail,
                    p.points
                )
            })
            .collect(),
        partner_tier,
        queue: e.queue.clone().unwrap_or_else(|| "—".into()),
        assignee: e.assignee.clone().unwrap_or_else(|| "unassigned".into()),
        clocks: e.clocks.iter().map(|c| clock_row(c, now, &zone)).collect(),
        subjects: e.subjects.iter().map(subject_label).collect(),
        evidence: e
            .evidence
            .iter()
            .map(|item| EvidenceItem::of(item, query.revealed.as_deref(), reveal_all))
            .collect(),
        consults: e.consults.iter().map(|c| ConsultRow::of(c, now)).collect(),
        verdicts: Verdict::ALL.iter().map(|v| v.as_str()).collect(),
        functions: reference_choices(&state, RefKind::ConsultFunction, "").await?,
        templates: choices(templates, &chosen),
        subject_kinds: choices(
            SubjectKind::ALL
                .iter()
                .map(|k| (k.as_str().to_string(), k.as_str().replace('_', " "))),
            "",
        ),
        surfaces: reference_choices(&state, RefKind::Surface, "").await?,
        colleagues: choices(
            list::<AgentProfile>(&state)
                .await?
                .into_iter()
                .map(|a| (a.email.clone(), a.email)),
            e.assignee.as_deref().unwrap_or_default(),
        ),
        preview,
        preview_error,
        timeline: timeline
            .iter()
            .map(|event| TimelineItem::of(event, &zone))
            .collect(),
        next_statuses: e
            .status
            .allowed_next()
            .iter()
            .filter(|s| **s != Status::Resolved)
            .map(|s| s.as_str())
            .collect(),
        decision: e.decision.as_ref().map(|d| DecisionFacts::of(d, &zone)),
        links: e
            .links
            .iter()
            .map(|l| {
                (
                    l.kind.as_str().replace('_', " "),
                    l.key.to_string(),
                    l.reason.clone(),
                )
            })
            .collect(),
        link_kinds: choices(
            [
                LinkKind::Related,
                LinkKind::DuplicateOf,
                LinkKind::ParentOf,
                LinkKind::ChildOf,
            ]
            .iter()
            .map(|k| (k.as_str().to_string(), k.as_str().replace('_', " "))),
            "",
        ),
        decide: match e.status {
            Status::Closed => None,
            _ => Some(DecideForm::of(&state, &e).await?),
        },
        e,
    };
    Ok(render(StatusCode::OK, &page))
}

/// Logs a reveal of each sensitive file of `key`, for a user whose
/// setting shows sensitive media unblurred: seeing it is what is logged,
/// however it came to be shown.
async fn log_reveals(state: &AppState, key: EscalationKey, user: &WebUser) -> WebResult<()> {
    let (actor, now) = (user.actor(), state.clock.now());
    mutate(state, &Scope::Staff, key, None, |e| {
        let mut next = e.clone();
        let mut events = Vec::new();
        for evidence in e.evidence.iter().filter(|ev| ev.sensitive) {
            let (revealed, event) = next.reveal_evidence(&evidence.id, &actor, now)?;
            next = revealed;
            events.push(event);
        }
        Ok((next, events))
    })
    .await?;
    Ok(())
}

/// Evidence bytes for the workspace to show (images, video and audio
/// inline; anything else downloads).
pub(super) async fn evidence(
    State(state): State<AppState>,
    user: WebUser,
    Path((key, id)): Path<(String, String)>,
) -> WebResult<Response> {
    user.require_staff()?;
    let key = parse_key(&key)?;
    let escalation = state
        .stores
        .escalations
        .get(key, &Scope::Staff)
        .await
        .map_err(not_found(key))?;
    Ok(evidence_response(&state, &escalation, &id, "inline").await?)
}

/// Logs that the viewer chose to see sensitive evidence, then shows the
/// workspace with that one unblurred.
pub(super) async fn reveal(
    State(state): State<AppState>,
    Path((key, id)): Path<(String, String)>,
    StaffForm { user, .. }: StaffForm<TokenForm>,
) -> WebResult<Response> {
    let key = parse_key(&key)?;
    let (actor, now) = (user.actor(), state.clock.now());
    mutate(&state, &Scope::Staff, key, None, |e| {
        let (next, event) = e.reveal_evidence(&id, &actor, now)?;
        Ok((next, vec![event]))
    })
    .await?;
    Ok(Redirect::to(&format!(
        "/console/escalations/{key}?revealed={id}#evidence-h"
    ))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct ConsultForm {
    function: String,
    question: String,
    /// A checkbox: present when ticked.
    required: Option<String>,
    /// An ISO 8601 duration, or empty for no deadline.
    #[serde(default)]
    due_within: String,
}

/// Asks a function (Legal, Public Policy…) for input.
pub(super) async fn request_consult(
    State(state): State<AppState>,
    Path(key): Path<String>,
    StaffForm { user, form }: StaffForm<ConsultForm>,
) -> WebResult<Response> {
    let key = parse_key(&key)?;
    let request = NewConsult {
        function: form.function,
        question: form.question,
        required: form.required.is_some(),
        due_within: Some(form.due_within).filter(|d| !d.is_empty()),
    };
    consults::ask(&state, key, None, &request, &user.actor()).await?;
    Ok(Redirect::to(&format!(
        "/console/escalations/{key}?notice=Consult+requested."
    ))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct AnswerForm {
    verdict: Verdict,
    #[serde(default)]
    note: String,
}

/// Records a function's answer to a consult.
pub(super) async fn answer_consult(
    State(state): State<AppState>,
    Path((key, id)): Path<(String, u32)>,
    StaffForm { user, form }: StaffForm<AnswerForm>,
) -> WebResult<Response> {
    let key = parse_key(&key)?;
    let answer = ConsultAnswerRequest {
        verdict: form.verdict,
        note: form.note,
    };
    consults::answer(&state, key, None, id, &answer, &user.actor()).await?;
    Ok(Redirect::to(&format!(
        "/console/escalations/{key}?notice=Consult+answered."
    ))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct SubjectForm {
    kind: String,
    surface: String,
    /// A link or an id.
    subject: String,
}

/// Adds an account, post, ad… the escalation is about.
pub(super) async fn add_subject(
    State(state): State<AppState>,
    Path(key): Path<String>,
    StaffForm { user, form }: StaffForm<SubjectForm>,
) -> WebResult<Response> {
    let key = parse_key(&key)?;
    let subject = subject_from(&form.kind, &form.surface, &form.subject).ok_or_else(|| {
        ApiError::field(
            "validation_failed",
            "subject",
            "give the subject's link or id",
        )
    })?;
    add_subject_as(&state, &Scope::Staff, key, None, &subject, &user.actor()).await?;
    Ok(Redirect::to(&format!("/console/escalations/{key}?notice=Subject+added.")).into_response())
}

/// Attaches a file as evidence (internal unless shown to the partner).
pub(super) async fn upload_evidence(
    State(state): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    Path(key): Path<String>,
    multipart: Multipart,
) -> WebResult<Response> {
    user.require_staff()?;
    let key = parse_key(&key)?;
    let upload = read_upload(multipart, state.config.max_upload_bytes).await?;
    user.check_form(upload.form_token.as_deref().unwrap_or_default(), &headers)?;
    let visibility = upload.visibility.unwrap_or(Visibility::Internal);
    attach(
        &state,
        key,
        &Scope::Staff,
        upload,
        visibility,
        &user.actor(),
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/console/escalations/{key}?notice=File+attached.#evidence-h"
    ))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct HandOffForm {
    /// A colleague's email; empty puts the case back in its queue.
    #[serde(default)]
    to: String,
    #[serde(default)]
    note: String,
}

/// Hands the case to a colleague, or back to its queue, with a note.
pub(super) async fn hand_off(
    State(state): State<AppState>,
    Path(key): Path<String>,
    StaffForm { user, form }: StaffForm<HandOffForm>,
) -> WebResult<Response> {
    let key = parse_key(&key)?;
    let to = Some(form.to.trim()).filter(|to| !to.is_empty());
    let note = Some(form.note.trim()).filter(|note| !note.is_empty());
    let (actor, now) = (user.actor(), state.clock.now());
    mutate(&state, &Scope::Staff, key, None, |e| {
        let (next, event) = e.hand_off(to, note, &actor, now)?;
        Ok((next, vec![event]))
    })
    .await?;
    let notice = match to {
        Some(to) => format!("Handed+to+{to}."),
        None => "Back+in+its+queue.".to_string(),
    };
    Ok(Redirect::to(&format!("/console/escalations/{key}?notice={notice}")).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct MessageForm {
    template: String,
}

/// Sends the previewed template to the partner's contacts; the exact text
/// is archived on the timeline.
pub(super) async fn send_message(
    State(state): State<AppState>,
    Path(key): Path<String>,
    StaffForm { user, form }: StaffForm<MessageForm>,
) -> WebResult<Response> {
    let key = parse_key(&key)?;
    let request = MessageRequest {
        template: form.template,
        to: Vec::new(),
    };
    messages::send(&state, key, &request, &user.actor()).await?;
    Ok(Redirect::to(&format!(
        "/console/escalations/{key}?notice=Message+sent+to+the+partner."
    ))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct CommentForm {
    body: String,
    visibility: String,
}

/// Adds an internal note or a partner-visible comment, then shows the
/// workspace again. A comment never waits on the case's version: whatever
/// changed meanwhile, it stands.
pub(super) async fn comment(
    State(state): State<AppState>,
    Path(key): Path<String>,
    StaffForm { user, form }: StaffForm<CommentForm>,
) -> WebResult<Response> {
    let key = parse_key(&key)?;
    let visibility = Visibility::parse(&form.visibility).ok_or_else(|| {
        ApiError::field(
            "validation_failed",
            "visibility",
            format!("{:?} is neither internal nor partner", form.visibility),
        )
    })?;
    let (actor, now) = (user.actor(), state.clock.now());
    mutate(&state, &Scope::Staff, key, None, |e| {
        let (next, event) = e.comment(&form.body, visibility, &actor, now)?;
        Ok((next, vec![event]))
    })
    .await?;
    Ok(Redirect::to(&format!("/console/escalations/{key}?notice=Comment+added.")).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct TransitionForm {
    version: i64,
    to: String,
    reason: Option<String>,
}

/// Moves the escalation along its lifecycle (a required consult still open
/// blocks resolving it, with the error saying which).
pub(super) async fn transition(
    State(state): State<AppState>,
    Path(key): Path<String>,
    StaffForm { user, form }: StaffForm<TransitionForm>,
) -> WebResult<Response> {
    let key = parse_key(&key)?;
    let to = Status::parse(&form.to).ok_or_else(|| {
        ApiError::field(
            "validation_failed",
            "to",
            format!("unknown status {:?}", form.to),
        )
    })?;
    if to == Status::Resolved {
        return Err(ApiError::field(
            "validation_failed",
            "to",
            "resolve with a decision (outcome, policy, root cause) using the decision form",
        )
        .into());
    }
    let reason = form
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let (actor, now) = (user.actor(), state.clock.now());
    mutate(&state, &Scope::Staff, key, Some(form.version), |e| {
        let (next, event) = e.transition(to, reason, &actor, now)?;
        Ok((next, vec![event]))
    })
    .await?;
    Ok(Redirect::to(&format!(
        "/console/escalations/{key}?notice=Status+changed+to+{}.",
        to.as_str()
    ))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct LinkForm {
    kind: String,
    to: String,
    #[serde(default)]
    note: String,
}

/// Links the escalation to another (related, duplicate, parent, child);
/// the other is linked back.
pub(super) async fn link(
    State(state): State<AppState>,
    Path(key): Path<String>,
    StaffForm { user, form }: StaffForm<LinkForm>,
) -> WebResult<Response> {
    let key = parse_key(&key)?;
    let kind = LinkKind::parse(&form.kind).ok_or_else(|| {
        ApiError::field(
            "validation_failed",
            "kind",
            format!("unknown link kind {:?}", form.kind),
        )
    })?;
    let request = LinkRequest {
        kind,
        to: form.to.trim().to_string(),
        note: form.note,
    };
    links::link(&state, key, &request, &user.actor()).await?;
    Ok(Redirect::to(&format!(
        "/console/escalations/{key}?notice=Linked+to+{}.#links-h",
        request.to
    ))
    .into_response())
}

/// Resolves the escalation with the decision the form describes, or amends
/// the decision of a resolved one.
pub(super) async fn decide(
    State(state): State<AppState>,
    Path(key): Path<String>,
    StaffForm { user, form }: StaffForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    let key = parse_key(&key)?;
    let (version, mut decision) = decision_from_form(&form)?;
    // "As tracked": no status chosen keeps the tracked fix's status (and
    // owner, if none is given) rather than setting it back to proposed.
    if form_value(&form, "fix_status").is_empty()
        && let Some(fix) = decision.upstream_fix.as_mut()
        && let Some((tracked, _)) = fixes::tracked(&state, &fix.url).await?
    {
        fix.status = tracked.status;
        if fix.owner.trim().is_empty() {
            fix.owner = tracked.owner;
        }
    }
    let decided = decisions::decide(&state, key, Some(version), &decision, &user.actor()).await?;
    Ok(Redirect::to(&format!(
        "/console/escalations/{key}?notice=Resolved+as+{}.",
        decided.decision.map(|d| d.outcome).unwrap_or_default()
    ))
    .into_response())
}

/// Reads the decision form: its fixed fields, and per subject
/// `action:<subject>` (an outcome, or empty for none) and
/// `countries:<subject>` (codes separated by spaces or commas).
fn decision_from_form(pairs: &[(String, String)]) -> WebResult<(i64, NewDecision)> {
    let get = |name: &str| form_value(pairs, name);
    let optional = |name: &str| Some(get(name).to_string()).filter(|v| !v.is_empty());
    let version = get("version").parse::<i64>().map_err(|_| {
        ApiError::field(
            "validation_failed",
            "version",
            "the form lost its version; reload the page",
        )
    })?;
    let mut errors = Collector::default();
    let mut actions = Vec::new();
    for (name, action) in pairs {
        let Some(subject) = name.strip_prefix("action:") else {
            continue;
        };
        if action.trim().is_empty() {
            continue;
        }
        let field = format!("countries for {subject}");
        let countries = get(&format!("countries:{subject}"))
            .split([' ', ','])
            .filter(|c| !c.is_empty())
            .filter_map(|c| errors.check(Country::parse(&field, c)))
            .collect();
        actions.push(SubjectAction {
            subject: subject.to_string(),
            action: action.trim().to_string(),
            countries,
        });
    }
    let fix_status = match get("fix_status") {
        "" => FixStatus::Proposed,
        other => FixStatus::parse(other).unwrap_or_else(|| {
            errors.push("fix_status", format!("unknown fix status {other:?}"));
            FixStatus::Proposed
        }),
    };
    errors.finish().map_err(ApiError::from)?;
    Ok((
        version,
        NewDecision {
            outcome: get("outcome").to_string(),
            policy: optional("policy"),
            policy_version: optional("policy_version"),
            actions,
            root_cause: optional("root_cause"),
            root_cause_note: get("root_cause_note").to_string(),
            owning_team: optional("owning_team"),
            upstream_fix: optional("fix_url").map(|url| UpstreamFix {
                url,
                status: fix_status,
                owner: get("fix_owner").to_string(),
            }),
        },
    ))
}
