//! The escalation aggregate's storage: state and events always written in one
//! transaction.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use ombud_domain::emerging::segments::IntakeCount;
use ombud_domain::emerging::spikes::Granularity;
use ombud_domain::{Actor, Escalation, EscalationDraft, EscalationKey, NewEvent, StoredEvent};
use serde::{Deserialize, Serialize};

use crate::error::StoreResult;
use crate::listing::{EscalationFilter, Page, Scope};
use crate::overview::{Overview, WorkCounts};

/// One escalation with its whole timeline, as `ombud export` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedEscalation {
    pub escalation: Escalation,
    pub events: Vec<StoredEvent>,
}

#[async_trait]
pub trait EscalationStore: Send + Sync {
    /// Allocates the next key (sequential, never reused), stores the
    /// escalation and its `created` event durably, and returns it.
    async fn create(
        &self,
        draft: EscalationDraft,
        actor: &Actor,
        at: Timestamp,
    ) -> StoreResult<Escalation>;

    /// Replaces the state of `next.key` if its stored version is still
    /// `expected_version` (else `VersionConflict`), and appends `events`,
    /// all in one transaction. `next.version` must be `expected_version + 1`.
    async fn save(
        &self,
        next: &Escalation,
        expected_version: i64,
        events: &[NewEvent],
    ) -> StoreResult<()>;

    /// Reads one escalation; `NotFound` if it does not exist or is outside `scope`.
    async fn get(&self, key: EscalationKey, scope: &Scope) -> StoreResult<Escalation>;

    /// Filters, sorts and pages; `filter.q` searches title, description,
    /// subject ids and URLs, and the comments `scope` may read.
    async fn list(&self, filter: &EscalationFilter, scope: &Scope)
    -> StoreResult<Page<Escalation>>;

    /// The events of one escalation in order; a partner scope sees only
    /// partner-visible events.
    async fn timeline(&self, key: EscalationKey, scope: &Scope) -> StoreResult<Vec<StoredEvent>>;

    /// The escalations with keys above `after`, in key order, with their events.
    async fn export_batch(
        &self,
        after: Option<EscalationKey>,
        limit: u32,
    ) -> StoreResult<Vec<ExportedEscalation>>;

    /// Writes exported escalations back exactly (key, version, events) in one
    /// transaction; `Conflict` if any key exists (then nothing is written).
    /// Keys allocated later by `create` continue above the highest imported.
    async fn import(&self, batch: &[ExportedEscalation]) -> StoreResult<()>;

    /// Assigns the best unassigned, open escalation `query` allows — by
    /// priority, then nearest due instant, then key — with `assign`, which
    /// returns the new state and its events. Two claims at once never get
    /// the same escalation, on any node, and an agent's claims at once never
    /// take them past their capacity: the count and the claim are one
    /// transaction, serialised per agent.
    async fn claim_next(&self, query: &ClaimQuery, assign: Assign) -> StoreResult<Claim>;

    /// The backlog at `now` (breached: earliest deadline before `now`; due
    /// soon: before `soon`) and the intake created since `since`, the start
    /// of a UTC day (intake is counted by whole UTC days).
    async fn overview(
        &self,
        now: Timestamp,
        soon: Timestamp,
        since: Timestamp,
    ) -> StoreResult<Overview>;

    /// How many open cases each work list holds for `agent`, breaching
    /// meaning due before `soon`; each count stops at `cap`, so that a
    /// list of a million costs no more than one of `cap`.
    async fn work_counts(&self, agent: &str, soon: Timestamp, cap: u32) -> StoreResult<WorkCounts>;

    /// The escalations received (`received_at`) in `[from, to)`, counted
    /// per UTC bucket of `granularity` and per type, first subject's
    /// surface, country and decision policy, as they stand now; sorted by
    /// those (missing surfaces and policies first). One grouped query over the arrival-time index, so that an
    /// hour of a million-case database costs that hour's rows.
    async fn intake_counts(
        &self,
        granularity: Granularity,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<IntakeCount>>;

    /// When the earliest escalation was received: where the history a
    /// spike baseline can read begins. `None` without escalations.
    async fn first_received(&self) -> StoreResult<Option<Timestamp>>;

    /// How many open (not resolved, not closed) escalations `assignee` holds.
    async fn held_open(&self, assignee: &str) -> StoreResult<u32>;

    /// Escalations with a subject among `subject_keys` (normalised), newest
    /// first, at most `limit`.
    async fn sharing_subjects(
        &self,
        subject_keys: &[String],
        limit: u32,
    ) -> StoreResult<Vec<EscalationKey>>;

    /// Claims up to `limit` clock alerts due by `now` that nobody holds, for
    /// `lease`: until it ends no other caller (on any node) gets them. Every
    /// write of an escalation reschedules its alerts from its clocks, so
    /// raising an alert (`Escalation::raise_clock_alerts`, then `save`)
    /// removes it; a claim whose holder died is taken again after the lease.
    async fn claim_due_alerts(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> StoreResult<Vec<DueAlert>>;
}

/// Who claims, and which unassigned escalations they may take; an empty
/// list allows any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimQuery {
    /// The agent the claim is for (`assign` makes them the assignee).
    pub agent: String,
    /// The most open escalations the agent may hold; `None`: no limit.
    pub capacity: Option<u32>,
    /// Queues to take from; empty: any queue, or none.
    pub queues: Vec<String>,
    pub languages: Vec<String>,
    /// ISO 3166-1 alpha-2 codes.
    pub countries: Vec<String>,
    pub types: Vec<String>,
    /// Whether the agent is cleared for sensitive media.
    pub sensitive_media: bool,
}

/// What a claim came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The escalation, assigned and stored.
    Assigned(Box<Escalation>),
    /// No unassigned, open escalation the query allows.
    NoneEligible,
    /// The agent already holds `held` open escalations, their capacity.
    AtCapacity { held: u32 },
}

/// Turns the claimed escalation into its assigned state and events.
pub type Assign = Box<dyn FnOnce(&Escalation) -> (Escalation, Vec<NewEvent>) + Send>;

/// A clock alert that has fallen due: the escalation, the index of its
/// clock, and the threshold in percent (100: the breach).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueAlert {
    pub key: EscalationKey,
    pub clock: usize,
    pub percent: u8,
    pub at: Timestamp,
}
