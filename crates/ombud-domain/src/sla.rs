//! SLA policies and the clocks they and the regulations start on an
//! escalation. How time is counted is `deadlines`; which laws apply is
//! `regulatory`; this module decides which clocks an escalation gets and
//! keeps them (pause, resume, stop, due, time left).

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::deadlines::{
    Budget, BusinessCalendar, CalendarSpec, ClockBasis, ClockKind, DeadlineError, Pause, Target,
};
use crate::escalation::Priority;
use crate::lifecycle::Status;
use crate::partner::{PartnerKind, Tier};
use crate::regulatory::{Applicability, RegulatoryRule};
use crate::validation::{Collector, Invalid};

/// Warning thresholds when a policy names none, in percent of the budget.
pub const DEFAULT_WARNINGS: [u8; 2] = [75, 90];

/// Which escalations a policy is for; an empty list matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SlaConditions {
    #[serde(default)]
    pub partner_tiers: Vec<u8>,
    /// Escalation type codes.
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub priorities: Vec<Priority>,
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default)]
    pub countries: Vec<String>,
}

impl SlaConditions {
    fn matches(&self, facts: &EscalationFacts<'_>) -> bool {
        fn any_or<T: PartialEq>(list: &[T], value: &T) -> bool {
            list.is_empty() || list.contains(value)
        }
        (self.partner_tiers.is_empty()
            || self
                .partner_tiers
                .iter()
                .any(|&t| i64::from(t) == facts.partner_tier.get()))
            && (self.types.is_empty() || self.types.iter().any(|t| t == facts.escalation_type))
            && any_or(&self.priorities, &facts.priority)
            && (self.countries.is_empty() || self.countries.iter().any(|c| c == facts.country))
    }

    /// How many conditions are set: the more, the more specific the policy.
    fn specificity(&self) -> usize {
        [
            self.partner_tiers.is_empty(),
            self.types.is_empty(),
            self.priorities.is_empty(),
            self.countries.is_empty(),
        ]
        .iter()
        .filter(|empty| !**empty)
        .count()
    }
}

/// Targets per clock, as ISO 8601 durations on the policy's basis.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SlaTargets {
    pub acknowledgement: Option<String>,
    pub first_response: Option<String>,
    pub next_response: Option<String>,
    pub resolution: Option<String>,
}

impl SlaTargets {
    fn get(&self, kind: ClockKind) -> Option<&str> {
        match kind {
            ClockKind::Acknowledgement => self.acknowledgement.as_deref(),
            ClockKind::FirstResponse => self.first_response.as_deref(),
            ClockKind::NextResponse => self.next_response.as_deref(),
            ClockKind::Resolution => self.resolution.as_deref(),
        }
    }
}

/// An SLA policy: targets for the clocks of the escalations it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    /// Stable identifier, e.g. `tier1-p0`.
    pub code: String,
    pub name: String,
    /// A partner's slug: the policy is that partner's and wins over defaults.
    #[serde(default)]
    pub partner: Option<String>,
    #[serde(default)]
    pub conditions: SlaConditions,
    pub basis: ClockBasis,
    /// The business calendar's code; required on the business basis. On the
    /// calendar basis it gives the time zone of day targets (else UTC).
    #[serde(default)]
    pub calendar: Option<String>,
    pub targets: SlaTargets,
    /// Whether clocks stand still while the escalation awaits the partner.
    #[serde(default = "yes")]
    pub pause_while_awaiting_partner: bool,
    /// Warning thresholds in percent of each budget, ascending, 1–99.
    #[serde(default = "default_warnings")]
    pub warn_at_percent: Vec<u8>,
}

fn yes() -> bool {
    true
}

fn default_warnings() -> Vec<u8> {
    DEFAULT_WARNINGS.to_vec()
}

impl SlaPolicy {
    /// Checks the policy, naming every faulty part; `calendars` are the
    /// codes of the calendars that exist.
    pub fn validate(&self, calendars: &[&str]) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        if !is_code(&self.code) {
            errors.push(
                "code",
                "use 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit",
            );
        }
        if self.name.trim().is_empty() {
            errors.push("name", "a policy needs a name");
        }
        for (index, tier) in self.conditions.partner_tiers.iter().enumerate() {
            if !(1..=3).contains(tier) {
                errors.push(
                    format!("conditions.partner_tiers[{index}]"),
                    "tiers are 1, 2 or 3",
                );
            }
        }
        for (index, country) in self.conditions.countries.iter().enumerate() {
            if let Err(Invalid(found)) =
                crate::geo::Country::parse(&format!("conditions.countries[{index}]"), country)
            {
                for e in found {
                    errors.push(e.field, e.message);
                }
            }
        }
        match (&self.calendar, self.basis) {
            (None, ClockBasis::Business) => errors.push(
                "calendar",
                "a business-hours policy needs a calendar to count working time",
            ),
            (Some(code), _) if !calendars.contains(&code.as_str()) => {
                errors.push("calendar", format!("there is no calendar {code:?}"))
            }
            _ => {}
        }
        let mut any_target = false;
        for kind in ClockKind::ALL {
            if let Some(text) = self.targets.get(kind) {
                any_target = true;
                if let Err(error) = Target::parse(text, self.basis) {
                    errors.push(format!("targets.{}", kind.as_str()), error.0);
                }
            }
        }
        if !any_target {
            errors.push(
                "targets",
                "set at least one target, e.g. \"resolution\": \"PT24H\"",
            );
        }
        let ascending = self.warn_at_percent.windows(2).all(|w| w[0] < w[1]);
        if !ascending || self.warn_at_percent.iter().any(|p| !(1..=99).contains(p)) {
            errors.push(
                "warn_at_percent",
                "list thresholds between 1 and 99 in ascending order, e.g. [75, 90]",
            );
        }
        errors.finish()
    }
}

fn is_code(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The facts about an escalation that choose its policy and regulations.
#[derive(Debug, Clone, Copy)]
pub struct EscalationFacts<'a> {
    pub partner: &'a str,
    pub partner_kind: PartnerKind,
    pub partner_tier: Tier,
    pub escalation_type: &'a str,
    pub priority: Priority,
    /// ISO 3166-1 alpha-2.
    pub country: &'a str,
}

/// The policy for an escalation: among those whose conditions match, the
/// partner's own policies win over defaults, then the most specific, then
/// the first by code.
pub fn choose_policy<'p>(
    policies: &'p [SlaPolicy],
    facts: &EscalationFacts<'_>,
) -> Option<&'p SlaPolicy> {
    policies
        .iter()
        .filter(|p| {
            p.partner
                .as_deref()
                .is_none_or(|slug| slug == facts.partner)
        })
        .filter(|p| p.conditions.matches(facts))
        .min_by(|a, b| {
            let rank =
                |p: &SlaPolicy| (p.partner.is_none(), usize::MAX - p.conditions.specificity());
            rank(a).cmp(&rank(b)).then_with(|| a.code.cmp(&b.code))
        })
}

/// An administrator's decision about one regulatory rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegulationSetting {
    /// `None`: the catalogue's default (enabled unless low confidence or
    /// not in force).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Replaces the catalogue's `acknowledge_within`.
    #[serde(default)]
    pub acknowledge_within: Option<String>,
    /// Replaces the catalogue's `act_within`.
    #[serde(default)]
    pub act_within: Option<String>,
}

/// Where a clock's deadline comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum ClockSource {
    /// An SLA policy's code.
    Policy(String),
    /// A regulatory rule's id; its target may come from the policy where the
    /// law sets no number.
    Regulation(String),
    /// A consult's deadline, by the consult's number: it binds the consulted
    /// function, so it is not part of the escalation's own due time.
    Consult(u32),
}

/// One running (or finished) deadline of an escalation. It keeps a copy of
/// the calendar it started with, so that its due instant never moves behind
/// the team's back when a calendar is edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EscalationClock {
    pub kind: ClockKind,
    pub source: ClockSource,
    /// The ISO 8601 target, on `budget.basis`.
    pub target: String,
    pub budget: Budget,
    pub calendar: CalendarSpec,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub started_at: Timestamp,
    /// Pauses so far, in order; the last may still be open.
    pub pauses: Vec<Pause>,
    pub pauses_while_awaiting_partner: bool,
    pub warn_at_percent: Vec<u8>,
    /// When the clock was met (stopped); `None` while it runs.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub stopped_at: Option<Timestamp>,
    /// The due instant; `None` while paused.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub due_at: Option<Timestamp>,
    /// Alerts already raised: warning thresholds in percent, 100 for the breach.
    #[serde(default)]
    pub alerts_raised: Vec<u8>,
    /// A next-response clock waiting for the partner's next message: it does
    /// not count until then.
    #[serde(default)]
    pub armed: bool,
}

/// Where a clock stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// A next-response clock waiting for the partner to write.
    Armed,
    Running,
    Paused,
    Met,
    /// Stopped after its due instant.
    MetLate,
    Breached,
}

impl EscalationClock {
    fn start(
        kind: ClockKind,
        source: ClockSource,
        target: Target,
        calendar: &BusinessCalendar,
        started_at: Timestamp,
        policy: Option<&SlaPolicy>,
    ) -> Result<Self, DeadlineError> {
        let budget = target.budget(started_at, calendar)?;
        let mut clock = Self {
            kind,
            source,
            target: target.to_iso(),
            budget,
            calendar: calendar.to_spec(),
            started_at,
            pauses: Vec::new(),
            pauses_while_awaiting_partner: policy.is_none_or(|p| p.pause_while_awaiting_partner),
            warn_at_percent: policy.map_or_else(default_warnings, |p| p.warn_at_percent.clone()),
            stopped_at: None,
            due_at: None,
            alerts_raised: Vec::new(),
            armed: false,
        };
        clock.due_at = clock.budget.due(started_at, calendar, &clock.pauses)?;
        Ok(clock)
    }

    fn business_calendar(&self) -> BusinessCalendar {
        BusinessCalendar::from_spec(&self.calendar)
            .expect("a clock's calendar was valid when copied")
    }

    /// Recomputes the due instant after a pause or resumption. A clock whose
    /// start computed a due instant always has one later: its calendar has
    /// working time every week, and a pause moves it by at most the pause.
    fn refresh_due(&mut self) {
        self.due_at = self
            .budget
            .due(self.started_at, &self.business_calendar(), &self.pauses)
            .ok()
            .flatten();
    }

    pub fn is_paused(&self) -> bool {
        self.pauses.last().is_some_and(|p| p.until.is_none())
    }

    /// Stands the clock still from `at`; returns whether it was running.
    pub fn pause(&mut self, at: Timestamp) -> bool {
        if self.stopped_at.is_some() || self.is_paused() {
            return false;
        }
        self.pauses.push(Pause {
            from: at.max(self.started_at),
            until: None,
        });
        self.refresh_due();
        true
    }

    /// Sets a paused clock running again from `at`; returns whether it was paused.
    pub fn resume(&mut self, at: Timestamp) -> bool {
        match self.pauses.last_mut().filter(|p| p.until.is_none()) {
            Some(open) => {
                open.until = Some(at.max(open.from));
                self.refresh_due();
                true
            }
            None => false,
        }
    }

    /// Stops the clock: its deadline was met at `at` (late, if after due).
    /// Returns whether it was still counting.
    pub fn stop(&mut self, at: Timestamp) -> bool {
        if self.stopped_at.is_some() {
            return false;
        }
        self.resume(at);
        self.stopped_at = Some(at);
        true
    }

    pub fn state(&self, now: Timestamp) -> ClockState {
        if self.armed {
            return ClockState::Armed;
        }
        match (self.stopped_at, self.due_at) {
            (Some(stopped), Some(due)) if stopped > due => ClockState::MetLate,
            (Some(_), _) => ClockState::Met,
            (None, None) => ClockState::Paused,
            (None, Some(due)) if now > due => ClockState::Breached,
            (None, Some(_)) => ClockState::Running,
        }
    }

    /// Budget left at `now` (negative once breached), in the clock's own
    /// time: working time for business clocks.
    pub fn time_left(&self, now: Timestamp) -> SignedDuration {
        let until = self.stopped_at.unwrap_or(now);
        self.budget.amount
            - self.budget.spent(
                self.started_at,
                until,
                &self.business_calendar(),
                &self.pauses,
            )
    }

    /// The instants its warnings fall due, by threshold; empty while paused.
    pub fn warnings(&self) -> Result<Vec<(u8, Timestamp)>, DeadlineError> {
        let calendar = self.business_calendar();
        let mut due = Vec::new();
        for &percent in &self.warn_at_percent {
            if let Some(at) = self.budget.instant_at(
                f64::from(percent) / 100.0,
                self.started_at,
                &calendar,
                &self.pauses,
            )? {
                due.push((percent, at));
            }
        }
        Ok(due)
    }
}

/// The clock of consult `id` asked at `at` to be answered within `target`
/// (elapsed time or calendar days in UTC). It does not pause while the
/// partner is awaited: the consulted function is not waiting on them.
pub fn consult_clock(
    id: u32,
    target: Target,
    at: Timestamp,
) -> Result<EscalationClock, DeadlineError> {
    let mut clock = EscalationClock::start(
        ClockKind::Resolution,
        ClockSource::Consult(id),
        target,
        &BusinessCalendar::always_open(TimeZone::UTC),
        at,
        None,
    )?;
    clock.pauses_while_awaiting_partner = false;
    Ok(clock)
}

/// What clocks are started from: the policies, the calendars by code, the
/// regulatory catalogue and the administrators' settings for it.
#[derive(Debug, Clone, Copy)]
pub struct ClockSettings<'a> {
    pub policies: &'a [SlaPolicy],
    pub calendars: &'a BTreeMap<String, BusinessCalendar>,
    pub regulations: &'a [RegulatoryRule],
    pub regulation_settings: &'a BTreeMap<String, RegulationSetting>,
    /// A policy a routing rule chose: it applies whatever its conditions.
    pub forced_policy: Option<&'a str>,
}

/// Starts an escalation's clocks at `received_at`: one per target of its
/// policy, and one per deadline of each applicable, enabled regulation (a
/// regulation with no number borrows the policy's target for that clock).
/// The escalation's due instant is the earliest of them.
pub fn start_clocks(
    facts: &EscalationFacts<'_>,
    received_at: Timestamp,
    settings: ClockSettings<'_>,
) -> Result<Vec<EscalationClock>, DeadlineError> {
    let policy = match settings.forced_policy {
        Some(code) => settings.policies.iter().find(|p| p.code == code),
        None => choose_policy(settings.policies, facts),
    };
    // The policy's calendar: its working time on the business basis, its
    // time zone on the calendar basis.
    let policy_calendar = |policy: &SlaPolicy| {
        let calendar = policy
            .calendar
            .as_ref()
            .and_then(|code| settings.calendars.get(code));
        match (calendar, policy.basis) {
            (Some(calendar), ClockBasis::Business) => calendar.clone(),
            (Some(calendar), ClockBasis::Calendar) => {
                BusinessCalendar::always_open(calendar.time_zone().clone())
            }
            (None, _) => BusinessCalendar::always_open(TimeZone::UTC),
        }
    };
    let policy_target = |kind: ClockKind| {
        let policy = policy?;
        let target = Target::parse(policy.targets.get(kind)?, policy.basis).ok()?;
        Some((target, policy_calendar(policy)))
    };
    let mut clocks = Vec::new();
    if let Some(policy) = policy {
        for kind in ClockKind::ALL {
            if let Some((target, calendar)) = policy_target(kind) {
                let mut clock = EscalationClock::start(
                    kind,
                    ClockSource::Policy(policy.code.clone()),
                    target,
                    &calendar,
                    received_at,
                    Some(policy),
                )?;
                if kind == ClockKind::NextResponse {
                    // It starts counting when the partner next writes.
                    clock.armed = true;
                    clock.pause(received_at);
                }
                clocks.push(clock);
            }
        }
    }
    let applicability = Applicability {
        country: facts.country,
        escalation_type: facts.escalation_type,
        partner_kind: facts.partner_kind,
    };
    for rule in settings.regulations {
        let setting = settings.regulation_settings.get(&rule.id);
        let enabled = setting
            .and_then(|s| s.enabled)
            .unwrap_or_else(|| rule.enabled_by_default());
        if !enabled || !rule.applies(applicability) {
            continue;
        }
        let mut rule = rule.clone();
        if let Some(setting) = setting {
            if setting.acknowledge_within.is_some() {
                rule.acknowledge_within
                    .clone_from(&setting.acknowledge_within);
            }
            if setting.act_within.is_some() {
                rule.act_within.clone_from(&setting.act_within);
            }
        }
        // Day clocks of a law run in its jurisdiction's time zone; business
        // days on the team's business calendar if the policy has one, else
        // Monday to Friday, 09:00-17:00 there.
        let zone = rule.governing_time_zone();
        let regulation_calendar = match (rule.clock, policy.map(policy_calendar)) {
            (ClockBasis::Calendar, _) => BusinessCalendar::always_open(zone),
            (ClockBasis::Business, Some(calendar))
                if policy.is_some_and(|p| p.basis == ClockBasis::Business) =>
            {
                calendar
            }
            (ClockBasis::Business, _) => BusinessCalendar::weekdays_nine_to_five(zone),
        };
        let deadlines = rule
            .deadlines()
            .expect("catalogue durations are tested and overrides validated");
        for deadline in deadlines {
            let (target, calendar) = match deadline.target {
                Some(target) => (target, regulation_calendar.clone()),
                None => match policy_target(deadline.kind) {
                    Some(borrowed) => borrowed,
                    None => continue,
                },
            };
            clocks.push(EscalationClock::start(
                deadline.kind,
                ClockSource::Regulation(rule.id.clone()),
                target,
                &calendar,
                received_at,
                policy,
            )?);
        }
    }
    Ok(clocks)
}

/// One clock that moved, as recorded in the event of the change that moved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockChange {
    pub kind: ClockKind,
    pub source: ClockSource,
    /// `paused`, `resumed`, `met`, `started` or `dropped`.
    pub change: String,
    pub due_at: Option<Timestamp>,
}

fn changed(clock: &EscalationClock, change: &str) -> ClockChange {
    ClockChange {
        kind: clock.kind,
        source: clock.source.clone(),
        change: change.to_string(),
        due_at: clock.due_at,
    }
}

/// Moves the clocks for a change of status at `at`:
/// - leaving `new` meets the acknowledgement clocks;
/// - entering `awaiting_partner` pauses the clocks whose policy says so, and
///   leaving it resumes them;
/// - `resolved` and `closed` meet every clock still counting.
///
/// Reopening does not restart met clocks.
pub fn on_status_change(
    clocks: &mut [EscalationClock],
    from: Status,
    to: Status,
    at: Timestamp,
) -> Vec<ClockChange> {
    let mut changes = Vec::new();
    for clock in clocks.iter_mut().filter(|c| !c.armed) {
        if from == Status::AwaitingPartner && to != Status::AwaitingPartner && clock.resume(at) {
            changes.push(changed(clock, "resumed"));
        }
        let meets = matches!(to, Status::Resolved | Status::Closed)
            || (from == Status::New && clock.kind == ClockKind::Acknowledgement);
        if meets && clock.stop(at) {
            changes.push(changed(clock, "met"));
        } else if to == Status::AwaitingPartner
            && clock.pauses_while_awaiting_partner
            && clock.pause(at)
        {
            changes.push(changed(clock, "paused"));
        }
    }
    changes
}

/// Moves the clocks when staff send the partner a message at `at`: it
/// acknowledges, gives the first response, and answers the partner's last
/// message (next response).
pub fn on_reply_to_partner(clocks: &mut [EscalationClock], at: Timestamp) -> Vec<ClockChange> {
    clocks
        .iter_mut()
        .filter(|c| !c.armed)
        .filter(|c| {
            matches!(
                c.kind,
                ClockKind::Acknowledgement | ClockKind::FirstResponse | ClockKind::NextResponse
            )
        })
        .filter_map(|c| c.stop(at).then(|| changed(c, "met")))
        .collect()
}

/// Moves the clocks when the automatic acknowledgement went out at `at`:
/// it meets the acknowledgement clocks, and nothing else.
pub fn on_acknowledgement_sent(clocks: &mut [EscalationClock], at: Timestamp) -> Vec<ClockChange> {
    clocks
        .iter_mut()
        .filter(|c| c.kind == ClockKind::Acknowledgement && !c.armed)
        .filter_map(|c| c.stop(at).then(|| changed(c, "met")))
        .collect()
}

/// Moves the clocks when the partner writes at `at`: the next-response
/// clock starts counting — the armed one, or a fresh cycle like the last
/// once that was met. A partner writing twice before an answer changes
/// nothing.
pub fn on_partner_message(clocks: &mut Vec<EscalationClock>, at: Timestamp) -> Vec<ClockChange> {
    let mut changes = Vec::new();
    if let Some(armed) = clocks
        .iter_mut()
        .find(|c| c.kind == ClockKind::NextResponse && c.armed)
    {
        armed.armed = false;
        armed.resume(at);
        changes.push(changed(armed, "started"));
        return changes;
    }
    let running = clocks
        .iter()
        .any(|c| c.kind == ClockKind::NextResponse && c.stopped_at.is_none());
    let last = clocks
        .iter()
        .rev()
        .find(|c| c.kind == ClockKind::NextResponse)
        .cloned();
    if let (false, Some(last)) = (running, last) {
        let calendar = last.business_calendar();
        let Ok(target) = Target::parse(&last.target, last.budget.basis) else {
            return changes;
        };
        let Ok(budget) = target.budget(at, &calendar) else {
            return changes;
        };
        let mut next = EscalationClock {
            budget,
            started_at: at,
            pauses: Vec::new(),
            stopped_at: None,
            due_at: None,
            alerts_raised: Vec::new(),
            armed: false,
            ..last
        };
        next.refresh_due();
        changes.push(changed(&next, "started"));
        clocks.push(next);
    }
    changes
}

/// Brings an escalation's policy and regulatory clocks in line with
/// `fresh`, the clocks intake would start for it now that its type,
/// country, priority or SLA policy changed. A clock whose kind and source
/// still apply stays exactly as it is, so editing settings never moves a
/// running deadline. A newly applicable clock of a kind already counted
/// inherits that kind's history — start, pauses, waiting for the partner,
/// met — so switching policy does not forgive time already spent nor
/// reopen a deadline already met. Clocks that no longer apply are dropped;
/// consult clocks are not touched. Returns what changed.
pub fn reconcile_clocks(
    clocks: &mut Vec<EscalationClock>,
    fresh: Vec<EscalationClock>,
) -> Vec<ClockChange> {
    let same = |a: &EscalationClock, b: &EscalationClock| a.kind == b.kind && a.source == b.source;
    let mut changes = Vec::new();
    let mut next: Vec<EscalationClock> = Vec::with_capacity(fresh.len());
    for clock in clocks.iter() {
        let applies =
            matches!(clock.source, ClockSource::Consult(_)) || fresh.iter().any(|f| same(f, clock));
        if applies {
            next.push(clock.clone());
        } else {
            changes.push(changed(clock, "dropped"));
        }
    }
    for mut clock in fresh {
        if clocks.iter().any(|c| same(c, &clock)) {
            continue;
        }
        if let Some(before) = clocks.iter().rev().find(|c| c.kind == clock.kind) {
            let calendar = clock.business_calendar();
            // The target parsed when the clock started, and its calendar has
            // working time; a budget from an earlier start exists as well.
            let budget = Target::parse(&clock.target, clock.budget.basis)
                .ok()
                .and_then(|t| t.budget(before.started_at, &calendar).ok());
            if let Some(budget) = budget {
                clock.budget = budget;
                clock.started_at = before.started_at;
                clock.pauses.clone_from(&before.pauses);
                clock.armed = before.armed;
                clock.stopped_at = before.stopped_at;
                clock.refresh_due();
            }
        }
        changes.push(changed(&clock, "started"));
        next.push(clock);
    }
    *clocks = next;
    changes
}

/// The breach, as an alert threshold.
pub const BREACH_PERCENT: u8 = 100;

/// An alert a running clock will raise: a warning at a threshold, or the
/// breach at 100 %. `clock` indexes the escalation's clocks, which are only
/// ever appended to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAlert {
    pub clock: usize,
    pub percent: u8,
    pub at: Timestamp,
}

impl EscalationClock {
    /// The instant this clock raises the alert at `percent`, if it still will.
    fn alert_instant(&self, percent: u8) -> Option<Timestamp> {
        if self.stopped_at.is_some() || self.is_paused() || self.alerts_raised.contains(&percent) {
            return None;
        }
        if percent == BREACH_PERCENT {
            return self.due_at;
        }
        self.budget
            .instant_at(
                f64::from(percent) / 100.0,
                self.started_at,
                &self.business_calendar(),
                &self.pauses,
            )
            .ok()
            .flatten()
    }
}

/// Every alert the running clocks will raise, to be scheduled durably.
pub fn pending_alerts(clocks: &[EscalationClock]) -> Vec<PendingAlert> {
    clocks
        .iter()
        .enumerate()
        .flat_map(|(index, clock)| {
            clock
                .warn_at_percent
                .iter()
                .copied()
                .chain([BREACH_PERCENT])
                .filter_map(move |percent| {
                    clock.alert_instant(percent).map(|at| PendingAlert {
                        clock: index,
                        percent,
                        at,
                    })
                })
        })
        .collect()
}

/// Raises the alert of clock `clock` at `percent`, if it is due by `now` and
/// not raised yet; returns what the event records.
pub fn raise_alert(
    clocks: &mut [EscalationClock],
    clock: usize,
    percent: u8,
    now: Timestamp,
) -> Option<serde_json::Value> {
    let target = clocks.get_mut(clock)?;
    let at = target.alert_instant(percent).filter(|at| *at <= now)?;
    target.alerts_raised.push(percent);
    Some(serde_json::json!({
        "clock": target.kind,
        "source": target.source,
        "percent": percent,
        "due_at": target.due_at,
        "reached_at": at,
    }))
}

/// The regulation whose clock falls due first, with its target: what the
/// priority score weighs.
pub fn earliest_regulation(clocks: &[EscalationClock]) -> Option<(String, Target)> {
    clocks
        .iter()
        .filter(|c| matches!(c.source, ClockSource::Regulation(_)))
        .filter(|c| c.due_at.is_some())
        .min_by_key(|c| c.due_at)
        .and_then(|c| {
            let ClockSource::Regulation(id) = &c.source else {
                return None;
            };
            Some((id.clone(), Target::parse(&c.target, c.budget.basis).ok()?))
        })
}

/// The earliest due instant among running clocks other than consults':
/// the escalation's due time.
pub fn due_at(clocks: &[EscalationClock]) -> Option<Timestamp> {
    clocks
        .iter()
        .filter(|c| c.stopped_at.is_none() && !matches!(c.source, ClockSource::Consult(_)))
        .filter_map(|c| c.due_at)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn policy(code: &str, resolution: &str) -> SlaPolicy {
        SlaPolicy {
            code: code.into(),
            name: code.into(),
            partner: None,
            conditions: SlaConditions::default(),
            basis: ClockBasis::Calendar,
            calendar: None,
            targets: SlaTargets {
                acknowledgement: Some("PT1H".into()),
                resolution: Some(resolution.into()),
                ..SlaTargets::default()
            },
            pause_while_awaiting_partner: true,
            warn_at_percent: default_warnings(),
        }
    }

    fn facts<'a>(
        country: &'a str,
        kind: &'a str,
        partner_kind: PartnerKind,
    ) -> EscalationFacts<'a> {
        EscalationFacts {
            partner: "in-cyber-ngo",
            partner_kind,
            partner_tier: Tier::parse("tier", 1).unwrap(),
            escalation_type: kind,
            priority: Priority::P1,
            country,
        }
    }

    fn clocks_for(
        facts: &EscalationFacts<'_>,
        policies: &[SlaPolicy],
        regulation_settings: &BTreeMap<String, RegulationSetting>,
        received: Timestamp,
    ) -> Vec<EscalationClock> {
        start_clocks(
            facts,
            received,
            ClockSettings {
                policies,
                calendars: &BTreeMap::new(),
                regulations: RegulatoryRule::catalogue(),
                regulation_settings,
                forced_policy: None,
            },
        )
        .unwrap()
    }

    fn find<'c>(
        clocks: &'c [EscalationClock],
        kind: ClockKind,
        source: &ClockSource,
    ) -> &'c EscalationClock {
        clocks
            .iter()
            .find(|c| c.kind == kind && &c.source == source)
            .unwrap_or_else(|| panic!("no {kind:?} clock from {source:?} in {clocks:#?}"))
    }

    #[test]
    fn the_partners_own_policy_wins_then_the_most_specific() {
        let mut general = policy("general", "P3D");
        general.conditions.priorities = vec![];
        let mut urgent = policy("urgent", "PT4H");
        urgent.conditions.priorities = vec![Priority::P0, Priority::P1];
        let mut japan = policy("japan", "PT8H");
        japan.conditions.countries = vec!["JP".into()];
        let mut own = policy("own", "PT12H");
        own.partner = Some("in-cyber-ngo".into());
        let mut other_partner = policy("other", "PT1H");
        other_partner.partner = Some("someone-else".into());

        let in_p1 = facts("IN", "ncii", PartnerKind::Ngo);
        let all = [
            general.clone(),
            urgent.clone(),
            japan.clone(),
            own.clone(),
            other_partner,
        ];
        assert_eq!(choose_policy(&all, &in_p1).unwrap().code, "own");
        let defaults = [general.clone(), urgent.clone(), japan.clone()];
        assert_eq!(choose_policy(&defaults, &in_p1).unwrap().code, "urgent");
        let p3 = EscalationFacts {
            priority: Priority::P3,
            ..in_p1
        };
        assert_eq!(choose_policy(&defaults, &p3).unwrap().code, "general");
        assert!(choose_policy(&[urgent, japan], &p3).is_none());
    }

    #[test]
    fn policies_name_every_faulty_part() {
        let mut bad = policy("Bad Code", "soon");
        bad.name = " ".into();
        bad.basis = ClockBasis::Business;
        bad.conditions.partner_tiers = vec![4];
        bad.conditions.countries = vec!["XX".into()];
        bad.warn_at_percent = vec![90, 75];
        let errors = bad.validate(&["tokyo"]).unwrap_err().0;
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "code",
                "name",
                "conditions.partner_tiers[0]",
                "conditions.countries[0]",
                "calendar",
                "targets.resolution",
                "warn_at_percent"
            ]
        );
        let mut unknown_calendar = policy("ok", "PT4H");
        unknown_calendar.calendar = Some("paris".into());
        assert_eq!(
            unknown_calendar.validate(&["tokyo"]).unwrap_err().0[0].message,
            "there is no calendar \"paris\""
        );
        assert!(policy("ok", "PT4H").validate(&[]).is_ok());
    }

    #[test]
    fn an_indian_intimate_image_complaint_gets_the_two_hour_legal_clock() {
        let received = ts("2026-11-25T10:00:00Z");
        let policies = [policy("default", "PT24H")];
        let clocks = clocks_for(
            &facts("IN", "ncii", PartnerKind::Ngo),
            &policies,
            &BTreeMap::new(),
            received,
        );
        let law = ClockSource::Regulation("in-itr-ncii-3-2-b".into());
        let resolution = find(&clocks, ClockKind::Resolution, &law);
        assert_eq!(resolution.target, "PT2H");
        assert_eq!(resolution.due_at, Some(ts("2026-11-25T12:00:00Z")));
        // The law sets no acknowledgement time: the policy's hour applies.
        let acknowledgement = find(&clocks, ClockKind::Acknowledgement, &law);
        assert_eq!(acknowledgement.due_at, Some(ts("2026-11-25T11:00:00Z")));
        let policy_resolution = find(
            &clocks,
            ClockKind::Resolution,
            &ClockSource::Policy("default".into()),
        );
        assert_eq!(policy_resolution.due_at, Some(ts("2026-11-26T10:00:00Z")));
        assert_eq!(due_at(&clocks), Some(ts("2026-11-25T11:00:00Z")));
        // Not an order: the three-hour rule for government orders stays out.
        assert!(
            !clocks
                .iter()
                .any(|c| c.source == ClockSource::Regulation("in-itr-3-1-d-order".into()))
        );
    }

    #[test]
    fn administrators_disable_and_override_regulations() {
        let received = ts("2026-11-25T10:00:00Z");
        let policies = [policy("default", "PT24H")];
        let ncii = facts("IN", "ncii", PartnerKind::Ngo);
        let law = ClockSource::Regulation("in-itr-ncii-3-2-b".into());
        let mut settings = BTreeMap::new();
        settings.insert(
            "in-itr-ncii-3-2-b".to_string(),
            RegulationSetting {
                act_within: Some("PT90M".into()),
                ..RegulationSetting::default()
            },
        );
        let clocks = clocks_for(&ncii, &policies, &settings, received);
        assert_eq!(
            find(&clocks, ClockKind::Resolution, &law).due_at,
            Some(ts("2026-11-25T11:30:00Z"))
        );
        settings.get_mut("in-itr-ncii-3-2-b").unwrap().enabled = Some(false);
        let clocks = clocks_for(&ncii, &policies, &settings, received);
        assert!(!clocks.iter().any(|c| c.source == law));
        // A low-confidence rule starts only once enabled.
        let info = facts("IN", "law_enforcement_request", PartnerKind::LawEnforcement);
        let low = ClockSource::Regulation("in-itr-3-1-j-info".into());
        assert!(
            !clocks_for(&info, &[], &BTreeMap::new(), received)
                .iter()
                .any(|c| c.source == low)
        );
        let enabled = BTreeMap::from([(
            "in-itr-3-1-j-info".to_string(),
            RegulationSetting {
                enabled: Some(true),
                ..RegulationSetting::default()
            },
        )]);
        let clocks = clocks_for(&info, &[], &enabled, received);
        assert_eq!(
            find(&clocks, ClockKind::Resolution, &low).due_at,
            Some(ts("2026-11-28T10:00:00Z"))
        );
    }

    #[test]
    fn a_dmca_counter_notice_counts_business_days_in_new_york() {
        // Wednesday 2026-11-25 14:00 EST; fourteen weekdays later (the
        // default working week knows no holidays) is Tuesday 15 December.
        let clocks = clocks_for(
            &facts("US", "user_appeal", PartnerKind::PublicFigureTeam),
            &[],
            &BTreeMap::new(),
            ts("2026-11-25T19:00:00Z"),
        );
        let counter = find(
            &clocks,
            ClockKind::Resolution,
            &ClockSource::Regulation("us-dmca-512g-counter".into()),
        );
        assert_eq!(counter.target, "P14D");
        assert_eq!(counter.budget.basis, ClockBasis::Business);
        assert_eq!(counter.due_at, Some(ts("2026-12-15T19:00:00Z")));
    }

    #[test]
    fn clocks_pause_resume_and_stop() {
        let received = ts("2026-11-25T10:00:00Z");
        let clocks = clocks_for(
            &facts("JP", "account_access", PartnerKind::Ngo),
            &[policy("default", "PT4H")],
            &BTreeMap::new(),
            received,
        );
        let mut clock = find(
            &clocks,
            ClockKind::Resolution,
            &ClockSource::Policy("default".into()),
        )
        .clone();
        assert_eq!(clock.state(ts("2026-11-25T11:00:00Z")), ClockState::Running);
        assert_eq!(
            clock.warnings().unwrap(),
            [
                (75, ts("2026-11-25T13:00:00Z")),
                (90, ts("2026-11-25T13:36:00Z"))
            ]
        );
        assert!(clock.pause(ts("2026-11-25T11:00:00Z")));
        assert_eq!(clock.due_at, None);
        assert_eq!(clock.state(ts("2026-11-26T00:00:00Z")), ClockState::Paused);
        assert_eq!(
            clock.time_left(ts("2026-11-26T00:00:00Z")),
            SignedDuration::from_hours(3)
        );
        // Pausing twice changes nothing.
        assert!(!clock.pause(ts("2026-11-25T12:00:00Z")));
        assert!(clock.resume(ts("2026-11-25T15:00:00Z")));
        assert_eq!(clock.due_at, Some(ts("2026-11-25T18:00:00Z")));
        assert_eq!(
            clock.state(ts("2026-11-25T18:00:01Z")),
            ClockState::Breached
        );
        assert!(clock.stop(ts("2026-11-25T17:00:00Z")));
        assert!(!clock.stop(ts("2026-11-25T17:30:00Z")));
        assert_eq!(clock.state(ts("2026-11-25T19:00:00Z")), ClockState::Met);
        assert_eq!(
            clock.time_left(ts("2026-11-25T19:00:00Z")),
            SignedDuration::from_hours(1)
        );
        let mut late = find(
            &clocks,
            ClockKind::Acknowledgement,
            &ClockSource::Policy("default".into()),
        )
        .clone();
        late.stop(ts("2026-11-25T11:30:00Z"));
        assert_eq!(late.state(ts("2026-11-25T12:00:00Z")), ClockState::MetLate);
        assert_eq!(
            late.time_left(ts("2026-11-25T12:00:00Z")),
            SignedDuration::from_mins(-30)
        );
    }

    #[test]
    fn the_lifecycle_meets_pauses_and_resumes_clocks() {
        let received = ts("2026-11-25T10:00:00Z");
        let mut clocks = clocks_for(
            &facts("JP", "account_access", PartnerKind::Ngo),
            &[policy("default", "PT4H")],
            &BTreeMap::new(),
            received,
        );
        let kinds = |changes: &[ClockChange]| {
            changes
                .iter()
                .map(|c| (c.kind, c.change.clone()))
                .collect::<Vec<_>>()
        };
        // Triage acknowledges.
        let changes = on_status_change(
            &mut clocks,
            Status::New,
            Status::Triaged,
            ts("2026-11-25T10:30:00Z"),
        );
        assert_eq!(
            kinds(&changes),
            [(ClockKind::Acknowledgement, "met".to_string())]
        );
        // Waiting on the partner stops the resolution clock for two hours.
        let paused = on_status_change(
            &mut clocks,
            Status::Triaged,
            Status::AwaitingPartner,
            ts("2026-11-25T11:00:00Z"),
        );
        assert_eq!(
            kinds(&paused),
            [(ClockKind::Resolution, "paused".to_string())]
        );
        assert_eq!(paused[0].due_at, None);
        let resumed = on_status_change(
            &mut clocks,
            Status::AwaitingPartner,
            Status::Investigating,
            ts("2026-11-25T13:00:00Z"),
        );
        assert_eq!(resumed[0].due_at, Some(ts("2026-11-25T16:00:00Z")));
        let resolved = on_status_change(
            &mut clocks,
            Status::Investigating,
            Status::Resolved,
            ts("2026-11-25T15:00:00Z"),
        );
        assert_eq!(
            kinds(&resolved),
            [(ClockKind::Resolution, "met".to_string())]
        );
        assert!(
            clocks
                .iter()
                .all(|c| c.state(ts("2026-11-26T00:00:00Z")) == ClockState::Met)
        );
        assert_eq!(due_at(&clocks), None);
    }

    #[test]
    fn a_reply_to_the_partner_is_the_first_response() {
        let mut policy = policy("default", "PT4H");
        policy.targets.first_response = Some("PT2H".into());
        policy.pause_while_awaiting_partner = false;
        let mut clocks = clocks_for(
            &facts("JP", "account_access", PartnerKind::Ngo),
            &[policy],
            &BTreeMap::new(),
            ts("2026-11-25T10:00:00Z"),
        );
        let met = on_reply_to_partner(&mut clocks, ts("2026-11-25T10:20:00Z"));
        assert_eq!(met.len(), 2, "acknowledgement and first response: {met:?}");
        // This policy keeps counting while the partner is asked.
        let paused = on_status_change(
            &mut clocks,
            Status::Triaged,
            Status::AwaitingPartner,
            ts("2026-11-25T11:00:00Z"),
        );
        assert!(paused.is_empty());
    }

    #[test]
    fn alerts_are_owed_once_by_running_clocks() {
        let received = ts("2026-11-25T10:00:00Z");
        let mut only_resolution = policy("default", "PT4H");
        only_resolution.targets.acknowledgement = None;
        let mut clocks = clocks_for(
            &facts("JP", "account_access", PartnerKind::Ngo),
            &[only_resolution],
            &BTreeMap::new(),
            received,
        );
        let owed = |clocks: &[EscalationClock]| {
            pending_alerts(clocks)
                .iter()
                .map(|a| (a.percent, a.at))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            owed(&clocks),
            [
                (75, ts("2026-11-25T13:00:00Z")),
                (90, ts("2026-11-25T13:36:00Z")),
                (100, ts("2026-11-25T14:00:00Z"))
            ]
        );
        // Not before its time, then once.
        assert_eq!(
            raise_alert(&mut clocks, 0, 75, ts("2026-11-25T12:59:59Z")),
            None
        );
        let raised = raise_alert(&mut clocks, 0, 75, ts("2026-11-25T13:00:00Z")).unwrap();
        assert_eq!(raised["percent"], 75);
        assert_eq!(
            raise_alert(&mut clocks, 0, 75, ts("2026-11-25T13:30:00Z")),
            None
        );
        assert_eq!(owed(&clocks).len(), 2);
        // A paused clock owes nothing; a met one neither.
        clocks[0].pause(ts("2026-11-25T13:10:00Z"));
        assert!(owed(&clocks).is_empty());
        clocks[0].resume(ts("2026-11-25T14:10:00Z"));
        assert_eq!(owed(&clocks)[1], (100, ts("2026-11-25T15:00:00Z")));
        clocks[0].stop(ts("2026-11-25T14:20:00Z"));
        assert!(owed(&clocks).is_empty());
        assert_eq!(
            raise_alert(&mut clocks, 7, 100, ts("2026-11-26T00:00:00Z")),
            None
        );
    }

    #[test]
    fn the_next_response_clock_runs_from_each_partner_message_to_the_answer() {
        let mut with_next = policy("default", "PT24H");
        with_next.targets.next_response = Some("PT2H".into());
        let mut clocks = clocks_for(
            &facts("JP", "account_access", PartnerKind::Ngo),
            &[with_next],
            &BTreeMap::new(),
            ts("2026-11-25T10:00:00Z"),
        );
        let next = |clocks: &[EscalationClock]| {
            clocks
                .iter()
                .filter(|c| c.kind == ClockKind::NextResponse)
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            next(&clocks)[0].state(ts("2026-11-26T00:00:00Z")),
            ClockState::Armed
        );
        assert!(
            pending_alerts(&clocks).iter().all(|a| a.clock != 1),
            "armed clocks owe nothing"
        );
        // Waiting on the partner and back does not start it.
        on_status_change(
            &mut clocks,
            Status::Triaged,
            Status::AwaitingPartner,
            ts("2026-11-25T10:10:00Z"),
        );
        on_status_change(
            &mut clocks,
            Status::AwaitingPartner,
            Status::Investigating,
            ts("2026-11-25T10:20:00Z"),
        );
        assert!(next(&clocks)[0].armed);
        // The partner writes at 11:00: due at 13:00; writing again changes nothing.
        on_partner_message(&mut clocks, ts("2026-11-25T11:00:00Z"));
        on_partner_message(&mut clocks, ts("2026-11-25T11:30:00Z"));
        assert_eq!(next(&clocks).len(), 1);
        assert_eq!(next(&clocks)[0].due_at, Some(ts("2026-11-25T13:00:00Z")));
        on_reply_to_partner(&mut clocks, ts("2026-11-25T12:00:00Z"));
        assert_eq!(
            next(&clocks)[0].state(ts("2026-11-25T12:00:00Z")),
            ClockState::Met
        );
        // The next message starts a new cycle.
        on_partner_message(&mut clocks, ts("2026-11-26T09:00:00Z"));
        let cycles = next(&clocks);
        assert_eq!(cycles.len(), 2);
        assert_eq!(cycles[1].due_at, Some(ts("2026-11-26T11:00:00Z")));
        assert_eq!(cycles[1].source, ClockSource::Policy("default".into()));
    }

    #[test]
    fn clocks_survive_a_round_trip_through_json() {
        let clocks = clocks_for(
            &facts("IN", "ncii", PartnerKind::Ngo),
            &[policy("default", "PT24H")],
            &BTreeMap::new(),
            ts("2026-11-25T10:00:00Z"),
        );
        let json = serde_json::to_string(&clocks).unwrap();
        let back: Vec<EscalationClock> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, clocks);
    }

    proptest::proptest! {
        /// Switching policy never forgives time already spent nor reopens a
        /// met deadline, and reconciling twice with the same choice is a no-op.
        #[test]
        fn a_replacement_clock_inherits_the_time_spent_and_what_was_met(
            start in 1_700_000_000i64..1_800_000_000,
            old_hours in 1i64..200,
            new_hours in 1i64..200,
            pauses in proptest::collection::vec((1i64..50_000, 1i64..50_000), 0..4),
            acknowledged in proptest::option::of(1i64..100_000),
            later in 0i64..1_000_000,
        ) {
            let secs = SignedDuration::from_secs;
            let received = Timestamp::from_second(start).unwrap();
            let policies = [
                policy("old", &format!("PT{old_hours}H")),
                policy("new", &format!("PT{new_hours}H")),
            ];
            let facts = facts("TH", "account_access", PartnerKind::Ngo);
            let choose = |forced| {
                start_clocks(&facts, received, ClockSettings {
                    policies: &policies,
                    calendars: &BTreeMap::new(),
                    regulations: RegulatoryRule::catalogue(),
                    regulation_settings: &BTreeMap::new(),
                    forced_policy: Some(forced),
                })
                .unwrap()
            };
            let mut clocks = choose("old");
            let mut t = received;
            for (running, paused) in pauses {
                t += secs(running);
                clocks.iter_mut().for_each(|c| { c.pause(t); });
                t += secs(paused);
                clocks.iter_mut().for_each(|c| { c.resume(t); });
            }
            if let Some(after) = acknowledged {
                clocks[0].stop(t + secs(after));
            }
            let now = t + secs(later) + secs(acknowledged.unwrap_or(0));
            let before = clocks.clone();
            reconcile_clocks(&mut clocks, choose("new"));
            let (old, new) = (ClockSource::Policy("old".into()), ClockSource::Policy("new".into()));
            proptest::prop_assert!(clocks.iter().all(|c| c.source != old));
            for kind in [ClockKind::Acknowledgement, ClockKind::Resolution] {
                let (was, is) = (find(&before, kind, &old), find(&clocks, kind, &new));
                proptest::prop_assert_eq!(is.started_at, was.started_at);
                proptest::prop_assert_eq!(is.stopped_at, was.stopped_at);
                proptest::prop_assert_eq!(&is.pauses, &was.pauses);
                let spent = |c: &EscalationClock| c.budget.amount - c.time_left(now);
                proptest::prop_assert_eq!(spent(is), spent(was));
            }
            let settled = clocks.clone();
            proptest::prop_assert!(reconcile_clocks(&mut clocks, choose("new")).is_empty());
            proptest::prop_assert_eq!(clocks, settled);
        }
    }
}
