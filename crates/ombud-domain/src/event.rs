//! Events: every change to an escalation, immutable, with actor and time. The
//! timeline, the audit trail and the analytics are all read from them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::escalation::{EscalationKey, Visibility};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Created,
    FieldChanged,
    StatusChanged,
    Reopened,
    Assigned,
    CommentAdded,
    SubjectAdded,
    EvidenceAdded,
    Imported,
    /// A clock passed a warning threshold.
    ClockWarning,
    /// A clock passed its due instant without being met.
    ClockBreached,
    ConsultRequested,
    ConsultAnswered,
    Linked,
    /// An email to the partner, as sent.
    MessageSent,
    /// An email from the partner, threaded onto the escalation.
    MessageReceived,
    /// The automatic acknowledgement could not be sent (it is retried).
    MessageFailed,
    /// Staff were told about the escalation (a routing rule's `notify`).
    Notified,
    /// Routing rules fired after a change (on intake they are recorded in
    /// the `created` event).
    RulesFired,
    /// Clocks started or dropped because what chooses them changed.
    ClocksChanged,
    /// Someone chose to see a piece of sensitive evidence unblurred.
    EvidenceRevealed,
    /// A decision resolved the escalation (or amended its decision).
    DecisionRecorded,
}

impl EventKind {
    pub const ALL: [EventKind; 22] = [
        EventKind::Created,
        EventKind::FieldChanged,
        EventKind::StatusChanged,
        EventKind::Reopened,
        EventKind::Assigned,
        EventKind::CommentAdded,
        EventKind::SubjectAdded,
        EventKind::EvidenceAdded,
        EventKind::Imported,
        EventKind::ClockWarning,
        EventKind::ClockBreached,
        EventKind::ConsultRequested,
        EventKind::ConsultAnswered,
        EventKind::Linked,
        EventKind::MessageSent,
        EventKind::MessageReceived,
        EventKind::Notified,
        EventKind::RulesFired,
        EventKind::ClocksChanged,
        EventKind::MessageFailed,
        EventKind::EvidenceRevealed,
        EventKind::DecisionRecorded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::FieldChanged => "field_changed",
            EventKind::StatusChanged => "status_changed",
            EventKind::Reopened => "reopened",
            EventKind::Assigned => "assigned",
            EventKind::CommentAdded => "comment_added",
            EventKind::SubjectAdded => "subject_added",
            EventKind::EvidenceAdded => "evidence_added",
            EventKind::Imported => "imported",
            EventKind::ClockWarning => "clock_warning",
            EventKind::ClockBreached => "clock_breached",
            EventKind::ConsultRequested => "consult_requested",
            EventKind::ConsultAnswered => "consult_answered",
            EventKind::Linked => "linked",
            EventKind::MessageSent => "message_sent",
            EventKind::MessageReceived => "message_received",
            EventKind::Notified => "notified",
            EventKind::RulesFired => "rules_fired",
            EventKind::ClocksChanged => "clocks_changed",
            EventKind::MessageFailed => "message_failed",
            EventKind::EvidenceRevealed => "evidence_revealed",
            EventKind::DecisionRecorded => "decision_recorded",
        }
    }

    pub fn parse(value: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// An event about to be written, in the same transaction as the state it explains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    pub kind: EventKind,
    pub visibility: Visibility,
    pub actor: Actor,
    pub at: Timestamp,
    /// What changed, shaped by `kind` (e.g. `{"field","from","to"}`).
    pub data: serde_json::Value,
}

impl NewEvent {
    pub fn new(
        kind: EventKind,
        visibility: Visibility,
        actor: &Actor,
        at: Timestamp,
        data: serde_json::Value,
    ) -> Self {
        NewEvent {
            kind,
            visibility,
            actor: actor.clone(),
            at,
            data,
        }
    }

    /// Text of this event that full-text search should find (comment bodies).
    pub fn searchable_text(&self) -> Option<&str> {
        searchable_text(self.kind, &self.data)
    }
}

fn searchable_text(kind: EventKind, data: &serde_json::Value) -> Option<&str> {
    match kind {
        EventKind::CommentAdded | EventKind::MessageSent | EventKind::MessageReceived => {
            data.get("body").and_then(|b| b.as_str())
        }
        _ => None,
    }
}

/// An event as stored: numbered within its escalation from 1, gap-free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredEvent {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "ESC-1042"))]
    pub escalation: EscalationKey,
    pub seq: i64,
    pub kind: EventKind,
    pub visibility: Visibility,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub actor: Actor,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
}

impl StoredEvent {
    /// Text of this event that full-text search should find, as for `NewEvent`.
    pub fn searchable_text(&self) -> Option<&str> {
        searchable_text(self.kind, &self.data)
    }
}
