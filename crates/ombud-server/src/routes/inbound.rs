//! `POST /api/v1/mail/inbound`: one RFC 5322 message, as `ombud mailgate`
//! passes it from the MTA. It is threaded onto an escalation by the key in
//! its subject or by the Message-IDs it replies to, or becomes a new
//! escalation from a known partner contact; unknown senders are refused.
//! Bounces are dropped, and nothing auto-submitted is ever auto-answered.

use axum::Json as AxumJson;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mail_parser::{MessageParser, MimeHeaders};
use ombud_domain::{Actor, EscalationKey, Evidence, NewEscalation, Partner, Status, Visibility};
use ombud_store::{Scope, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Principal;
use crate::routes::escalations::{intake, mutate};

/// What Ombud did with a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundOutcome {
    /// `threaded`, `created` or `ignored`.
    pub outcome: String,
    #[schema(example = "ESC-1042")]
    pub escalation: Option<String>,
    pub reason: Option<String>,
}

/// One parsed message, as far as Ombud needs it.
struct Inbound {
    from: String,
    subject: String,
    message_id: String,
    /// In-Reply-To and References.
    replies_to: Vec<String>,
    auto_submitted: bool,
    bounce: bool,
    body: String,
    attachments: Vec<(String, String, Vec<u8>)>,
}

fn parse(raw: &[u8]) -> ApiResult<Inbound> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| ApiError::new("bad_request", "not an RFC 5322 message"))?;
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(str::to_lowercase)
        .ok_or_else(|| {
            ApiError::field(
                "validation_failed",
                "from",
                "the message has no From address",
            )
        })?;
    let mut replies_to = Vec::new();
    for header in [message.in_reply_to(), message.references()] {
        if let Some(ids) = header.as_text_list() {
            replies_to.extend(ids.iter().map(|id| id.to_lowercase()));
        } else if let Some(id) = header.as_text() {
            replies_to.push(id.to_lowercase());
        }
    }
    let auto_submitted = message
        .header_raw("Auto-Submitted")
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"));
    let report = message.content_type().is_some_and(|ct| {
        ct.subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    let daemon = from.starts_with("mailer-daemon@") || from.starts_with("postmaster@");
    let attachments = message
        .attachments()
        .map(|part| {
            let name = part.attachment_name().unwrap_or("attachment").to_string();
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{sub}", ct.ctype()),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into());
            (name, content_type, part.contents().to_vec())
        })
        .collect();
    Ok(Inbound {
        subject: message
            .subject()
            .unwrap_or("(no subject)")
            .trim()
            .to_string(),
        message_id: message.message_id().unwrap_or_default().to_string(),
        body: message
            .body_text(0)
            .map(|b| b.trim().to_string())
            .unwrap_or_default(),
        from,
        replies_to,
        auto_submitted,
        bounce: report || daemon,
        attachments,
    })
}

/// The escalation a message is about: `ESC-n` in the subject, or one of
/// Ombud's Message-IDs (`<esc-n.…@…>`) among those it replies to.
fn thread_key(mail: &Inbound) -> Option<EscalationKey> {
    let subject = mail.subject.to_lowercase();
    let in_subject = subject
        .match_indices("esc-")
        .find_map(|(at, _)| key_after(&subject[at..]));
    in_subject.or_else(|| {
        mail.replies_to
            .iter()
            .find_map(|id| key_after(id.trim_start_matches('<')))
    })
}

/// The key `text` starts with, as `esc-<digits>` in any case.
fn key_after(text: &str) -> Option<EscalationKey> {
    let rest = text.strip_prefix("esc-")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    EscalationKey::parse(&format!("ESC-{digits}"))
}

/// The partner whose contact sent the message.
async fn sender(state: &AppState, from: &str) -> ApiResult<Partner> {
    state
        .stores
        .directory
        .list_partners()
        .await?
        .into_iter()
        .find(|p| {
            p.active
                && p.contacts
                    .iter()
                    .any(|c| c.email.eq_ignore_ascii_case(from))
        })
        .ok_or_else(|| {
            ApiError::new(
                "unknown_sender",
                format!("{from} is not a contact of any partner; the message was not accepted"),
            )
        })
}

fn outcome(
    status: StatusCode,
    what: &str,
    key: Option<EscalationKey>,
    reason: Option<String>,
) -> Response {
    let body = InboundOutcome {
        outcome: what.into(),
        escalation: key.map(|k| k.to_string()),
        reason,
    };
    (status, AxumJson(body)).into_response()
}

/// Accept one email from the MTA (the raw message as the body).
#[utoipa::path(post, path = "/mail/inbound", tag = "messages",
    request_body(content = String, content_type = "message/rfc822"),
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = InboundOutcome), (status = 201, body = InboundOutcome),
        (status = 202, body = InboundOutcome), (status = 422, body = Problem)))]
pub async fn receive_mail(
    State(state): State<AppState>,
    principal: Principal,
    raw: Bytes,
) -> ApiResult<Response> {
    principal.require_manager()?;
    let mail = parse(&raw)?;
    if mail.bounce {
        return Ok(outcome(
            StatusCode::ACCEPTED,
            "ignored",
            None,
            Some("a delivery report or bounce; never answered".into()),
        ));
    }
    let partner = sender(&state, &mail.from).await?;
    let actor = Actor {
        id: format!("email:{}", mail.from),
        name: mail.from.clone(),
        role: None,
    };
    let now = state.clock.now();
    let thread = match thread_key(&mail) {
        Some(key) => match state
            .stores
            .escalations
            .get(key, &Scope::Partner(partner.slug.as_str().into()))
            .await
        {
            Ok(_) => Some(key),
            Err(StoreError::NotFound) => None,
            Err(other) => return Err(other.into()),
        },
        None => None,
    };
    let key = match thread {
        Some(key) => {
            mutate(&state, &Scope::Staff, key, None, |e| {
                let (mut next, event) = e.record_message_received(
                    &mail.from,
                    &mail.subject,
                    &mail.body,
                    &mail.message_id,
                    &actor,
                    now,
                );
                let mut events = vec![event];
                // The partner answered: the case stops waiting on them.
                if next.status == Status::AwaitingPartner {
                    let (resumed, moved) = next.transition(
                        Status::Investigating,
                        Some("the partner replied by email"),
                        &actor,
                        now,
                    )?;
                    next = resumed;
                    events.push(moved);
                }
                Ok((next, events))
            })
            .await?;
            key
        }
        None => {
            let escalation_type = if partner.may_file("user_report") {
                "user_report".to_string()
            } else {
                partner.allowed_types[0].clone()
            };
            let draft = NewEscalation {
                escalation_type,
                title: mail.subject.chars().take(300).collect(),
                description: mail.body.chars().take(20_000).collect(),
                partner: Some(partner.slug.as_str().into()),
                country: partner.country.as_str().into(),
                language: partner.language.as_str().into(),
                ..Default::default()
            }
            .validate(partner.slug.as_str(), "email", now)?;
            // Never answer an auto-reply, so two robots cannot loop.
            let created = intake(&state, draft, &partner, &actor, !mail.auto_submitted).await?;
            store_attachments(&state, created.key, &mail, &actor).await?;
            return Ok(outcome(
                StatusCode::CREATED,
                "created",
                Some(created.key),
                None,
            ));
        }
    };
    store_attachments(&state, key, &mail, &actor).await?;
    Ok(outcome(StatusCode::OK, "threaded", Some(key), None))
}

/// Keeps a message's attachments as partner-visible evidence.
async fn store_attachments(
    state: &AppState,
    key: EscalationKey,
    mail: &Inbound,
    actor: &Actor,
) -> ApiResult<()> {
    for (name, declared, bytes) in &mail.attachments {
        let sniffed = infer::get(bytes).map(|t| t.mime_type().to_string());
        let size = bytes.len() as i64;
        let sha256 = state.stores.blobs.put(Bytes::from(bytes.clone())).await?;
        let now = state.clock.now();
        let evidence = Evidence {
            id: String::new(),
            sha256,
            filename: name.clone(),
            size,
            declared_type: declared.clone(),
            sniffed_type: sniffed,
            sensitive: false,
            visibility: Visibility::Partner,
            uploaded_by: actor.name.clone(),
            uploaded_at: now,
        };
        mutate(state, &Scope::Staff, key, None, |e| {
            let (next, event) = e.add_evidence(evidence.clone(), actor, now);
            Ok((next, vec![event]))
        })
        .await?;
    }
    Ok(())
}
