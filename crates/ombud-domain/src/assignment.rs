//! Queues, agents and who gets which escalation: skills (languages,
//! markets, types, clearance for sensitive media), capacity, absence, and
//! handing a case to a colleague.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::actor::Actor;
use crate::escalation::{Escalation, Visibility};
use crate::event::{EventKind, NewEvent};
use crate::geo::Country;
use crate::validation::{self, Collector, Invalid};

/// A queue of work owned by a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Queue {
    pub code: String,
    pub name: String,
    /// The owning team.
    pub team: String,
    /// New escalations routed here go straight to the least loaded eligible member.
    #[serde(default)]
    pub auto_assign: bool,
}

impl Queue {
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        errors.check(validation::code("code", &self.code));
        errors.check(validation::text("name", &self.name, 1, 200));
        errors.check(validation::text("team", &self.team, 1, 200));
        errors.finish()
    }
}

/// What an agent can take: an empty list allows anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AgentProfile {
    /// The agent's user email.
    pub email: String,
    /// Queues the agent works; empty: claims from any queue.
    #[serde(default)]
    pub queues: Vec<String>,
    /// Language tags the agent reads.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Markets, as ISO 3166-1 alpha-2 codes.
    #[serde(default)]
    pub countries: Vec<String>,
    /// Escalation type codes.
    #[serde(default)]
    pub types: Vec<String>,
    /// Cleared to handle sensitive media.
    #[serde(default)]
    pub sensitive_media: bool,
    /// Most open escalations the agent holds at once.
    pub capacity: u32,
    #[serde(default)]
    pub out_of_office: bool,
}

impl AgentProfile {
    /// The most open escalations a profile may allow.
    pub const MAX_CAPACITY: u32 = 500;

    /// Checks the profile; `queues` are the codes of the queues that exist.
    pub fn validate(&self, queues: &[&str]) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        if !self.email.contains('@') || self.email.trim() != self.email {
            errors.push("email", "an agent is named by the email of their user");
        }
        for (index, queue) in self.queues.iter().enumerate() {
            if !queues.contains(&queue.as_str()) {
                errors.push(
                    format!("queues[{index}]"),
                    format!("there is no queue {queue:?}"),
                );
            }
        }
        for (index, country) in self.countries.iter().enumerate() {
            errors.check(Country::parse(&format!("countries[{index}]"), country));
        }
        if !(1..=Self::MAX_CAPACITY).contains(&self.capacity) {
            errors.push(
                "capacity",
                format!("between 1 and {} open escalations", Self::MAX_CAPACITY),
            );
        }
        errors.finish()
    }

    /// Whether the agent may take `escalation` by their skills.
    pub fn can_take(&self, escalation: &Escalation) -> bool {
        fn allows(list: &[String], value: &str) -> bool {
            list.is_empty() || list.iter().any(|v| v.eq_ignore_ascii_case(value))
        }
        let queue = escalation.queue.as_deref();
        (self.queues.is_empty() || queue.is_some_and(|q| allows(&self.queues, q)))
            && allows(&self.languages, escalation.language.as_str())
            && allows(&self.countries, escalation.country.as_str())
            && allows(&self.types, &escalation.escalation_type)
            && (self.sensitive_media || !escalation.is_sensitive())
    }
}

/// Among `agents` with their open case counts, who should get
/// `escalation`: present, under capacity, able to take it and in its
/// queue; the least loaded, then by email.
pub fn least_loaded<'a>(
    agents: &'a [(AgentProfile, u32)],
    escalation: &Escalation,
) -> Option<&'a AgentProfile> {
    agents
        .iter()
        .filter(|(agent, open)| {
            !agent.out_of_office
                && *open < agent.capacity
                && agent.can_take(escalation)
                && escalation
                    .queue
                    .as_ref()
                    .is_some_and(|q| agent.queues.contains(q))
        })
        .min_by(|(a, a_open), (b, b_open)| a_open.cmp(b_open).then_with(|| a.email.cmp(&b.email)))
        .map(|(agent, _)| agent)
}

impl Escalation {
    /// Gives the escalation to `to` (or takes it from whoever has it, with
    /// `None`), with a note that says why; the note stays internal.
    pub fn hand_off(
        &self,
        to: Option<&str>,
        note: Option<&str>,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(Escalation, NewEvent), Invalid> {
        let to = to
            .map(|email| validation::text("to", &email.trim().to_lowercase(), 3, 320))
            .transpose()?;
        let note = note
            .map(|n| validation::text("note", n, 1, 2000))
            .transpose()?;
        if to == self.assignee {
            return Err(Invalid::one("to", "the escalation is already theirs"));
        }
        let mut next = self.clone();
        next.assignee.clone_from(&to);
        next.updated_at = at.max(next.updated_at);
        next.version += 1;
        let event = NewEvent::new(
            EventKind::Assigned,
            Visibility::Internal,
            actor,
            at,
            json!({"from": self.assignee, "to": to, "note": note}),
        );
        Ok((next, event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::EscalationKey;
    use crate::escalation::{NewEscalation, RiskFlag};

    fn escalation(language: &str, queue: &str, sensitive: bool) -> Escalation {
        let mut draft = NewEscalation {
            escalation_type: "ncii".into(),
            title: "t".into(),
            country: "JP".into(),
            language: language.into(),
            ..Default::default()
        }
        .validate("jp-police", "api", "2026-11-25T09:00:00Z".parse().unwrap())
        .unwrap();
        draft.queue = Some(queue.into());
        if sensitive {
            draft.risk_flags = vec![RiskFlag::SensitiveMedia];
        }
        draft
            .into_escalation(
                EscalationKey(1),
                &Actor::system(),
                "2026-11-25T09:00:00Z".parse().unwrap(),
            )
            .0
    }

    fn agent(email: &str, languages: &[&str], capacity: u32) -> AgentProfile {
        AgentProfile {
            email: email.into(),
            queues: vec!["apac".into()],
            languages: languages.iter().map(|l| l.to_string()).collect(),
            countries: vec![],
            types: vec![],
            sensitive_media: false,
            capacity,
            out_of_office: false,
        }
    }

    #[test]
    fn the_least_loaded_eligible_agent_gets_the_case() {
        let case = escalation("ja", "apac", false);
        let mut away = agent("away@x.example", &["ja"], 10);
        away.out_of_office = true;
        let agents = [
            (agent("busy@x.example", &["ja"], 10), 7),
            (agent("full@x.example", &["ja"], 3), 3),
            (agent("korean@x.example", &["ko"], 10), 0),
            (away, 0),
            (agent("free@x.example", &["ja", "en"], 10), 2),
            (agent("also-free@x.example", &["ja"], 10), 2),
        ];
        assert_eq!(
            least_loaded(&agents, &case).unwrap().email,
            "also-free@x.example"
        );
        // Sensitive media needs clearance.
        assert!(least_loaded(&agents, &escalation("ja", "apac", true)).is_none());
        // Another queue: nobody here.
        assert!(least_loaded(&agents, &escalation("ja", "emea", false)).is_none());
    }

    #[test]
    fn profiles_name_their_faults() {
        let mut bad = agent("not-an-email", &[], 0);
        bad.queues.push("ghost".into());
        bad.countries = vec!["XX".into()];
        let errors = bad.validate(&["apac"]).unwrap_err().0;
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "queues[1]", "countries[0]", "capacity"]);
    }

    #[test]
    fn a_hand_off_records_who_why_and_refuses_a_no_op() {
        let case = escalation("ja", "apac", false);
        let actor = Actor::system();
        let at = "2026-11-25T10:00:00Z".parse().unwrap();
        let (next, event) = case
            .hand_off(
                Some("Ken@X.example"),
                Some("needs a Korean reader"),
                &actor,
                at,
            )
            .unwrap();
        assert_eq!(next.assignee.as_deref(), Some("ken@x.example"));
        assert_eq!(event.data["note"], "needs a Korean reader");
        assert_eq!(event.visibility, Visibility::Internal);
        assert!(
            next.hand_off(Some("ken@x.example"), None, &actor, at)
                .is_err()
        );
    }
}
