//! What the console and the portal show alike, prepared for templates.

use ombud_domain::{RefKind, StoredEvent, Subject, Visibility};

use super::WebResult;
use crate::AppState;

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

/// One option of a select, as the form last had it.
pub(super) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub(super) fn choices(
    options: impl IntoIterator<Item = (String, String)>,
    chosen: &str,
) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == chosen,
            value,
            label,
        })
        .collect()
}

/// The active entries of a kind of reference data, as options.
pub(super) async fn reference_choices(
    state: &AppState,
    kind: RefKind,
    chosen: &str,
) -> WebResult<Vec<Choice>> {
    let items = state.stores.reference.list(kind).await?;
    Ok(choices(
        items
            .into_iter()
            .filter(|item| item.active)
            .map(|item| (item.code, item.label)),
        chosen,
    ))
}
