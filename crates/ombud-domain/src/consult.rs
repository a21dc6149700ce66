//! Consults: asking a cross-functional function (Legal, Public Policy,
//! Security…) for input on an escalation, with a deadline. A required
//! consult that is still open blocks resolving the escalation.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::actor::Actor;
use crate::deadlines::{ClockBasis, Target};
use crate::escalation::{Escalation, Visibility};
use crate::event::{EventKind, NewEvent};
use crate::sla::{self, ClockSource, EscalationClock};
use crate::validation::{self, Collector, Invalid};

/// What a consulted function says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    Object,
    Advise,
}

impl Verdict {
    pub const ALL: [Verdict; 3] = [Verdict::Approve, Verdict::Object, Verdict::Advise];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Object => "object",
            Verdict::Advise => "advise",
        }
    }
}

/// A request for input, as asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewConsult {
    /// A consult function code from the reference data, e.g. `legal`.
    pub function: String,
    pub question: String,
    /// Whether the escalation may not be resolved before the answer.
    #[serde(default = "required")]
    pub required: bool,
    /// How long the function has, as an ISO 8601 duration (`PT24H`, `P2D`).
    #[serde(default)]
    pub due_within: Option<String>,
}

fn required() -> bool {
    true
}

/// An answer to a consult.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsultAnswer {
    pub verdict: Verdict,
    pub note: String,
    /// The answering actor's name.
    pub by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}

/// A consult on an escalation; `id` counts from 1 within it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consult {
    pub id: u32,
    pub function: String,
    pub question: String,
    pub required: bool,
    pub requested_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub requested_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub due_at: Option<Timestamp>,
    pub answer: Option<ConsultAnswer>,
}

impl Consult {
    pub fn is_open(&self) -> bool {
        self.answer.is_none()
    }
}

impl NewConsult {
    /// The consult this request opens as number `id` at `at`, and the clock
    /// of its deadline if it has one. Day targets count calendar days in UTC.
    pub fn open(
        &self,
        id: u32,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(Consult, Option<EscalationClock>), Invalid> {
        let mut errors = Collector::default();
        let function = errors.check(validation::code("function", &self.function));
        let question = errors.check(validation::text("question", &self.question, 1, 4000));
        let clock = match &self.due_within {
            None => None,
            Some(text) => match Target::parse(text, ClockBasis::Calendar) {
                Ok(target) => match sla::consult_clock(id, target, at) {
                    Ok(clock) => Some(clock),
                    Err(error) => {
                        errors.push("due_within", error.to_string());
                        None
                    }
                },
                Err(error) => {
                    errors.push("due_within", error.0);
                    None
                }
            },
        };
        errors.finish()?;
        let consult = Consult {
            id,
            function: function.expect("checked"),
            question: question.expect("checked"),
            required: self.required,
            requested_by: actor.name.clone(),
            requested_at: at,
            due_at: clock.as_ref().and_then(|c| c.due_at),
            answer: None,
        };
        Ok((consult, clock))
    }
}

impl Escalation {
    /// Asks a function for input. Whether the function exists is checked by
    /// the caller.
    pub fn request_consult(
        &self,
        request: &NewConsult,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(Escalation, NewEvent), Invalid> {
        let id = self.consults.iter().map(|c| c.id).max().unwrap_or(0) + 1;
        let (consult, clock) = request.open(id, actor, at)?;
        let event = consult_event(EventKind::ConsultRequested, &consult, actor, at);
        let mut next = self.clone();
        next.consults.push(consult);
        next.clocks.extend(clock);
        next.updated_at = at.max(next.updated_at);
        next.version += 1;
        Ok((next, event))
    }

    /// Records a function's answer to consult `id`.
    pub fn answer_consult(
        &self,
        id: u32,
        verdict: Verdict,
        note: &str,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(Escalation, NewEvent), Invalid> {
        let note = validation::text("note", note, 0, 4000)?;
        let mut next = self.clone();
        let consult = next
            .consults
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| Invalid::one("id", format!("{} has no consult {id}", self.key)))?;
        if !consult.is_open() {
            return Err(Invalid::one(
                "id",
                format!("consult {id} is already answered"),
            ));
        }
        consult.answer = Some(ConsultAnswer {
            verdict,
            note,
            by: actor.name.clone(),
            at,
        });
        let event = consult_event(EventKind::ConsultAnswered, consult, actor, at);
        if let Some(clock) = next
            .clocks
            .iter_mut()
            .find(|c| c.source == ClockSource::Consult(id))
        {
            clock.stop(at);
        }
        next.updated_at = at.max(next.updated_at);
        next.version += 1;
        Ok((next, event))
    }

    /// How many consults still wait for their answer.
    pub fn open_consults(&self) -> usize {
        self.consults.iter().filter(|c| c.is_open()).count()
    }

    /// The required consults still waiting for an answer, as `#id function`.
    pub fn open_required_consults(&self) -> Vec<String> {
        self.consults
            .iter()
            .filter(|c| c.required && c.is_open())
            .map(|c| format!("#{} {}", c.id, c.function))
            .collect()
    }
}

pub(crate) fn consult_event(
    kind: EventKind,
    consult: &Consult,
    actor: &Actor,
    at: Timestamp,
) -> NewEvent {
    let late = consult
        .answer
        .as_ref()
        .zip(consult.due_at)
        .is_some_and(|(answer, due)| answer.at > due);
    NewEvent::new(
        kind,
        Visibility::Internal,
        actor,
        at,
        json!({"consult": consult, "late": late}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::{EscalationKey, NewEscalation};
    use crate::lifecycle::Status;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn escalation() -> Escalation {
        NewEscalation {
            escalation_type: "government_order".into(),
            title: "Takedown order".into(),
            country: "IN".into(),
            language: "hi".into(),
            ..Default::default()
        }
        .validate("in-meity", "api", at("2026-11-25T09:00:00Z"))
        .unwrap()
        .into_escalation(
            EscalationKey(7),
            &Actor::system(),
            at("2026-11-25T09:00:00Z"),
        )
        .0
    }

    fn legal(required: bool) -> NewConsult {
        NewConsult {
            function: "legal".into(),
            question: "Is the order valid under r 3(1)(d)?".into(),
            required,
            due_within: Some("PT4H".into()),
        }
    }

    #[test]
    fn a_required_consult_blocks_resolution_until_answered() {
        let actor = Actor::system();
        let e = escalation();
        let (e, event) = e
            .request_consult(&legal(true), &actor, at("2026-11-25T10:00:00Z"))
            .unwrap();
        assert_eq!(event.kind, EventKind::ConsultRequested);
        assert_eq!(e.consults[0].due_at, Some(at("2026-11-25T14:00:00Z")));
        let (e, _) = e
            .request_consult(&legal(false), &actor, at("2026-11-25T10:05:00Z"))
            .unwrap();
        assert_eq!(e.open_required_consults(), ["#1 legal"]);
        let refused = e
            .transition(Status::Resolved, None, &actor, at("2026-11-25T11:00:00Z"))
            .unwrap_err();
        assert!(refused.to_string().contains("#1 legal"), "{refused}");
        let (e, answered) = e
            .answer_consult(
                1,
                Verdict::Approve,
                "Valid order",
                &actor,
                at("2026-11-25T15:00:00Z"),
            )
            .unwrap();
        assert_eq!(
            answered.data["late"], true,
            "answered after its 4-hour deadline"
        );
        assert!(e.open_required_consults().is_empty());
        assert!(
            e.transition(Status::Resolved, None, &actor, at("2026-11-25T16:00:00Z"))
                .is_ok()
        );
        assert!(
            e.answer_consult(1, Verdict::Object, "", &actor, at("2026-11-25T16:00:00Z"))
                .is_err()
        );
        assert!(
            e.answer_consult(9, Verdict::Object, "", &actor, at("2026-11-25T16:00:00Z"))
                .is_err()
        );
    }

    #[test]
    fn a_consult_deadline_is_a_clock_that_warns_breaches_and_stops_when_answered() {
        let actor = Actor::system();
        let asked = at("2026-11-25T10:00:00Z");
        let (e, _) = escalation()
            .request_consult(&legal(true), &actor, asked)
            .unwrap();
        let clock = e
            .clocks
            .iter()
            .position(|c| c.source == ClockSource::Consult(1))
            .expect("the consult has a clock");
        assert_eq!(e.clocks[clock].due_at, Some(at("2026-11-25T14:00:00Z")));
        assert_eq!(
            e.due_at(),
            None,
            "a consult's deadline is not the escalation's"
        );
        let alerts: Vec<_> = sla::pending_alerts(&e.clocks)
            .into_iter()
            .filter(|a| a.clock == clock)
            .map(|a| (a.percent, a.at))
            .collect();
        assert_eq!(
            alerts,
            [
                (75, at("2026-11-25T13:00:00Z")),
                (90, at("2026-11-25T13:36:00Z")),
                (100, at("2026-11-25T14:00:00Z")),
            ]
        );
        let (late, raised) = e
            .raise_clock_alerts(&[(clock, 100)], at("2026-11-25T14:00:01Z"))
            .expect("the breach is due");
        let breach = &raised[0];
        assert_eq!(breach.kind, EventKind::ClockBreached);
        assert_eq!(breach.data["source"], json!({"kind": "consult", "id": 1}));
        let (answered, _) = late
            .answer_consult(
                1,
                Verdict::Advise,
                "Ask for the court seal",
                &actor,
                at("2026-11-25T15:00:00Z"),
            )
            .unwrap();
        assert_eq!(
            answered.clocks[clock].stopped_at,
            Some(at("2026-11-25T15:00:00Z"))
        );
        assert!(
            sla::pending_alerts(&answered.clocks)
                .iter()
                .all(|a| a.clock != clock)
        );
    }

    #[test]
    fn bad_requests_name_their_faults() {
        let request = NewConsult {
            function: "Legal Team".into(),
            question: " ".into(),
            required: true,
            due_within: Some("tomorrow".into()),
        };
        let errors = escalation()
            .request_consult(&request, &Actor::system(), at("2026-11-25T10:00:00Z"))
            .unwrap_err()
            .0;
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["function", "question", "due_within"]);
    }
}
