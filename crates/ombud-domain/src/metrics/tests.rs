//! The metrics against a fixture small enough to compute by hand: the
//! expected figures in each test are worked out in its comments.

use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::facts::{Attainment, ConsultFacts, EscalationFacts, Milestones};
use super::tables::{Dimension, Inputs, Lookups, Metric, percentile};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn plus(start: &str, seconds: i64) -> Option<Timestamp> {
    Some(Timestamp::from_second(at(start).as_second() + seconds).unwrap())
}

struct Decided {
    outcome: &'static str,
    root_cause: &'static str,
    after: i64,
}

#[allow(clippy::too_many_arguments)]
fn facts(
    key: i64,
    arrived: &str,
    (escalation_type, surface, partner, queue): (&str, &str, &str, &str),
    open: bool,
    (ack, first_response, resolved, reopens): (Option<i64>, Option<i64>, Option<i64>, u32),
    (sla, regulatory): (Option<Attainment>, Option<Attainment>),
    decided: Option<Decided>,
) -> EscalationFacts {
    EscalationFacts {
        key,
        arrived_at: at(arrived),
        escalation_type: escalation_type.into(),
        surface: surface.into(),
        country: "DE".into(),
        language: "de".into(),
        partner: partner.into(),
        queue: queue.into(),
        open,
        milestones: Milestones {
            acknowledged_at: ack.and_then(|s| plus(arrived, s)),
            first_response_at: first_response.and_then(|s| plus(arrived, s)),
            resolved_at: resolved.and_then(|s| plus(arrived, s)),
            reopens,
        },
        sla,
        regulatory,
        outcome: decided.as_ref().map(|d| d.outcome.into()),
        policy: decided.as_ref().map(|_| "hate_speech".into()),
        root_cause: decided.as_ref().map(|d| d.root_cause.into()),
        decided_at: decided.as_ref().and_then(|d| plus(arrived, d.after)),
    }
}

use Attainment::{Met, Missed};

/// A: ip/video/police/emea, B: ip/video/police/emea, C: csam/social/ministry,
/// D: ip/(no surface)/ministry/apac; all arrive 1–3 November. E is an ip case
/// still open from October.
fn arrived() -> Vec<EscalationFacts> {
    vec![
        facts(
            1,
            "2026-11-01T00:00:00Z",
            ("ip", "video", "police", "emea"),
            false,
            (Some(600), Some(3600), Some(7200), 0),
            (Some(Met), None),
            Some(Decided {
                outcome: "removed",
                root_cause: "reviewer_error",
                after: 7200,
            }),
        ),
        facts(
            2,
            "2026-11-01T12:00:00Z",
            ("ip", "video", "police", "emea"),
            false,
            (Some(1200), Some(7200), Some(86_400), 1),
            (Some(Missed), Some(Met)),
            Some(Decided {
                outcome: "reinstated",
                root_cause: "automation_false_positive",
                after: 86_400,
            }),
        ),
        facts(
            3,
            "2026-11-02T06:00:00Z",
            ("csam", "social", "ministry", ""),
            true,
            (Some(60), None, None, 0),
            (None, Some(Missed)),
            None,
        ),
        facts(
            4,
            "2026-11-03T23:59:59Z",
            ("ip", "", "ministry", "apac"),
            false,
            (Some(300), Some(600), Some(1800), 0),
            (Some(Met), Some(Met)),
            Some(Decided {
                outcome: "reinstated",
                root_cause: "automation_false_positive",
                after: 1800,
            }),
        ),
    ]
}

fn open() -> Vec<EscalationFacts> {
    let mut open = vec![arrived()[2].clone()];
    open.push(facts(
        5,
        "2026-10-01T00:00:00Z",
        ("ip", "video", "police", "emea"),
        true,
        (None, None, None, 0),
        (None, None),
        None,
    ));
    open
}

fn consults() -> Vec<ConsultFacts> {
    let consult = |number, function: &str, requested: &str, after: Option<i64>| ConsultFacts {
        key: 1,
        number,
        function: function.into(),
        requested_at: at(requested),
        answered_at: after.and_then(|s| plus(requested, s)),
    };
    vec![
        consult(1, "legal", "2026-11-01T00:00:00Z", Some(3600)),
        consult(2, "legal", "2026-11-02T00:00:00Z", Some(7200)),
        consult(3, "legal", "2026-11-02T00:00:00Z", None),
        consult(4, "privacy", "2026-11-03T00:00:00Z", Some(60)),
    ]
}

fn lookups() -> Lookups {
    Lookups {
        partner_kinds: [("police", "law_enforcement"), ("ministry", "government")]
            .map(|(p, k)| (p.to_string(), k.to_string()))
            .into(),
        queue_teams: [("emea", "Trust EMEA"), ("apac", "Trust APAC")]
            .map(|(q, t)| (q.to_string(), t.to_string()))
            .into(),
    }
}

fn rows(metric: Metric, by: Dimension) -> Vec<Vec<Value>> {
    let (arrived, open, consults, lookups) = (arrived(), open(), consults(), lookups());
    Inputs {
        arrived: &arrived,
        open: &open,
        consults: &consults,
        from: at("2026-11-01T00:00:00Z"),
        to: at("2026-11-04T00:00:00Z"),
        now: at("2026-11-30T00:00:00Z"),
        by,
        lookups: &lookups,
    }
    .table(metric)
    .rows
}

#[test]
fn intake_counts_each_slice_and_each_day_including_empty_ones() {
    assert_eq!(
        rows(Metric::Intake, Dimension::Type),
        [json!(["ip", 3]), json!(["csam", 1])].map(rows_of)
    );
    // Ties go by name; "(none)" sorts before letters.
    assert_eq!(
        rows(Metric::Intake, Dimension::Team),
        [
            json!(["Trust EMEA", 2]),
            json!(["(none)", 1]),
            json!(["Trust APAC", 1])
        ]
        .map(rows_of)
    );
    assert_eq!(
        rows(Metric::Intake, Dimension::PartnerKind),
        [json!(["government", 2]), json!(["law_enforcement", 2])].map(rows_of)
    );
    assert_eq!(
        rows(Metric::IntakeByDay, Dimension::Type),
        [
            json!(["2026-11-01", 2]),
            json!(["2026-11-02", 1]),
            json!(["2026-11-03", 1])
        ]
        .map(rows_of)
    );
}

fn rows_of(row: Value) -> Vec<Value> {
    row.as_array().unwrap().clone()
}

#[test]
fn backlog_is_what_is_open_now_aged_from_arrival() {
    // C: 2 Nov 06:00 → 30 Nov 00:00 = 27 days 18 hours = 2,397,600 s.
    // E: 1 Oct → 30 Nov = 60 days = 5,184,000 s.
    assert_eq!(
        rows(Metric::Backlog, Dimension::Type),
        [
            json!(["csam", 1, 0, 0, 1, 0, 2_397_600]),
            json!(["ip", 1, 0, 0, 0, 1, 5_184_000])
        ]
        .map(rows_of)
    );
}

#[test]
fn response_times_are_nearest_rank_percentiles() {
    // ip acknowledgements 300, 600, 1200: p50 is rank ⌈1.5⌉ = 2, p90 rank ⌈2.7⌉ = 3.
    assert_eq!(
        rows(Metric::ResponseTimes, Dimension::Type),
        [
            json!(["ip", 3, 600, 1200, 3600, 7200, 7200, 86_400]),
            json!(["csam", 1, 60, 60, null, null, null, null])
        ]
        .map(rows_of)
    );
}

#[test]
fn attainment_counts_judged_escalations_only() {
    assert_eq!(
        rows(Metric::Attainment, Dimension::Type),
        [
            json!(["ip", 2, 1, 0.6667, 2, 0, 1.0]),
            json!(["csam", 0, 0, null, 0, 1, 0.0])
        ]
        .map(rows_of)
    );
}

#[test]
fn reopen_rate_is_over_resolved_escalations() {
    assert_eq!(
        rows(Metric::Reopens, Dimension::Type),
        [json!(["ip", 3, 1, 0.3333]), json!(["csam", 0, 0, null])].map(rows_of)
    );
}

#[test]
fn outcome_mix_and_overturns_and_root_causes() {
    assert_eq!(
        rows(Metric::Outcomes, Dimension::Type),
        [
            json!(["ip", "reinstated", 2, 0.6667]),
            json!(["ip", "removed", 1, 0.3333])
        ]
        .map(rows_of)
    );
    assert_eq!(
        rows(Metric::Overturns, Dimension::Type),
        [
            json!(["hate_speech", "video", 2, 1, 0.5]),
            json!(["hate_speech", "(none)", 1, 1, 1.0])
        ]
        .map(rows_of)
    );
    assert_eq!(
        rows(Metric::RootCauses, Dimension::Type),
        [
            json!(["automation_false_positive", 2, 0.6667, 0.6667]),
            json!(["reviewer_error", 1, 0.3333, 1.0])
        ]
        .map(rows_of)
    );
}

#[test]
fn consult_turnaround_by_function() {
    assert_eq!(
        rows(Metric::Consults, Dimension::Type),
        [
            json!(["legal", 3, 2, 1, 3600, 7200]),
            json!(["privacy", 1, 1, 0, 60, 60])
        ]
        .map(rows_of)
    );
}

#[test]
fn partner_scorecard() {
    assert_eq!(
        rows(Metric::Partners, Dimension::Type),
        [
            json!(["ministry", "government", 2, 1, 0, 0.0, 1800, 1, 1.0]),
            json!(["police", "law_enforcement", 2, 2, 1, 0.5, 7200, 1, 0.5])
        ]
        .map(rows_of)
    );
}

#[test]
fn milestones_fold_a_timeline_once() {
    let mut m = Milestones::default();
    let t = |s| Timestamp::from_second(s).unwrap();
    m.observe(
        crate::EventKind::MessageSent,
        &json!({"automatic": true}),
        t(10),
    );
    m.observe(
        crate::EventKind::StatusChanged,
        &json!({"from": "new", "to": "triaged"}),
        t(20),
    );
    m.observe(crate::EventKind::MessageSent, &json!({"body": "hi"}), t(30));
    m.observe(
        crate::EventKind::StatusChanged,
        &json!({"from": "investigating", "to": "resolved"}),
        t(40),
    );
    m.observe(
        crate::EventKind::Reopened,
        &json!({"from": "resolved", "to": "investigating"}),
        t(50),
    );
    m.observe(
        crate::EventKind::StatusChanged,
        &json!({"from": "investigating", "to": "resolved"}),
        t(60),
    );
    assert_eq!(
        m,
        Milestones {
            acknowledged_at: Some(t(10)),
            first_response_at: Some(t(30)),
            resolved_at: Some(t(40)),
            reopens: 1,
        }
    );
}

proptest! {
    /// The nearest-rank percentile is a member of the data with at least
    /// `percent`% of the values at or below it, and fewer below it.
    #[test]
    fn percentile_is_a_member_with_the_right_rank(
        mut values in proptest::collection::vec(-1_000i64..1_000, 1..200),
        percent in 1usize..=100,
    ) {
        values.sort_unstable();
        let p = percentile(&values, percent).unwrap();
        let at_or_below = values.iter().filter(|v| **v <= p).count();
        let below = values.iter().filter(|v| **v < p).count();
        prop_assert!(at_or_below * 100 >= percent * values.len());
        prop_assert!(below * 100 < percent * values.len());
    }
}
