//! Storage-neutral encodings both backends share, so that they store and
//! search exactly the same things: times as microseconds, the searchable
//! text of an escalation, and events from their columns.

use jiff::Timestamp;
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
