//! What the console and the portal show alike, prepared for templates.

use ombud_domain::{StoredEvent, Subject, Visibility};

/// One timeline entry.
pub(super) struct TimelineItem {
    pub what: String,
    pub actor: String,
    pub at: String,
    pub text: String,
    pub visibility: &'static str,
}

impl TimelineItem {
    pub(super) fn of(event: &StoredEvent) -> TimelineItem {
        let text = ["body", "note", "reason"]
            .iter()
            .find_map(|field| event.data.get(*field).and_then(|v| v.as_str()))
            .unwrap_or_default();
        TimelineItem {
            what: event.kind.as_str().replace('_', " "),
            actor: event.actor.name.clone(),
            at: event.at.to_string(),
            text: text.to_string(),
            visibility: match event.visibility {
                Visibility::Internal => "internal",
                Visibility::Partner => "partner",
            },
        }
    }
}

/// `account on social: https://…`: what a subject is and where.
pub(super) fn subject_label(subject: &Subject) -> String {
    let id = subject
        .url
        .as_deref()
        .or(subject.external_id.as_deref())
        .unwrap_or(&subject.normalized_key);
    format!("{} on {}: {id}", subject.kind.as_str(), subject.surface)
}
