//! Storage-neutral encodings both backends share, so that they store and
//! search exactly the same things: times as microseconds, the searchable
//! text of an escalation, and events from their columns.

use jiff::Timestamp;
use ombud_domain::emerging::segments::IntakeCount;
use ombud_domain::emerging::spikes::Granularity;
use ombud_domain::{
    Actor, Escalation, EscalationKey, EventKind, Priority, Role, Status, StoredEvent, Visibility,
};

use crate::error::{StoreError, StoreResult};
use crate::overview::{MICROS_PER_DAY, Overview};

/// A time as stored: microseconds since the Unix epoch.
pub fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

pub fn from_micros(value: i64) -> StoreResult<Timestamp> {
    Timestamp::from_microsecond(value).map_err(StoreError::backend)
}

/// The `main` search document of an escalation: what a partner and staff
/// alike may find it by.
pub fn main_search_text(e: &Escalation) -> String {
    let mut text = format!("{}\n{}", e.title, e.description);
    if let Some(r) = &e.partner_ref {
        text.push('\n');
        text.push_str(r);
    }
    for s in &e.subjects {
        for part in [s.external_id.as_deref(), s.url.as_deref()]
            .into_iter()
            .flatten()
        {
            text.push('\n');
            text.push_str(part);
        }
    }
    text
}

/// The sort value of an escalation for keyset pagination.
pub fn sort_value(e: &Escalation, field: crate::SortField) -> i64 {
    match field {
        crate::SortField::CreatedAt | crate::SortField::Relevance => micros(e.created_at),
        crate::SortField::UpdatedAt => micros(e.updated_at),
        crate::SortField::Priority => e.priority.rank(),
        crate::SortField::Key => e.key.0,
        crate::SortField::DueAt => e.due_at().map_or(NO_DEADLINE, micros),
    }
}

/// The sort value of an escalation without a running clock: after every
/// deadline. Both backends sort `due_at` as [`DUE_AT_SORT`].
pub const NO_DEADLINE: i64 = i64::MAX;

/// The SQL expression both backends sort and page by for `sort=due_at`
/// (indexed as such).
pub const DUE_AT_SORT: &str = "COALESCE(e.due_at, 9223372036854775807)";

/// The columns of an event row, as both backends store them.
#[derive(Debug)]
pub struct EventColumns {
    pub escalation_id: i64,
    pub seq: i64,
    pub kind: String,
    pub visibility: String,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_role: Option<String>,
    pub at: i64,
    pub data: serde_json::Value,
}

impl EventColumns {
    pub fn into_event(self) -> StoreResult<StoredEvent> {
        let bad = |what: &str, value: &str| {
            StoreError::Backend(format!("stored event has unknown {what} {value:?}").into())
        };
        Ok(StoredEvent {
            escalation: EscalationKey(self.escalation_id),
            seq: self.seq,
            kind: EventKind::parse(&self.kind).ok_or_else(|| bad("kind", &self.kind))?,
            visibility: Visibility::parse(&self.visibility)
                .ok_or_else(|| bad("visibility", &self.visibility))?,
            actor: Actor {
                id: self.actor_id,
                name: self.actor_name,
                role: match self.actor_role {
                    None => None,
                    Some(r) => Some(Role::parse(&r).ok_or_else(|| bad("role", &r))?),
                },
            },
            at: from_micros(self.at)?,
            data: self.data,
        })
    }
}

/// Parses a JSON `state` column.
pub fn decode_state<T: serde::de::DeserializeOwned>(json: &str) -> StoreResult<T> {
    serde_json::from_str(json).map_err(StoreError::backend)
}

pub fn encode_state<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain types serialise to JSON")
}

/// The rows of a backend's three overview queries (`(status, priority
/// rank, count)`, the breached and due-soon counts, `(UTC day number,
/// type, count)`) as an `Overview`.
pub fn overview(
    backlog: Vec<(String, i64, i64)>,
    breached: i64,
    due_soon: i64,
    intake: Vec<(i64, String, i64)>,
) -> StoreResult<Overview> {
    let count = |n: i64| u64::try_from(n).map_err(StoreError::backend);
    let backlog = backlog
        .into_iter()
        .map(|(status, rank, n)| {
            let status = Status::parse(&status).ok_or_else(|| {
                StoreError::Backend(format!("stored status {status:?} is unknown").into())
            })?;
            let priority = Priority::from_rank(rank).ok_or_else(|| {
                StoreError::Backend(format!("stored priority rank {rank} is unknown").into())
            })?;
            Ok((status, priority, count(n)?))
        })
        .collect::<StoreResult<_>>()?;
    let intake = intake
        .into_iter()
        .map(|(day, kind, n)| {
            let date = from_micros(day * MICROS_PER_DAY)?
                .to_zoned(jiff::tz::TimeZone::UTC)
                .date();
            Ok((date, kind, count(n)?))
        })
        .collect::<StoreResult<_>>()?;
    Ok(Overview {
        backlog,
        breached: count(breached)?,
        due_soon: count(due_soon)?,
        intake,
    })
}

/// The intake count both backends run (`EscalationStore::intake_counts`),
/// with their placeholders for the range's start and end: the bucket is
/// `received_at` rounded down to the granularity (floored, so that instants
/// before 1970 round down too), grouped with the segment columns.
pub fn intake_counts_sql(granularity: Granularity, from: &str, to: &str) -> String {
    let width = granularity.seconds() * 1_000_000;
    format!(
        "SELECT received_at - (((received_at % {width}) + {width}) % {width}) AS bucket, \
         type, surface, country, policy, COUNT(*) AS n FROM escalations \
         WHERE received_at >= {from} AND received_at < {to} \
         GROUP BY 1, 2, 3, 4, 5"
    )
}

/// One row of [`intake_counts_sql`].
pub type IntakeRow = (i64, String, Option<String>, String, Option<String>, i64);

/// The rows of [`intake_counts_sql`] as counts, sorted here rather than
/// in SQL so that both backends agree (collations, NULLs first).
pub fn intake_counts(rows: Vec<IntakeRow>) -> StoreResult<Vec<IntakeCount>> {
    let mut counts = rows
        .into_iter()
        .map(|(bucket, escalation_type, surface, country, policy, n)| {
            Ok(IntakeCount {
                bucket: from_micros(bucket)?,
                escalation_type,
                surface,
                country,
                policy,
                count: u64::try_from(n).map_err(StoreError::backend)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    counts.sort_unstable();
    Ok(counts)
}

/// What an outbox row queues, from its columns: a spike alert's row names
/// the alert (its escalation and seq columns are 0), any other an event.
pub fn outbox_source(
    spike_alert: Option<i64>,
    escalation_id: i64,
    seq: i64,
) -> crate::OutboxSource {
    match spike_alert {
        Some(alert) => crate::OutboxSource::SpikeAlert(alert),
        None => crate::OutboxSource::Event {
            key: EscalationKey(escalation_id),
            seq,
        },
    }
}

/// The columns of a spike alert row, as both backends store them.
#[derive(Debug)]
pub struct SpikeAlertColumns {
    pub id: i64,
    pub granularity: String,
    pub bucket_start: i64,
    pub escalation_type: String,
    pub surface: String,
    pub country: String,
    pub policy: Option<String>,
    pub count: i64,
    pub baseline: f64,
    pub spread: f64,
    pub score: f64,
    pub samples: i64,
    pub created_at: i64,
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_by_name: Option<String>,
    pub acknowledged_by_role: Option<String>,
}

impl SpikeAlertColumns {
    pub fn into_alert(self) -> StoreResult<crate::SpikeAlert> {
        let bad = |what: &str, value: &str| {
            StoreError::Backend(format!("stored spike alert has unknown {what} {value:?}").into())
        };
        let granularity = Granularity::parse(&self.granularity)
            .ok_or_else(|| bad("granularity", &self.granularity))?;
        let acknowledged = match (self.acknowledged_at, self.acknowledged_by) {
            (Some(at), Some(id)) => Some(crate::Acknowledgement {
                actor: Actor {
                    id,
                    name: self.acknowledged_by_name.unwrap_or_default(),
                    role: match self.acknowledged_by_role {
                        None => None,
                        Some(r) => Some(Role::parse(&r).ok_or_else(|| bad("role", &r))?),
                    },
                },
                at: from_micros(at)?,
            }),
            _ => None,
        };
        Ok(crate::SpikeAlert {
            id: self.id,
            alert: crate::NewSpikeAlert {
                segment: ombud_domain::emerging::segments::Segment {
                    escalation_type: self.escalation_type,
                    surface: self.surface,
                    country: self.country,
                    policy: self.policy,
                },
                granularity,
                bucket: from_micros(self.bucket_start)?,
                count: u64::try_from(self.count).map_err(StoreError::backend)?,
                baseline: self.baseline,
                spread: self.spread,
                score: self.score,
                samples: u32::try_from(self.samples).map_err(StoreError::backend)?,
                created_at: from_micros(self.created_at)?,
            },
            acknowledged,
        })
    }
}
