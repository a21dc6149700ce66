//! The spike worker: when an hour or a day (UTC) closes, counts its intake
//! per segment and scores every segment against the same hour of the week
//! (or day of the week) over the rule's past weeks
//! (`ombud_domain::emerging::segments::detect`). Each spike becomes an
//! alert, stored with its `spike_detected` webhook event in one
//! transaction; the manager email goes out through the webhook worker.
//!
//! Every node runs it and evaluates every bucket: the store records one
//! alert per segment, granularity and bucket, and only the node whose
//! insert won announces it. Buckets that closed while no node ran are
//! caught up, a week back at most.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ombud_domain::emerging::segments::{detect, tally};
use ombud_domain::emerging::spikes::{Granularity, SpikeRule};
use ombud_store::{NewSpikeAlert, SpikeAlert, StoreError};

use crate::AppState;
use crate::routes::spikes::rule;

/// How often the worker looks for closed buckets.
pub const INTERVAL: Duration = Duration::from_secs(60);
/// How far back buckets that closed while no node ran are still evaluated.
pub const CATCH_UP: SignedDuration = SignedDuration::from_hours(7 * 24);

const WEEK: SignedDuration = SignedDuration::from_hours(7 * 24);

/// What one pass did.
#[derive(Debug)]
pub struct Evaluated {
    /// Buckets that closed up to this instant were evaluated.
    pub until: Timestamp,
    /// The alerts this pass recorded (not those another pass or node had).
    pub raised: Vec<SpikeAlert>,
}

/// Evaluates every hour and day that closed after `after` (but at most
/// [`CATCH_UP`] ago) and by now.
pub async fn evaluate_closed(state: &AppState, after: Timestamp) -> Result<Evaluated, StoreError> {
    let until = state.clock.now();
    let mut raised = Vec::new();
    let Some(first) = state.stores.escalations.first_received().await? else {
        return Ok(Evaluated { until, raised });
    };
    let (rule, _) = rule(state).await?;
    let after = after.max(until - CATCH_UP);
    for granularity in Granularity::ALL {
        let width = SignedDuration::from_secs(granularity.seconds());
        // The first bucket that closes after `after`.
        let mut bucket = granularity.bucket_start(after);
        while bucket + width <= until {
            raised.extend(evaluate(state, granularity, bucket, &rule, first, until).await?);
            bucket += width;
        }
    }
    Ok(Evaluated { until, raised })
}

/// The segments' intake in the bucket at `start`, tallied.
async fn counts(
    state: &AppState,
    granularity: Granularity,
    start: Timestamp,
) -> Result<std::collections::BTreeMap<ombud_domain::emerging::segments::Segment, u64>, StoreError>
{
    let end = start + SignedDuration::from_secs(granularity.seconds());
    let counts = state
        .stores
        .escalations
        .intake_counts(granularity, start, end)
        .await?;
    Ok(tally(&counts))
}

/// Scores the bucket at `bucket` and records its spikes.
async fn evaluate(
    state: &AppState,
    granularity: Granularity,
    bucket: Timestamp,
    rule: &SpikeRule,
    first_received: Timestamp,
    now: Timestamp,
) -> Result<Vec<SpikeAlert>, StoreError> {
    let current = counts(state, granularity, bucket).await?;
    if current.is_empty() {
        return Ok(Vec::new());
    }
    // A past week counts from the first whose bucket ends after intake began.
    let width = SignedDuration::from_secs(granularity.seconds());
    let mut past = Vec::new();
    for weeks in 1..=rule.weeks {
        let start = bucket - WEEK * (weeks as i32);
        if start + width <= first_received {
            break;
        }
        past.push(counts(state, granularity, start).await?);
    }
    let mut raised = Vec::new();
    for found in detect(bucket, granularity, &current, &past, rule) {
        let alert = NewSpikeAlert {
            segment: found.segment,
            granularity,
            bucket,
            count: found.count,
            baseline: found.score.baseline_median,
            spread: found.score.scale,
            score: found.score.z,
            samples: u32::try_from(found.score.samples).unwrap_or(u32::MAX),
            created_at: now,
        };
        if let Some(recorded) = state.stores.spikes.record(&alert).await? {
            tracing::info!(
                id = recorded.id,
                segment = recorded.alert.segment.label(),
                granularity = granularity.as_str(),
                %bucket,
                count = recorded.alert.count,
                baseline = recorded.alert.baseline,
                "intake spike"
            );
            raised.push(recorded);
        }
    }
    Ok(raised)
}

/// Runs [`evaluate_closed`] every [`INTERVAL`] until dropped, from the
/// buckets that closed in the last [`CATCH_UP`] on.
pub(crate) async fn run(state: AppState) {
    let mut after = state.clock.now() - CATCH_UP;
    let mut ticks = tokio::time::interval(INTERVAL);
    loop {
        ticks.tick().await;
        match evaluate_closed(&state, after).await {
            Ok(evaluated) => after = evaluated.until,
            // The same buckets are tried again at the next tick.
            Err(error) => tracing::warn!(%error, "could not evaluate intake spikes"),
        }
    }
}
