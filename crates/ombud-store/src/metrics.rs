//! Reading the per-escalation facts the metrics are computed from. Each
//! backend writes them in the same transaction as the escalation (create,
//! save, import); [`rebuild_facts`] fills them in for escalations stored
//! before the facts existed, or under an older shape of them.

use async_trait::async_trait;
use jiff::Timestamp;
use ombud_domain::metrics::{Attainment, ConsultFacts, EscalationFacts, FACTS_VERSION, Milestones};
use ombud_domain::{Escalation, NewEvent};
use serde::Serialize;

use crate::{ExportedEscalation, StoreError, StoreResult, Stores};

/// Which escalations to read facts of: each `Some` list keeps only those
/// whose dimension has one of its values (an empty list keeps none).
/// Missing surfaces and queues are the empty string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactsFilter {
    pub types: Option<Vec<String>>,
    pub surfaces: Option<Vec<String>>,
    pub countries: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    pub partners: Option<Vec<String>>,
    pub queues: Option<Vec<String>>,
}

impl FactsFilter {
    /// The filter as (column, values) pairs, for the backends' SQL.
    pub fn columns(&self) -> [(&'static str, Option<&[String]>); 6] {
        [
            ("type", self.types.as_deref()),
            ("surface", self.surfaces.as_deref()),
            ("country", self.countries.as_deref()),
            ("language", self.languages.as_deref()),
            ("partner", self.partners.as_deref()),
            ("queue", self.queues.as_deref()),
        ]
    }
}

#[async_trait]
pub trait MetricsStore: Send + Sync {
    /// Facts of the escalations `filter` keeps that arrived in `[from, to)`.
    async fn arrived(
        &self,
        filter: &FactsFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<EscalationFacts>>;

    /// Facts of the open escalations `filter` keeps, whenever they arrived.
    async fn open(&self, filter: &FactsFilter) -> StoreResult<Vec<EscalationFacts>>;

    /// The consults requested in `[from, to)` on escalations `filter` keeps.
    async fn consults(
        &self,
        filter: &FactsFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<ConsultFacts>>;

    /// The `FACTS_VERSION` the stored facts were built with (0: never).
    async fn facts_version(&self) -> StoreResult<i64>;

    /// Replaces the facts of each escalation (and its consults) in one
    /// transaction, and records `version` as the one they were built with.
    async fn replace_facts(
        &self,
        facts: &[(EscalationFacts, Vec<ConsultFacts>)],
        version: Option<i64>,
    ) -> StoreResult<()>;
}

/// Escalations read per rebuild transaction.
const REBUILD_BATCH: u32 = 500;

/// Rebuilds every escalation's facts from its state and timeline if they
/// were built under an older `FACTS_VERSION`; returns how many it rebuilt.
/// Idempotent: an interrupted rebuild starts over at the next open.
pub async fn rebuild_facts(stores: &Stores) -> StoreResult<u64> {
    if stores.metrics.facts_version().await? >= FACTS_VERSION {
        return Ok(0);
    }
    let mut after = None;
    let mut rebuilt = 0;
    loop {
        let batch = stores
            .escalations
            .export_batch(after, REBUILD_BATCH)
            .await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = Some(last.escalation.key);
        let facts: Vec<_> = batch.iter().map(facts_of_export).collect();
        stores.metrics.replace_facts(&facts, None).await?;
        rebuilt += facts.len() as u64;
    }
    stores
        .metrics
        .replace_facts(&[], Some(FACTS_VERSION))
        .await?;
    Ok(rebuilt)
}

/// The columns of `escalation_facts`, in the order backends select them.
pub const FACTS_COLUMNS: &[&str] = &[
    "escalation_id",
    "arrived_at",
    "type",
    "surface",
    "country",
    "language",
    "partner",
    "queue",
    "open",
    "acknowledged_at",
    "first_response_at",
    "resolved_at",
    "reopens",
    "sla",
    "regulatory",
    "outcome",
    "policy",
    "root_cause",
    "decided_at",
];

/// The columns of `consult_facts`.
pub const CONSULT_FACTS_COLUMNS: &[&str] = &[
    "escalation_id",
    "number",
    "function",
    "requested_at",
    "answered_at",
];

/// One `escalation_facts` row as the backends write it (a JSON array of
/// these is unpacked in SQL, one statement per batch).
#[derive(Debug, Serialize)]
pub struct FactsRow<'a> {
    escalation_id: i64,
    arrived_at: i64,
    #[serde(rename = "type")]
    escalation_type: &'a str,
    surface: &'a str,
    country: &'a str,
    language: &'a str,
    partner: &'a str,
    queue: &'a str,
    /// 0 or 1: one shape on both backends.
    open: u8,
    acknowledged_at: Option<i64>,
    first_response_at: Option<i64>,
    resolved_at: Option<i64>,
    reopens: u32,
    sla: Option<i64>,
    regulatory: Option<i64>,
    outcome: Option<&'a str>,
    policy: Option<&'a str>,
    root_cause: Option<&'a str>,
    decided_at: Option<i64>,
}

impl<'a> FactsRow<'a> {
    pub fn of(f: &'a EscalationFacts) -> Self {
        let m = &f.milestones;
        FactsRow {
            escalation_id: f.key,
            arrived_at: f.arrived_at.as_second(),
            escalation_type: &f.escalation_type,
            surface: &f.surface,
            country: &f.country,
            language: &f.language,
            partner: &f.partner,
            queue: &f.queue,
            open: u8::from(f.open),
            acknowledged_at: m.acknowledged_at.map(|t| t.as_second()),
            first_response_at: m.first_response_at.map(|t| t.as_second()),
            resolved_at: m.resolved_at.map(|t| t.as_second()),
            reopens: m.reopens,
            sla: f.sla.map(|a| a.as_flag()),
            regulatory: f.regulatory.map(|a| a.as_flag()),
            outcome: f.outcome.as_deref(),
            policy: f.policy.as_deref(),
            root_cause: f.root_cause.as_deref(),
            decided_at: f.decided_at.map(|t| t.as_second()),
        }
    }
}

/// One `consult_facts` row as the backends write it.
#[derive(Debug, Serialize)]
pub struct ConsultFactsRow<'a> {
    escalation_id: i64,
    number: u32,
    function: &'a str,
    requested_at: i64,
    answered_at: Option<i64>,
}

impl<'a> ConsultFactsRow<'a> {
    pub fn of(c: &'a ConsultFacts) -> Self {
        ConsultFactsRow {
            escalation_id: c.key,
            number: c.number,
            function: &c.function,
            requested_at: c.requested_at.as_second(),
            answered_at: c.answered_at.map(|t| t.as_second()),
        }
    }
}

/// A backend's result row, read by column position. Backends implement it
/// on a wrapper of their row type.
pub trait FactsColumns {
    fn int(&self, index: usize) -> StoreResult<Option<i64>>;
    fn text(&self, index: usize) -> StoreResult<Option<String>>;

    fn required_int(&self, index: usize) -> StoreResult<i64> {
        self.int(index)?.ok_or_else(|| {
            StoreError::Backend(format!("column {index} of the facts is null").into())
        })
    }

    fn time(&self, index: usize) -> StoreResult<Option<Timestamp>> {
        self.int(index)?.map(seconds).transpose()
    }

    /// An `escalation_facts` row selected in `FACTS_COLUMNS` order.
    fn escalation_facts(&self) -> StoreResult<EscalationFacts> {
        let text = |i| self.text(i).map(Option::unwrap_or_default);
        Ok(EscalationFacts {
            key: self.required_int(0)?,
            arrived_at: seconds(self.required_int(1)?)?,
            escalation_type: text(2)?,
            surface: text(3)?,
            country: text(4)?,
            language: text(5)?,
            partner: text(6)?,
            queue: text(7)?,
            open: self.required_int(8)? != 0,
            milestones: Milestones {
                acknowledged_at: self.time(9)?,
                first_response_at: self.time(10)?,
                resolved_at: self.time(11)?,
                reopens: u32::try_from(self.required_int(12)?).unwrap_or(u32::MAX),
            },
            sla: self.int(13)?.map(Attainment::from_flag),
            regulatory: self.int(14)?.map(Attainment::from_flag),
            outcome: self.text(15)?,
            policy: self.text(16)?,
            root_cause: self.text(17)?,
            decided_at: self.time(18)?,
        })
    }

    /// A `consult_facts` row selected in `CONSULT_FACTS_COLUMNS` order.
    fn consult_facts(&self) -> StoreResult<ConsultFacts> {
        Ok(ConsultFacts {
            key: self.required_int(0)?,
            number: u32::try_from(self.required_int(1)?).unwrap_or(u32::MAX),
            function: self.text(2)?.unwrap_or_default(),
            requested_at: seconds(self.required_int(3)?)?,
            answered_at: self.time(4)?,
        })
    }

    /// The milestones columns (`acknowledged_at, first_response_at,
    /// resolved_at, reopens`) as a save reads them back.
    fn milestones(&self) -> StoreResult<Milestones> {
        Ok(Milestones {
            acknowledged_at: self.time(0)?,
            first_response_at: self.time(1)?,
            resolved_at: self.time(2)?,
            reopens: u32::try_from(self.required_int(3)?).unwrap_or(u32::MAX),
        })
    }
}

/// The milestone columns, in the order [`FactsColumns::milestones`] reads them.
pub const MILESTONE_COLUMNS: &str = "acknowledged_at, first_response_at, resolved_at, reopens";

fn seconds(value: i64) -> StoreResult<Timestamp> {
    Timestamp::from_second(value).map_err(StoreError::backend)
}

/// The facts of an escalation read whole: state and timeline.
pub fn facts_of_export(exported: &ExportedEscalation) -> (EscalationFacts, Vec<ConsultFacts>) {
    let milestones = Milestones::of_timeline(&exported.events);
    (
        EscalationFacts::of(&exported.escalation, milestones),
        EscalationFacts::consults(&exported.escalation),
    )
}

/// The facts rows of one write: an escalation's facts after `events`
/// moved its `milestones`.
pub fn facts_after(
    escalation: &Escalation,
    milestones: Milestones,
    events: &[NewEvent],
) -> (EscalationFacts, Vec<ConsultFacts>) {
    (
        EscalationFacts::of(escalation, milestones.after(events)),
        EscalationFacts::consults(escalation),
    )
}
