//! The metrics, computed exactly from escalation facts: each is a table of
//! plain cells (what the API returns, the console draws and the downloads
//! hold). Percentiles use the nearest-rank method: p50 of n sorted values is
//! the value at rank ⌈0.5·n⌉, so every figure is one actual escalation's.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use super::facts::{Attainment, ConsultFacts, EscalationFacts};

const SECONDS_PER_DAY: i64 = 86_400;

/// What a dimension value reads when the escalation has none.
pub const NONE: &str = "(none)";

/// What the metrics can be sliced by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Type,
    Surface,
    Country,
    Language,
    Partner,
    PartnerKind,
    Queue,
    Team,
}

impl Dimension {
    pub const ALL: [Dimension; 8] = [
        Dimension::Type,
        Dimension::Surface,
        Dimension::Country,
        Dimension::Language,
        Dimension::Partner,
        Dimension::PartnerKind,
        Dimension::Queue,
        Dimension::Team,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Type => "type",
            Dimension::Surface => "surface",
            Dimension::Country => "country",
            Dimension::Language => "language",
            Dimension::Partner => "partner",
            Dimension::PartnerKind => "partner_kind",
            Dimension::Queue => "queue",
            Dimension::Team => "team",
        }
    }

    pub fn parse(text: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

/// Dimension values the facts do not hold: a partner's kind and a queue's
/// team are looked up as they are now.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    pub partner_kinds: HashMap<String, String>,
    pub queue_teams: HashMap<String, String>,
}

impl Lookups {
    /// The value of `dimension` for `facts`.
    pub fn value(&self, dimension: Dimension, facts: &EscalationFacts) -> String {
        let value = match dimension {
            Dimension::Type => facts.escalation_type.as_str(),
            Dimension::Surface => facts.surface.as_str(),
            Dimension::Country => facts.country.as_str(),
            Dimension::Language => facts.language.as_str(),
            Dimension::Partner => facts.partner.as_str(),
            Dimension::PartnerKind => self.partner_kind(&facts.partner),
            Dimension::Queue => facts.queue.as_str(),
            Dimension::Team => self
                .queue_teams
                .get(&facts.queue)
                .map_or("", String::as_str),
        };
        if value.is_empty() {
            NONE.to_string()
        } else {
            value.to_string()
        }
    }

    fn partner_kind(&self, partner: &str) -> &str {
        self.partner_kinds.get(partner).map_or("", String::as_str)
    }
}

/// The metrics, in dashboard order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Intake,
    IntakeByDay,
    Backlog,
    ResponseTimes,
    Attainment,
    Reopens,
    Outcomes,
    Overturns,
    RootCauses,
    Consults,
    Partners,
}

impl Metric {
    pub const ALL: [Metric; 11] = [
        Metric::Intake,
        Metric::IntakeByDay,
        Metric::Backlog,
        Metric::ResponseTimes,
        Metric::Attainment,
        Metric::Reopens,
        Metric::Outcomes,
        Metric::Overturns,
        Metric::RootCauses,
        Metric::Consults,
        Metric::Partners,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Intake => "intake",
            Metric::IntakeByDay => "intake_by_day",
            Metric::Backlog => "backlog",
            Metric::ResponseTimes => "response_times",
            Metric::Attainment => "attainment",
            Metric::Reopens => "reopens",
            Metric::Outcomes => "outcomes",
            Metric::Overturns => "overturns",
            Metric::RootCauses => "root_causes",
            Metric::Consults => "consults",
            Metric::Partners => "partners",
        }
    }

    pub fn parse(text: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == text)
    }

    pub fn title(self) -> &'static str {
        match self {
            Metric::Intake => "Intake",
            Metric::IntakeByDay => "Intake by day (UTC)",
            Metric::Backlog => "Backlog and its age",
            Metric::ResponseTimes => "Time to acknowledgement, first response and resolution",
            Metric::Attainment => "SLA and regulatory deadline attainment",
            Metric::Reopens => "Reopen rate",
            Metric::Outcomes => "Outcome mix",
            Metric::Overturns => "Overturn rate by policy and surface",
            Metric::RootCauses => "Root causes (Pareto)",
            Metric::Consults => "Consult turnaround by function",
            Metric::Partners => "Partner scorecard",
        }
    }

    /// Whether the table is sliced by the chosen dimension (the others have
    /// fixed rows: days, policy × surface, root causes, functions, partners).
    pub fn is_sliced(self) -> bool {
        matches!(
            self,
            Metric::Intake
                | Metric::Backlog
                | Metric::ResponseTimes
                | Metric::Attainment
                | Metric::Reopens
                | Metric::Outcomes
        )
    }
}

/// What a table's chart draws: one bar per row, labelled by columns 0 to
/// `label`, of the value in column `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChartSpec {
    pub label: usize,
    pub value: usize,
    /// Bars over time (columns) rather than ranked (rows).
    pub over_time: bool,
}

/// One metric's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricTable {
    pub metric: Metric,
    pub title: &'static str,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    #[serde(skip)]
    pub chart: ChartSpec,
}

/// Everything a set of metrics is computed from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The escalations that arrived in `[from, to)`.
    pub arrived: &'a [EscalationFacts],
    /// The escalations open now, whenever they arrived.
    pub open: &'a [EscalationFacts],
    /// The consults requested in `[from, to)`.
    pub consults: &'a [ConsultFacts],
    pub from: Timestamp,
    pub to: Timestamp,
    pub now: Timestamp,
    pub by: Dimension,
    pub lookups: &'a Lookups,
}

impl Inputs<'_> {
    /// One metric's table.
    pub fn table(&self, metric: Metric) -> MetricTable {
        let (columns, rows, chart): (&[&str], _, _) = match metric {
            Metric::Intake => (&["slice", "escalations"], self.intake(), bars(0, 1)),
            Metric::IntakeByDay => (&["day", "escalations"], self.intake_by_day(), timeline()),
            Metric::Backlog => (
                &[
                    "slice",
                    "open",
                    "under_1_day",
                    "1_to_7_days",
                    "7_to_30_days",
                    "over_30_days",
                    "median_age_seconds",
                ],
                self.backlog(),
                bars(0, 1),
            ),
            Metric::ResponseTimes => (
                &[
                    "slice",
                    "escalations",
                    "acknowledgement_p50_seconds",
                    "acknowledgement_p90_seconds",
                    "first_response_p50_seconds",
                    "first_response_p90_seconds",
                    "resolution_p50_seconds",
                    "resolution_p90_seconds",
                ],
                self.response_times(),
                bars(0, 6),
            ),
            Metric::Attainment => (
                &[
                    "slice",
                    "sla_met",
                    "sla_missed",
                    "sla_attainment",
                    "regulatory_met",
                    "regulatory_missed",
                    "regulatory_attainment",
                ],
                self.attainment(),
                bars(0, 3),
            ),
            Metric::Reopens => (
                &["slice", "resolved", "reopened", "reopen_rate"],
                self.reopens(),
                bars(0, 3),
            ),
            Metric::Outcomes => (
                &["slice", "outcome", "decisions", "share"],
                self.outcomes(),
                bars(1, 2),
            ),
            Metric::Overturns => (
                &[
                    "policy",
                    "surface",
                    "decisions",
                    "overturned",
                    "overturn_rate",
                ],
                self.overturns(),
                bars(1, 4),
            ),
            Metric::RootCauses => (
                &["root_cause", "escalations", "share", "cumulative_share"],
                self.root_causes(),
                bars(0, 1),
            ),
            Metric::Consults => (
                &[
                    "function",
                    "requested",
                    "answered",
                    "open",
                    "turnaround_p50_seconds",
                    "turnaround_p90_seconds",
                ],
                self.consult_turnaround(),
                bars(0, 4),
            ),
            Metric::Partners => (
                &[
                    "partner",
                    "partner_kind",
                    "escalations",
                    "decided",
                    "actioned",
                    "share_actioned",
                    "median_time_to_decision_seconds",
                    "overturned",
                    "overturn_rate",
                ],
                self.partner_scorecard(),
                bars(0, 2),
            ),
        };
        MetricTable {
            metric,
            title: metric.title(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
            chart,
        }
    }

    /// Every metric, in dashboard order.
    pub fn dashboard(&self) -> Vec<MetricTable> {
        Metric::ALL.into_iter().map(|m| self.table(m)).collect()
    }

    /// `facts` grouped by the chosen dimension, largest group first.
    fn sliced<'f>(&self, facts: &'f [EscalationFacts]) -> Vec<(String, Vec<&'f EscalationFacts>)> {
        let mut groups: BTreeMap<String, Vec<&EscalationFacts>> = BTreeMap::new();
        for f in facts {
            groups
                .entry(self.lookups.value(self.by, f))
                .or_default()
                .push(f);
        }
        largest_first(groups)
    }

    fn intake(&self) -> Vec<Vec<Value>> {
        self.sliced(self.arrived)
            .into_iter()
            .map(|(slice, group)| vec![json!(slice), json!(group.len())])
            .collect()
    }

    fn intake_by_day(&self) -> Vec<Vec<Value>> {
        let first = self.from.as_second().div_euclid(SECONDS_PER_DAY);
        let last = (self.to.as_second() - 1).div_euclid(SECONDS_PER_DAY);
        let mut counts: BTreeMap<i64, usize> = (first..=last).map(|d| (d, 0)).collect();
        for f in self.arrived {
            *counts
                .entry(f.arrived_at.as_second().div_euclid(SECONDS_PER_DAY))
                .or_default() += 1;
        }
        counts
            .into_iter()
            .map(|(day, count)| vec![json!(day_label(day)), json!(count)])
            .collect()
    }

    fn backlog(&self) -> Vec<Vec<Value>> {
        let bounds = [SECONDS_PER_DAY, 7 * SECONDS_PER_DAY, 30 * SECONDS_PER_DAY];
        self.sliced(self.open)
            .into_iter()
            .map(|(slice, group)| {
                let ages = sorted(
                    group
                        .iter()
                        .map(|f| seconds_between(f.arrived_at, self.now)),
                );
                let mut buckets = [0usize; 4];
                for age in &ages {
                    buckets[bounds.iter().take_while(|b| age >= b).count()] += 1;
                }
                let mut row = vec![json!(slice), json!(group.len())];
                row.extend(buckets.iter().map(|b| json!(b)));
                row.push(json!(percentile(&ages, 50)));
                row
            })
            .collect()
    }

    fn response_times(&self) -> Vec<Vec<Value>> {
        self.sliced(self.arrived)
            .into_iter()
            .map(|(slice, group)| {
                let mut row = vec![json!(slice), json!(group.len())];
                let milestones: [fn(&EscalationFacts) -> Option<Timestamp>; 3] = [
                    |f| f.milestones.acknowledged_at,
                    |f| f.milestones.first_response_at,
                    |f| f.milestones.resolved_at,
                ];
                for milestone in milestones {
                    let times =
                        sorted(group.iter().filter_map(|f| {
                            milestone(f).map(|at| seconds_between(f.arrived_at, at))
                        }));
                    row.push(json!(percentile(&times, 50)));
                    row.push(json!(percentile(&times, 90)));
                }
                row
            })
            .collect()
    }

    fn attainment(&self) -> Vec<Vec<Value>> {
        self.sliced(self.arrived)
            .into_iter()
            .map(|(slice, group)| {
                let mut row = vec![json!(slice)];
                let kinds: [fn(&EscalationFacts) -> Option<Attainment>; 2] =
                    [|f| f.sla, |f| f.regulatory];
                for kind in kinds {
                    let met = group
                        .iter()
                        .filter(|f| kind(f) == Some(Attainment::Met))
                        .count();
                    let missed = group
                        .iter()
                        .filter(|f| kind(f) == Some(Attainment::Missed))
                        .count();
                    row.extend([json!(met), json!(missed), rate(met, met + missed)]);
                }
                row
            })
            .collect()
    }

    fn reopens(&self) -> Vec<Vec<Value>> {
        self.sliced(self.arrived)
            .into_iter()
            .map(|(slice, group)| {
                let resolved = group.iter().filter(|f| f.milestones.resolved_at.is_some());
                let (resolved, reopened) = resolved.fold((0, 0), |(all, again), f| {
                    (all + 1, again + usize::from(f.milestones.reopens > 0))
                });
                vec![
                    json!(slice),
                    json!(resolved),
                    json!(reopened),
                    rate(reopened, resolved),
                ]
            })
            .collect()
    }

    fn outcomes(&self) -> Vec<Vec<Value>> {
        let mut rows = Vec::new();
        for (slice, group) in self.sliced(self.arrived) {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for outcome in group.iter().filter_map(|f| f.outcome.clone()) {
                *counts.entry(outcome).or_default() += 1;
            }
            let decided: usize = counts.values().sum();
            for (outcome, count) in largest_first(counts) {
                rows.push(vec![
                    json!(slice),
                    json!(outcome),
                    json!(count),
                    rate(count, decided),
                ]);
            }
        }
        rows
    }

    fn overturns(&self) -> Vec<Vec<Value>> {
        let mut groups: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
        for f in self.arrived {
            let Some(overturned) = f.overturned() else {
                continue;
            };
            let policy = f.policy.clone().unwrap_or_else(|| NONE.to_string());
            let surface = self.lookups.value(Dimension::Surface, f);
            let counts = groups.entry((policy, surface)).or_default();
            counts.0 += 1;
            counts.1 += usize::from(overturned);
        }
        let mut rows: Vec<_> = groups.into_iter().collect();
        rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
        rows.into_iter()
            .map(|((policy, surface), (decisions, overturned))| {
                vec![
                    json!(policy),
                    json!(surface),
                    json!(decisions),
                    json!(overturned),
                    rate(overturned, decisions),
                ]
            })
            .collect()
    }

    fn root_causes(&self) -> Vec<Vec<Value>> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for cause in self.arrived.iter().filter_map(|f| f.root_cause.clone()) {
            *counts.entry(cause).or_default() += 1;
        }
        let total: usize = counts.values().sum();
        let mut running = 0;
        largest_first(counts)
            .into_iter()
            .map(|(cause, count)| {
                running += count;
                vec![
                    json!(cause),
                    json!(count),
                    rate(count, total),
                    rate(running, total),
                ]
            })
            .collect()
    }

    fn consult_turnaround(&self) -> Vec<Vec<Value>> {
        let mut groups: BTreeMap<String, Vec<&ConsultFacts>> = BTreeMap::new();
        for c in self.consults {
            groups.entry(c.function.clone()).or_default().push(c);
        }
        largest_first(groups)
            .into_iter()
            .map(|(function, group)| {
                let times =
                    sorted(group.iter().filter_map(|c| {
                        c.answered_at.map(|at| seconds_between(c.requested_at, at))
                    }));
                vec![
                    json!(function),
                    json!(group.len()),
                    json!(times.len()),
                    json!(group.len() - times.len()),
                    json!(percentile(&times, 50)),
                    json!(percentile(&times, 90)),
                ]
            })
            .collect()
    }

    fn partner_scorecard(&self) -> Vec<Vec<Value>> {
        let mut groups: BTreeMap<String, Vec<&EscalationFacts>> = BTreeMap::new();
        for f in self.arrived {
            groups.entry(f.partner.clone()).or_default().push(f);
        }
        largest_first(groups)
            .into_iter()
            .map(|(partner, group)| {
                let decided: Vec<_> = group.iter().filter(|f| f.outcome.is_some()).collect();
                let actioned = decided
                    .iter()
                    .filter(|f| f.actioned() == Some(true))
                    .count();
                let overturned = decided
                    .iter()
                    .filter(|f| f.overturned() == Some(true))
                    .count();
                let times = sorted(
                    decided
                        .iter()
                        .filter_map(|f| f.decided_at.map(|at| seconds_between(f.arrived_at, at))),
                );
                let kind = self.lookups.partner_kind(&partner);
                vec![
                    json!(partner),
                    json!(if kind.is_empty() { NONE } else { kind }),
                    json!(group.len()),
                    json!(decided.len()),
                    json!(actioned),
                    rate(actioned, decided.len()),
                    json!(percentile(&times, 50)),
                    json!(overturned),
                    rate(overturned, decided.len()),
                ]
            })
            .collect()
    }
}

fn bars(label: usize, value: usize) -> ChartSpec {
    ChartSpec {
        label,
        value,
        over_time: false,
    }
}

fn timeline() -> ChartSpec {
    ChartSpec {
        label: 0,
        value: 1,
        over_time: true,
    }
}

/// Groups as (key, members), the most members first, ties by key.
fn largest_first<K: Ord, V: Len>(groups: BTreeMap<K, V>) -> Vec<(K, V)> {
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    groups
}

/// A group's size, for [`largest_first`]: a list of members or a count.
trait Len {
    fn len(&self) -> usize;
}

impl<T> Len for Vec<T> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
}

impl Len for usize {
    fn len(&self) -> usize {
        *self
    }
}

fn seconds_between(from: Timestamp, to: Timestamp) -> i64 {
    (to.as_second() - from.as_second()).max(0)
}

fn sorted(values: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut values: Vec<i64> = values.collect();
    values.sort_unstable();
    values
}

/// The nearest-rank percentile of sorted `values`; `None` when empty.
pub fn percentile(values: &[i64], percent: usize) -> Option<i64> {
    let rank = (values.len() * percent).div_ceil(100);
    values.get(rank.max(1) - 1).copied()
}

/// `part / whole` to four decimals; null when `whole` is zero.
fn rate(part: usize, whole: usize) -> Value {
    if whole == 0 {
        Value::Null
    } else {
        json!((part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
    }
}

fn day_label(day: i64) -> String {
    Timestamp::from_second(day * SECONDS_PER_DAY)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}
