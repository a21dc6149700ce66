//! Outbound email: hands messages to an SMTP relay (the local MTA, or a
//! mail service over STARTTLS or TLS with credentials), with a file
//! attached when there is one (scheduled reports), and the automatic
//! acknowledgement on intake.

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use ombud_domain::routing::Notification;
use ombud_domain::template::{Message, Template};
use ombud_domain::{Actor, Escalation, EscalationKey, EventKind, NewEvent, Partner, Visibility};
use ombud_store::{Scope, SettingKind};

use crate::AppState;
use crate::routes::documents::decode;

/// How long the relay has to take a message before the send fails.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Where mail goes out, and whom it is from.
#[derive(Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// The relay as a URL: `smtp://host:port` (plain, for a relay on the
    /// host or the private network), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS) or `smtps://user:pass@host:465` (TLS from the start).
    relay_url: String,
    /// The From address, e.g. `escalations@platform.example`.
    pub from: String,
}

impl std::fmt::Debug for MailConfig {
    /// Never prints the relay's password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL parsed when the config was made.
        let shown = url::Url::parse(&self.relay_url).map(|mut url| {
            if url.password().is_some() {
                let _ = url.set_password(Some("redacted"));
            }
            url.to_string()
        });
        f.debug_struct("MailConfig")
            .field("relay_url", &shown.unwrap_or_default())
            .field("from", &self.from)
            .finish()
    }
}

impl MailConfig {
    /// Checks the relay URL (`smtp://` or `smtps://`, credentials and
    /// `?tls=required` as lettre reads them) and the From address.
    pub fn from_url(url: &str, from: &str) -> Result<MailConfig, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("smtp url: {e}"))?;
        if !matches!(parsed.scheme(), "smtp" | "smtps") {
            return Err("smtp url: use smtp://host:port or smtps://host:port".into());
        }
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("smtp url: {e}"))?;
        from.parse::<Mailbox>()
            .map_err(|e| format!("mail_from {from:?}: {e}"))?;
        Ok(MailConfig {
            relay_url: url.to_string(),
            from: from.to_string(),
        })
    }

    fn domain(&self) -> &str {
        self.from
            .rsplit_once('@')
            .map_or("ombud.invalid", |(_, d)| d.trim_end_matches('>'))
    }

    /// A Message-ID that carries the escalation key, so replies thread back
    /// even when the subject was changed.
    pub fn message_id(&self, escalation: &Escalation) -> String {
        self.new_message_id(&escalation.key.to_string().to_lowercase())
    }

    /// A fresh Message-ID whose left part starts with `tag`.
    pub fn new_message_id(&self, tag: &str) -> String {
        format!(
            "<{tag}.{}@{}>",
            uuid::Uuid::new_v4().simple(),
            self.domain()
        )
    }

    /// Sends one plain-text message.
    pub async fn send(&self, message: &Message) -> Result<(), String> {
        self.send_with(message, None).await
    }

    /// Sends one plain-text message, with a file attached when given
    /// (`multipart/mixed`: the text, then the file, base64-encoded).
    pub async fn send_with(
        &self,
        message: &Message,
        attachment: Option<Attachment>,
    ) -> Result<(), String> {
        let mut builder = lettre::Message::builder()
            .from(self.from.parse().map_err(|e| format!("from: {e}"))?)
            .subject(&message.subject)
            .message_id(Some(message.message_id.clone()));
        for to in &message.to {
            builder = builder.to(to.parse().map_err(|e| format!("to {to:?}: {e}"))?);
        }
        let email = match attachment {
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(message.body.clone()),
            Some(file) => {
                let content_type = ContentType::parse(&file.content_type)
                    .map_err(|e| format!("attachment type {:?}: {e}", file.content_type))?;
                builder.multipart(
                    MultiPart::mixed()
                        .singlepart(SinglePart::plain(message.body.clone()))
                        .singlepart(
                            lettre::message::Attachment::new(file.filename)
                                .body(file.bytes, content_type),
                        ),
                )
            }
        }
        .map_err(|e| format!("cannot build the message: {e}"))?;
        AsyncSmtpTransport::<Tokio1Executor>::from_url(&self.relay_url)
            .map_err(|e| format!("smtp url: {e}"))?
            .timeout(Some(SEND_TIMEOUT))
            .build()
            .send(email)
            .await
            .map_err(|e| format!("the relay refused or failed: {e}"))?;
        Ok(())
    }
}

/// A file sent with a message.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The name the recipient sees, such as `weekly-intake-2026-11-30.xlsx`.
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// The message `template` makes for `escalation`, to the partner's contacts.
pub fn compose(
    config: &MailConfig,
    template: &Template,
    escalation: &Escalation,
    partner: &Partner,
) -> Message {
    let rendered = template.render(escalation, &partner.name, partner.language.as_str());
    let key = escalation.key.to_string();
    let subject = if rendered.subject.contains(&key) {
        rendered.subject
    } else {
        format!("[{key}] {}", rendered.subject)
    };
    Message {
        from: config.from.clone(),
        to: partner.contacts.iter().map(|c| c.email.clone()).collect(),
        subject,
        body: rendered.body,
        message_id: config.message_id(escalation),
    }
}

/// The acknowledgement `escalation` gets — the `acknowledgement` template
/// to the partner's contacts — when mail, the template and contacts all
/// exist.
async fn acknowledgement<'s>(
    state: &'s AppState,
    escalation: &Escalation,
    partner: &Partner,
) -> Option<(&'s MailConfig, Message)> {
    let config = state.config.mail.as_ref()?;
    if partner.contacts.is_empty() {
        return None;
    }
    let stored = state
        .stores
        .settings
        .get(SettingKind::Template, "acknowledgement")
        .await
        .ok()?;
    let template: Template = decode(&stored).ok()?;
    Some((config, compose(config, &template, escalation, partner)))
}

/// Sends the acknowledgement of a new escalation and records it in the
/// timeline: as sent, or as failed (internal), which the webhook worker
/// retries with backoff. The escalation stands either way.
pub async fn acknowledge(
    state: &AppState,
    escalation: Escalation,
    partner: &Partner,
) -> Escalation {
    let Some((config, message)) = acknowledgement(state, &escalation, partner).await else {
        return escalation;
    };
    let sent = config.send(&message).await;
    if let Err(error) = &sent {
        tracing::warn!(key = %escalation.key, %error, "could not send the acknowledgement; it will be retried");
    }
    let (next, event) = escalation.record_acknowledgement(
        &message,
        sent.as_ref().map(|_| ()).map_err(String::as_str),
        state.clock.now(),
    );
    match state
        .stores
        .escalations
        .save(&next, escalation.version, &[event])
        .await
    {
        Ok(()) => next,
        Err(error) => {
            tracing::warn!(key = %escalation.key, %error, "could not record the acknowledgement");
            escalation
        }
    }
}

/// Sends again the acknowledgement whose sending failed (the
/// `message_failed` event `seq` of `key`). `Ok` once it is sent, or when it
/// is no longer owed: sent since, or no template or contacts any more.
pub async fn retry_acknowledgement(
    state: &AppState,
    key: EscalationKey,
    seq: i64,
) -> Result<(), String> {
    let escalation = state
        .stores
        .escalations
        .get(key, &Scope::Staff)
        .await
        .map_err(|e| e.to_string())?;
    let timeline = state
        .stores
        .escalations
        .timeline(key, &Scope::Staff)
        .await
        .map_err(|e| e.to_string())?;
    let sent_since = timeline
        .iter()
        .any(|e| e.seq > seq && e.kind == EventKind::MessageSent && e.data["automatic"] == true);
    let partner = state
        .stores
        .directory
        .get_partner(&escalation.partner)
        .await
        .map_err(|e| e.to_string())?;
    let owed = match sent_since {
        true => None,
        false => acknowledgement(state, &escalation, &partner).await,
    };
    let Some((config, message)) = owed else {
        return Ok(());
    };
    config.send(&message).await?;
    let now = state.clock.now();
    crate::routes::escalations::mutate(state, &Scope::Staff, key, None, |current| {
        let (next, event) = current.record_acknowledgement(&message, Ok(()), now);
        Ok((next, vec![event]))
    })
    .await
    .map_err(|e| format!("sent, but not recorded: {}", e.detail))?;
    Ok(())
}

/// Tells the active managers about spike alert `id` (the `mail:spike`
/// deliveries of the webhook worker, which retry a failed send). `Ok` once
/// sent, or when nobody is owed it: no managers, no mail, or no alert.
pub async fn announce_spike(state: &AppState, id: i64) -> Result<(), String> {
    let Some(config) = &state.config.mail else {
        return Ok(());
    };
    let alert = match state.stores.spikes.get(id).await {
        Ok(alert) => crate::routes::spikes::SpikeAlertView::from(alert),
        Err(ombud_store::StoreError::NotFound) => return Ok(()),
        Err(other) => return Err(other.to_string()),
    };
    let managers: Vec<String> = state
        .stores
        .directory
        .list_users()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|u| u.active && u.role == ombud_domain::Role::Manager)
        .map(|u| u.email)
        .collect();
    if managers.is_empty() {
        return Ok(());
    }
    // Plain ASCII, so the message travels as 7-bit text.
    let segment = &alert.segment;
    let segment = format!(
        "{} on {} in {}, {}",
        segment.escalation_type,
        segment.surface,
        segment.country,
        segment.policy.as_deref().unwrap_or("any policy")
    );
    let message = Message {
        from: config.from.clone(),
        to: managers,
        subject: format!(
            "Intake spike: {segment}, {} escalations in the {} from {}",
            alert.count,
            alert.granularity.as_str(),
            alert.bucket_start
        ),
        body: format!(
            "{count} escalations of {segment} arrived between {start} and {end} (UTC); \
             the same {granularity} of the week usually brings {baseline:.1} \
             (median of {samples} weeks), a score of {score:.1}.\n\n\
             The escalations: {console}\n\
             Acknowledge it under Emerging in the console: /console/emerging\n",
            count = alert.count,
            start = alert.bucket_start,
            end = alert.bucket_end,
            granularity = alert.granularity.as_str(),
            baseline = alert.baseline,
            samples = alert.samples,
            score = alert.score,
            console = alert.console,
        ),
        message_id: config.new_message_id(&format!("spike-{id}")),
    };
    config.send(&message).await
}

/// Tells staff about an escalation as routing rules asked, by email when
/// mail is configured; each notification is recorded (internal), sent or not.
pub async fn notify(
    state: &AppState,
    escalation: Escalation,
    notifications: &[Notification],
) -> Escalation {
    let mut current = escalation;
    for notification in notifications {
        let outcome = match &state.config.mail {
            None => Err("outbound email is not configured".to_string()),
            Some(config) => {
                let message = Message {
                    from: config.from.clone(),
                    to: notification.to.clone(),
                    subject: format!("[{}] {}", current.key, current.title),
                    body: format!(
                        "{}\n\n{} {} from {} ({}), routing rule {}.",
                        notification.note,
                        current.key,
                        current.priority.as_str(),
                        current.partner,
                        current.country.as_str(),
                        notification.rule
                    ),
                    message_id: config.message_id(&current),
                };
                config.send(&message).await
            }
        };
        if let Err(error) = &outcome {
            tracing::warn!(key = %current.key, %error, "could not notify {:?}", notification.to);
        }
        let data = serde_json::json!({
            "rule": notification.rule,
            "to": notification.to,
            "note": notification.note,
            "sent": outcome.is_ok(),
            "error": outcome.err(),
        });
        let mut next = current.clone();
        next.updated_at = state.clock.now().max(next.updated_at);
        next.version += 1;
        let event = NewEvent::new(
            EventKind::Notified,
            Visibility::Internal,
            &Actor::system(),
            state.clock.now(),
            data,
        );
        match state
            .stores
            .escalations
            .save(&next, current.version, &[event])
            .await
        {
            Ok(()) => current = next,
            Err(error) => {
                tracing::warn!(key = %current.key, %error, "could not record a notification")
            }
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::MailConfig;

    #[test]
    fn relays_are_plain_starttls_or_tls_and_passwords_never_print() {
        let from = "escalations@platform.example";
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://ombud:s3cret@mail.example:587?tls=required",
            "smtps://ombud:s3cret@mail.example:465",
        ] {
            let config = MailConfig::from_url(url, from).unwrap();
            assert!(!format!("{config:?}").contains("s3cret"), "{config:?}");
        }
        for (url, from) in [
            ("http://mail.example", from),
            ("smtp://", from),
            ("smtp://mail.example:25", "not an address"),
        ] {
            let error = MailConfig::from_url(url, from).unwrap_err();
            assert!(!error.is_empty());
        }
    }
}
