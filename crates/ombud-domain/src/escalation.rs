//! The escalation aggregate: its fields, how a new one is validated, and how a
//! change becomes a new state plus the events that record it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::actor::{Actor, Role};
use crate::consult::Consult;
use crate::decision::Decision;
use crate::event::{EventKind, NewEvent};
use crate::geo::{Country, Language};
use crate::lifecycle::{Status, TransitionError};
use crate::links::Link;
use crate::routing::{FiredRule, PriorityScore};
use crate::sla::{self, ClockSource, EscalationClock};
use crate::subject::{NewSubject, Subject};
use crate::validation::{self, Collector, Invalid};

/// The human key of an escalation, `ESC-1042`: sequential, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EscalationKey(pub i64);

impl EscalationKey {
    pub const PREFIX: &'static str = "ESC-";

    pub fn parse(value: &str) -> Option<EscalationKey> {
        let digits = value.strip_prefix(Self::PREFIX)?;
        if digits.is_empty()
            || digits.starts_with('0')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        digits.parse().ok().filter(|n| *n > 0).map(EscalationKey)
    }
}

impl std::fmt::Display for EscalationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.0)
    }
}

impl TryFrom<String> for EscalationKey {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        EscalationKey::parse(&value)
            .ok_or_else(|| format!("{value:?} is not an escalation key like ESC-1042"))
    }
}

impl From<EscalationKey> for String {
    fn from(value: EscalationKey) -> String {
        value.to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Priority {
    P0,
    P1,
    P2,
    P3,
    P4,
}

impl Priority {
    pub const ALL: [Priority; 5] = [
        Priority::P0,
        Priority::P1,
        Priority::P2,
        Priority::P3,
        Priority::P4,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P0 => "P0",
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }

    pub fn parse(value: &str) -> Option<Priority> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(value))
    }

    /// 0 for P0 (most urgent) to 4.
    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> Option<Priority> {
        usize::try_from(rank)
            .ok()
            .and_then(|i| Priority::ALL.get(i).copied())
    }
}

/// Risks that change who may see a case and how it is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RiskFlag {
    SensitiveMedia,
    LegalPrivilege,
    VipPublicFigure,
    PressRisk,
    ElectionCrisis,
}

impl RiskFlag {
    pub const ALL: [RiskFlag; 5] = [
        RiskFlag::SensitiveMedia,
        RiskFlag::LegalPrivilege,
        RiskFlag::VipPublicFigure,
        RiskFlag::PressRisk,
        RiskFlag::ElectionCrisis,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RiskFlag::SensitiveMedia => "sensitive_media",
            RiskFlag::LegalPrivilege => "legal_privilege",
            RiskFlag::VipPublicFigure => "vip_public_figure",
            RiskFlag::PressRisk => "press_risk",
            RiskFlag::ElectionCrisis => "election_crisis",
        }
    }

    pub fn parse(value: &str) -> Option<RiskFlag> {
        RiskFlag::ALL.into_iter().find(|f| f.as_str() == value)
    }
}

/// Who may read a comment, an evidence file or an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Staff only. Never reaches a partner, by any channel.
    Internal,
    /// Staff and the reporting partner.
    Partner,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Internal => "internal",
            Visibility::Partner => "partner",
        }
    }

    pub fn parse(value: &str) -> Option<Visibility> {
        match value {
            "internal" => Some(Visibility::Internal),
            "partner" => Some(Visibility::Partner),
            _ => None,
        }
    }
}

/// A file attached to an escalation; the bytes live in the blob store under
/// their SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    /// Unique within the escalation (`ev-1`, `ev-2`…).
    pub id: String,
    pub sha256: String,
    pub filename: String,
    pub size: i64,
    /// The media type the uploader declared.
    pub declared_type: String,
    /// The media type recognised from the content itself, when recognisable.
    pub sniffed_type: Option<String>,
    pub sensitive: bool,
    pub visibility: Visibility,
    pub uploaded_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub uploaded_at: Timestamp,
}

/// The current state of one escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Escalation {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "ESC-1042"))]
    pub key: EscalationKey,
    /// An escalation type code from the reference data.
    #[serde(rename = "type")]
    pub escalation_type: String,
    pub title: String,
    pub description: String,
    /// The reporting partner's slug.
    pub partner: String,
    /// The partner's own reference for this case, if it gave one.
    pub partner_ref: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "JP"))]
    pub country: Country,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "ja"))]
    pub language: Language,
    pub priority: Priority,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "new"))]
    pub status: Status,
    /// The assignee's email.
    pub assignee: Option<String>,
    pub queue: Option<String>,
    pub tags: Vec<String>,
    pub risk_flags: Vec<RiskFlag>,
    /// How it arrived: `api`, `portal`, `email`, `import`.
    pub channel: String,
    pub subjects: Vec<Subject>,
    pub evidence: Vec<Evidence>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    /// Bumped by every change; the API's ETag.
    pub version: i64,
    /// Deadlines from the SLA policy and the regulations that apply.
    #[serde(default)]
    pub clocks: Vec<EscalationClock>,
    /// The priority score computed on intake, with its breakdown.
    #[serde(default)]
    pub score: Option<PriorityScore>,
    /// Input asked of cross-functional teams.
    #[serde(default)]
    pub consults: Vec<Consult>,
    /// Duplicates, related cases, parents and children.
    #[serde(default)]
    pub links: Vec<Link>,
    /// Codes of the routing rules that have fired on it: each fires at most
    /// once, so re-running the rules after a change never repeats an action.
    #[serde(default)]
    pub rules_fired: Vec<String>,
    /// The SLA policy a routing rule chose, overriding the usual choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_policy: Option<String>,
    /// The decision that resolved it; the latest, if it was reopened and
    /// decided again (earlier ones stay on the timeline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
}

/// A new escalation as submitted: fields unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewEscalation {
    #[serde(rename = "type")]
    pub escalation_type: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Required for staff; a partner token files for its own partner.
    #[serde(default)]
    pub partner: Option<String>,
    #[serde(default)]
    pub partner_ref: Option<String>,
    pub country: String,
    pub language: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "P2"))]
    pub priority: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub risk_flags: Vec<String>,
    #[serde(default)]
    pub subjects: Vec<NewSubject>,
    /// When the report reached the partner's channel, if earlier than now.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub received_at: Option<Timestamp>,
}

/// A validated new escalation, ready for a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationDraft {
    pub escalation_type: String,
    pub title: String,
    pub description: String,
    pub partner: String,
    pub partner_ref: Option<String>,
    pub country: Country,
    pub language: Language,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub risk_flags: Vec<RiskFlag>,
    pub subjects: Vec<Subject>,
    pub channel: String,
    pub received_at: Timestamp,
    /// Started by the caller from the settings (`sla::start_clocks`).
    #[serde(default)]
    pub clocks: Vec<EscalationClock>,
    /// Set by routing rules.
    #[serde(default)]
    pub queue: Option<String>,
    /// Computed on intake (`routing::score`).
    #[serde(default)]
    pub score: Option<PriorityScore>,
    /// The routing rules that fired on intake and why (`routing::route`).
    #[serde(default)]
    pub rules_fired: Vec<FiredRule>,
    /// Consults routing rules require.
    #[serde(default)]
    pub consults: Vec<Consult>,
    /// Likely duplicates found on intake.
    #[serde(default)]
    pub links: Vec<Link>,
    /// The SLA policy a routing rule chose, overriding the usual choice.
    #[serde(default)]
    pub sla_policy: Option<String>,
}

pub const MAX_TITLE: usize = 300;
pub const MAX_DESCRIPTION: usize = 20_000;
pub const MAX_SUBJECTS: usize = 100;
pub const MAX_TAGS: usize = 50;

fn parse_tags(field: &str, tags: &[String], errors: &mut Collector) -> Vec<String> {
    if tags.len() > MAX_TAGS {
        errors.push(field, format!("at most {MAX_TAGS} tags"));
    }
    let mut out: Vec<String> = tags
        .iter()
        .enumerate()
        .filter_map(|(i, t)| errors.check(validation::code(&format!("{field}[{i}]"), t.trim())))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn parse_risk_flags(field: &str, flags: &[String], errors: &mut Collector) -> Vec<RiskFlag> {
    let mut out: Vec<RiskFlag> = flags
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let parsed = RiskFlag::parse(f);
            if parsed.is_none() {
                let known: Vec<_> = RiskFlag::ALL.iter().map(|f| f.as_str()).collect();
                errors.push(
                    format!("{field}[{i}]"),
                    format!("unknown risk flag {f:?}; known: {}", known.join(", ")),
                );
            }
            parsed
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn parse_priority(value: &str) -> Result<Priority, Invalid> {
    Priority::parse(value).ok_or_else(|| {
        Invalid::one(
            "priority",
            format!("{value:?} is not a priority; use P0 (most urgent) to P4"),
        )
    })
}

fn parse_optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, Invalid> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => validation::text(field, v, 1, max).map(Some),
    }
}

/// Dedups subjects by their normalised key, keeping the first.
fn validate_subjects(field: &str, subjects: &[NewSubject], errors: &mut Collector) -> Vec<Subject> {
    if subjects.len() > MAX_SUBJECTS {
        errors.push(field, format!("at most {MAX_SUBJECTS} subjects"));
    }
    let mut out: Vec<Subject> = Vec::new();
    for (i, s) in subjects.iter().enumerate() {
        if let Some(subject) = errors.check_nested(&format!("{field}[{i}]"), s.validate())
            && !out
                .iter()
                .any(|o| o.normalized_key == subject.normalized_key)
        {
            out.push(subject);
        }
    }
    out
}

impl NewEscalation {
    /// Checks every field and reports all faults at once. `partner` is the
    /// partner the caller files for (a partner token's own, or the body's).
    /// Whether the type, surfaces and partner exist is checked by the caller
    /// against the reference data.
    pub fn validate(
        &self,
        partner: &str,
        channel: &str,
        now: Timestamp,
    ) -> Result<EscalationDraft, Invalid> {
        let mut errors = Collector::default();
        let escalation_type = errors.check(validation::code("type", &self.escalation_type));
        let title = errors.check(validation::text("title", &self.title, 1, MAX_TITLE));
        let description = errors.check(validation::text(
            "description",
            &self.description,
            0,
            MAX_DESCRIPTION,
        ));
        let partner_ref = errors.check(parse_optional_text(
            "partner_ref",
            self.partner_ref.as_deref(),
            200,
        ));
        let country = errors.check(Country::parse("country", &self.country));
        let language = errors.check(Language::parse("language", &self.language));
        let priority = match &self.priority {
            None => Some(Priority::P3),
            Some(p) => errors.check(parse_priority(p)),
        };
        let tags = parse_tags("tags", &self.tags, &mut errors);
        let risk_flags = parse_risk_flags("risk_flags", &self.risk_flags, &mut errors);
        let subjects = validate_subjects("subjects", &self.subjects, &mut errors);
        let received_at = match self.received_at {
            Some(at) if at > now => {
                errors.push("received_at", "must not be in the future");
                now
            }
            Some(at) => at,
            None => now,
        };
        errors.finish()?;
        Ok(EscalationDraft {
            escalation_type: escalation_type.expect("checked"),
            title: title.expect("checked"),
            description: description.expect("checked"),
            partner: partner.to_string(),
            partner_ref: partner_ref.expect("checked"),
            country: country.expect("checked"),
            language: language.expect("checked"),
            priority: priority.expect("checked"),
            tags,
            risk_flags,
            subjects,
            channel: channel.to_string(),
            received_at,
            clocks: Vec::new(),
            queue: None,
            score: None,
            rules_fired: Vec::new(),
            consults: Vec::new(),
            links: Vec::new(),
            sla_policy: None,
        })
    }
}

impl EscalationDraft {
    /// The escalation this draft becomes under `key`, and its `created` event.
    pub fn into_escalation(
        self,
        key: EscalationKey,
        actor: &Actor,
        at: Timestamp,
    ) -> (Escalation, NewEvent) {
        let escalation = Escalation {
            key,
            escalation_type: self.escalation_type,
            title: self.title,
            description: self.description,
            partner: self.partner,
            partner_ref: self.partner_ref,
            country: self.country,
            language: self.language,
            priority: self.priority,
            status: Status::New,
            assignee: None,
            queue: self.queue,
            tags: self.tags,
            risk_flags: self.risk_flags,
            channel: self.channel,
            subjects: self.subjects,
            evidence: Vec::new(),
            received_at: self.received_at,
            created_at: at,
            updated_at: at,
            version: 1,
            clocks: self.clocks,
            score: self.score,
            consults: self.consults,
            links: self.links,
            rules_fired: self.rules_fired.iter().map(|r| r.code.clone()).collect(),
            sla_policy: self.sla_policy,
            decision: None,
        };
        let event = NewEvent::new(
            EventKind::Created,
            Visibility::Partner,
            actor,
            at,
            json!({
                "type": escalation.escalation_type,
                "title": escalation.title,
                "partner": escalation.partner,
                "priority": escalation.priority,
                "channel": escalation.channel,
                "subjects": escalation.subjects.len(),
                "clocks": escalation.clocks.iter().map(|c| json!({
                    "kind": c.kind, "source": c.source, "target": c.target, "due_at": c.due_at,
                })).collect::<Vec<_>>(),
                "rules_fired": self.rules_fired,
                "score": escalation.score,
                "queue": escalation.queue,
                "consults": escalation.consults,
                "links": escalation.links,
            }),
        );
        (escalation, event)
    }
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionRefused {
    #[error(transparent)]
    Illegal(#[from] TransitionError),
    #[error("cannot resolve while required consults are open: {}", .0.join(", "))]
    ConsultsOpen(Vec<String>),
    #[error("{0} is closed: reopen it before deciding again")]
    Closed(EscalationKey),
}

/// A partial update: absent fields stay as they are; `null` clears the
/// clearable ones (assignee, queue, partner_ref).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EscalationPatch {
    #[serde(default, rename = "type")]
    pub escalation_type: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub partner_ref: Option<Option<String>>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "P1"))]
    pub priority: Option<String>,
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub assignee: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub queue: Option<Option<String>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub risk_flags: Option<Vec<String>>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }

    pub fn serialize<S: Serializer>(
        value: &Option<Option<String>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(s)
    }
}

/// A field change: the field's name, its old and its new value.
pub(crate) type FieldChange = (String, serde_json::Value, serde_json::Value);

/// Records a field change if the value actually changed.
pub(crate) fn record_change<T: PartialEq + Serialize>(
    events: &mut Vec<FieldChange>,
    field: &str,
    slot: &mut T,
    next: T,
) {
    if *slot != next {
        events.push((field.into(), json!(slot), json!(next)));
        *slot = next;
    }
}

/// One `field_changed` event per change.
pub(crate) fn field_changed_events(
    changes: Vec<FieldChange>,
    actor: &Actor,
    at: Timestamp,
) -> Vec<NewEvent> {
    changes
        .into_iter()
        .map(|(field, from, to)| {
            NewEvent::new(
                EventKind::FieldChanged,
                Visibility::Internal,
                actor,
                at,
                json!({"field": field, "from": from, "to": to}),
            )
        })
        .collect()
}

impl Escalation {
    /// Applies a patch, returning the new state and one event per changed
    /// field; an empty event list means nothing changed. Whether referenced
    /// codes (type, queue, assignee) exist is checked by the caller.
    pub fn apply_patch(
        &self,
        patch: &EscalationPatch,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(Escalation, Vec<NewEvent>), Invalid> {
        let mut errors = Collector::default();
        let mut next = self.clone();
        let mut changes = Vec::new();
        if let Some(t) = &patch.escalation_type
            && let Some(t) = errors.check(validation::code("type", t))
        {
            record_change(&mut changes, "type", &mut next.escalation_type, t);
        }
        if let Some(title) = &patch.title
            && let Some(title) = errors.check(validation::text("title", title, 1, MAX_TITLE))
        {
            record_change(&mut changes, "title", &mut next.title, title);
        }
        if let Some(d) = &patch.description
            && let Some(d) = errors.check(validation::text("description", d, 0, MAX_DESCRIPTION))
        {
            record_change(&mut changes, "description", &mut next.description, d);
        }
        if let Some(r) = &patch.partner_ref
            && let Some(r) = errors.check(parse_optional_text("partner_ref", r.as_deref(), 200))
        {
            record_change(&mut changes, "partner_ref", &mut next.partner_ref, r);
        }
        if let Some(c) = &patch.country
            && let Some(c) = errors.check(Country::parse("country", c))
        {
            record_change(&mut changes, "country", &mut next.country, c);
        }
        if let Some(l) = &patch.language
            && let Some(l) = errors.check(Language::parse("language", l))
        {
            record_change(&mut changes, "language", &mut next.language, l);
        }
        if let Some(p) = &patch.priority
            && let Some(p) = errors.check(parse_priority(p))
        {
            record_change(&mut changes, "priority", &mut next.priority, p);
        }
        if let Some(q) = &patch.queue {
            let q = match q.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(q) => errors.check(validation::code("queue", q)),
            };
            record_change(&mut changes, "queue", &mut next.queue, q);
        }
        if let Some(tags) = &patch.tags {
            let tags = parse_tags("tags", tags, &mut errors);
            record_change(&mut changes, "tags", &mut next.tags, tags);
        }
        if let Some(flags) = &patch.risk_flags {
            let flags = parse_risk_flags("risk_flags", flags, &mut errors);
            record_change(&mut changes, "risk_flags", &mut next.risk_flags, flags);
        }
        let mut assignment = None;
        if let Some(a) = &patch.assignee {
            let a = match a.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(email) => {
                    errors.check(validation::text("assignee", &email.to_lowercase(), 3, 320))
                }
            };
            if next.assignee != a {
                assignment = Some((next.assignee.clone(), a.clone()));
                next.assignee = a;
            }
        }
        errors.finish()?;
        let mut events = field_changed_events(changes, actor, at);
        if let Some((from, to)) = assignment {
            events.push(NewEvent::new(
                EventKind::Assigned,
                Visibility::Internal,
                actor,
                at,
                json!({"from": from, "to": to}),
            ));
        }
        if !events.is_empty() {
            next.touch(at);
        }
        Ok((next, events))
    }

    /// Moves the escalation through its lifecycle.
    pub fn transition(
        &self,
        to: Status,
        reason: Option<&str>,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(Escalation, NewEvent), TransitionRefused> {
        let from = self.status;
        from.transition(to)?;
        let waiting = self.open_required_consults();
        if to == Status::Resolved && !waiting.is_empty() {
            return Err(TransitionRefused::ConsultsOpen(waiting));
        }
        let mut next = self.clone();
        next.status = to;
        next.touch(at);
        let clocks = sla::on_status_change(&mut next.clocks, from, to, at);
        let kind = if from.is_reopen(to) {
            EventKind::Reopened
        } else {
            EventKind::StatusChanged
        };
        let event = NewEvent::new(
            kind,
            Visibility::Partner,
            actor,
            at,
            with_clocks(json!({"from": from, "to": to, "reason": reason}), &clocks),
        );
        Ok((next, event))
    }

    /// Records `decision` and resolves the escalation with it (a resolved
    /// one keeps its status and has its decision amended). The decision
    /// event is internal (it holds the root cause); the partner sees the
    /// status change, which names the outcome.
    pub fn decide(
        &self,
        decision: Decision,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(Escalation, Vec<NewEvent>), TransitionRefused> {
        let mut events = Vec::with_capacity(2);
        let mut next = match self.status {
            Status::Closed => return Err(TransitionRefused::Closed(self.key)),
            Status::Resolved => {
                let mut next = self.clone();
                next.touch(at);
                next
            }
            _ => {
                let (next, mut event) = self.transition(Status::Resolved, None, actor, at)?;
                event.data["outcome"] = json!(decision.outcome);
                events.push(event);
                next
            }
        };
        events.push(NewEvent::new(
            EventKind::DecisionRecorded,
            Visibility::Internal,
            actor,
            at,
            json!({"decision": decision, "amends": self.decision.is_some()}),
        ));
        next.decision = Some(decision);
        Ok((next, events))
    }

    /// Adds a comment; the body is searchable and, if `partner`-visible, shown to the partner.
    pub fn comment(
        &self,
        body: &str,
        visibility: Visibility,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(Escalation, NewEvent), Invalid> {
        let body = validation::text("body", body, 1, MAX_DESCRIPTION)?;
        let mut next = self.clone();
        next.touch(at);
        let staff_reply =
            visibility == Visibility::Partner && actor.role.is_some_and(Role::is_staff);
        let clocks = if staff_reply {
            sla::on_reply_to_partner(&mut next.clocks, at)
        } else if actor.role == Some(Role::Partner) {
            sla::on_partner_message(&mut next.clocks, at)
        } else {
            Vec::new()
        };
        let event = NewEvent::new(
            EventKind::CommentAdded,
            visibility,
            actor,
            at,
            with_clocks(json!({"body": body}), &clocks),
        );
        Ok((next, event))
    }

    /// Adds a subject; one already present (by normalised key) is refused.
    pub fn add_subject(
        &self,
        subject: &NewSubject,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(Escalation, NewEvent), Invalid> {
        let subject = subject.validate()?;
        if self
            .subjects
            .iter()
            .any(|s| s.normalized_key == subject.normalized_key)
        {
            return Err(Invalid::one(
                "external_id",
                format!(
                    "{} already has subject {}",
                    self.key, subject.normalized_key
                ),
            ));
        }
        if self.subjects.len() >= MAX_SUBJECTS {
            return Err(Invalid::one(
                "subjects",
                format!("at most {MAX_SUBJECTS} subjects"),
            ));
        }
        let mut next = self.clone();
        let event = NewEvent::new(
            EventKind::SubjectAdded,
            Visibility::Partner,
            actor,
            at,
            json!(subject),
        );
        next.subjects.push(subject);
        next.touch(at);
        Ok((next, event))
    }

    /// Attaches evidence already stored in the blob store; its id is assigned here.
    pub fn add_evidence(
        &self,
        mut evidence: Evidence,
        actor: &Actor,
        at: Timestamp,
    ) -> (Escalation, NewEvent) {
        let mut next = self.clone();
        evidence.id = format!("ev-{}", next.evidence.len() + 1);
        let event = NewEvent::new(
            EventKind::EvidenceAdded,
            evidence.visibility,
            actor,
            at,
            json!({
                "id": evidence.id, "sha256": evidence.sha256, "filename": evidence.filename,
                "size": evidence.size, "media_type": evidence.sniffed_type.as_ref().unwrap_or(&evidence.declared_type),
                "sensitive": evidence.sensitive,
            }),
        );
        next.evidence.push(evidence);
        next.touch(at);
        (next, event)
    }

    /// Records that `actor` chose to see sensitive evidence `id` unblurred
    /// (an internal event: who looked at what, when).
    pub fn reveal_evidence(
        &self,
        id: &str,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(Escalation, NewEvent), Invalid> {
        let Some(evidence) = self.evidence.iter().find(|e| e.id == id) else {
            return Err(Invalid::one(
                "evidence",
                format!("{} has no evidence {id:?}", self.key),
            ));
        };
        if !evidence.sensitive {
            return Err(Invalid::one(
                "evidence",
                format!("{id} is not marked sensitive: it is never blurred"),
            ));
        }
        let event = NewEvent::new(
            EventKind::EvidenceRevealed,
            Visibility::Internal,
            actor,
            at,
            json!({"id": evidence.id, "filename": evidence.filename}),
        );
        let mut next = self.clone();
        next.touch(at);
        Ok((next, event))
    }

    fn touch(&mut self, at: Timestamp) {
        self.updated_at = at.max(self.updated_at);
        self.version += 1;
    }

    /// What a partner may see of this escalation: what they reported and
    /// its progress, partner-visible evidence, and the clocks of the SLA
    /// policy (the deadlines promised to them). Not shown: who holds it and
    /// in which queue, the priority score and the rules that fired, the
    /// consults, links to other escalations (which may be another
    /// partner's), internal evidence, and regulatory and consult clocks.
    pub fn partner_view(mut self) -> Escalation {
        self.evidence
            .retain(|e| e.visibility == Visibility::Partner);
        self.clocks
            .retain(|c| matches!(c.source, ClockSource::Policy(_)));
        self.assignee = None;
        self.queue = None;
        self.score = None;
        self.rules_fired.clear();
        self.sla_policy = None;
        self.consults.clear();
        self.links.clear();
        self.decision = self.decision.map(Decision::partner_view);
        self
    }
}

impl Escalation {
    /// The earliest due instant of its running clocks.
    pub fn due_at(&self) -> Option<Timestamp> {
        sla::due_at(&self.clocks)
    }

    /// Whether it holds sensitive media: only agents cleared for it handle it.
    pub fn is_sensitive(&self) -> bool {
        self.risk_flags.contains(&RiskFlag::SensitiveMedia)
    }

    /// The product surface it is about: its first subject's.
    pub fn surface(&self) -> Option<&str> {
        self.subjects.first().map(|s| s.surface.as_str())
    }

    /// The policy its decision applied, once decided.
    pub fn policy(&self) -> Option<&str> {
        self.decision.as_ref().and_then(|d| d.policy.as_deref())
    }

    /// The draft this escalation would be on intake today: for a dry run of
    /// the routing rules over an existing escalation.
    pub fn to_draft(&self) -> EscalationDraft {
        EscalationDraft {
            escalation_type: self.escalation_type.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            partner: self.partner.clone(),
            partner_ref: self.partner_ref.clone(),
            country: self.country.clone(),
            language: self.language.clone(),
            priority: self.priority,
            tags: self.tags.clone(),
            risk_flags: self.risk_flags.clone(),
            subjects: self.subjects.clone(),
            channel: self.channel.clone(),
            received_at: self.received_at,
            clocks: Vec::new(),
            queue: self.queue.clone(),
            score: None,
            rules_fired: Vec::new(),
            consults: Vec::new(),
            links: Vec::new(),
            sla_policy: None,
        }
    }

    /// Raises the clock warnings and breaches among `alerts` (clock index,
    /// percent) that have fallen due by `now`, in one change; `None` if none
    /// is owed any more (the clocks moved on since they were scheduled, or
    /// the alerts were raised already).
    pub fn raise_clock_alerts(
        &self,
        alerts: &[(usize, u8)],
        now: Timestamp,
    ) -> Option<(Escalation, Vec<NewEvent>)> {
        let mut next = self.clone();
        let events: Vec<NewEvent> = alerts
            .iter()
            .filter_map(|&(clock, percent)| {
                let data = sla::raise_alert(&mut next.clocks, clock, percent, now)?;
                let kind = if percent == sla::BREACH_PERCENT {
                    EventKind::ClockBreached
                } else {
                    EventKind::ClockWarning
                };
                Some(NewEvent::new(
                    kind,
                    Visibility::Internal,
                    &Actor::system(),
                    now,
                    data,
                ))
            })
            .collect();
        if events.is_empty() {
            return None;
        }
        next.touch(now);
        Some((next, events))
    }
}

/// Adds the clocks a change moved to its event's data, when it moved any.
fn with_clocks(mut data: serde_json::Value, clocks: &[sla::ClockChange]) -> serde_json::Value {
    if !clocks.is_empty() {
        data["clocks"] = json!(clocks);
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-25T09:00:00Z".parse().unwrap()
    }

    fn sample() -> Escalation {
        let new = NewEscalation {
            escalation_type: "account_access".into(),
            title: "乗っ取られたアカウント".into(),
            country: "jp".into(),
            language: "ja".into(),
            tags: vec!["vip".into(), "vip".into(), "hacked".into()],
            ..Default::default()
        };
        let draft = new.validate("npa-japan", "api", now()).unwrap();
        draft
            .into_escalation(EscalationKey(1042), &Actor::system(), now())
            .0
    }

    #[test]
    fn keys_round_trip_and_refuse_lookalikes() {
        assert_eq!(EscalationKey::parse("ESC-1042"), Some(EscalationKey(1042)));
        assert_eq!(EscalationKey(7).to_string(), "ESC-7");
        for bad in [
            "ESC-", "ESC-0", "ESC-01", "esc-1", "ESC-1a", "1042", "ESC--1",
        ] {
            assert_eq!(EscalationKey::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn validation_reports_every_fault_with_its_field() {
        let new = NewEscalation {
            escalation_type: "Bad Type".into(),
            title: " ".into(),
            country: "XX".into(),
            language: "english".into(),
            priority: Some("P9".into()),
            risk_flags: vec!["spicy".into()],
            ..Default::default()
        };
        let Invalid(errors) = new.validate("p", "api", now()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "type",
                "title",
                "country",
                "language",
                "priority",
                "risk_flags[0]"
            ]
        );
    }

    #[test]
    fn new_escalations_default_to_p3_and_dedup_tags() {
        let e = sample();
        assert_eq!(e.priority, Priority::P3);
        assert_eq!(e.tags, ["hacked", "vip"]);
        assert_eq!(e.status, Status::New);
        assert_eq!(e.version, 1);
    }

    #[test]
    fn a_patch_records_one_event_per_changed_field_and_bumps_the_version_once() {
        let e = sample();
        let patch = EscalationPatch {
            priority: Some("P1".into()),
            title: Some(e.title.clone()),
            assignee: Some(Some("Aiko@Example.com".into())),
            ..Default::default()
        };
        let (next, events) = e.apply_patch(&patch, &Actor::system(), now()).unwrap();
        assert_eq!(next.priority, Priority::P1);
        assert_eq!(next.assignee.as_deref(), Some("aiko@example.com"));
        assert_eq!(next.version, 2);
        let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::FieldChanged, EventKind::Assigned]);
        assert_eq!(events[0].data["field"], "priority");
    }

    #[test]
    fn an_empty_patch_changes_nothing() {
        let e = sample();
        let (next, events) = e
            .apply_patch(&EscalationPatch::default(), &Actor::system(), now())
            .unwrap();
        assert!(events.is_empty());
        assert_eq!(next, e);
    }

    #[test]
    fn reopening_is_its_own_event() {
        let e = sample();
        let (e, _) = e
            .transition(Status::Resolved, None, &Actor::system(), now())
            .unwrap();
        let (e, ev) = e
            .transition(
                Status::Investigating,
                Some("partner sent new facts"),
                &Actor::system(),
                now(),
            )
            .unwrap();
        assert_eq!(ev.kind, EventKind::Reopened);
        assert_eq!(e.version, 3);
    }

    #[test]
    fn deciding_resolves_once_and_a_second_decision_amends() {
        let actor = Actor::system();
        let decision = |outcome: &str| crate::decision::NewDecision {
            outcome: outcome.into(),
            root_cause: Some("reviewer_error".into()),
            ..Default::default()
        };
        let first = decision("reinstated").validate(&[], "a@x", now()).unwrap();
        let (resolved, events) = sample().decide(first, &actor, now()).unwrap();
        assert_eq!(resolved.status, Status::Resolved);
        assert_eq!(resolved.version, 2, "one change, one version");
        let kinds: Vec<_> = events.iter().map(|e| (e.kind, e.visibility)).collect();
        assert_eq!(
            kinds,
            [
                (EventKind::StatusChanged, Visibility::Partner),
                (EventKind::DecisionRecorded, Visibility::Internal)
            ]
        );
        assert_eq!(events[0].data["outcome"], "reinstated");

        let second = decision("upheld").validate(&[], "a@x", now()).unwrap();
        let (amended, events) = resolved.decide(second, &actor, now()).unwrap();
        assert_eq!(amended.decision.as_ref().unwrap().outcome, "upheld");
        assert_eq!(amended.version, 3);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data["amends"], true);
        // The partner sees the outcome, not the root cause.
        let told = amended.clone().partner_view().decision.unwrap();
        assert_eq!((told.outcome.as_str(), told.root_cause), ("upheld", None));

        let (closed, _) = amended
            .transition(Status::Closed, None, &actor, now())
            .unwrap();
        let third = decision("removed").validate(&[], "a@x", now()).unwrap();
        assert_eq!(
            closed.decide(third, &actor, now()).unwrap_err(),
            TransitionRefused::Closed(EscalationKey(1042))
        );
    }

    #[test]
    fn partner_view_hides_internal_evidence() {
        let e = sample();
        let ev = |visibility| Evidence {
            id: String::new(),
            sha256: "ab".into(),
            filename: "a.png".into(),
            size: 1,
            declared_type: "image/png".into(),
            sniffed_type: None,
            sensitive: false,
            visibility,
            uploaded_by: "x".into(),
            uploaded_at: now(),
        };
        let (e, _) = e.add_evidence(ev(Visibility::Internal), &Actor::system(), now());
        let (e, _) = e.add_evidence(ev(Visibility::Partner), &Actor::system(), now());
        let view = e.partner_view();
        assert_eq!(view.evidence.len(), 1);
        assert_eq!(view.evidence[0].id, "ev-2");
    }

    #[test]
    fn partner_view_hides_who_holds_it_and_how_it_was_routed() {
        let mut e = sample();
        e.assignee = Some("aiko@example.com".into());
        e.queue = Some("apac-legal".into());
        e.rules_fired = vec!["korea-orders".into()];
        e.sla_policy = Some("vip".into());
        let view = e.clone().partner_view();
        assert_eq!(
            (
                view.assignee,
                view.queue,
                view.rules_fired.len(),
                view.sla_policy
            ),
            (None, None, 0, None)
        );
        assert!(view.consults.is_empty() && view.links.is_empty() && view.score.is_none());
        assert_eq!(
            (view.title, view.status),
            (e.title, e.status),
            "the report stays"
        );
    }
}
