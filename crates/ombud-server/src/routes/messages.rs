//! `/api/v1/templates` and `/api/v1/escalations/{key}/messages`: writing to
//! the partner by email from templates, previewed before sending, archived
//! exactly as sent.

use axum::Json as AxumJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ombud_domain::template::{Message, Template};
use ombud_domain::{Actor, Escalation, EscalationKey, Partner};
use ombud_store::{Scope, SettingKind, StoreError};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal};
use crate::mail::{MailConfig, compose};
use crate::routes::documents::{Document, decode, delete_response, list_response, put_response};
use crate::routes::escalations::{escalation_response, not_found, parse_key};

impl Document for Template {
    const KIND: SettingKind = SettingKind::Template;

    fn code(&self) -> &str {
        &self.code
    }

    async fn check(&mut self, _: &AppState) -> ApiResult<()> {
        Ok(self.validate()?)
    }
}

/// List message templates.
#[utoipa::path(get, path = "/templates", tag = "messages", responses((status = 200, body = Vec<Template>)))]
pub async fn list_templates(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_staff()?;
    list_response::<Template>(&state).await
}

/// Create or replace a template; `acknowledgement` is sent on intake.
#[utoipa::path(put, path = "/templates/{code}", tag = "messages", request_body = Template,
    params(("code" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Template), (status = 201, body = Template), (status = 422, body = Problem)))]
pub async fn put_template(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    if_match: IfMatch,
    Json(template): Json<Template>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    put_response(&state, &code, if_match, template).await
}

/// Delete a template.
#[utoipa::path(delete, path = "/templates/{code}", tag = "messages", params(("code" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_template(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    principal.require_manager()?;
    delete_response(&state, SettingKind::Template, &code).await
}

/// Which template, and to whom (the partner's contacts when left out).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageRequest {
    pub template: String,
    /// A subset of the partner's contact emails.
    #[serde(default)]
    pub to: Vec<String>,
}

fn mail_config(state: &AppState) -> ApiResult<&MailConfig> {
    state.config.mail.as_ref().ok_or_else(|| {
        ApiError::new(
            "mail_not_configured",
            "outbound email is not configured (set smtp_url and mail_from)",
        )
    })
}

/// The message a request would send, composed from the template.
pub(crate) async fn compose_request(
    state: &AppState,
    key: EscalationKey,
    request: &MessageRequest,
) -> ApiResult<(Escalation, Message)> {
    let config = mail_config(state)?;
    let escalation = state
        .stores
        .escalations
        .get(key, &Scope::Staff)
        .await
        .map_err(not_found(key))?;
    let template: Template = match state
        .stores
        .settings
        .get(SettingKind::Template, &request.template)
        .await
    {
        Ok(stored) => decode(&stored)?,
        Err(StoreError::NotFound) => {
            return Err(ApiError::field(
                "validation_failed",
                "template",
                format!("there is no template {:?}", request.template),
            ));
        }
        Err(other) => return Err(other.into()),
    };
    let partner: Partner = state
        .stores
        .directory
        .get_partner(&escalation.partner)
        .await?;
    let mut message = compose(config, &template, &escalation, &partner);
    if !request.to.is_empty() {
        if let Some(stranger) = request.to.iter().find(|to| !message.to.contains(to)) {
            return Err(ApiError::field(
                "validation_failed",
                "to",
                format!(
                    "{stranger} is not a contact of partner {}",
                    partner.slug.as_str()
                ),
            ));
        }
        message.to.clone_from(&request.to);
    }
    if message.to.is_empty() {
        return Err(ApiError::field(
            "validation_failed",
            "to",
            format!(
                "partner {} has no contacts to write to",
                partner.slug.as_str()
            ),
        ));
    }
    Ok((escalation, message))
}

/// Show the message a template makes for this escalation, without sending.
#[utoipa::path(post, path = "/escalations/{key}/messages/preview", tag = "messages", request_body = MessageRequest,
    params(("key" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Message), (status = 422, body = Problem)))]
pub async fn preview_message(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
    Json(request): Json<MessageRequest>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let (_, message) = compose_request(&state, parse_key(&key)?, &request).await?;
    Ok(AxumJson(message).into_response())
}

/// Send the partner an email from a template; the exact text is archived
/// in the timeline (partner-visible) and counts as the first response.
#[utoipa::path(post, path = "/escalations/{key}/messages", tag = "messages", request_body = MessageRequest,
    params(("key" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Escalation), (status = 422, body = Problem), (status = 502, body = Problem)))]
pub async fn send_message(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
    Json(request): Json<MessageRequest>,
) -> ApiResult<Response> {
    principal.require_staff()?;
    let escalation = send(&state, parse_key(&key)?, &request, &principal.actor()).await?;
    Ok(escalation_response(
        StatusCode::CREATED,
        escalation,
        &principal,
    ))
}

/// Sends the message `request` composes, as `actor`, and archives its exact
/// text on the escalation (partner-visible).
pub(crate) async fn send(
    state: &AppState,
    key: EscalationKey,
    request: &MessageRequest,
    actor: &Actor,
) -> ApiResult<Escalation> {
    let (escalation, message) = compose_request(state, key, request).await?;
    mail_config(state)?
        .send(&message)
        .await
        .map_err(|error| ApiError::new("mail_failed", error))?;
    let (next, event) = escalation.record_message_sent(&message, actor, state.clock.now());
    // The mail is out: record it even if the escalation changed meanwhile.
    let mut current = (escalation, next, event);
    for _ in 0..5 {
        match state
            .stores
            .escalations
            .save(&current.1, current.0.version, &[current.2.clone()])
            .await
        {
            Ok(()) => return Ok(current.1),
            Err(StoreError::VersionConflict { .. }) => {
                let fresh = state
                    .stores
                    .escalations
                    .get(current.0.key, &Scope::Staff)
                    .await?;
                let (next, event) = fresh.record_message_sent(&message, actor, state.clock.now());
                current = (fresh, next, event);
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::new(
        "conflict",
        format!("{key} is changing too fast; the mail was sent but not archived"),
    ))
}
