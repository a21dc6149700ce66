//! Message templates (macros) for writing to partners: a subject and body
//! per language, with `{{variables}}` filled from the escalation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::escalation::Escalation;
use crate::validation::{self, Collector, Invalid};

/// The variables a template may use.
pub const VARIABLES: [&str; 8] = [
    "key",
    "title",
    "status",
    "priority",
    "partner",
    "partner_name",
    "partner_ref",
    "due_at",
];

/// One language's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TemplateText {
    pub subject: String,
    pub body: String,
}

/// A message template with a variant per language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// `acknowledgement` is sent automatically on intake.
    pub code: String,
    pub name: String,
    /// Variants by language tag (`en`, `ja`, `th`…).
    pub variants: BTreeMap<String, TemplateText>,
    /// The variant used when none matches the partner's language.
    pub fallback_language: String,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rendered {
    pub language: String,
    pub subject: String,
    pub body: String,
}

/// Fills `{{name}}` placeholders from `values`; unknown names are an error.
fn fill(text: &str, values: &BTreeMap<&str, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| "a \"{{\" is never closed with \"}}\"".to_string())?;
        let name = after[..close].trim();
        match values.get(name) {
            Some(value) => out.push_str(value),
            None => {
                return Err(format!(
                    "unknown variable {{{{{name}}}}}; use {}",
                    VARIABLES.join(", ")
                ));
            }
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

impl Template {
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        errors.check(validation::code("code", &self.code));
        errors.check(validation::text("name", &self.name, 1, 200));
        if !self.variants.contains_key(&self.fallback_language) {
            errors.push(
                "fallback_language",
                format!("there is no {:?} variant", self.fallback_language),
            );
        }
        let sample: BTreeMap<&str, String> =
            VARIABLES.iter().map(|v| (*v, String::new())).collect();
        for (language, text) in &self.variants {
            for (part, value) in [("subject", &text.subject), ("body", &text.body)] {
                let field = format!("variants.{language}.{part}");
                if value.trim().is_empty() {
                    errors.push(&field, "write something");
                } else if let Err(message) = fill(value, &sample) {
                    errors.push(&field, message);
                }
            }
        }
        errors.finish()
    }

    /// Renders the variant for `language` (else the fallback) for an escalation.
    pub fn render(&self, escalation: &Escalation, partner_name: &str, language: &str) -> Rendered {
        let (language, text) = self
            .variants
            .get_key_value(language)
            .or_else(|| self.variants.get_key_value(&self.fallback_language))
            .expect("validated: the fallback variant exists");
        let values: BTreeMap<&str, String> = [
            ("key", escalation.key.to_string()),
            ("title", escalation.title.clone()),
            ("status", escalation.status.as_str().to_string()),
            ("priority", escalation.priority.as_str().to_string()),
            ("partner", escalation.partner.clone()),
            ("partner_name", partner_name.to_string()),
            (
                "partner_ref",
                escalation.partner_ref.clone().unwrap_or_default(),
            ),
            (
                "due_at",
                escalation
                    .due_at()
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            ),
        ]
        .into_iter()
        .collect();
        let render = |text: &str| fill(text, &values).expect("validated: every variable is known");
        Rendered {
            language: language.clone(),
            subject: render(&text.subject),
            body: render(&text.body),
        }
    }
}

/// An email as sent to (or received from) the partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    /// The RFC 5322 Message-ID, angle brackets included.
    pub message_id: String,
}

impl Escalation {
    /// Records the automatic acknowledgement of intake: sent (archived
    /// exactly, meeting the acknowledgement clocks only — a machine's
    /// receipt is not a first response) or failed with the relay's error
    /// (internal; the mail worker retries it).
    pub fn record_acknowledgement(
        &self,
        message: &Message,
        sent: Result<(), &str>,
        at: jiff::Timestamp,
    ) -> (Escalation, crate::event::NewEvent) {
        let mut next = self.clone();
        next.updated_at = at.max(next.updated_at);
        next.version += 1;
        let mut data = serde_json::json!(message);
        data["automatic"] = true.into();
        let (kind, visibility) = match sent {
            Ok(()) => {
                let clocks = crate::sla::on_acknowledgement_sent(&mut next.clocks, at);
                if !clocks.is_empty() {
                    data["clocks"] = serde_json::json!(clocks);
                }
                (
                    crate::event::EventKind::MessageSent,
                    crate::escalation::Visibility::Partner,
                )
            }
            Err(error) => {
                data["error"] = error.into();
                (
                    crate::event::EventKind::MessageFailed,
                    crate::escalation::Visibility::Internal,
                )
            }
        };
        let event =
            crate::event::NewEvent::new(kind, visibility, &crate::actor::Actor::system(), at, data);
        (next, event)
    }

    /// Archives an email staff sent to the partner, exactly as sent; it is
    /// the first response the partner gets.
    pub fn record_message_sent(
        &self,
        message: &Message,
        actor: &crate::actor::Actor,
        at: jiff::Timestamp,
    ) -> (Escalation, crate::event::NewEvent) {
        let mut next = self.clone();
        let clocks = crate::sla::on_reply_to_partner(&mut next.clocks, at);
        next.updated_at = at.max(next.updated_at);
        next.version += 1;
        let mut data = serde_json::json!(message);
        if !clocks.is_empty() {
            data["clocks"] = serde_json::json!(clocks);
        }
        let event = crate::event::NewEvent::new(
            crate::event::EventKind::MessageSent,
            crate::escalation::Visibility::Partner,
            actor,
            at,
            data,
        );
        (next, event)
    }
}

impl Escalation {
    /// Archives an email from the partner, threaded onto this escalation.
    pub fn record_message_received(
        &self,
        from: &str,
        subject: &str,
        body: &str,
        message_id: &str,
        actor: &crate::actor::Actor,
        at: jiff::Timestamp,
    ) -> (Escalation, crate::event::NewEvent) {
        let mut next = self.clone();
        let clocks = crate::sla::on_partner_message(&mut next.clocks, at);
        next.updated_at = at.max(next.updated_at);
        next.version += 1;
        let mut data = serde_json::json!({"from": from, "subject": subject, "body": body, "message_id": message_id});
        if !clocks.is_empty() {
            data["clocks"] = serde_json::json!(clocks);
        }
        let event = crate::event::NewEvent::new(
            crate::event::EventKind::MessageReceived,
            crate::escalation::Visibility::Partner,
            actor,
            at,
            data,
        );
        (next, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Actor;
    use crate::escalation::{EscalationKey, NewEscalation};

    fn acknowledgement() -> Template {
        let mut variants = BTreeMap::new();
        variants.insert(
            "en".to_string(),
            TemplateText {
                subject: "[{{key}}] Received: {{title}}".into(),
                body: "Dear {{partner_name}},\nwe received your report {{partner_ref}} as {{key}}."
                    .into(),
            },
        );
        variants.insert(
            "ja".to_string(),
            TemplateText {
                subject: "[{{key}}] 受付: {{title}}".into(),
                body: "{{partner_name}} 御中\n{{key}} として受け付けました。".into(),
            },
        );
        Template {
            code: "acknowledgement".into(),
            name: "Acknowledgement".into(),
            variants,
            fallback_language: "en".into(),
        }
    }

    fn escalation() -> Escalation {
        let mut new = NewEscalation {
            escalation_type: "account_access".into(),
            title: "乗っ取り".into(),
            country: "JP".into(),
            language: "ja".into(),
            ..Default::default()
        };
        new.partner_ref = Some("警-2026-118".into());
        new.validate("jp-police", "api", "2026-11-25T09:00:00Z".parse().unwrap())
            .unwrap()
            .into_escalation(
                EscalationKey(42),
                &Actor::system(),
                "2026-11-25T09:00:00Z".parse().unwrap(),
            )
            .0
    }

    #[test]
    fn templates_render_in_the_partners_language_or_the_fallback() {
        let template = acknowledgement();
        template.validate().unwrap();
        let ja = template.render(&escalation(), "警察庁", "ja");
        assert_eq!(ja.subject, "[ESC-42] 受付: 乗っ取り");
        assert_eq!(ja.body, "警察庁 御中\nESC-42 として受け付けました。");
        let th = template.render(&escalation(), "Police", "th");
        assert_eq!(th.language, "en");
        assert!(th.body.contains("report 警-2026-118 as ESC-42"));
    }

    #[test]
    fn bad_templates_name_the_variant_and_part() {
        let mut template = acknowledgement();
        template.variants.get_mut("ja").unwrap().body = "{{ticket_number}}".into();
        template.variants.get_mut("en").unwrap().subject = "{{key".into();
        template.fallback_language = "ko".into();
        let errors = template.validate().unwrap_err().0;
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "fallback_language",
                "variants.en.subject",
                "variants.ja.body"
            ]
        );
        assert!(errors[2].message.contains("ticket_number"));
    }
}
