//! Routing rules and priority scoring: what happens to an escalation as it
//! arrives. Rules are ordered; each has a condition over the escalation and
//! its partner, and actions. Evaluation is one pass in order over a copy of
//! the escalation, so a rule sees what earlier rules did, no rule fires
//! twice, and nothing loops. Every rule that fired is recorded with the
//! reasons its condition held.

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::consult::NewConsult;
use crate::deadlines::Target;
use crate::escalation::{EscalationDraft, Priority, RiskFlag};
use crate::partner::{PartnerKind, Tier};
use crate::validation::{self, Collector, Invalid};

/// Scalar fields a condition can test for membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Type,
    Country,
    Language,
    Partner,
    PartnerKind,
    PartnerTier,
    Priority,
    Channel,
    Queue,
}

/// Set-valued fields a condition can test for overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SetField {
    Tags,
    RiskFlags,
    SubjectKinds,
    Surfaces,
}

/// A condition, written as JSON: `{"all": [...]}`, `{"any": [...]}`,
/// `{"not": {...}}`, `{"in": {"field": "country", "values": ["JP"]}}`,
/// `{"has": {"field": "tags", "values": ["vip"]}}`,
/// `{"text": {"any": ["deepfake"]}}` (title or description, any case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    All(Vec<Condition>),
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    Any(Vec<Condition>),
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    Not(Box<Condition>),
    In {
        field: Field,
        values: Vec<String>,
    },
    Has {
        field: SetField,
        values: Vec<String>,
    },
    Text {
        /// Kept trimmed and lowercased, as the text they are looked for in.
        #[serde(deserialize_with = "lowercased")]
        any: Vec<String>,
    },
}

fn lowercased<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let words = Vec::<String>::deserialize(d)?;
    Ok(words.iter().map(|w| w.trim().to_lowercase()).collect())
}

/// What a rule does when its condition holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    SetQueue(String),
    SetPriority(Priority),
    /// Sets the priority the score suggests.
    SetPriorityFromScore,
    AddTags(Vec<String>),
    AddRiskFlags(Vec<RiskFlag>),
    /// Chooses this SLA policy over the usual choice.
    SetSlaPolicy(String),
    /// Opens a required consult of this function (a consult function code).
    RequireConsult {
        function: String,
        question: String,
    },
    /// Emails these staff addresses about the new escalation.
    Notify {
        to: Vec<String>,
        note: String,
    },
    /// No later rule runs.
    Stop,
}

/// An ordered routing rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    pub code: String,
    pub name: String,
    /// Rules run by ascending position, then code.
    pub position: i32,
    #[serde(default = "enabled")]
    pub enabled: bool,
    pub when: Condition,
    pub then: Vec<Action>,
}

fn enabled() -> bool {
    true
}

/// What the rules read besides the draft itself.
#[derive(Debug, Clone, Copy)]
pub struct PartnerFacts {
    pub kind: PartnerKind,
    pub tier: Tier,
}

/// One rule that fired: why, and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FiredRule {
    pub code: String,
    pub name: String,
    /// The parts of the condition that held, e.g. `country is JP`.
    pub because: Vec<String>,
    pub actions: Vec<Action>,
}

/// What routing decided beyond the draft's own fields (the rules that
/// fired are in the draft's `rules_fired`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoutingOutcome {
    /// An SLA policy a rule chose, overriding the usual choice.
    pub sla_policy: Option<String>,
    /// Who the rules asked to be told, once the escalation exists.
    pub notify: Vec<Notification>,
}

/// A rule's request to tell staff about a new escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub rule: String,
    pub to: Vec<String>,
    pub note: String,
}

const MAX_DEPTH: usize = 16;

impl Condition {
    fn check(&self, path: &str, depth: usize, errors: &mut Collector) {
        if depth > MAX_DEPTH {
            errors.push(path, format!("conditions nest at most {MAX_DEPTH} deep"));
            return;
        }
        match self {
            Condition::All(parts) | Condition::Any(parts) => {
                let key = if matches!(self, Condition::All(_)) {
                    "all"
                } else {
                    "any"
                };
                if parts.is_empty() {
                    errors.push(format!("{path}.{key}"), "list at least one condition");
                }
                for (index, part) in parts.iter().enumerate() {
                    part.check(&format!("{path}.{key}[{index}]"), depth + 1, errors);
                }
            }
            Condition::Not(inner) => inner.check(&format!("{path}.not"), depth + 1, errors),
            Condition::In { values, .. } | Condition::Has { values, .. } => {
                let key = if matches!(self, Condition::In { .. }) {
                    "in"
                } else {
                    "has"
                };
                if values.is_empty() {
                    errors.push(format!("{path}.{key}.values"), "list at least one value");
                }
            }
            Condition::Text { any } => {
                if any.iter().all(|word| word.trim().is_empty()) {
                    errors.push(format!("{path}.text.any"), "list at least one word");
                }
            }
        }
    }

    /// The reasons this condition holds for `facts`, or `None`.
    /// Whether the condition holds, without saying why: the cheap test
    /// every rule gets; [`Condition::holds`] explains the ones that pass.
    fn matches(&self, facts: &Facts<'_>) -> bool {
        match self {
            Condition::All(parts) => parts.iter().all(|p| p.matches(facts)),
            Condition::Any(parts) => parts.iter().any(|p| p.matches(facts)),
            Condition::Not(inner) => !inner.matches(facts),
            Condition::In { field, values } => facts
                .scalar(*field)
                .is_some_and(|value| values.iter().any(|v| v.eq_ignore_ascii_case(value))),
            Condition::Has { field, values } => values.iter().any(|v| facts.has(*field, v)),
            Condition::Text { any } => any
                .iter()
                .any(|word| !word.is_empty() && facts.text.contains(word.as_str())),
        }
    }

    /// Why the condition holds (the parts that held), or `None`.
    fn holds(&self, facts: &Facts<'_>) -> Option<Vec<String>> {
        match self {
            Condition::All(parts) => {
                let mut reasons = Vec::new();
                for part in parts {
                    reasons.extend(part.holds(facts)?);
                }
                Some(reasons)
            }
            Condition::Any(parts) => parts.iter().find_map(|part| part.holds(facts)),
            Condition::Not(inner) => match inner.holds(facts) {
                Some(_) => None,
                None => Some(vec![format!("not ({})", inner.describe())]),
            },
            Condition::In { field, values } => {
                let value = facts.scalar(*field)?;
                values
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(value))
                    .then(|| vec![format!("{} is {value}", field_name(*field))])
            }
            Condition::Has { field, values } => {
                let found: Vec<&String> = values.iter().filter(|v| facts.has(*field, v)).collect();
                (!found.is_empty()).then(|| {
                    vec![format!(
                        "{} has {}",
                        set_name(*field),
                        found
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )]
                })
            }
            Condition::Text { any } => any
                .iter()
                .find(|word| !word.is_empty() && facts.text.contains(word.as_str()))
                .map(|word| vec![format!("text mentions {word:?}")]),
        }
    }

    fn describe(&self) -> String {
        match self {
            Condition::All(parts) => join(parts, " and "),
            Condition::Any(parts) => join(parts, " or "),
            Condition::Not(inner) => format!("not ({})", inner.describe()),
            Condition::In { field, values } => {
                format!("{} in {}", field_name(*field), values.join(", "))
            }
            Condition::Has { field, values } => {
                format!("{} has any of {}", set_name(*field), values.join(", "))
            }
            Condition::Text { any } => format!("text mentions any of {}", any.join(", ")),
        }
    }
}

fn join(parts: &[Condition], separator: &str) -> String {
    parts
        .iter()
        .map(Condition::describe)
        .collect::<Vec<_>>()
        .join(separator)
}

fn field_name(field: Field) -> &'static str {
    match field {
        Field::Type => "type",
        Field::Country => "country",
        Field::Language => "language",
        Field::Partner => "partner",
        Field::PartnerKind => "partner kind",
        Field::PartnerTier => "partner tier",
        Field::Priority => "priority",
        Field::Channel => "channel",
        Field::Queue => "queue",
    }
}

fn set_name(field: SetField) -> &'static str {
    match field {
        SetField::Tags => "tags",
        SetField::RiskFlags => "risk flags",
        SetField::SubjectKinds => "subject kinds",
        SetField::Surfaces => "surfaces",
    }
}

impl RoutingRule {
    /// Checks the rule, naming every faulty part; `policies` are the codes
    /// of the SLA policies that exist.
    pub fn validate(&self, policies: &[&str]) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        errors.check(validation::code("code", &self.code));
        if self.name.trim().is_empty() {
            errors.push("name", "a rule needs a name");
        }
        self.when.check("when", 0, &mut errors);
        if self.then.is_empty() {
            errors.push("then", "list at least one action");
        }
        for (index, action) in self.then.iter().enumerate() {
            let field = format!("then[{index}]");
            match action {
                Action::SetQueue(queue) => {
                    errors.check_nested(&field, validation::code("set_queue", queue));
                }
                Action::AddTags(tags) => {
                    for (i, tag) in tags.iter().enumerate() {
                        errors
                            .check_nested(&field, validation::code(&format!("add_tags[{i}]"), tag));
                    }
                }
                Action::Notify { to, .. } => {
                    if to.is_empty() {
                        errors.push(format!("{field}.notify.to"), "list at least one address");
                    }
                    for (i, address) in to.iter().enumerate() {
                        let (local, domain) = address.split_once('@').unwrap_or_default();
                        if local.is_empty() || !domain.contains('.') {
                            errors.push(
                                format!("{field}.notify.to[{i}]"),
                                format!("{address:?} is not an email address"),
                            );
                        }
                    }
                }
                Action::RequireConsult { function, question } => {
                    errors.check_nested(
                        &format!("{field}.require_consult"),
                        validation::code("function", function),
                    );
                    errors.check_nested(
                        &format!("{field}.require_consult"),
                        validation::text("question", question, 1, 4000),
                    );
                }
                Action::SetSlaPolicy(code) if !policies.contains(&code.as_str()) => {
                    errors.push(
                        format!("{field}.set_sla_policy"),
                        format!("there is no SLA policy {code:?}"),
                    );
                }
                _ => {}
            }
        }
        errors.finish()
    }
}

/// The escalation as rules see it.
struct Facts<'a> {
    draft: &'a EscalationDraft,
    partner: PartnerFacts,
    /// Title and description, lowercased.
    text: &'a str,
}

impl Facts<'_> {
    fn scalar(&self, field: Field) -> Option<&str> {
        let draft = self.draft;
        Some(match field {
            Field::Type => draft.escalation_type.as_str(),
            Field::Country => draft.country.as_str(),
            Field::Language => draft.language.as_str(),
            Field::Partner => draft.partner.as_str(),
            Field::PartnerKind => self.partner.kind.as_str(),
            // Tiers are 1 to 3.
            Field::PartnerTier => match self.partner.tier.get() {
                1 => "1",
                2 => "2",
                _ => "3",
            },
            Field::Priority => draft.priority.as_str(),
            Field::Channel => draft.channel.as_str(),
            Field::Queue => draft.queue.as_deref()?,
        })
    }

    /// Whether the set `field` holds `value` (no copy of the set is made:
    /// this runs for every `has` of every rule).
    fn has(&self, field: SetField, value: &str) -> bool {
        let draft = self.draft;
        match field {
            SetField::Tags => draft.tags.iter().any(|t| t == value),
            SetField::RiskFlags => draft.risk_flags.iter().any(|f| f.as_str() == value),
            SetField::SubjectKinds => draft.subjects.iter().any(|s| s.kind.as_str() == value),
            SetField::Surfaces => draft.subjects.iter().any(|s| s.surface == value),
        }
    }
}

/// Runs the enabled rules in order over `draft`, applying their actions,
/// and records what fired in `draft.rules_fired`. The draft's score must be
/// set first (a rule may apply the priority it suggests).
pub fn route<'r>(
    rules: impl IntoIterator<Item = &'r RoutingRule>,
    draft: &mut EscalationDraft,
    partner: PartnerFacts,
) -> RoutingOutcome {
    let mut ordered: Vec<&RoutingRule> = rules.into_iter().filter(|r| r.enabled).collect();
    ordered.sort_by(|a, b| (a.position, &a.code).cmp(&(b.position, &b.code)));
    let mut outcome = RoutingOutcome::default();
    draft.rules_fired.clear();
    // No action changes the title or description: lowercase them once.
    let text = format!("{}\n{}", draft.title, draft.description).to_lowercase();
    for rule in ordered {
        let facts = Facts {
            draft,
            partner,
            text: &text,
        };
        if !rule.when.matches(&facts) {
            continue;
        }
        let Some(because) = rule.when.holds(&facts) else {
            continue;
        };
        let mut stop = false;
        for action in &rule.then {
            match action {
                Action::SetQueue(code) => draft.queue = Some(code.clone()),
                Action::SetPriority(priority) => draft.priority = *priority,
                Action::SetPriorityFromScore => {
                    if let Some(score) = &draft.score {
                        draft.priority = score.suggested;
                    }
                }
                Action::AddTags(tags) => {
                    draft.tags.extend(tags.iter().cloned());
                    draft.tags.sort();
                    draft.tags.dedup();
                }
                Action::AddRiskFlags(flags) => {
                    draft.risk_flags.extend(flags.iter().copied());
                    draft.risk_flags.sort();
                    draft.risk_flags.dedup();
                }
                Action::SetSlaPolicy(code) => outcome.sla_policy = Some(code.clone()),
                Action::RequireConsult { function, question } => {
                    require_consult(draft, &rule.code, function, question);
                }
                Action::Notify { to, note } => outcome.notify.push(Notification {
                    rule: rule.code.clone(),
                    to: to.clone(),
                    note: note.clone(),
                }),
                Action::Stop => stop = true,
            }
        }
        draft.rules_fired.push(FiredRule {
            code: rule.code.clone(),
            name: rule.name.clone(),
            because,
            actions: rule.then.clone(),
        });
        if stop {
            break;
        }
    }
    outcome
}

/// Opens a required consult on the draft, unless one of that function is
/// already open.
fn require_consult(draft: &mut EscalationDraft, rule: &str, function: &str, question: &str) {
    if draft
        .consults
        .iter()
        .any(|c| c.function == function && c.is_open())
    {
        return;
    }
    let id = draft.consults.iter().map(|c| c.id).max().unwrap_or(0) + 1;
    let actor = Actor {
        id: "system".into(),
        name: format!("routing rule {rule}"),
        role: None,
    };
    let request = NewConsult {
        function: function.into(),
        question: question.into(),
        required: true,
        due_within: None,
    };
    // Function and question were validated with the rule.
    if let Ok((consult, _no_deadline)) = request.open(id, &actor, draft.received_at) {
        draft.consults.push(consult);
    }
}

/// An explainable priority score: the sum of its parts, and the priority it
/// suggests (P0 from 90, P1 from 65, P2 from 40, P3 from 20, else P4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriorityScore {
    pub total: u32,
    pub parts: Vec<ScorePart>,
    pub suggested: Priority,
}

/// One reason a score is what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScorePart {
    /// `partner_tier`, `type_severity`, `risk_flag`, `regulatory_deadline`, `subject_reach`.
    pub factor: String,
    pub detail: String,
    pub points: u32,
}

/// How severe an escalation type is, in points.
fn type_severity(escalation_type: &str) -> u32 {
    match escalation_type {
        "child_safety" | "terrorism_violent_extremism" | "self_harm" => 40,
        "ncii" | "crisis_content" | "graphic_violence" => 35,
        "election_integrity" | "court_order" | "government_order" | "law_enforcement_request" => 25,
        "account_access" | "impersonation" | "vip_public_figure" | "scams_fraud"
        | "hate_harassment" => 15,
        _ => 10,
    }
}

fn risk_points(flag: RiskFlag) -> u32 {
    match flag {
        RiskFlag::SensitiveMedia => 5,
        RiskFlag::LegalPrivilege | RiskFlag::VipPublicFigure => 10,
        RiskFlag::PressRisk | RiskFlag::ElectionCrisis => 15,
    }
}

/// Scores a draft. `regulatory_target` is the shortest deadline a regulation
/// sets for it, if any.
pub fn score(
    draft: &EscalationDraft,
    partner: PartnerFacts,
    regulatory_target: Option<(&str, Target)>,
) -> PriorityScore {
    let mut parts = Vec::new();
    let tier = partner.tier.get();
    parts.push(ScorePart {
        factor: "partner_tier".into(),
        detail: format!("tier {tier} partner"),
        points: match tier {
            1 => 30,
            2 => 15,
            _ => 5,
        },
    });
    parts.push(ScorePart {
        factor: "type_severity".into(),
        detail: format!("type {}", draft.escalation_type),
        points: type_severity(&draft.escalation_type),
    });
    for flag in &draft.risk_flags {
        parts.push(ScorePart {
            factor: "risk_flag".into(),
            detail: flag.as_str().into(),
            points: risk_points(*flag),
        });
    }
    if let Some((rule, target)) = regulatory_target {
        let hours = match target {
            Target::Elapsed(d) | Target::BusinessTime(d) => d.as_hours(),
            Target::CalendarPeriod { months, days } => {
                i64::from(months) * 30 * 24 + i64::from(days) * 24
            }
            Target::BusinessDays(days) => i64::from(days) * 24,
        };
        let points = match hours {
            ..=2 => 30,
            3..=24 => 20,
            25..=168 => 10,
            _ => 0,
        };
        parts.push(ScorePart {
            factor: "regulatory_deadline".into(),
            detail: format!("{rule}: {target}"),
            points,
        });
    }
    let subjects = draft.subjects.len() as u32;
    if subjects > 1 {
        parts.push(ScorePart {
            factor: "subject_reach".into(),
            detail: format!("{subjects} subjects"),
            points: (2 * subjects).min(20),
        });
    }
    let total: u32 = parts.iter().map(|p| p.points).sum();
    let suggested = match total {
        90.. => Priority::P0,
        65..=89 => Priority::P1,
        40..=64 => Priority::P2,
        20..=39 => Priority::P3,
        _ => Priority::P4,
    };
    PriorityScore {
        total,
        parts,
        suggested,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::NewEscalation;
    use crate::subject::{NewSubject, SubjectKind};
    use jiff::SignedDuration;

    fn draft(country: &str, kind: &str, title: &str) -> EscalationDraft {
        NewEscalation {
            escalation_type: kind.into(),
            title: title.into(),
            description: "details".into(),
            country: country.into(),
            language: "en".into(),
            priority: Some("P3".into()),
            tags: vec!["press".into()],
            subjects: vec![
                NewSubject {
                    kind: SubjectKind::Account,
                    surface: "social".into(),
                    external_id: Some("@a".into()),
                    url: None,
                },
                NewSubject {
                    kind: SubjectKind::Ad,
                    surface: "ads".into(),
                    external_id: Some("123".into()),
                    url: None,
                },
            ],
            ..Default::default()
        }
        .validate("kr-kcsc", "api", "2026-11-25T09:00:00Z".parse().unwrap())
        .unwrap()
    }

    fn partner(kind: PartnerKind, tier: i64) -> PartnerFacts {
        PartnerFacts {
            kind,
            tier: Tier::parse("tier", tier).unwrap(),
        }
    }

    fn rule(code: &str, position: i32, json: serde_json::Value) -> RoutingRule {
        let mut body = json;
        body["code"] = code.into();
        body["name"] = format!("rule {code}").into();
        body["position"] = position.into();
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn keywords_match_in_any_case_and_script() {
        let rules = [rule(
            "deepfakes",
            10,
            serde_json::json!({
                "when": {"text": {"any": [" DeepFake ", "ディープフェイク"]}},
                "then": [{"add_tags": ["synthetic"]}]
            }),
        )];
        let Condition::Text { any } = &rules[0].when else {
            panic!("a text condition")
        };
        assert_eq!(any, &["deepfake", "ディープフェイク"]);
        for title in ["A DEEPFAKE of the minister", "大臣のディープフェイク動画"] {
            let mut d = draft("JP", "impersonation", title);
            route(&rules, &mut d, partner(PartnerKind::Government, 1));
            assert_eq!(d.rules_fired.len(), 1, "{title}");
            assert!(d.tags.contains(&"synthetic".to_string()));
        }
        let mut other = draft("JP", "impersonation", "A fake account");
        route(&rules, &mut other, partner(PartnerKind::Government, 1));
        assert!(other.rules_fired.is_empty());
    }

    #[test]
    fn rules_fire_in_order_with_their_reasons_and_stop() {
        let rules = [
            rule(
                "later",
                20,
                serde_json::json!({
                    "when": {"in": {"field": "queue", "values": ["apac-legal"]}},
                    "then": [{"add_tags": ["legal-review"]}]
                }),
            ),
            rule(
                "korea-orders",
                10,
                serde_json::json!({
                    "when": {"all": [
                        {"in": {"field": "country", "values": ["KR", "JP"]}},
                        {"any": [
                            {"in": {"field": "partner_kind", "values": ["government"]}},
                            {"has": {"field": "tags", "values": ["court", "press"]}}
                        ]},
                        {"not": {"text": {"any": ["test case"]}}}
                    ]},
                    "then": [{"set_queue": "apac-legal"}, {"set_priority": "P1"}, {"add_risk_flags": ["press_risk"]},
                         {"require_consult": {"function": "legal", "question": "Defamation under Korean law?"}}]
                }),
            ),
            rule(
                "stopper",
                30,
                serde_json::json!({
                    "when": {"has": {"field": "subject_kinds", "values": ["ad"]}},
                    "then": ["stop"]
                }),
            ),
            rule(
                "never",
                40,
                serde_json::json!({
                    "when": {"text": {"any": ["details"]}},
                    "then": [{"set_queue": "elsewhere"}]
                }),
            ),
            {
                let mut off = rule(
                    "disabled",
                    0,
                    serde_json::json!({
                        "when": {"in": {"field": "country", "values": ["KR"]}},
                        "then": [{"set_queue": "nowhere"}]
                    }),
                );
                off.enabled = false;
                off
            },
        ];
        let mut d = draft("KR", "privacy_defamation", "Defamation of a singer");
        route(&rules, &mut d, partner(PartnerKind::Ngo, 2));
        let fired: Vec<&str> = d.rules_fired.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(fired, ["korea-orders", "later", "stopper"]);
        assert_eq!(
            d.rules_fired[0].because,
            [
                "country is KR",
                "tags has press",
                "not (text mentions any of test case)"
            ]
        );
        assert_eq!(
            d.rules_fired[1].because,
            ["queue is apac-legal"],
            "later rules see earlier actions"
        );
        assert_eq!(d.queue.as_deref(), Some("apac-legal"));
        assert_eq!(d.priority, Priority::P1);
        assert_eq!(d.tags, ["legal-review", "press"]);
        assert_eq!(d.risk_flags, [RiskFlag::PressRisk]);
        assert_eq!(d.consults.len(), 1);
        assert_eq!(d.consults[0].requested_by, "routing rule korea-orders");
        // Routing again changes nothing more: the actions are idempotent.
        let before = d.clone();
        route(&rules, &mut d, partner(PartnerKind::Ngo, 2));
        assert_eq!(
            (d.queue, d.tags, d.risk_flags),
            (before.queue, before.tags, before.risk_flags)
        );
    }

    #[test]
    fn bad_rules_name_the_faulty_part() {
        let bad = rule(
            "bad rule",
            1,
            serde_json::json!({
                "when": {"all": [{"in": {"field": "country", "values": []}}, {"any": []}, {"not": {"text": {"any": [" "]}}}]},
                "then": [{"set_sla_policy": "missing"}, {"add_tags": ["Bad Tag"]}]
            }),
        );
        let errors = bad.validate(&["standard"]).unwrap_err().0;
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "code",
                "when.all[0].in.values",
                "when.all[1].any",
                "when.all[2].not.text.any",
                "then[0].set_sla_policy",
                "then[1].add_tags[0]"
            ]
        );
        let unknown_field: Result<RoutingRule, _> = serde_json::from_value(serde_json::json!({
            "code": "x", "name": "x", "position": 1,
            "when": {"in": {"field": "colour", "values": ["red"]}}, "then": ["stop"]
        }));
        assert!(unknown_field.unwrap_err().to_string().contains("colour"));
    }

    #[test]
    fn the_score_explains_itself() {
        let mut d = draft("IN", "ncii", "Morphed images");
        d.risk_flags = vec![RiskFlag::SensitiveMedia, RiskFlag::PressRisk];
        let score = score(
            &d,
            partner(PartnerKind::Government, 1),
            Some((
                "in-itr-ncii-3-2-b",
                Target::Elapsed(SignedDuration::from_hours(2)),
            )),
        );
        let parts: Vec<(&str, u32)> = score
            .parts
            .iter()
            .map(|p| (p.factor.as_str(), p.points))
            .collect();
        assert_eq!(
            parts,
            [
                ("partner_tier", 30),
                ("type_severity", 35),
                ("risk_flag", 5),
                ("risk_flag", 15),
                ("regulatory_deadline", 30),
                ("subject_reach", 4)
            ]
        );
        assert_eq!(score.total, 119);
        assert_eq!(score.suggested, Priority::P0);
        let quiet = super::score(
            &draft("US", "advertiser_commerce", "Ad rejected"),
            partner(PartnerKind::Advertiser, 3),
            None,
        );
        assert_eq!((quiet.total, quiet.suggested), (19, Priority::P4));
    }

    #[test]
    fn a_rule_can_apply_the_suggested_priority() {
        let rules = [rule(
            "by-score",
            1,
            serde_json::json!({
                "when": {"in": {"field": "partner_tier", "values": ["1"]}},
                "then": ["set_priority_from_score"]
            }),
        )];
        let mut d = draft("IN", "child_safety", "Grooming");
        d.score = Some(score(&d, partner(PartnerKind::LawEnforcement, 1), None));
        route(&rules, &mut d, partner(PartnerKind::LawEnforcement, 1));
        assert_eq!(d.priority, Priority::P1); // 30 + 40 + 4 = 74
    }
}
