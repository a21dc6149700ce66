//! Per-holder accounting: where each clock's time went — with which queue,
//! with a consulted function, or waiting on the partner — read from the
//! escalation's timeline.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::deadlines::BusinessCalendar;
use crate::deadlines::{ClockKind, Pause};
use crate::event::{EventKind, StoredEvent};
use crate::sla::{ClockSource, EscalationClock};

/// Who held the escalation during a stretch of time.
fn holder_after(event: &StoredEvent, holder: &mut HolderState) {
    let data = &event.data;
    match event.kind {
        EventKind::Created => {
            holder.queue = data["queue"].as_str().map(str::to_string);
        }
        EventKind::StatusChanged | EventKind::Reopened => {
            holder.awaiting_partner = data["to"] == "awaiting_partner";
        }
        EventKind::FieldChanged if data["field"] == "queue" => {
            holder.queue = data["to"].as_str().map(str::to_string);
        }
        EventKind::ConsultRequested => {
            if let Some(function) = data["consult"]["function"].as_str() {
                holder
                    .consults
                    .push((data["consult"]["id"].as_u64().unwrap_or(0), function.into()));
            }
        }
        EventKind::ConsultAnswered => {
            let id = data["consult"]["id"].as_u64().unwrap_or(0);
            holder.consults.retain(|(open, _)| *open != id);
        }
        _ => {}
    }
}

#[derive(Debug, Default, Clone)]
struct HolderState {
    queue: Option<String>,
    awaiting_partner: bool,
    /// Open consults in the order they were asked: (id, function).
    consults: Vec<(u64, String)>,
}

impl HolderState {
    /// Waiting on the partner comes first, then the earliest open consult,
    /// then the queue.
    fn name(&self) -> String {
        if self.awaiting_partner {
            "partner".into()
        } else if let Some((_, function)) = self.consults.first() {
            format!("consult:{function}")
        } else {
            match &self.queue {
                Some(queue) => format!("queue:{queue}"),
                None => "unrouted".into(),
            }
        }
    }
}

/// How long one holder had one clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HolderTime {
    /// `queue:<code>`, `consult:<function>`, `partner` or `unrouted`.
    pub holder: String,
    /// Time of the clock's kind (working time for business clocks).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub time: SignedDuration,
}

/// The accounting of one clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockAccount {
    pub kind: ClockKind,
    pub source: ClockSource,
    /// Holders in order of first holding it; times add up to the clock's
    /// life until it stopped (or `now`).
    pub holders: Vec<HolderTime>,
}

/// Splits each clock's life among the holders the timeline shows.
pub fn account(
    clocks: &[EscalationClock],
    timeline: &[StoredEvent],
    now: Timestamp,
) -> Vec<ClockAccount> {
    // The holder from each event on, in time order.
    let mut state = HolderState::default();
    let mut stretches: Vec<(Timestamp, String)> = Vec::new();
    for event in timeline {
        holder_after(event, &mut state);
        let name = state.name();
        match stretches.last_mut() {
            Some((at, last)) if *at == event.at => *last = name,
            Some((_, last)) if *last == name => {}
            _ => stretches.push((event.at, name)),
        }
    }
    clocks
        .iter()
        .map(|clock| {
            let calendar = BusinessCalendar::from_spec(&clock.calendar)
                .expect("a clock's calendar was valid when copied");
            let end = clock.stopped_at.unwrap_or(now).max(clock.started_at);
            let mut holders: Vec<HolderTime> = Vec::new();
            for (index, (from, name)) in stretches.iter().enumerate() {
                let until = stretches
                    .get(index + 1)
                    .map_or(end, |(next, _)| *next)
                    .min(end);
                let from = (*from).max(clock.started_at);
                if until <= from {
                    continue;
                }
                // The clock's own measure of the stretch, pauses ignored: a
                // wait on the partner shows the time it would have cost.
                let time = clock.budget.spent(from, until, &calendar, &[] as &[Pause]);
                match holders.iter_mut().find(|h| h.holder == *name) {
                    Some(known) => known.time += time,
                    None => holders.push(HolderTime {
                        holder: name.clone(),
                        time,
                    }),
                }
            }
            ClockAccount {
                kind: clock.kind,
                source: clock.source.clone(),
                holders,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Actor;
    use crate::consult::{NewConsult, Verdict};
    use crate::deadlines::ClockBasis;
    use crate::escalation::Priority;
    use crate::escalation::{Escalation, EscalationKey, EscalationPatch, NewEscalation};
    use crate::event::NewEvent;
    use crate::lifecycle::Status;
    use crate::partner::{PartnerKind, Tier};
    use crate::sla::{ClockSettings, EscalationFacts, SlaPolicy, SlaTargets, start_clocks};

    fn at(minutes: i64) -> Timestamp {
        "2026-11-25T09:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(minutes)
    }

    fn stored(events: &mut Vec<StoredEvent>, key: EscalationKey, event: NewEvent) {
        events.push(StoredEvent {
            escalation: key,
            seq: events.len() as i64 + 1,
            kind: event.kind,
            visibility: event.visibility,
            actor: event.actor,
            at: event.at,
            data: event.data,
        });
    }

    #[test]
    fn each_clock_is_split_among_queue_consult_and_partner() {
        let actor = Actor::system();
        let mut draft = NewEscalation {
            escalation_type: "court_order".into(),
            title: "Order".into(),
            country: "IN".into(),
            language: "hi".into(),
            ..Default::default()
        }
        .validate("in-court", "api", at(0))
        .unwrap();
        draft.queue = Some("apac".into());
        let policy = SlaPolicy {
            code: "p".into(),
            name: "p".into(),
            partner: None,
            conditions: Default::default(),
            basis: ClockBasis::Calendar,
            calendar: None,
            targets: SlaTargets {
                resolution: Some("PT24H".into()),
                ..Default::default()
            },
            pause_while_awaiting_partner: true,
            warn_at_percent: vec![75],
        };
        draft.clocks = start_clocks(
            &EscalationFacts {
                partner: "in-court",
                partner_kind: PartnerKind::Court,
                partner_tier: Tier::parse("tier", 1).unwrap(),
                escalation_type: "court_order",
                priority: Priority::P1,
                country: "IN",
            },
            at(0),
            ClockSettings {
                policies: &[policy],
                calendars: &Default::default(),
                regulations: &[],
                regulation_settings: &Default::default(),
                forced_policy: None,
            },
        )
        .unwrap();
        let key = EscalationKey(1);
        let mut events = Vec::new();
        let (e, created) = draft.into_escalation(key, &actor, at(0));
        stored(&mut events, key, created);
        // 60 min with the queue, then Legal for 30, back to the queue 30,
        // moved to EMEA for 20, the partner for 40, EMEA again to resolution at 200.
        let (e, ev) = e.transition(Status::Triaged, None, &actor, at(10)).unwrap();
        stored(&mut events, key, ev);
        let consult = NewConsult {
            function: "legal".into(),
            question: "Valid?".into(),
            required: true,
            due_within: None,
        };
        let (e, ev) = e.request_consult(&consult, &actor, at(60)).unwrap();
        stored(&mut events, key, ev);
        let (e, ev) = e
            .answer_consult(1, Verdict::Approve, "", &actor, at(90))
            .unwrap();
        stored(&mut events, key, ev);
        let patch = EscalationPatch {
            queue: Some(Some("emea".into())),
            ..Default::default()
        };
        let (e, evs) = e.apply_patch(&patch, &actor, at(120)).unwrap();
        for ev in evs {
            stored(&mut events, key, ev);
        }
        let (e, ev) = e
            .transition(Status::AwaitingPartner, None, &actor, at(140))
            .unwrap();
        stored(&mut events, key, ev);
        let (e, ev) = e
            .transition(Status::Investigating, None, &actor, at(180))
            .unwrap();
        stored(&mut events, key, ev);
        let (e, ev): (Escalation, _) = e
            .transition(Status::Resolved, None, &actor, at(200))
            .unwrap();
        stored(&mut events, key, ev);

        let accounts = account(&e.clocks, &events, at(500));
        let holders: Vec<(&str, i64)> = accounts[0]
            .holders
            .iter()
            .map(|h| (h.holder.as_str(), h.time.as_mins()))
            .collect();
        assert_eq!(
            holders,
            [
                ("queue:apac", 90),
                ("consult:legal", 30),
                ("queue:emea", 40),
                ("partner", 40)
            ]
        );
        let total: i64 = holders.iter().map(|(_, m)| m).sum();
        assert_eq!(total, 200, "the clock's whole life, to resolution");
    }
}
