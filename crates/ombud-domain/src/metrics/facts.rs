//! What the metrics need to know about one escalation, kept beside its state
//! and rewritten in the same transaction as every change, so that the
//! dashboards aggregate narrow rows instead of replaying timelines.
//!
//! Most facts are read off the current state. The milestones (first
//! acknowledgement, first response, first resolution, reopens) are history:
//! each save folds its new events into the milestones stored before it, and
//! a rebuild folds a whole timeline.

use jiff::Timestamp;
use serde_json::Value;

use crate::escalation::Escalation;
use crate::event::{EventKind, NewEvent, StoredEvent};
use crate::lifecycle::Status;
use crate::sla::{ClockSource, ClockState, EscalationClock};

/// Raised by a new shape of facts: stores rebuild rows written under an
/// older one when they open.
pub const FACTS_VERSION: i64 = 1;

/// Outcome codes that reverse an earlier enforcement (an overturn).
pub const OVERTURN_OUTCOMES: &[&str] = &["reinstated"];

/// Outcome codes that act against the reported content or account.
pub const ACTIONED_OUTCOMES: &[&str] = &["removed", "restricted", "geo_withheld"];

/// First times, kept across saves: none of them can be read off the state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Milestones {
    /// Staff first moved it out of `new`, or a message (even the automatic
    /// acknowledgement) reached the partner.
    pub acknowledged_at: Option<Timestamp>,
    /// Staff first wrote to the partner (the automatic acknowledgement does
    /// not count).
    pub first_response_at: Option<Timestamp>,
    /// It was first resolved or closed.
    pub resolved_at: Option<Timestamp>,
    /// Times it was reopened.
    pub reopens: u32,
}

impl Milestones {
    /// Moves the milestones past one event.
    pub fn observe(&mut self, kind: EventKind, data: &Value, at: Timestamp) {
        match kind {
            EventKind::StatusChanged | EventKind::Reopened => {
                let from = data["from"].as_str().and_then(Status::parse);
                let to = data["to"].as_str().and_then(Status::parse);
                if from == Some(Status::New) {
                    self.acknowledged_at.get_or_insert(at);
                }
                if matches!(to, Some(Status::Resolved | Status::Closed)) {
                    self.resolved_at.get_or_insert(at);
                }
                if kind == EventKind::Reopened {
                    self.reopens += 1;
                }
            }
            EventKind::MessageSent => {
                self.acknowledged_at.get_or_insert(at);
                if data["automatic"] != Value::Bool(true) {
                    self.first_response_at.get_or_insert(at);
                }
            }
            _ => {}
        }
    }

    /// The milestones after `events`, starting from `self`.
    pub fn after(mut self, events: &[NewEvent]) -> Milestones {
        for event in events {
            self.observe(event.kind, &event.data, event.at);
        }
        self
    }

    /// The milestones of a whole timeline.
    pub fn of_timeline(events: &[StoredEvent]) -> Milestones {
        let mut milestones = Milestones::default();
        for event in events {
            milestones.observe(event.kind, &event.data, event.at);
        }
        milestones
    }
}

/// Whether an escalation's deadlines of one kind were met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attainment {
    /// Every such deadline was met in time.
    Met,
    /// At least one was missed (met late, or breached).
    Missed,
}

impl Attainment {
    /// Stored as 1 (met) or 0 (missed); no row value means none to judge.
    pub fn as_flag(self) -> i64 {
        match self {
            Attainment::Met => 1,
            Attainment::Missed => 0,
        }
    }

    pub fn from_flag(flag: i64) -> Attainment {
        if flag == 0 {
            Attainment::Missed
        } else {
            Attainment::Met
        }
    }
}

/// The facts of one escalation the metrics aggregate. Times are whole
/// seconds, durations count from `arrived_at` (when the partner sent it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationFacts {
    pub key: i64,
    pub arrived_at: Timestamp,
    pub escalation_type: String,
    /// The first subject's surface; empty when it has none.
    pub surface: String,
    pub country: String,
    pub language: String,
    pub partner: String,
    /// Empty when it is in no queue.
    pub queue: String,
    pub open: bool,
    pub milestones: Milestones,
    /// SLA deadlines; `None` while none has been met or missed.
    pub sla: Option<Attainment>,
    /// Regulatory deadlines, likewise.
    pub regulatory: Option<Attainment>,
    pub outcome: Option<String>,
    pub policy: Option<String>,
    pub root_cause: Option<String>,
    pub decided_at: Option<Timestamp>,
}

/// One consult, for turnaround by function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsultFacts {
    pub key: i64,
    pub number: u32,
    pub function: String,
    pub requested_at: Timestamp,
    pub answered_at: Option<Timestamp>,
}

impl EscalationFacts {
    /// The facts of `escalation` with `milestones` (already past its latest events).
    pub fn of(escalation: &Escalation, milestones: Milestones) -> EscalationFacts {
        let now = escalation.updated_at;
        let decision = escalation.decision.as_ref();
        EscalationFacts {
            key: escalation.key.0,
            arrived_at: whole_seconds(escalation.received_at),
            escalation_type: escalation.escalation_type.clone(),
            surface: escalation
                .subjects
                .first()
                .map(|s| s.surface.clone())
                .unwrap_or_default(),
            country: escalation.country.as_str().to_string(),
            language: escalation.language.as_str().to_string(),
            partner: escalation.partner.clone(),
            queue: escalation.queue.clone().unwrap_or_default(),
            open: !matches!(escalation.status, Status::Resolved | Status::Closed),
            milestones: Milestones {
                acknowledged_at: milestones.acknowledged_at.map(whole_seconds),
                first_response_at: milestones.first_response_at.map(whole_seconds),
                resolved_at: milestones.resolved_at.map(whole_seconds),
                reopens: milestones.reopens,
            },
            sla: attainment(&escalation.clocks, now, |s| {
                matches!(s, ClockSource::Policy(_))
            }),
            regulatory: attainment(&escalation.clocks, now, |s| {
                matches!(s, ClockSource::Regulation(_))
            }),
            outcome: decision.map(|d| d.outcome.clone()),
            policy: decision.and_then(|d| d.policy.clone()),
            root_cause: decision.and_then(|d| d.root_cause.clone()),
            decided_at: decision.map(|d| whole_seconds(d.decided_at)),
        }
    }

    /// Its consults.
    pub fn consults(escalation: &Escalation) -> Vec<ConsultFacts> {
        escalation
            .consults
            .iter()
            .map(|c| ConsultFacts {
                key: escalation.key.0,
                number: c.id,
                function: c.function.clone(),
                requested_at: whole_seconds(c.requested_at),
                answered_at: c.answer.as_ref().map(|a| whole_seconds(a.at)),
            })
            .collect()
    }

    /// Whether the decision reversed an earlier enforcement.
    pub fn overturned(&self) -> Option<bool> {
        self.outcome
            .as_deref()
            .map(|o| OVERTURN_OUTCOMES.contains(&o))
    }

    /// Whether the decision acted against the content or account.
    pub fn actioned(&self) -> Option<bool> {
        self.outcome
            .as_deref()
            .map(|o| ACTIONED_OUTCOMES.contains(&o))
    }
}

/// Missed if any clock from `source` was met late or breached; met once
/// every one has been met in time; `None` while any still runs (or when
/// there is none).
fn attainment(
    clocks: &[EscalationClock],
    now: Timestamp,
    source: impl Fn(&ClockSource) -> bool,
) -> Option<Attainment> {
    let (mut met, mut pending) = (false, false);
    for clock in clocks.iter().filter(|c| source(&c.source)) {
        match clock.state(now) {
            _ if clock.alerts_raised.contains(&100) => return Some(Attainment::Missed),
            ClockState::MetLate | ClockState::Breached => return Some(Attainment::Missed),
            ClockState::Met => met = true,
            // A next-response clock waiting for the partner owes nothing.
            ClockState::Armed => {}
            ClockState::Running | ClockState::Paused => pending = true,
        }
    }
    (met && !pending).then_some(Attainment::Met)
}

/// Metrics count whole seconds.
pub fn whole_seconds(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second()).unwrap_or(at)
}
