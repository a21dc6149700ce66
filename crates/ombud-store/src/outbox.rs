//! The outbox behind webhooks: every event a create or a save writes, and
//! every spike alert recorded, is queued here in the same transaction, then
//! fanned out into deliveries,
//! one per matching subscription, which are attempted until they succeed
//! or are given up (at-least-once delivery).

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use ombud_domain::EscalationKey;

use crate::error::StoreResult;

/// One queued event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Increases with every event written; the webhook's event id.
    pub id: i64,
    pub source: OutboxSource,
    /// The event kind, e.g. `status_changed` or `spike_detected`.
    pub kind: String,
}

/// What a queued event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxSource {
    /// Event `seq` of an escalation's timeline.
    Event { key: EscalationKey, seq: i64 },
    /// A spike alert, by id (`SpikeStore`).
    SpikeAlert(i64),
}

/// The subscriptions one outbox entry is to be delivered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanOut {
    pub entry: i64,
    pub subscriptions: Vec<String>,
}

/// A delivery due for an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub subscription: String,
    pub entry: OutboxEntry,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    /// Try again at this instant.
    Retry(Timestamp),
    /// Too many failures: stop trying.
    GaveUp,
}

/// One attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: Timestamp,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub outcome: AttemptOutcome,
}

/// A delivery as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: i64,
    pub entry: OutboxEntry,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: u32,
    pub next_attempt_at: Option<Timestamp>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub delivered_at: Option<Timestamp>,
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` entries not yet fanned out, oldest first, for `lease`.
    async fn claim_entries(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEntry>>;
    /// For each of `entries`, creates a delivery per subscription it names
    /// (once, however often it is called) and marks the entry fanned out,
    /// all in one transaction: a batch of claimed entries costs one write.
    async fn fan_out(&self, entries: &[FanOut], now: Timestamp) -> StoreResult<()>;
    /// Claims up to `limit` pending deliveries due by `now`, for `lease`.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>>;
    async fn record_attempt(&self, delivery: i64, attempt: &Attempt) -> StoreResult<()>;
    /// The newest `limit` deliveries for a subscription, newest first.
    async fn deliveries(&self, subscription: &str, limit: u32) -> StoreResult<Vec<DeliveryRecord>>;
}
