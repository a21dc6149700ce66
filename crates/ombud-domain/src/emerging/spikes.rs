//! Spike detection: is the intake of one segment in the current hour (or day)
//! far above what the same hour of the week (or day of the week) usually
//! brings? The baseline is the median of the same seasonal slot over the past
//! weeks and the spread its median absolute deviation, so one earlier burst
//! does not raise the bar for the next.
//!
//! Buckets are UTC and start on the hour (or at midnight); weeks start on
//! Monday 00:00 UTC. Segments whose traffic follows a local rhythm still work,
//! because a local hour of the week is a fixed UTC hour of the week, except in
//! the week a daylight-saving change moves it by one slot.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::validation::{Collector, Invalid};

/// Fewer seasonal samples than this cannot tell a spike from a bad week: the
/// median of two values is their mean and their MAD is half their distance.
pub const MIN_SAMPLES: usize = 3;

/// The largest `SpikeRule::weeks`: a baseline older than a year mixes in
/// another season's traffic.
pub const MAX_WEEKS: usize = 52;

/// Scales a MAD to the standard deviation of normal data (1 / Φ⁻¹(3/4)), so
/// that `z` reads like a familiar z-score.
pub const MAD_SCALE: f64 = 1.4826;

const SECONDS_PER_HOUR: i64 = 3_600;
const SECONDS_PER_DAY: i64 = 86_400;
/// 1970-01-01, day 0 of the Unix epoch, was a Thursday: day 3 of a week that
/// starts on Monday.
const EPOCH_WEEKDAY: i64 = 3;

/// The width of the buckets a series is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// Hourly buckets; the seasonal slot is the hour of the week (168 slots).
    Hour,
    /// Daily buckets; the seasonal slot is the day of the week (7 slots).
    Day,
}

impl Granularity {
    pub const ALL: [Granularity; 2] = [Granularity::Hour, Granularity::Day];

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
        }
    }

    pub fn parse(value: &str) -> Option<Granularity> {
        Granularity::ALL.into_iter().find(|g| g.as_str() == value)
    }

    /// How long a bucket lasts: 3,600 or 86,400 seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Granularity::Hour => SECONDS_PER_HOUR,
            Granularity::Day => SECONDS_PER_DAY,
        }
    }

    /// How many seasonal slots a week has: 168 hours or 7 days.
    pub fn slots(self) -> usize {
        match self {
            Granularity::Hour => 168,
            Granularity::Day => 7,
        }
    }

    /// The bucket holding `at`, counted from the Unix epoch (negative before).
    fn index(self, at: Timestamp) -> i64 {
        // `as_second` truncates towards zero; a negative instant with a
        // fraction belongs to the second before.
        let second = at.as_second() - i64::from(at.subsec_nanosecond() < 0);
        second.div_euclid(self.seconds())
    }

    /// The start of the bucket holding `at`. Only the first hours of year
    /// -9999, whose bucket starts before `Timestamp::MIN`, get `Timestamp::MIN`.
    pub fn bucket_start(self, at: Timestamp) -> Timestamp {
        Timestamp::from_second(self.index(at) * self.seconds()).unwrap_or(Timestamp::MIN)
    }

    /// The seasonal slot of `at`: its hour of the week (0 = Monday
    /// 00:00–00:59 UTC, 167 = Sunday 23:00–23:59 UTC) or its day of the week
    /// (0 = Monday, 6 = Sunday).
    pub fn slot(self, at: Timestamp) -> usize {
        let index = self.index(at);
        let slot = match self {
            Granularity::Hour => {
                let day = index.div_euclid(24);
                (day + EPOCH_WEEKDAY).rem_euclid(7) * 24 + index.rem_euclid(24)
            }
            Granularity::Day => (index + EPOCH_WEEKDAY).rem_euclid(7),
        };
        // In 0..168 by construction.
        slot as usize
    }
}

/// Counts `events` into buckets: `(bucket start, count)` in time order, one
/// entry per bucket that holds at least one event. Empty buckets are left out;
/// `score` reads a bucket missing inside the history as zero.
pub fn bucket_counts(events: &[Timestamp], granularity: Granularity) -> Vec<(Timestamp, u64)> {
    let mut indexes: Vec<i64> = events.iter().map(|&at| granularity.index(at)).collect();
    indexes.sort_unstable();
    let mut counts: Vec<(Timestamp, u64)> = Vec::new();
    let mut previous = None;
    for index in indexes {
        if previous == Some(index) {
            if let Some(last) = counts.last_mut() {
                last.1 += 1;
            }
        } else {
            let start =
                Timestamp::from_second(index * granularity.seconds()).unwrap_or(Timestamp::MIN);
            counts.push((start, 1));
            previous = Some(index);
        }
    }
    counts
}

/// When a segment's current count is a spike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct SpikeRule {
    /// The robust z-score at or above which a count is a spike. 4 is far out
    /// in any tail; with the Poisson floor it asks for roughly twice the
    /// baseline at a baseline of 16.
    pub threshold: f64,
    /// The fewest events in the current bucket that can be a spike: 1 or 2
    /// reports in a quiet segment are not an emerging issue whatever the z.
    pub min_count: u64,
    /// The fewest events above the baseline median that can be a spike, so
    /// that a segment with a tiny, steady baseline needs a real excess.
    pub min_excess: u64,
    /// How many past weeks of the same seasonal slot form the baseline. 8
    /// weeks give a median that ignores two unusual weeks and still follows
    /// a trend within a couple of months.
    pub weeks: usize,
}

impl Default for SpikeRule {
    fn default() -> Self {
        SpikeRule {
            threshold: 4.0,
            min_count: 5,
            min_excess: 3,
            weeks: 8,
        }
    }
}

impl SpikeRule {
    /// Checks the rule, naming every field out of bounds.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        if !(self.threshold.is_finite() && (1.0..=100.0).contains(&self.threshold)) {
            errors.push(
                "threshold",
                "use a z-score between 1 and 100; below 1 ordinary noise is a spike",
            );
        }
        if !(1..=1_000_000).contains(&self.min_count) {
            errors.push("min_count", "use a count between 1 and 1000000");
        }
        if !(1..=1_000_000).contains(&self.min_excess) {
            errors.push("min_excess", "use a count between 1 and 1000000");
        }
        if !(MIN_SAMPLES..=MAX_WEEKS).contains(&self.weeks) {
            errors.push(
                "weeks",
                format!(
                    "use between {MIN_SAMPLES} and {MAX_WEEKS} weeks: fewer cannot form a \
                     baseline, more mix in another season"
                ),
            );
        }
        errors.finish()
    }
}

/// Why a count is or is not a spike; the first reason that applies, in the
/// order below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Fewer than `MIN_SAMPLES` seasonal samples lie inside the history.
    TooLittleHistory,
    /// `z` is below the rule's threshold.
    WithinBaseline,
    /// The count is below the rule's `min_count`.
    TooFewEvents,
    /// The count exceeds the median by less than the rule's `min_excess`.
    TooSmallExcess,
    Spike,
}

/// How the current count compares with its seasonal baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Score {
    /// The median of the seasonal samples (0 without samples).
    pub baseline_median: f64,
    /// Their median absolute deviation times `MAD_SCALE`.
    pub scaled_mad: f64,
    /// What `z` divides by: `scaled_mad`, or the floor
    /// `max(1, √baseline_median)` when that is larger.
    pub scale: f64,
    /// `(current − baseline_median) / scale`; always finite.
    pub z: f64,
    pub spike: bool,
    pub verdict: Verdict,
    /// How many seasonal samples formed the baseline.
    pub samples: usize,
}

/// Scores the `current` bucket's count against the same seasonal slot in the
/// `weeks` weeks before it.
///
/// Timestamps may lie anywhere in their bucket. History entries in the same
/// bucket are added up; entries in or after the current bucket are ignored.
///
/// Missing buckets: the history is taken to cover every bucket from its
/// earliest entry up to the current one, so a seasonal slot inside that
/// window with no entry counted zero events (stores keep only non-empty
/// buckets). A slot before the earliest entry is not a sample at all: the
/// segment may not have been watched then. To declare a quiet past, include a
/// zero entry at its start.
pub fn score(
    history: &[(Timestamp, u64)],
    current: (Timestamp, u64),
    granularity: Granularity,
    rule: &SpikeRule,
) -> Score {
    let now = granularity.index(current.0);
    let period = granularity.slots() as i64;
    let earlier: Vec<(i64, u64)> = history
        .iter()
        .map(|&(at, count)| (granularity.index(at), count))
        .filter(|&(index, _)| index < now)
        .collect();
    // The number of whole weeks between the earliest entry and now bounds
    // the samples, so an absurd `weeks` cannot allocate more than the history
    // spans.
    let weeks_seen = earlier
        .iter()
        .map(|&(index, _)| (now - index) / period)
        .max()
        .unwrap_or(0);
    let lags = rule
        .weeks
        .min(usize::try_from(weeks_seen).unwrap_or(usize::MAX));
    let mut samples = vec![0u64; lags];
    for (index, count) in earlier {
        let distance = now - index;
        if distance % period == 0 {
            // `distance / period` is in 1..=weeks_seen.
            if let Some(sample) = samples.get_mut((distance / period) as usize - 1) {
                *sample = sample.saturating_add(count);
            }
        }
    }
    assess(&mut samples, current.1, rule)
}

/// The robust statistics and the verdict, from the seasonal samples.
fn assess(samples: &mut [u64], current: u64, rule: &SpikeRule) -> Score {
    samples.sort_unstable();
    let baseline_median = median_sorted(samples);
    let mut deviations: Vec<f64> = samples
        .iter()
        .map(|&x| (x as f64 - baseline_median).abs())
        .collect();
    deviations.sort_unstable_by(f64::total_cmp);
    let scaled_mad = MAD_SCALE * median_of_sorted(&deviations);
    // The floor. A MAD can be zero (eight weeks of exactly 10) or tiny, and
    // dividing by it would make any wobble infinitely surprising. Counts of
    // independent reports are at least as variable as a Poisson count, whose
    // standard deviation is √mean, so the spread is never taken below
    // √median; and never below one event, which also covers a median of 0
    // (a first burst in a silent segment then scores its own size, and
    // `min_count` decides).
    let scale = scaled_mad.max(baseline_median.sqrt()).max(1.0);
    let excess = current as f64 - baseline_median;
    let z = excess / scale;
    // Written so that an unvalidated NaN threshold flags nothing.
    let surprising = z >= rule.threshold;
    let verdict = if samples.len() < MIN_SAMPLES {
        Verdict::TooLittleHistory
    } else if !surprising {
        Verdict::WithinBaseline
    } else if current < rule.min_count {
        Verdict::TooFewEvents
    } else if excess < rule.min_excess as f64 {
        Verdict::TooSmallExcess
    } else {
        Verdict::Spike
    };
    Score {
        baseline_median,
        scaled_mad,
        scale,
        z,
        spike: verdict == Verdict::Spike,
        verdict,
        samples: samples.len(),
    }
}

/// The median of sorted counts; 0 for none.
fn median_sorted(sorted: &[u64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2] as f64,
        _ => (sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0,
    }
}

/// The median of sorted reals; 0 for none.
fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use jiff::ToSpan;
    use jiff::tz::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::emerging::SplitMix64;

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    /// Scores `current` against the given seasonal samples, oldest first, one
    /// week apart at the same hour.
    fn score_weekly(samples: &[u64], current: u64) -> Score {
        let now = ts("2024-03-04T10:00:00Z");
        let history: Vec<(Timestamp, u64)> = samples
            .iter()
            .rev()
            .enumerate()
            .map(|(weeks_ago, &count)| (now - (168 * (weeks_ago as i64 + 1)).hours(), count))
            .collect();
        score(
            &history,
            (now, current),
            Granularity::Hour,
            &SpikeRule::default(),
        )
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-3
    }

    #[test]
    fn median_and_mad_of_an_even_sample_with_the_poisson_floor() {
        // Sorted: 2 3 3 3 4 4 5 10 → median (3 + 4) / 2 = 3.5.
        // Deviations: 1.5 0.5 0.5 0.5 0.5 0.5 1.5 6.5 → sorted
        // 0.5 0.5 0.5 0.5 0.5 1.5 1.5 6.5 → MAD 0.5 → scaled 0.7413.
        // Floor √3.5 = 1.8708 wins; z = (20 − 3.5) / 1.8708 = 8.8197.
        let s = score_weekly(&[2, 3, 3, 4, 10, 5, 3, 4], 20);
        assert_eq!(s.samples, 8);
        assert!(close(s.baseline_median, 3.5));
        assert!(close(s.scaled_mad, 0.7413));
        assert!(close(s.scale, 1.8708));
        assert!(close(s.z, 8.8197), "{s:?}");
        assert!(s.spike);
        assert_eq!(s.verdict, Verdict::Spike);
    }

    #[test]
    fn median_and_mad_of_an_odd_sample_where_the_mad_wins() {
        // Sorted: 10 20 30 40 50 → median 30. Deviations 20 10 0 10 20 →
        // sorted 0 10 10 20 20 → MAD 10 → scaled 14.826 > √30 = 5.477.
        // z = (100 − 30) / 14.826 = 4.7214.
        let s = score_weekly(&[50, 10, 40, 20, 30], 100);
        assert_eq!(s.samples, 5);
        assert!(close(s.baseline_median, 30.0));
        assert!(close(s.scaled_mad, 14.826));
        assert!(close(s.scale, 14.826));
        assert!(close(s.z, 4.7214), "{s:?}");
        assert!(s.spike);
        // z = (85 − 30) / 14.826 = 3.7097: within the baseline.
        let s = score_weekly(&[50, 10, 40, 20, 30], 85);
        assert!(close(s.z, 3.7097));
        assert_eq!(s.verdict, Verdict::WithinBaseline);
    }

    #[test]
    fn a_silent_segment_scores_against_the_floor_of_one() {
        // Median 0, MAD 0, floor max(1, √0) = 1: z is the count itself.
        let s = score_weekly(&[0, 0, 0, 0], 4);
        assert!(close(s.z, 4.0));
        assert_eq!(s.verdict, Verdict::TooFewEvents);
        let s = score_weekly(&[0, 0, 0, 0], 5);
        assert_eq!(s.verdict, Verdict::Spike);
    }

    #[test]
    fn a_small_excess_over_a_steady_baseline_is_not_a_spike() {
        // Median 1, MAD 0, floor 1: 5 events give z = 4, enough for the
        // default rule, but their excess 5 − 1 = 4 is short of a rule that
        // asks for 5.
        let mut samples = [1, 1, 1, 1];
        let s = assess(&mut samples, 5, &SpikeRule::default());
        assert!(close(s.z, 4.0));
        assert_eq!(s.verdict, Verdict::Spike);
        let rule = SpikeRule {
            min_excess: 5,
            ..SpikeRule::default()
        };
        let s = assess(&mut samples, 5, &rule);
        assert_eq!(s.verdict, Verdict::TooSmallExcess);
    }

    #[test]
    fn too_little_history_is_never_a_spike_and_says_so() {
        let s = score_weekly(&[1, 1], 500);
        assert_eq!(s.samples, 2);
        assert!(!s.spike);
        assert_eq!(s.verdict, Verdict::TooLittleHistory);
        let s = score(
            &[],
            (ts("2024-03-04T10:00:00Z"), 500),
            Granularity::Hour,
            &SpikeRule::default(),
        );
        assert_eq!((s.samples, s.verdict), (0, Verdict::TooLittleHistory));
    }

    #[test]
    fn missing_buckets_inside_the_history_count_as_zero_and_before_it_not_at_all() {
        let now = ts("2024-03-04T10:00:00Z");
        // Observed since ten weeks ago (a zero entry at another hour), with
        // one non-empty bucket at this hour three weeks ago: all 8 weeks are
        // samples, seven of them zero.
        let history = [
            (now - (168 * 10 + 5).hours(), 0),
            (now - (168 * 3).hours(), 9),
        ];
        let s = score(&history, (now, 9), Granularity::Hour, &SpikeRule::default());
        assert_eq!(s.samples, 8);
        assert!(close(s.baseline_median, 0.0));
        assert!(s.spike);
        // Observed only since four and a bit weeks ago: four samples.
        let history = [
            (now - (168 * 4 + 5).hours(), 2),
            (now - (168 * 3).hours(), 9),
        ];
        let s = score(&history, (now, 9), Granularity::Hour, &SpikeRule::default());
        assert_eq!(s.samples, 4);
    }

    #[test]
    fn history_in_the_same_bucket_adds_up_and_the_current_bucket_is_ignored() {
        let now = ts("2024-03-04T10:00:00Z");
        let week = 168.hours();
        let history = [
            (now - week, 3),
            (now - week + 20.minutes(), 4),
            (now - week * 2, 7),
            (now - week * 3, 7),
            (now + 5.minutes(), 1_000),
        ];
        let s = score(
            &history,
            (now + 30.minutes(), 7),
            Granularity::Hour,
            &SpikeRule::default(),
        );
        assert_eq!(s.samples, 3);
        assert!(close(s.baseline_median, 7.0));
        assert!(close(s.z, 0.0));
    }

    #[test]
    fn slots_turn_over_at_monday_midnight_utc() {
        // 2024-01-01 was a Monday.
        let cases = [
            ("2023-12-31T23:59:59Z", 167, 6),
            ("2024-01-01T00:00:00Z", 0, 0),
            ("2024-01-01T00:59:59.999Z", 0, 0),
            ("2024-01-01T01:00:00Z", 1, 0),
            ("2024-01-03T13:30:00Z", 2 * 24 + 13, 2),
            ("2024-01-07T23:00:00Z", 167, 6),
            ("2024-01-08T00:00:00Z", 0, 0),
            // Before the epoch, where division must round down.
            ("1969-12-29T00:00:00Z", 0, 0),
            ("1969-12-31T23:59:59.5Z", 2 * 24 + 23, 2),
            ("1970-01-01T00:00:00Z", 3 * 24, 3),
        ];
        for (at, hour_slot, day_slot) in cases {
            assert_eq!(Granularity::Hour.slot(ts(at)), hour_slot, "{at}");
            assert_eq!(Granularity::Day.slot(ts(at)), day_slot, "{at}");
        }
    }

    #[test]
    fn granularities_are_named_as_stored_and_shown() {
        for (granularity, seconds) in [(Granularity::Hour, 3_600), (Granularity::Day, 86_400)] {
            assert_eq!(Granularity::parse(granularity.as_str()), Some(granularity));
            assert_eq!(
                serde_json::to_value(granularity).unwrap(),
                granularity.as_str()
            );
            assert_eq!(granularity.seconds(), seconds);
        }
        assert_eq!(Granularity::parse("week"), None);
    }

    #[test]
    fn buckets_start_on_the_hour_and_at_midnight_utc() {
        let at = ts("1969-12-31T23:59:59.5Z");
        assert_eq!(
            Granularity::Hour.bucket_start(at),
            ts("1969-12-31T23:00:00Z")
        );
        assert_eq!(
            Granularity::Day.bucket_start(at),
            ts("1969-12-31T00:00:00Z")
        );
        assert_eq!(
            Granularity::Day.bucket_start(Timestamp::MIN),
            Timestamp::MIN
        );
        let events = [
            ts("2024-01-01T10:59:00Z"),
            ts("2024-01-01T09:00:00Z"),
            ts("2024-01-01T10:00:00Z"),
            ts("2024-01-01T09:30:00Z"),
            ts("2024-01-01T10:15:00Z"),
        ];
        assert_eq!(
            bucket_counts(&events, Granularity::Hour),
            vec![
                (ts("2024-01-01T09:00:00Z"), 2),
                (ts("2024-01-01T10:00:00Z"), 3)
            ]
        );
        assert_eq!(
            bucket_counts(&events, Granularity::Day),
            vec![(ts("2024-01-01T00:00:00Z"), 5)]
        );
        assert!(bucket_counts(&[], Granularity::Day).is_empty());
    }

    /// A Poisson draw by Knuth's product of uniforms; fine for small means.
    fn poisson(rng: &mut SplitMix64, mean: f64) -> u64 {
        let limit = (-mean).exp();
        let mut product = 1.0;
        let mut count = 0;
        loop {
            product *= (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            if product < limit {
                return count;
            }
            count += 1;
        }
    }

    /// Nine weeks of hourly counts with a daily rhythm (quiet nights, busy
    /// afternoons) and Poisson noise, starting on a Monday.
    fn noisy_hours(seed: u64) -> Vec<(Timestamp, u64)> {
        let start = ts("2024-01-01T00:00:00Z");
        let mut rng = SplitMix64(seed);
        (0..168 * 9)
            .map(|hour: i64| {
                let mean = if (9..18).contains(&(hour % 24)) {
                    30.0
                } else {
                    6.0
                };
                (start + hour.hours(), poisson(&mut rng, mean))
            })
            .collect()
    }

    #[test]
    fn a_noisy_series_with_a_daily_rhythm_has_no_spikes() {
        for seed in 1..=3 {
            let series = noisy_hours(seed);
            let (history, last_week) = series.split_at(168 * 8);
            let spikes: Vec<_> = last_week
                .iter()
                .map(|&current| score(history, current, Granularity::Hour, &SpikeRule::default()))
                .filter(|s| s.spike)
                .collect();
            assert!(spikes.is_empty(), "seed {seed}: {spikes:?}");
        }
    }

    #[test]
    fn a_flat_series_has_no_spikes_and_a_planted_jump_is_one() {
        let start = ts("2024-01-01T00:00:00Z");
        let history: Vec<_> = (0..168 * 8).map(|h: i64| (start + h.hours(), 10)).collect();
        let now = start + (168 * 8 + 14).hours();
        let flat = score(
            &history,
            (now, 14),
            Granularity::Hour,
            &SpikeRule::default(),
        );
        // Median 10, MAD 0, floor √10: z = 4 / 3.162 = 1.26.
        assert!(close(flat.z, 1.2649));
        assert!(!flat.spike);
        let jump = score(
            &history,
            (now, 40),
            Granularity::Hour,
            &SpikeRule::default(),
        );
        assert!(jump.spike, "{jump:?}");

        let noisy = noisy_hours(7);
        let (history, _) = noisy.split_at(168 * 8);
        // Monday 15:00 of the ninth week: the baseline is about 30.
        let now = start + (168 * 8 + 15).hours();
        let busy = score(history, (now, 36), Granularity::Hour, &SpikeRule::default());
        assert!(!busy.spike, "{busy:?}");
        let jump = score(history, (now, 90), Granularity::Hour, &SpikeRule::default());
        assert!(jump.spike, "{jump:?}");
    }

    #[test]
    fn daily_series_compare_a_saturday_with_saturdays() {
        // Weekdays bring 100 escalations, weekends 10.
        let start = ts("2024-01-01T00:00:00Z");
        let history: Vec<_> = (0..7 * 8)
            .map(|day: i64| {
                let count = if day % 7 >= 5 { 10 } else { 100 };
                (start + (day * 24).hours(), count)
            })
            .collect();
        let monday = start + (8 * 7 * 24).hours();
        let saturday = monday + (5 * 24).hours();
        assert_eq!(Granularity::Day.slot(saturday), 5);
        let rule = SpikeRule::default();
        assert!(score(&history, (saturday, 40), Granularity::Day, &rule).spike);
        assert!(!score(&history, (monday, 110), Granularity::Day, &rule).spike);
    }

    #[test]
    fn the_default_rule_is_valid_and_bad_rules_name_each_field() {
        assert_eq!(SpikeRule::default().validate(), Ok(()));
        let rule: SpikeRule = serde_json::from_str(r#"{"threshold": 3.5}"#).unwrap();
        assert_eq!(rule.weeks, 8);
        assert!(serde_json::from_str::<SpikeRule>(r#"{"treshold": 3.5}"#).is_err());
        let bad = SpikeRule {
            threshold: f64::NAN,
            min_count: 0,
            min_excess: 0,
            weeks: 2,
        };
        let Invalid(errors) = bad.validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["threshold", "min_count", "min_excess", "weeks"]);
    }

    fn history_strategy() -> impl Strategy<Value = Vec<(i64, u64)>> {
        prop::collection::vec(
            (-2_000i64..2_000, prop_oneof![0u64..50, any::<u64>()]),
            0..300,
        )
    }

    proptest! {
        #[test]
        fn scores_are_finite_for_any_counts(
            history in history_strategy(),
            current in any::<u64>(),
            weeks in 0usize..60,
            daily in any::<bool>(),
        ) {
            let now = ts("2024-03-04T10:00:00Z");
            let granularity = if daily { Granularity::Day } else { Granularity::Hour };
            let history: Vec<_> = history
                .into_iter()
                .map(|(hours, count)| (now - hours.hours(), count))
                .collect();
            let rule = SpikeRule { weeks, ..SpikeRule::default() };
            let s = score(&history, (now, current), granularity, &rule);
            prop_assert!(s.z.is_finite() && s.baseline_median.is_finite());
            prop_assert!(s.scale >= 1.0 && s.scaled_mad >= 0.0);
            prop_assert!(s.samples <= weeks);
            prop_assert_eq!(s.spike, s.verdict == Verdict::Spike);
        }

        #[test]
        fn z_and_the_verdict_grow_with_the_current_count(
            history in history_strategy(),
            a in 0u64..10_000,
            b in 0u64..10_000,
        ) {
            let now = ts("2024-03-04T10:00:00Z");
            let history: Vec<_> = history
                .into_iter()
                .map(|(hours, count)| (now - hours.hours(), count))
                .collect();
            let (low, high) = (a.min(b), a.max(b));
            let rule = SpikeRule::default();
            let low = score(&history, (now, low), Granularity::Hour, &rule);
            let high = score(&history, (now, high), Granularity::Hour, &rule);
            prop_assert!(low.z <= high.z);
            prop_assert!(!low.spike || high.spike);
        }

        #[test]
        fn slots_agree_with_the_utc_calendar(second in -10_000_000_000i64..10_000_000_000) {
            let at = Timestamp::from_second(second).unwrap();
            let civil = at.to_zoned(TimeZone::UTC);
            let weekday = civil.weekday().to_monday_zero_offset() as usize;
            prop_assert_eq!(Granularity::Day.slot(at), weekday);
            prop_assert_eq!(Granularity::Hour.slot(at), weekday * 24 + civil.hour() as usize);
            prop_assert_eq!(
                Granularity::Hour.bucket_start(at),
                civil.start_of_day().unwrap().timestamp() + (civil.hour() as i64).hours()
            );
        }
    }
}
