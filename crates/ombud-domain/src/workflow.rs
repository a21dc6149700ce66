//! The workflow engine's part in every change to an escalation. On intake
//! it scores the draft, runs the routing rules and starts the clocks. After
//! a change to anything the rules read, it rescores, re-chooses the clocks
//! if their inputs moved, and runs the rules that have not fired yet — each
//! rule fires at most once per escalation, and a change the rules make does
//! not run them again, so routing is idempotent and cannot loop. The server
//! loads the settings; this module decides.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::json;

use crate::actor::Actor;
use crate::consult::consult_event;
use crate::deadlines::{BusinessCalendar, DeadlineError};
use crate::escalation::{
    Escalation, EscalationDraft, FieldChange, Priority, Visibility, field_changed_events,
    record_change,
};
use crate::event::{EventKind, NewEvent};
use crate::partner::Partner;
use crate::regulatory::RegulatoryRule;
use crate::routing::{self, FiredRule, Notification, PartnerFacts, RoutingOutcome, RoutingRule};
use crate::sla::{
    self, ClockChange, ClockSettings, EscalationClock, EscalationFacts, RegulationSetting,
    SlaPolicy,
};

/// Every setting the workflow reads, loaded once per request.
#[derive(Debug, Clone, Default)]
pub struct WorkflowSettings {
    pub rules: Vec<RoutingRule>,
    pub policies: Vec<SlaPolicy>,
    pub calendars: BTreeMap<String, BusinessCalendar>,
    pub regulation_settings: BTreeMap<String, RegulationSetting>,
}

/// What a change set off besides itself: events to save with it, and
/// staff to tell once it is saved.
#[derive(Debug, Default)]
pub struct FollowUp {
    pub events: Vec<NewEvent>,
    pub notify: Vec<Notification>,
}

fn partner_facts(partner: &Partner) -> PartnerFacts {
    PartnerFacts {
        kind: partner.kind,
        tier: partner.tier,
    }
}

/// Whether `next` differs from `before` in anything a routing rule or the
/// priority score reads.
pub fn routing_inputs_changed(before: &Escalation, next: &Escalation) -> bool {
    before.escalation_type != next.escalation_type
        || before.title != next.title
        || before.description != next.description
        || before.country != next.country
        || before.language != next.language
        || before.priority != next.priority
        || before.queue != next.queue
        || before.tags != next.tags
        || before.risk_flags != next.risk_flags
        || before.subjects != next.subjects
}

/// Whether `next` differs from `before` in anything that chooses its clocks.
fn clock_inputs_changed(before: &Escalation, next: &Escalation) -> bool {
    before.escalation_type != next.escalation_type
        || before.country != next.country
        || before.priority != next.priority
        || before.sla_policy != next.sla_policy
}

impl WorkflowSettings {
    fn clocks(
        &self,
        partner: &Partner,
        escalation_type: &str,
        priority: Priority,
        country: &str,
        received_at: Timestamp,
        forced_policy: Option<&str>,
    ) -> Result<Vec<EscalationClock>, DeadlineError> {
        let facts = EscalationFacts {
            partner: partner.slug.as_str(),
            partner_kind: partner.kind,
            partner_tier: partner.tier,
            escalation_type,
            priority,
            country,
        };
        sla::start_clocks(
            &facts,
            received_at,
            ClockSettings {
                policies: &self.policies,
                calendars: &self.calendars,
                regulations: RegulatoryRule::catalogue(),
                regulation_settings: &self.regulation_settings,
                forced_policy,
            },
        )
    }

    /// Everything intake decides, applied to `draft`: the priority score,
    /// the routing rules (queue, priority, tags, risk flags, SLA policy,
    /// consults) and the clocks.
    pub fn prepare(
        &self,
        draft: &mut EscalationDraft,
        partner: &Partner,
    ) -> Result<RoutingOutcome, DeadlineError> {
        let unrouted = self.clocks(
            partner,
            &draft.escalation_type,
            draft.priority,
            draft.country.as_str(),
            draft.received_at,
            None,
        )?;
        let legal = sla::earliest_regulation(&unrouted);
        draft.score = Some(routing::score(
            draft,
            partner_facts(partner),
            legal.as_ref().map(|(id, target)| (id.as_str(), *target)),
        ));
        let outcome = routing::route(&self.rules, draft, partner_facts(partner));
        draft.sla_policy.clone_from(&outcome.sla_policy);
        draft.clocks = self.clocks(
            partner,
            &draft.escalation_type,
            draft.priority,
            draft.country.as_str(),
            draft.received_at,
            draft.sla_policy.as_deref(),
        )?;
        Ok(outcome)
    }

    /// What the workflow adds to a change that turned `before` into `next`
    /// (applied to `next`, whose version the change already bumped).
    pub fn follow_up(
        &self,
        before: &Escalation,
        next: &mut Escalation,
        partner: &Partner,
        at: Timestamp,
    ) -> Result<FollowUp, DeadlineError> {
        let mut follow_up = FollowUp::default();
        if !routing_inputs_changed(before, next) {
            return Ok(follow_up);
        }
        let actor = Actor::system();
        let mut clocks = Vec::new();
        if clock_inputs_changed(before, next) {
            clocks.extend(self.rechoose_clocks(next, partner)?);
        }
        let legal = sla::earliest_regulation(&next.clocks);
        let rescored = routing::score(
            &next.to_draft(),
            partner_facts(partner),
            legal.as_ref().map(|(id, target)| (id.as_str(), *target)),
        );
        let mut changes = Vec::new();
        if next.score.as_ref() != Some(&rescored) {
            let total = |score: Option<&routing::PriorityScore>| score.map(|s| s.total);
            changes.push((
                "score".to_string(),
                json!(total(next.score.as_ref())),
                json!(rescored.total),
            ));
            next.score = Some(rescored);
        }
        let priority = next.priority;
        let outcome = self.run_pending_rules(next, partner, &actor, at, &mut changes);
        follow_up
            .events
            .extend(field_changed_events(changes, &actor, at));
        if let Some((outcome, fired, consults)) = outcome {
            let priority_moved = next.priority != priority;
            if outcome.sla_policy.is_some() {
                next.sla_policy.clone_from(&outcome.sla_policy);
            }
            if outcome.sla_policy.is_some() || priority_moved {
                clocks.extend(self.rechoose_clocks(next, partner)?);
            }
            follow_up.events.push(NewEvent::new(
                EventKind::RulesFired,
                Visibility::Internal,
                &actor,
                at,
                json!({"rules": fired}),
            ));
            follow_up.events.extend(consults);
            follow_up.notify = outcome.notify;
        }
        if !clocks.is_empty() {
            follow_up.events.push(NewEvent::new(
                EventKind::ClocksChanged,
                Visibility::Internal,
                &actor,
                at,
                json!({"clocks": clocks}),
            ));
        }
        Ok(follow_up)
    }

    /// Runs the enabled rules that have not fired on `escalation` yet and
    /// applies what they decided; records field changes in `changes` and
    /// returns the outcome, the rules that fired and one event per consult
    /// they opened, or `None` if none fired.
    fn run_pending_rules(
        &self,
        escalation: &mut Escalation,
        partner: &Partner,
        actor: &Actor,
        at: Timestamp,
        changes: &mut Vec<FieldChange>,
    ) -> Option<(RoutingOutcome, Vec<FiredRule>, Vec<NewEvent>)> {
        let fired = &escalation.rules_fired;
        let pending = self.rules.iter().filter(|r| !fired.contains(&r.code));
        let mut draft = escalation.to_draft();
        draft.score.clone_from(&escalation.score);
        draft.consults.clone_from(&escalation.consults);
        draft.received_at = at;
        let outcome = routing::route(pending, &mut draft, partner_facts(partner));
        if draft.rules_fired.is_empty() {
            return None;
        }
        record_change(changes, "queue", &mut escalation.queue, draft.queue);
        record_change(
            changes,
            "priority",
            &mut escalation.priority,
            draft.priority,
        );
        record_change(changes, "tags", &mut escalation.tags, draft.tags);
        record_change(
            changes,
            "risk_flags",
            &mut escalation.risk_flags,
            draft.risk_flags,
        );
        let opened = draft.consults.split_off(escalation.consults.len());
        let consults = opened
            .iter()
            .map(|c| consult_event(EventKind::ConsultRequested, c, actor, at))
            .collect();
        escalation.consults.extend(opened);
        escalation
            .rules_fired
            .extend(draft.rules_fired.iter().map(|r| r.code.clone()));
        Some((outcome, draft.rules_fired, consults))
    }

    /// Starts the clocks that now apply and drops those that no longer do.
    fn rechoose_clocks(
        &self,
        escalation: &mut Escalation,
        partner: &Partner,
    ) -> Result<Vec<ClockChange>, DeadlineError> {
        let fresh = self.clocks(
            partner,
            &escalation.escalation_type,
            escalation.priority,
            escalation.country.as_str(),
            escalation.received_at,
            escalation.sla_policy.as_deref(),
        )?;
        Ok(sla::reconcile_clocks(&mut escalation.clocks, fresh))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadlines::{ClockBasis, ClockKind};
    use crate::escalation::{EscalationKey, EscalationPatch, NewEscalation};
    use crate::lifecycle::Status;
    use crate::partner::NewPartner;
    use crate::sla::{ClockSource, SlaConditions, SlaTargets};

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn policy(code: &str, priorities: &[Priority], ack: &str, resolution: &str) -> SlaPolicy {
        SlaPolicy {
            code: code.into(),
            name: code.into(),
            partner: None,
            conditions: SlaConditions {
                priorities: priorities.to_vec(),
                ..SlaConditions::default()
            },
            basis: ClockBasis::Calendar,
            calendar: None,
            targets: SlaTargets {
                acknowledgement: Some(ack.into()),
                resolution: Some(resolution.into()),
                ..SlaTargets::default()
            },
            pause_while_awaiting_partner: true,
            warn_at_percent: vec![75],
        }
    }

    fn rule(
        code: &str,
        position: i32,
        when: serde_json::Value,
        then: serde_json::Value,
    ) -> RoutingRule {
        serde_json::from_value(json!({
            "code": code, "name": code, "position": position, "when": when, "then": then,
        }))
        .unwrap()
    }

    fn settings() -> WorkflowSettings {
        WorkflowSettings {
            rules: vec![
                rule(
                    "sensitive-to-cleared",
                    10,
                    json!({"has": {"field": "risk_flags", "values": ["sensitive_media"]}}),
                    json!([{"set_queue": "cleared"}, {"add_tags": ["media-review"]}]),
                ),
                rule(
                    "urgent-tag",
                    20,
                    json!({"has": {"field": "tags", "values": ["urgent"]}}),
                    json!([{"set_priority": "P1"}]),
                ),
            ],
            policies: vec![
                policy("urgent", &[Priority::P0, Priority::P1], "PT1H", "PT24H"),
                policy("standard", &[], "PT4H", "P5D"),
            ],
            ..WorkflowSettings::default()
        }
    }

    fn partner() -> Partner {
        NewPartner {
            slug: "th-safe-net".into(),
            name: "Safe Net Thailand".into(),
            kind: "ngo".into(),
            tier: 2,
            country: "TH".into(),
            language: "th".into(),
            contacts: Vec::new(),
            allowed_types: Vec::new(),
        }
        .validate(at("2026-01-01T00:00:00Z"))
        .unwrap()
    }

    fn patch(json: serde_json::Value) -> EscalationPatch {
        serde_json::from_value(json).unwrap()
    }

    fn sources(e: &Escalation) -> Vec<(ClockKind, ClockSource)> {
        e.clocks
            .iter()
            .map(|c| (c.kind, c.source.clone()))
            .collect()
    }

    #[test]
    fn rules_run_again_after_a_change_once_each_and_the_clocks_follow_the_priority() {
        let (settings, partner, actor) = (settings(), partner(), Actor::system());
        let received = at("2026-11-25T09:00:00Z");
        let mut draft = NewEscalation {
            escalation_type: "account_access".into(),
            title: "บัญชีถูกแฮ็ก".into(),
            country: "TH".into(),
            language: "th".into(),
            ..Default::default()
        }
        .validate("th-safe-net", "api", received)
        .unwrap();
        settings.prepare(&mut draft, &partner).unwrap();
        assert!(draft.rules_fired.is_empty());
        let (e, _) = draft.into_escalation(EscalationKey(1), &actor, received);
        let standard = ClockSource::Policy("standard".into());
        assert_eq!(
            sources(&e),
            [
                (ClockKind::Acknowledgement, standard.clone()),
                (ClockKind::Resolution, standard.clone())
            ]
        );
        let (e, _) = e
            .transition(Status::Triaged, None, &actor, at("2026-11-25T09:30:00Z"))
            .unwrap();

        // Sensitive media and an urgent tag: both rules now hold.
        let (mut next, _) = e
            .apply_patch(
                &patch(json!({"risk_flags": ["sensitive_media"], "tags": ["urgent"]})),
                &actor,
                at("2026-11-25T11:00:00Z"),
            )
            .unwrap();
        let version = next.version;
        let follow_up = settings
            .follow_up(&e, &mut next, &partner, at("2026-11-25T11:00:00Z"))
            .unwrap();
        assert_eq!(
            next.version, version,
            "part of the change, not a change of its own"
        );
        assert_eq!(next.queue.as_deref(), Some("cleared"));
        assert_eq!(next.tags, ["media-review", "urgent"]);
        assert_eq!(next.priority, Priority::P1);
        assert_eq!(next.rules_fired, ["sensitive-to-cleared", "urgent-tag"]);
        let kinds: Vec<_> = follow_up.events.iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&EventKind::RulesFired), "{kinds:?}");
        assert_eq!(kinds.last(), Some(&EventKind::ClocksChanged));
        // P1 chooses the urgent policy: its clocks replace the standard
        // ones, counting from receipt; the acknowledgement stays met.
        let urgent = ClockSource::Policy("urgent".into());
        assert_eq!(
            sources(&next),
            [
                (ClockKind::Acknowledgement, urgent.clone()),
                (ClockKind::Resolution, urgent.clone())
            ]
        );
        assert_eq!(next.clocks[0].stopped_at, Some(at("2026-11-25T09:30:00Z")));
        assert_eq!(next.clocks[1].due_at, Some(at("2026-11-26T09:00:00Z")));
        assert_eq!(next.due_at(), Some(at("2026-11-26T09:00:00Z")));

        // A later change: no rule fires twice, even one whose condition
        // still holds, and the clocks stay as they are.
        let before = next.clone();
        let (mut later, _) = before
            .apply_patch(
                &patch(json!({"queue": "general", "title": "บัญชีถูกแฮ็ก (ยืนยันแล้ว)"})),
                &actor,
                at("2026-11-25T12:00:00Z"),
            )
            .unwrap();
        let follow_up = settings
            .follow_up(&before, &mut later, &partner, at("2026-11-25T12:00:00Z"))
            .unwrap();
        assert!(follow_up.events.is_empty(), "{:?}", follow_up.events);
        assert_eq!(later.queue.as_deref(), Some("general"));
        assert_eq!(later.clocks, before.clocks);
    }

    #[test]
    fn a_change_nothing_reads_sets_nothing_off() {
        let (settings, partner, actor) = (settings(), partner(), Actor::system());
        let received = at("2026-11-25T09:00:00Z");
        let mut draft = NewEscalation {
            escalation_type: "account_access".into(),
            title: "Hacked".into(),
            country: "TH".into(),
            language: "th".into(),
            tags: vec!["urgent".into()],
            ..Default::default()
        }
        .validate("th-safe-net", "api", received)
        .unwrap();
        settings.prepare(&mut draft, &partner).unwrap();
        let (e, created) = draft.into_escalation(EscalationKey(2), &actor, received);
        assert_eq!(e.rules_fired, ["urgent-tag"]);
        assert_eq!(created.data["rules_fired"][0]["code"], "urgent-tag");
        let (mut next, _) = e
            .apply_patch(
                &patch(json!({"assignee": "aiko@example.com"})),
                &actor,
                at("2026-11-25T10:00:00Z"),
            )
            .unwrap();
        let follow_up = settings
            .follow_up(&e, &mut next, &partner, at("2026-11-25T10:00:00Z"))
            .unwrap();
        assert!(follow_up.events.is_empty());
        assert_eq!(next.clocks, e.clocks);
    }
}
