//! Spike alerts: a segment's intake in one closed hour or day far above its
//! seasonal baseline, as found by the spike worker. An alert is the record
//! of its own detection (escalation events belong to one escalation; an
//! alert to none): who raised it (the system), when, and who acknowledged
//! it and when.

use async_trait::async_trait;
use jiff::Timestamp;
use ombud_domain::Actor;
use ombud_domain::emerging::segments::Segment;
use ombud_domain::emerging::spikes::Granularity;

use crate::error::StoreResult;

/// An alert as the worker raises it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSpikeAlert {
    pub segment: Segment,
    pub granularity: Granularity,
    /// The start of the bucket.
    pub bucket: Timestamp,
    /// Escalations received in the bucket.
    pub count: u64,
    /// The median of the same slot over the past weeks.
    pub baseline: f64,
    /// What the score divides by: the scaled MAD, or the Poisson floor.
    pub spread: f64,
    /// `(count − baseline) / spread`.
    pub score: f64,
    /// Past weeks the baseline read.
    pub samples: u32,
    pub created_at: Timestamp,
}

/// Who acknowledged an alert, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub actor: Actor,
    pub at: Timestamp,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeAlert {
    pub id: i64,
    pub alert: NewSpikeAlert,
    pub acknowledged: Option<Acknowledgement>,
}

/// Which alerts to list, newest bucket first. Every filter is optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpikeFilter {
    pub acknowledged: Option<bool>,
    pub granularity: Option<Granularity>,
    pub types: Vec<String>,
    pub countries: Vec<String>,
    /// Buckets starting at or after this instant.
    pub bucket_from: Option<Timestamp>,
    /// Buckets starting before this instant.
    pub bucket_to: Option<Timestamp>,
    /// Where the page starts: after the alert with this bucket and id.
    pub after: Option<(Timestamp, i64)>,
    pub limit: u32,
}

#[async_trait]
pub trait SpikeStore: Send + Sync {
    /// Records `alert` unless one exists for its segment, granularity and
    /// bucket, and in the same transaction queues a `spike_detected` outbox
    /// entry for webhooks. `Some` when this call recorded it: nodes that
    /// evaluate the same bucket race on this insert, and only the winner
    /// notifies anyone.
    async fn record(&self, alert: &NewSpikeAlert) -> StoreResult<Option<SpikeAlert>>;
    /// `NotFound` if there is none.
    async fn get(&self, id: i64) -> StoreResult<SpikeAlert>;
    /// Up to `filter.limit` alerts, newest bucket first (then newest id).
    async fn list(&self, filter: &SpikeFilter) -> StoreResult<Vec<SpikeAlert>>;
    /// Marks the alert acknowledged by `actor` at `at`, unless it already is
    /// (the first acknowledgement stands); returns it. `NotFound` if none.
    async fn acknowledge(&self, id: i64, actor: &Actor, at: Timestamp) -> StoreResult<SpikeAlert>;
    /// How many alerts wait for acknowledgement.
    async fn unacknowledged(&self) -> StoreResult<u64>;
}
