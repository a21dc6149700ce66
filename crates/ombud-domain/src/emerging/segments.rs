//! The segments intake is watched in for spikes — type × surface × country
//! × policy — and the check a closed bucket gets: every segment with intake
//! in it, scored by `spikes::score` against the same slot of past weeks.
//!
//! Nothing names a policy when an escalation arrives; its decision does,
//! days later. So an escalation counts in two segments: its roll-up (any
//! policy), which sees a surge the hour it arrives, and, once decided, its
//! policy's. Undecided escalations have no policy segment of their own: the
//! share of a bucket still undecided shrinks as it ages, so "no policy yet"
//! would be far above its own (older, since decided) baseline every hour.
//! A policy segment is the other way round: when its bucket closes, few of
//! its escalations are decided yet, which can only hide a spike, never
//! invent one. docs/emerging.md says the same for users.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::spikes::{Granularity, Score, SpikeRule, score};

/// How a segment shows a missing value: an escalation without subjects has
/// no surface.
pub const NONE: &str = "(none)";

const WEEK: SignedDuration = SignedDuration::from_hours(7 * 24);

/// A slice of intake a spike is looked for in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Segment {
    /// The escalation type code.
    #[serde(rename = "type")]
    pub escalation_type: String,
    /// The product surface of the escalation's first subject; `(none)` when
    /// it names no subject.
    pub surface: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// The policy its decisions applied; `null`: any policy, decided or not
    /// (the roll-up).
    pub policy: Option<String>,
}

impl Segment {
    /// `account_access · social · JP · any policy`.
    pub fn label(&self) -> String {
        format!(
            "{} · {} · {} · {}",
            self.escalation_type,
            self.surface,
            self.country,
            self.policy.as_deref().unwrap_or("any policy")
        )
    }
}

/// Escalations received in one bucket that share type, surface, country
/// and policy, as the store counts them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IntakeCount {
    /// The start of the bucket.
    pub bucket: Timestamp,
    pub escalation_type: String,
    /// The first subject's surface; `None` without subjects.
    pub surface: Option<String>,
    pub country: String,
    /// The decision's policy; `None` while undecided or decided without one.
    pub policy: Option<String>,
    pub count: u64,
}

impl IntakeCount {
    /// The segments these escalations count in: the roll-up, and their
    /// policy's once decided.
    fn segments(&self) -> impl Iterator<Item = Segment> + '_ {
        let roll_up = Segment {
            escalation_type: self.escalation_type.clone(),
            surface: self.surface.clone().unwrap_or_else(|| NONE.to_string()),
            country: self.country.clone(),
            policy: None,
        };
        let decided = self.policy.as_ref().map(|policy| Segment {
            policy: Some(policy.clone()),
            ..roll_up.clone()
        });
        std::iter::once(roll_up).chain(decided)
    }
}

/// Adds up the counts of one bucket per segment.
pub fn tally(counts: &[IntakeCount]) -> BTreeMap<Segment, u64> {
    let mut tallied = BTreeMap::new();
    for count in counts {
        for segment in count.segments() {
            *tallied.entry(segment).or_insert(0) += count.count;
        }
    }
    tallied
}

/// A segment whose count in a bucket is a spike.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub segment: Segment,
    pub count: u64,
    pub score: Score,
}

/// The spikes among the segments with intake in the bucket starting at
/// `bucket`. `past[k]` holds the counts of the same slot `k + 1` weeks
/// earlier, for each week since intake began (at most `rule.weeks`): a
/// segment missing from an observed week had none then, while a week before
/// intake began is no sample at all.
pub fn detect(
    bucket: Timestamp,
    granularity: Granularity,
    current: &BTreeMap<Segment, u64>,
    past: &[BTreeMap<Segment, u64>],
    rule: &SpikeRule,
) -> Vec<Detection> {
    let week_ago = |weeks: usize| bucket - WEEK * (weeks as i32);
    current
        .iter()
        .filter_map(|(segment, &count)| {
            // A zero at the first observed week declares the quiet weeks
            // between it and now; `score` reads missing buckets as zero.
            let history: Vec<(Timestamp, u64)> = std::iter::once((week_ago(past.len()), 0))
                .chain(past.iter().enumerate().filter_map(|(k, week)| {
                    week.get(segment).map(|&count| (week_ago(k + 1), count))
                }))
                .collect();
            let score = score(&history, (bucket, count), granularity, rule);
            score.spike.then(|| Detection {
                segment: segment.clone(),
                count,
                score,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emerging::spikes::Verdict;

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    fn intake(surface: Option<&str>, policy: Option<&str>, count: u64) -> IntakeCount {
        IntakeCount {
            bucket: ts("2026-11-23T10:00:00Z"),
            escalation_type: "scam".into(),
            surface: surface.map(String::from),
            country: "JP".into(),
            policy: policy.map(String::from),
            count,
        }
    }

    fn segment(surface: &str, policy: Option<&str>) -> Segment {
        Segment {
            escalation_type: "scam".into(),
            surface: surface.into(),
            country: "JP".into(),
            policy: policy.map(String::from),
        }
    }

    #[test]
    fn decided_escalations_count_in_their_roll_up_and_their_policy() {
        let tallied = tally(&[
            intake(Some("ads"), None, 4),
            intake(Some("ads"), Some("fraud"), 2),
            intake(Some("ads"), Some("spam"), 1),
            intake(None, None, 3),
        ]);
        let expected: BTreeMap<Segment, u64> = [
            (segment("ads", None), 7),
            (segment("ads", Some("fraud")), 2),
            (segment("ads", Some("spam")), 1),
            (segment(NONE, None), 3),
        ]
        .into_iter()
        .collect();
        assert_eq!(tallied, expected);
        assert_eq!(
            segment(NONE, None).label(),
            "scam · (none) · JP · any policy"
        );
        assert_eq!(
            segment("ads", Some("fraud")).label(),
            "scam · ads · JP · fraud"
        );
    }

    fn weeks(counts: &[(Segment, u64)], n: usize) -> Vec<BTreeMap<Segment, u64>> {
        vec![counts.iter().cloned().collect(); n]
    }

    #[test]
    fn only_the_segment_far_above_its_baseline_is_a_spike() {
        let bucket = ts("2026-11-23T10:00:00Z");
        let past = weeks(
            &[(segment("ads", None), 3), (segment("social", None), 10)],
            8,
        );
        let current: BTreeMap<Segment, u64> =
            [(segment("ads", None), 15), (segment("social", None), 12)]
                .into_iter()
                .collect();
        let found = detect(
            bucket,
            Granularity::Hour,
            &current,
            &past,
            &SpikeRule::default(),
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].segment, segment("ads", None));
        assert_eq!(found[0].count, 15);
        assert_eq!(found[0].score.baseline_median, 3.0);
        assert_eq!(found[0].score.samples, 8);
    }

    #[test]
    fn a_segment_absent_from_observed_weeks_has_a_zero_baseline() {
        // Intake has been watched for four weeks, in other segments only:
        // a first burst of six is a spike, and a pair is too few.
        let bucket = ts("2026-11-23T10:00:00Z");
        let past = weeks(&[(segment("social", None), 10)], 4);
        let current: BTreeMap<Segment, u64> = [(segment("ads", None), 6)].into_iter().collect();
        let rule = SpikeRule::default();
        let found = detect(bucket, Granularity::Hour, &current, &past, &rule);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].score.samples, found[0].score.baseline_median),
            (4, 0.0)
        );
        let pair: BTreeMap<Segment, u64> = [(segment("ads", None), 2)].into_iter().collect();
        assert!(detect(bucket, Granularity::Hour, &pair, &past, &rule).is_empty());
    }

    #[test]
    fn without_enough_observed_weeks_nothing_is_a_spike() {
        let bucket = ts("2026-11-23T00:00:00Z");
        let past = weeks(&[(segment("ads", None), 1)], 2);
        let current: BTreeMap<Segment, u64> = [(segment("ads", None), 500)].into_iter().collect();
        let rule = SpikeRule::default();
        assert!(detect(bucket, Granularity::Day, &current, &past, &rule).is_empty());
        assert!(detect(bucket, Granularity::Day, &current, &[], &rule).is_empty());
        // The same burst with a third week behind it is one.
        let past = weeks(&[(segment("ads", None), 1)], 3);
        let found = detect(bucket, Granularity::Day, &current, &past, &rule);
        assert_eq!(found[0].score.verdict, Verdict::Spike);
    }
}
