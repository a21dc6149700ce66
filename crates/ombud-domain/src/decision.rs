//! The decision that resolves an escalation: what was decided (an outcome
//! from the reference data), under which policy and version, what was done
//! to each subject and where, and why the case arose at all (its root
//! cause, the team that owns it and the upstream fix). Codes are checked
//! against the reference data by the caller, which holds it; this module
//! checks shape and consistency with the escalation.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::geo::Country;
use crate::validation::{self, Collector, Invalid};

/// Countries one subject action may name (every ISO 3166-1 code fits).
const MAX_COUNTRIES: usize = 250;
const MAX_NOTE: usize = 5000;

/// Where the fix for a root cause stands in the owning team's tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FixStatus {
    Proposed,
    InProgress,
    Shipped,
    WontFix,
}

impl FixStatus {
    pub const ALL: [FixStatus; 4] = [
        FixStatus::Proposed,
        FixStatus::InProgress,
        FixStatus::Shipped,
        FixStatus::WontFix,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FixStatus::Proposed => "proposed",
            FixStatus::InProgress => "in_progress",
            FixStatus::Shipped => "shipped",
            FixStatus::WontFix => "wont_fix",
        }
    }

    pub fn parse(value: &str) -> Option<FixStatus> {
        FixStatus::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// The change upstream that should stop a root cause from recurring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpstreamFix {
    /// A link to the fix in an external tracker.
    pub url: String,
    pub status: FixStatus,
    /// Who drives it (a person or a team).
    #[serde(default)]
    pub owner: String,
}

/// What was done to one subject, and where: `countries` empty means
/// everywhere, otherwise only there (country-scoped withholding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubjectAction {
    /// The subject's `normalized_key`.
    pub subject: String,
    /// An outcome code from the reference data (`removed`, `geo_withheld`…).
    pub action: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, example = json!(["DE", "FR"])))]
    pub countries: Vec<Country>,
}

/// A decision as submitted; [`NewDecision::validate`] checks it against the
/// escalation it resolves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    /// An outcome code from the reference data.
    #[cfg_attr(feature = "openapi", schema(example = "reinstated"))]
    pub outcome: String,
    /// The policy applied, a code from the policy taxonomy.
    #[serde(default)]
    pub policy: Option<String>,
    /// The version of the policy text applied (`2026-07`, `v12`…).
    #[serde(default)]
    pub policy_version: Option<String>,
    #[serde(default)]
    pub actions: Vec<SubjectAction>,
    /// A root-cause code from the reference data.
    #[serde(default)]
    pub root_cause: Option<String>,
    /// What happened, in the decider's words (internal).
    #[serde(default)]
    pub root_cause_note: String,
    /// The team that owns the root cause.
    #[serde(default)]
    pub owning_team: Option<String>,
    #[serde(default)]
    pub upstream_fix: Option<UpstreamFix>,
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    pub outcome: String,
    pub policy: Option<String>,
    pub policy_version: Option<String>,
    pub actions: Vec<SubjectAction>,
    pub root_cause: Option<String>,
    pub root_cause_note: String,
    pub owning_team: Option<String>,
    pub upstream_fix: Option<UpstreamFix>,
    /// Who decided, as the timeline names them.
    pub decided_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub decided_at: Timestamp,
}

impl Decision {
    /// What the partner is told: the outcome, the policy and what was done
    /// to each subject; the root cause and its fix stay internal.
    pub fn partner_view(mut self) -> Decision {
        self.root_cause = None;
        self.root_cause_note.clear();
        self.owning_team = None;
        self.upstream_fix = None;
        self
    }
}

/// Reference codes a decision names, for the caller to check against the
/// reference data (field path, code).
#[derive(Debug)]
pub struct CodesUsed<'a> {
    pub outcomes: Vec<(String, &'a str)>,
    pub policies: Vec<(&'static str, &'a str)>,
    pub root_causes: Vec<(&'static str, &'a str)>,
}

impl NewDecision {
    /// Checks shape and that every action names a subject of the escalation
    /// (`subject_keys`), at most once; trims the free text.
    pub fn validate(
        &self,
        subject_keys: &[&str],
        decided_by: &str,
        decided_at: Timestamp,
    ) -> Result<Decision, Invalid> {
        let mut errors = Collector::default();
        errors.check(validation::code("outcome", &self.outcome));
        let policy = self
            .policy
            .as_deref()
            .and_then(|p| errors.check(validation::code("policy", p)));
        let policy_version = non_empty(self.policy_version.as_deref())
            .and_then(|v| errors.check(validation::text("policy_version", v, 1, 64)));
        let root_cause = self
            .root_cause
            .as_deref()
            .and_then(|c| errors.check(validation::code("root_cause", c)));
        let root_cause_note = errors
            .check(validation::text(
                "root_cause_note",
                &self.root_cause_note,
                0,
                MAX_NOTE,
            ))
            .unwrap_or_default();
        let owning_team = non_empty(self.owning_team.as_deref())
            .and_then(|t| errors.check(validation::text("owning_team", t, 1, 100)));
        let upstream_fix = self
            .upstream_fix
            .as_ref()
            .and_then(|fix| errors.check_nested("upstream_fix", fix.validate()));
        if (upstream_fix.is_some() || owning_team.is_some()) && root_cause.is_none() {
            errors.push(
                "root_cause",
                "an owning team or an upstream fix belongs to a root cause: name it",
            );
        }
        let mut actions = Vec::with_capacity(self.actions.len());
        for (i, action) in self.actions.iter().enumerate() {
            let field = format!("actions[{i}]");
            if !subject_keys.contains(&action.subject.as_str()) {
                errors.push(
                    format!("{field}.subject"),
                    format!(
                        "{:?} is not a subject of this escalation; known: {}",
                        action.subject,
                        subject_keys.join(", ")
                    ),
                );
            }
            if self.actions[..i]
                .iter()
                .any(|a| a.subject == action.subject)
            {
                errors.push(
                    format!("{field}.subject"),
                    format!("{} has two actions: give one", action.subject),
                );
            }
            errors.check_nested(&field, validation::code("action", &action.action));
            if action.countries.len() > MAX_COUNTRIES {
                errors.push(
                    format!("{field}.countries"),
                    format!("at most {MAX_COUNTRIES} countries"),
                );
            }
            let mut countries = action.countries.clone();
            countries.sort();
            countries.dedup();
            actions.push(SubjectAction {
                subject: action.subject.clone(),
                action: action.action.clone(),
                countries,
            });
        }
        errors.finish()?;
        Ok(Decision {
            outcome: self.outcome.clone(),
            policy,
            policy_version,
            actions,
            root_cause,
            root_cause_note,
            owning_team,
            upstream_fix,
            decided_by: decided_by.to_string(),
            decided_at,
        })
    }

    /// The reference codes this decision names, with their fields.
    pub fn codes(&self) -> CodesUsed<'_> {
        CodesUsed {
            outcomes: std::iter::once(("outcome".to_string(), self.outcome.as_str()))
                .chain(
                    self.actions
                        .iter()
                        .enumerate()
                        .map(|(i, a)| (format!("actions[{i}].action"), a.action.as_str())),
                )
                .collect(),
            policies: self
                .policy
                .as_deref()
                .map(|p| ("policy", p))
                .into_iter()
                .collect(),
            root_causes: self
                .root_cause
                .as_deref()
                .map(|c| ("root_cause", c))
                .into_iter()
                .collect(),
        }
    }
}

impl UpstreamFix {
    fn validate(&self) -> Result<UpstreamFix, Invalid> {
        let mut errors = Collector::default();
        let url = errors.check(validation::text("url", &self.url, 1, 2000));
        if let Some(url) = &url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            errors.push("url", format!("{url:?} is not an http(s) link"));
        }
        let owner = errors.check(validation::text("owner", &self.owner, 0, 200));
        errors.finish()?;
        Ok(UpstreamFix {
            url: url.expect("checked"),
            status: self.status,
            owner: owner.expect("checked"),
        })
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        "2026-11-25T10:00:00Z".parse().unwrap()
    }

    fn removal(subject: &str, countries: &[&str]) -> SubjectAction {
        SubjectAction {
            subject: subject.into(),
            action: "geo_withheld".into(),
            countries: countries
                .iter()
                .map(|c| Country::parse("c", c).unwrap())
                .collect(),
        }
    }

    #[test]
    fn a_full_decision_is_kept_with_countries_sorted_once() {
        let decision = NewDecision {
            outcome: "geo_withheld".into(),
            policy: Some("hate_speech".into()),
            policy_version: Some(" 2026-07 ".into()),
            actions: vec![removal("social:post:1", &["FR", "DE", "FR"])],
            root_cause: Some("policy_gap".into()),
            root_cause_note: " Local law differs ".into(),
            owning_team: Some("Policy EMEA".into()),
            upstream_fix: Some(UpstreamFix {
                url: "https://tracker.example/P-1".into(),
                status: FixStatus::InProgress,
                owner: "amara".into(),
            }),
        }
        .validate(&["social:post:1"], "aiko@example.com", at())
        .unwrap();
        assert_eq!(decision.policy_version.as_deref(), Some("2026-07"));
        assert_eq!(decision.root_cause_note, "Local law differs");
        let countries: Vec<&str> = decision.actions[0]
            .countries
            .iter()
            .map(Country::as_str)
            .collect();
        assert_eq!(countries, ["DE", "FR"]);
        let told = decision.partner_view();
        assert_eq!(told.root_cause, None);
        assert_eq!(told.upstream_fix, None);
        assert_eq!(told.outcome, "geo_withheld");
    }

    #[test]
    fn every_fault_is_named_with_its_field() {
        let err = NewDecision {
            outcome: "Reinstated!".into(),
            actions: vec![removal("social:post:9", &[]), removal("social:post:9", &[])],
            owning_team: Some("Trust".into()),
            upstream_fix: Some(UpstreamFix {
                url: "tracker/P-1".into(),
                status: FixStatus::Proposed,
                owner: String::new(),
            }),
            ..Default::default()
        }
        .validate(&["social:post:1"], "aiko@example.com", at())
        .unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "outcome",
                "upstream_fix.url",
                "root_cause",
                "actions[0].subject",
                "actions[1].subject",
                "actions[1].subject",
            ]
        );
    }

    #[test]
    fn codes_lists_every_reference_the_decision_names() {
        let decision = NewDecision {
            outcome: "removed".into(),
            policy: Some("harassment".into()),
            root_cause: Some("reviewer_error".into()),
            actions: vec![removal("a", &[])],
            ..Default::default()
        };
        let codes = decision.codes();
        assert_eq!(
            codes.outcomes,
            [
                ("outcome".to_string(), "removed"),
                ("actions[0].action".to_string(), "geo_withheld")
            ]
        );
        assert_eq!(codes.policies, [("policy", "harassment")]);
        assert_eq!(codes.root_causes, [("root_cause", "reviewer_error")]);
    }

    #[test]
    fn fix_status_parse_round_trips() {
        for status in FixStatus::ALL {
            assert_eq!(FixStatus::parse(status.as_str()), Some(status));
        }
    }
}
