//! Transparency reporting: the period a report or an export of statements
//! of reasons covers, the facts of one decision a report counts, and the
//! aggregated report (counts by regime, category, outcome, source and
//! automation, with the median time to action), computed exactly. The
//! definitions are stated in docs/transparency.md.

use std::collections::BTreeMap;

use jiff::{Timestamp, ToSpan};
use serde::Serialize;

use crate::escalation::Escalation;
use crate::partner::PartnerKind;
use crate::regulatory::RegulatoryRule;
use crate::sla::ClockSource;
use crate::sor::{self, AutomatedDecision, Day, SorProfile};
use crate::validation::{Collector, Invalid};

/// Decisions made from `from` (included) to `to` (excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Period {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub to: Timestamp,
}

impl Period {
    /// Reads a period from two bounds, each an RFC 3339 instant or a UTC
    /// day `YYYY-MM-DD`. A day as `from` starts at its midnight; a day as
    /// `to` includes the whole day, so `2026-11-01`..`2026-11-30` is
    /// November. `from` must come before `to`. Faults are named by the
    /// fields given (`from`, `decided_from`…).
    pub fn parse(
        (from_field, from): (&str, &str),
        (to_field, to): (&str, &str),
    ) -> Result<Period, Invalid> {
        let mut errors = Collector::default();
        let from = errors.check(bound(from_field, from, false));
        let to = errors.check(bound(to_field, to, true));
        Period::checked(errors, (from_field, from), (to_field, to))
    }

    /// As [`Period::parse`] with either bound left out: `to` defaults to
    /// `now` and `from` to `span` before `to`.
    pub fn parse_or_recent(
        (from_field, from): (&str, Option<&str>),
        (to_field, to): (&str, Option<&str>),
        now: Timestamp,
        span: jiff::SignedDuration,
    ) -> Result<Period, Invalid> {
        let mut errors = Collector::default();
        let to = match to {
            Some(text) => errors.check(bound(to_field, text, true)),
            None => Some(now),
        };
        let from = match from {
            Some(text) => errors.check(bound(from_field, text, false)),
            None => to.map(|to| to.checked_sub(span).unwrap_or(Timestamp::MIN)),
        };
        Period::checked(errors, (from_field, from), (to_field, to))
    }

    fn checked(
        mut errors: Collector,
        (from_field, from): (&str, Option<Timestamp>),
        (to_field, to): (&str, Option<Timestamp>),
    ) -> Result<Period, Invalid> {
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            errors.push(to_field, format!("must come after {from_field} ({from})"));
        }
        errors.finish()?;
        Ok(Period {
            from: from.expect("checked"),
            to: to.expect("checked"),
        })
    }

    pub fn contains(&self, at: Timestamp) -> bool {
        self.from <= at && at < self.to
    }
}

fn bound(field: &str, text: &str, end: bool) -> Result<Timestamp, Invalid> {
    let text = text.trim();
    if let Some(day) = Day::parse(text) {
        let day = if end {
            day.0
                .checked_add(1.day())
                .map_err(|e| Invalid::one(field, e.to_string()))?
        } else {
            day.0
        };
        return day
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| Invalid::one(field, e.to_string()));
    }
    text.parse().map_err(|_| {
        Invalid::one(
            field,
            format!(
                "{text:?} is neither an RFC 3339 instant (2026-11-01T00:00:00Z) nor a day (2026-11-01)"
            ),
        )
    })
}

/// What a report counts of one decided escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionFacts {
    pub outcome: String,
    /// The SoR category the profile maps the decision to, or the
    /// escalation type when the profile maps it to none (or there is none).
    pub category: Category,
    /// The regulatory rules whose clocks ran on the escalation, once each,
    /// sorted; empty for none.
    pub regimes: Vec<String>,
    /// The reporting partner's kind; `None` when the partner is gone.
    pub partner_kind: Option<PartnerKind>,
    /// The profile's `automated_decision`; not automated without a profile.
    pub automation: AutomatedDecision,
    /// Milliseconds from `received_at` to the decision.
    pub millis_to_action: i64,
}

/// A category as the report counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Category {
    Mapped(sor::Category),
    /// An escalation type code the profile maps to no category.
    Type(String),
}

impl DecisionFacts {
    /// The facts of `escalation`'s current decision; `None` if undecided.
    pub fn of(
        escalation: &Escalation,
        partner_kind: Option<PartnerKind>,
        profile: Option<&SorProfile>,
    ) -> Option<DecisionFacts> {
        let decision = escalation.decision.as_ref()?;
        let category = profile
            .zip(partner_kind)
            .and_then(|(profile, kind)| sor::category_for(escalation, kind, profile))
            .map_or_else(
                || Category::Type(escalation.escalation_type.clone()),
                Category::Mapped,
            );
        let mut regimes: Vec<String> = escalation
            .clocks
            .iter()
            .filter_map(|clock| match &clock.source {
                ClockSource::Regulation(id) => Some(id.clone()),
                _ => None,
            })
            .collect();
        regimes.sort();
        regimes.dedup();
        Some(DecisionFacts {
            outcome: decision.outcome.clone(),
            category,
            regimes,
            partner_kind,
            automation: profile.map_or(AutomatedDecision::NotAutomated, |p| p.automated_decision),
            millis_to_action: decision
                .decided_at
                .duration_since(escalation.received_at)
                .as_millis() as i64,
        })
    }
}

/// One line of a report's table: a value of its dimension and the
/// decisions that have it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportRow {
    /// The value as a code: a rule id, a category, an outcome code…
    pub key: String,
    /// The value in words.
    pub label: String,
    pub decisions: u64,
    /// The median of `received_at` → decision over these decisions, in
    /// seconds (the mean of the two middle ones for an even count).
    pub median_seconds_to_action: Option<f64>,
}

/// The aggregated transparency report for a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub period: Period,
    /// Escalations whose current decision was made in the period.
    pub decisions: u64,
    pub median_seconds_to_action: Option<f64>,
    /// By regulatory rule of the escalation's regulatory clocks (`none`
    /// without one). An escalation under several rules counts under each,
    /// so the rows may add up to more than `decisions`.
    pub by_regime: Vec<ReportRow>,
    /// By SoR category from the profile, else by escalation type.
    pub by_category: Vec<ReportRow>,
    pub by_outcome: Vec<ReportRow>,
    /// By the reporting partner's kind (`unknown` for a deleted partner).
    pub by_source: Vec<ReportRow>,
    /// Whether the reporting partner is a trusted flagger (`yes`/`no`).
    pub by_trusted_flagger: Vec<ReportRow>,
    /// By the profile's `automated_decision`.
    pub by_automation: Vec<ReportRow>,
}

impl Report {
    /// The report of `facts`, the decisions made in `period`.
    pub fn of(period: Period, facts: &[DecisionFacts]) -> Report {
        let all: Vec<i64> = facts.iter().map(|f| f.millis_to_action).collect();
        Report {
            period,
            decisions: facts.len() as u64,
            median_seconds_to_action: median_seconds(all),
            by_regime: table(facts.iter().flat_map(|f| {
                let regimes = if f.regimes.is_empty() {
                    vec![("none".to_string(), "No regulatory clock".to_string())]
                } else {
                    f.regimes
                        .iter()
                        .map(|id| {
                            let label = RegulatoryRule::find(id)
                                .map_or_else(|| id.clone(), |rule| rule.regime.clone());
                            (id.clone(), label)
                        })
                        .collect()
                };
                regimes
                    .into_iter()
                    .map(move |(key, label)| (key, label, f.millis_to_action))
            })),
            by_category: table(facts.iter().map(|f| {
                let (key, label) = match &f.category {
                    Category::Mapped(category) => (
                        category.as_str().to_string(),
                        words(category.as_str().trim_start_matches("STATEMENT_CATEGORY_")),
                    ),
                    Category::Type(code) => {
                        (code.clone(), format!("Escalation type {code} (not mapped)"))
                    }
                };
                (key, label, f.millis_to_action)
            })),
            by_outcome: table(
                facts
                    .iter()
                    .map(|f| (f.outcome.clone(), words(&f.outcome), f.millis_to_action)),
            ),
            by_source: table(facts.iter().map(|f| {
                let kind = f.partner_kind.map_or("unknown", PartnerKind::as_str);
                (kind.to_string(), words(kind), f.millis_to_action)
            })),
            by_trusted_flagger: table(facts.iter().map(|f| {
                let (key, label) = match f.partner_kind {
                    Some(PartnerKind::TrustedFlagger) => ("yes", "Trusted flagger"),
                    _ => ("no", "Other source"),
                };
                (key.to_string(), label.to_string(), f.millis_to_action)
            })),
            by_automation: table(facts.iter().map(|f| {
                let label = match f.automation {
                    AutomatedDecision::Fully => "Fully automated",
                    AutomatedDecision::Partially => "Partially automated",
                    AutomatedDecision::NotAutomated => "Not automated (human)",
                };
                (
                    f.automation.as_str().to_string(),
                    label.to_string(),
                    f.millis_to_action,
                )
            })),
        }
    }

    /// Every table, named (`regime`, `category`…), in the report's order.
    pub fn tables(&self) -> [(&'static str, &[ReportRow]); 6] {
        [
            ("regime", &self.by_regime),
            ("category", &self.by_category),
            ("outcome", &self.by_outcome),
            ("source", &self.by_source),
            ("trusted_flagger", &self.by_trusted_flagger),
            ("automation", &self.by_automation),
        ]
    }
}

/// `snake_case` or `UPPER_CASE` as words: `Geo withheld`.
fn words(code: &str) -> String {
    let lower = code.to_lowercase().replace('_', " ");
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => lower,
    }
}

/// Rows of (key, label, time to action), most decisions first, then by key.
fn table(items: impl Iterator<Item = (String, String, i64)>) -> Vec<ReportRow> {
    let mut groups: BTreeMap<String, (String, Vec<i64>)> = BTreeMap::new();
    for (key, label, millis) in items {
        groups
            .entry(key)
            .or_insert_with(|| (label, Vec::new()))
            .1
            .push(millis);
    }
    let mut rows: Vec<ReportRow> = groups
        .into_iter()
        .map(|(key, (label, times))| ReportRow {
            key,
            label,
            decisions: times.len() as u64,
            median_seconds_to_action: median_seconds(times),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.decisions
            .cmp(&a.decisions)
            .then_with(|| a.key.cmp(&b.key))
    });
    rows
}

/// The exact median of durations in milliseconds, in seconds: the middle
/// one, or the mean of the two middle ones (summed in i128, so it cannot
/// overflow); `None` for none.
pub fn median_seconds(mut millis: Vec<i64>) -> Option<f64> {
    if millis.is_empty() {
        return None;
    }
    millis.sort_unstable();
    let n = millis.len();
    let twice = if n % 2 == 1 {
        2 * i128::from(millis[n / 2])
    } else {
        i128::from(millis[n / 2 - 1]) + i128::from(millis[n / 2])
    };
    Some(twice as f64 / 2000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn period(from: &str, to: &str) -> Result<Period, Vec<String>> {
        Period::parse(("from", from), ("to", to))
            .map_err(|Invalid(errors)| errors.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn days_cover_whole_days_and_instants_are_taken_as_given() {
        let november = period("2026-11-01", "2026-11-30").unwrap();
        assert_eq!(november.from, at("2026-11-01T00:00:00Z"));
        assert_eq!(november.to, at("2026-12-01T00:00:00Z"));
        assert!(november.contains(at("2026-11-30T23:59:59.999Z")));
        assert!(!november.contains(at("2026-12-01T00:00:00Z")));
        let hours = period("2026-11-25T10:00:00+01:00", "2026-11-25T12:00:00Z").unwrap();
        assert_eq!(hours.from, at("2026-11-25T09:00:00Z"));
        assert_eq!(period("2026-11-30", "2026-11-01").unwrap_err(), ["to"]);
        assert_eq!(
            period("yesterday", "2026-13-01").unwrap_err(),
            ["from", "to"]
        );
        assert_eq!(
            period("2026-11-01", "2026-11-01").unwrap(),
            Period {
                from: at("2026-11-01T00:00:00Z"),
                to: at("2026-11-02T00:00:00Z")
            }
        );
    }

    #[test]
    fn the_median_is_the_middle_or_the_mean_of_the_two_middles() {
        assert_eq!(median_seconds(vec![]), None);
        assert_eq!(median_seconds(vec![5000]), Some(5.0));
        assert_eq!(median_seconds(vec![9000, 1000, 3000]), Some(3.0));
        assert_eq!(median_seconds(vec![4000, 1000, 3000, 10_000]), Some(3.5));
        assert_eq!(median_seconds(vec![1, 2]), Some(0.0015));
        assert_eq!(
            median_seconds(vec![i64::MAX, i64::MAX]),
            Some(i64::MAX as f64 / 1000.0)
        );
    }

    fn facts(outcome: &str, regimes: &[&str], kind: PartnerKind, seconds: i64) -> DecisionFacts {
        DecisionFacts {
            outcome: outcome.into(),
            category: Category::Type("ip_notice".into()),
            regimes: regimes.iter().map(|r| r.to_string()).collect(),
            partner_kind: Some(kind),
            automation: AutomatedDecision::NotAutomated,
            millis_to_action: seconds * 1000,
        }
    }

    #[test]
    fn a_report_counts_each_decision_once_per_table_and_each_rule_it_ran_under() {
        let november = period("2026-11-01", "2026-11-30").unwrap();
        let report = Report::of(
            november,
            &[
                facts(
                    "removed",
                    &["eu-dsa-16-notice", "eu-dsa-17-sor"],
                    PartnerKind::TrustedFlagger,
                    60,
                ),
                facts("removed", &[], PartnerKind::Ngo, 120),
                facts("no_violation", &["eu-dsa-17-sor"], PartnerKind::Ngo, 600),
            ],
        );
        assert_eq!(report.decisions, 3);
        assert_eq!(report.median_seconds_to_action, Some(120.0));
        let counts = |rows: &[ReportRow]| -> Vec<(String, u64, Option<f64>)> {
            rows.iter()
                .map(|r| (r.key.clone(), r.decisions, r.median_seconds_to_action))
                .collect()
        };
        assert_eq!(
            counts(&report.by_regime),
            [
                ("eu-dsa-17-sor".into(), 2, Some(330.0)),
                ("eu-dsa-16-notice".into(), 1, Some(60.0)),
                ("none".into(), 1, Some(120.0)),
            ]
        );
        assert_eq!(
            counts(&report.by_outcome),
            [
                ("removed".into(), 2, Some(90.0)),
                ("no_violation".into(), 1, Some(600.0)),
            ]
        );
        assert_eq!(report.by_outcome[0].label, "Removed");
        assert_eq!(
            counts(&report.by_trusted_flagger),
            [("no".into(), 2, Some(360.0)), ("yes".into(), 1, Some(60.0))]
        );
        assert_eq!(
            report.by_category[0].label,
            "Escalation type ip_notice (not mapped)"
        );
        assert_eq!(
            report.by_regime[1].label,
            RegulatoryRule::find("eu-dsa-16-notice").unwrap().regime
        );
        assert_eq!(Report::of(november, &[]).median_seconds_to_action, None);
    }
}
