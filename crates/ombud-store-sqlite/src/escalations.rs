//! Escalations: state, projections and events written together by the
//! writer; single reads, timelines and exports from the read-only pool.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use ombud_domain::emerging::segments::IntakeCount;
use ombud_domain::emerging::spikes::Granularity;
use ombud_domain::metrics::Milestones;
use ombud_domain::{Actor, Escalation, EscalationDraft, EscalationKey, NewEvent, StoredEvent};
use ombud_store::codec::{
    self, EventColumns, decode_state, encode_state, from_micros, main_search_text, micros,
};
use ombud_store::{
    Assign, Claim, ClaimQuery, DueAlert, EscalationFilter, EscalationStore, ExportedEscalation,
    MICROS_PER_DAY, Overview, Page, Scope, StoreError, StoreResult, WorkCounts,
};
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{QueryBuilder, Row, SqliteConnection, SqliteExecutor};

use ombud_store::metrics::{FactsColumns, MILESTONE_COLUMNS, facts_after, facts_of_export};

use crate::metrics::Columns;
use crate::rows::Rows;
use crate::{Db, backend, conflict, listing};

#[derive(Debug)]
pub(crate) struct SqliteEscalations(pub(crate) Db);

fn escalation_from_row(row: &SqliteRow) -> StoreResult<Escalation> {
    decode_state(row.get::<&str, _>("state"))
}

fn event_from_row(row: &SqliteRow) -> StoreResult<StoredEvent> {
    EventColumns {
        escalation_id: row.get("escalation_id"),
        seq: row.get("seq"),
        kind: row.get("kind"),
        visibility: row.get("visibility"),
        actor_id: row.get("actor_id"),
        actor_name: row.get("actor_name"),
        actor_role: row.get("actor_role"),
        at: row.get("at"),
        data: serde_json::from_str(row.get::<&str, _>("data")).map_err(StoreError::backend)?,
    }
    .into_event()
}

fn due_alert_from_row(row: &SqliteRow) -> StoreResult<DueAlert> {
    Ok(DueAlert {
        key: EscalationKey(row.get("escalation_id")),
        clock: row.get::<i64, _>("clock") as usize,
        percent: row.get::<i64, _>("percent") as u8,
        at: from_micros(row.get("fire_at"))?,
    })
}

const EVENT_COLUMNS: &str =
    "escalation_id, seq, kind, visibility, actor_id, actor_name, actor_role, at, data";

/// A new event as it is stored: numbered within its escalation.
fn numbered(key: EscalationKey, seq: i64, event: NewEvent) -> StoredEvent {
    StoredEvent {
        escalation: key,
        seq,
        kind: event.kind,
        visibility: event.visibility,
        actor: event.actor,
        at: event.at,
        data: event.data,
    }
}

/// Saves `next` over the stored version `expected` and appends `events`.
async fn save(
    conn: &mut SqliteConnection,
    next: &Escalation,
    expected: i64,
    events: Vec<NewEvent>,
) -> StoreResult<()> {
    let id = next.key.0;
    let row = sqlx::query("SELECT version, state FROM escalations WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
    let current: i64 = row.get("version");
    if current != expected {
        return Err(StoreError::VersionConflict { expected, current });
    }
    let before = escalation_from_row(&row)?;
    sqlx::query(
        "UPDATE escalations SET type = ?, partner = ?, status = ?, priority = ?, assignee = ?, queue = ?, \
         country = ?, language = ?, received_at = ?, surface = ?, policy = ?, updated_at = ?, version = ?, due_at = ?, sensitive = ?, \
         consults_open = ?, state = ? WHERE id = ? AND version = ?",
    )
    .bind(&next.escalation_type)
    .bind(&next.partner)
    .bind(next.status.as_str())
    .bind(next.priority.rank())
    .bind(&next.assignee)
    .bind(&next.queue)
    .bind(next.country.as_str())
    .bind(next.language.as_str())
    .bind(micros(next.received_at))
    .bind(next.surface())
    .bind(next.policy())
    .bind(micros(next.updated_at))
    .bind(next.version)
    .bind(next.due_at().map(micros))
    .bind(next.is_sensitive())
    .bind(crate::rows::count(next.open_consults()))
    .bind(encode_state(next))
    .bind(id)
    .bind(expected)
    .execute(&mut *conn)
    .await
    .map_err(conflict(
        format!("escalation {} already exists", next.key),
        Some(format!("partner {} does not exist", next.partner)),
    ))?;

    // Projections are rewritten only where they changed, so that a status
    // change does not churn the search index.
    let mut rows = Rows::default();
    let mut stale = Vec::new();
    if before.tags != next.tags {
        stale.push("DELETE FROM escalation_tags WHERE escalation_id = ?");
        rows.tags(next);
    }
    if before.subjects != next.subjects {
        stale.push("DELETE FROM escalation_subjects WHERE escalation_id = ?");
        rows.subjects(next);
    }
    if before.clocks != next.clocks {
        stale.push("DELETE FROM clock_alerts WHERE escalation_id = ?");
        rows.alerts(next);
    }
    let text = main_search_text(next);
    if main_search_text(&before) != text {
        stale.push("DELETE FROM search_docs WHERE escalation_id = ? AND source = 'main'");
        rows.main_doc(next, &text);
    }
    for sql in stale {
        sqlx::query(sql)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
    }
    let last: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events WHERE escalation_id = ?")
            .bind(id)
            .fetch_one(&mut *conn)
            .await
            .map_err(backend)?;
    let milestones = sqlx::query(&format!(
        "SELECT {MILESTONE_COLUMNS} FROM escalation_facts WHERE escalation_id = ?"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)?
    .map(|row| Columns(&row).milestones())
    .transpose()?
    .unwrap_or_default();
    let facts = facts_after(next, milestones, &events);
    rows.facts(&facts);
    let events: Vec<StoredEvent> = (last + 1..)
        .zip(events)
        .map(|(seq, event)| numbered(next.key, seq, event))
        .collect();
    for event in &events {
        rows.event(next.key, event);
        rows.outbox(next.key, event);
    }
    rows.insert(conn).await
}

/// How many open escalations `assignee` holds (index `escalations_held`).
async fn held_open(executor: impl SqliteExecutor<'_>, assignee: &str) -> StoreResult<u32> {
    let held: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM escalations WHERE assignee = ? \
         AND status NOT IN ('resolved', 'closed')",
    )
    .bind(assignee)
    .fetch_one(executor)
    .await
    .map_err(backend)?;
    Ok(u32::try_from(held).unwrap_or(u32::MAX))
}

/// The skills an agent has, as conditions on the escalation's columns.
fn push_claim_filters(select: &mut QueryBuilder<'_, Sqlite>, query: &ClaimQuery) {
    for (column, values) in [
        ("queue", &query.queues),
        ("language", &query.languages),
        ("country", &query.countries),
        ("type", &query.types),
    ] {
        if values.is_empty() {
            continue;
        }
        select.push(format!(" AND {column} IN ("));
        let mut list = select.separated(", ");
        for value in values {
            list.push_bind(value.clone());
        }
        select.push(")");
    }
    if !query.sensitive_media {
        select.push(" AND sensitive = 0");
    }
}

#[async_trait]
impl EscalationStore for SqliteEscalations {
    async fn create(
        &self,
        draft: EscalationDraft,
        actor: &Actor,
        at: Timestamp,
    ) -> StoreResult<Escalation> {
        let actor = actor.clone();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let key: i64 = sqlx::query_scalar(
                        "UPDATE counters SET value = value + 1 WHERE name = 'escalation_key' RETURNING value",
                    )
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(backend)?;
                    let key = EscalationKey(key);
                    let (escalation, event) = draft.into_escalation(key, &actor, at);
                    let facts = facts_after(&escalation, Milestones::default(), std::slice::from_ref(&event));
                    let event = numbered(key, 1, event);
                    let mut rows = Rows::default();
                    rows.escalation(&escalation);
                    rows.facts(&facts);
                    rows.event(key, &event);
                    rows.outbox(key, &event);
                    rows.insert(conn).await?;
                    Ok(escalation)
                })
            })
            .await
    }

    async fn save(
        &self,
        next: &Escalation,
        expected_version: i64,
        events: &[NewEvent],
    ) -> StoreResult<()> {
        let (next, events) = (next.clone(), events.to_vec());
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move { save(conn, &next, expected_version, events).await })
            })
            .await
    }

    async fn claim_next(&self, query: &ClaimQuery, assign: Assign) -> StoreResult<Claim> {
        let query = query.clone();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    // The one writer runs claims one at a time: the count
                    // cannot change before the claim is stored.
                    if let Some(capacity) = query.capacity {
                        let held = held_open(&mut *conn, &query.agent).await?;
                        if held >= capacity {
                            return Ok(Claim::AtCapacity { held });
                        }
                    }
                    // The index holds the cases in claim order: the first
                    // row that passes the agent's filters is the answer.
                    let mut select = QueryBuilder::<Sqlite>::new(
                        "SELECT version, state FROM escalations e INDEXED BY escalations_claimable \
                         WHERE assignee IS NULL AND status NOT IN ('resolved', 'closed')",
                    );
                    push_claim_filters(&mut select, &query);
                    select.push(format!(
                        " ORDER BY priority, {}, id LIMIT 1",
                        codec::DUE_AT_SORT
                    ));
                    let Some(row) = select
                        .build()
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(backend)?
                    else {
                        return Ok(Claim::NoneEligible);
                    };
                    let current = escalation_from_row(&row)?;
                    let (next, events) = assign(&current);
                    save(conn, &next, row.get("version"), events).await?;
                    Ok(Claim::Assigned(Box::new(next)))
                })
            })
            .await
    }

    async fn work_counts(&self, agent: &str, soon: Timestamp, cap: u32) -> StoreResult<WorkCounts> {
        // Each count walks the work list's own partial index and stops at
        // the cap (SQLite keeps no statistics to choose the index itself).
        let row: (i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT \
             (SELECT COUNT(*) FROM (SELECT 1 FROM escalations INDEXED BY escalations_held \
                WHERE assignee = ?1 AND status NOT IN ('resolved', 'closed') LIMIT ?3)), \
             (SELECT COUNT(*) FROM (SELECT 1 FROM escalations INDEXED BY escalations_unassigned_by_due \
                WHERE assignee IS NULL AND status NOT IN ('resolved', 'closed') LIMIT ?3)), \
             (SELECT COUNT(*) FROM (SELECT 1 FROM escalations INDEXED BY escalations_open_due \
                WHERE due_at IS NOT NULL AND status NOT IN ('resolved', 'closed') AND due_at < ?2 LIMIT ?3)), \
             (SELECT COUNT(*) FROM (SELECT 1 FROM escalations INDEXED BY escalations_awaiting_consult \
                WHERE consults_open > 0 AND status NOT IN ('resolved', 'closed') LIMIT ?3)), \
             (SELECT COUNT(*) FROM (SELECT 1 FROM escalations \
                WHERE status NOT IN ('resolved', 'closed') LIMIT ?3))",
        )
        .bind(agent)
        .bind(micros(soon))
        .bind(i64::from(cap))
        .fetch_one(&self.0.read)
        .await
        .map_err(backend)?;
        Ok(WorkCounts::from_row(row))
    }

    async fn held_open(&self, assignee: &str) -> StoreResult<u32> {
        held_open(&self.0.read, assignee).await
    }

    async fn intake_counts(
        &self,
        granularity: Granularity,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<IntakeCount>> {
        let sql = codec::intake_counts_sql(granularity, "?1", "?2");
        let rows = sqlx::query_as(&sql)
            .bind(micros(from))
            .bind(micros(to))
            .fetch_all(&self.0.read)
            .await
            .map_err(backend)?;
        codec::intake_counts(rows)
    }

    async fn first_received(&self) -> StoreResult<Option<Timestamp>> {
        let first: Option<i64> = sqlx::query_scalar("SELECT MIN(received_at) FROM escalations")
            .fetch_one(&self.0.read)
            .await
            .map_err(backend)?;
        first.map(from_micros).transpose()
    }

    async fn overview(
        &self,
        now: Timestamp,
        soon: Timestamp,
        since: Timestamp,
    ) -> StoreResult<Overview> {
        let read = &self.0.read;
        // Backlog and intake are counts the triggers of migration 0015 keep.
        let backlog =
            sqlx::query_as("SELECT status, priority, open FROM open_backlog WHERE open > 0")
                .fetch_all(read)
                .await
                .map_err(backend)?;
        let (breached, due_soon): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM escalations WHERE due_at IS NOT NULL \
                       AND status NOT IN ('resolved', 'closed') AND due_at < ?1), \
                    (SELECT COUNT(*) FROM escalations WHERE due_at IS NOT NULL \
                       AND status NOT IN ('resolved', 'closed') AND due_at >= ?1 AND due_at < ?2)",
        )
        .bind(micros(now))
        .bind(micros(soon))
        .fetch_one(read)
        .await
        .map_err(backend)?;
        let intake = sqlx::query_as(
            "SELECT day, type, received FROM daily_intake \
             WHERE day >= ?1 AND received > 0 ORDER BY day, type",
        )
        .bind(micros(since).div_euclid(MICROS_PER_DAY))
        .fetch_all(read)
        .await
        .map_err(backend)?;
        codec::overview(backlog, breached, due_soon, intake)
    }

    async fn sharing_subjects(
        &self,
        subject_keys: &[String],
        limit: u32,
    ) -> StoreResult<Vec<EscalationKey>> {
        if subject_keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT DISTINCT escalation_id FROM escalation_subjects WHERE normalized_key IN (",
        );
        let mut list = query.separated(", ");
        for key in subject_keys {
            list.push_bind(key.clone());
        }
        query.push(") ORDER BY escalation_id DESC LIMIT ");
        query.push_bind(i64::from(limit));
        let ids: Vec<i64> = query
            .build_query_scalar()
            .fetch_all(&self.0.read)
            .await
            .map_err(backend)?;
        Ok(ids.into_iter().map(EscalationKey).collect())
    }

    async fn claim_due_alerts(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> StoreResult<Vec<DueAlert>> {
        let until = now.checked_add(lease).map_err(StoreError::backend)?;
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let rows = sqlx::query(
                        "UPDATE clock_alerts SET lease_until = ? WHERE rowid IN \
                         (SELECT rowid FROM clock_alerts WHERE fire_at <= ? AND lease_until <= ? ORDER BY fire_at LIMIT ?) \
                         RETURNING escalation_id, clock, percent, fire_at",
                    )
                    .bind(micros(until))
                    .bind(micros(now))
                    .bind(micros(now))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(backend)?;
                    rows.iter().map(due_alert_from_row).collect()
                })
            })
            .await
    }

    async fn get(&self, key: EscalationKey, scope: &Scope) -> StoreResult<Escalation> {
        let row = sqlx::query("SELECT partner, state FROM escalations WHERE id = ?")
            .bind(key.0)
            .fetch_optional(&self.0.read)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        if scope
            .partner()
            .is_some_and(|p| p != row.get::<&str, _>("partner"))
        {
            return Err(StoreError::NotFound);
        }
        escalation_from_row(&row)
    }

    async fn list(
        &self,
        filter: &EscalationFilter,
        scope: &Scope,
    ) -> StoreResult<Page<Escalation>> {
        listing::list(&self.0.read, filter, scope).await
    }

    async fn timeline(&self, key: EscalationKey, scope: &Scope) -> StoreResult<Vec<StoredEvent>> {
        self.get(key, scope).await?;
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE escalation_id = "
        ));
        query.push_bind(key.0);
        if scope.partner().is_some() {
            query.push(" AND visibility = 'partner'");
        }
        query.push(" ORDER BY seq");
        let rows = query
            .build()
            .fetch_all(&self.0.read)
            .await
            .map_err(backend)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn export_batch(
        &self,
        after: Option<EscalationKey>,
        limit: u32,
    ) -> StoreResult<Vec<ExportedEscalation>> {
        let rows = sqlx::query("SELECT state FROM escalations WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after.map_or(0, |k| k.0))
            .bind(i64::from(limit))
            .fetch_all(&self.0.read)
            .await
            .map_err(backend)?;
        let escalations = rows
            .iter()
            .map(escalation_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let (Some(first), Some(last)) = (escalations.first(), escalations.last()) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE escalation_id BETWEEN ? AND ? ORDER BY escalation_id, seq"
        ))
        .bind(first.key.0)
        .bind(last.key.0)
        .fetch_all(&self.0.read)
        .await
        .map_err(backend)?;
        let mut events = rows
            .iter()
            .map(event_from_row)
            .collect::<StoreResult<Vec<_>>>()?
            .into_iter()
            .peekable();
        Ok(escalations
            .into_iter()
            .map(|escalation| {
                let mut own = Vec::new();
                while let Some(e) = events.next_if(|e| e.escalation == escalation.key) {
                    own.push(e);
                }
                ExportedEscalation {
                    escalation,
                    events: own,
                }
            })
            .collect())
    }

    async fn import(&self, batch: &[ExportedEscalation]) -> StoreResult<()> {
        let batch = batch.to_vec();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let facts: Vec<_> = batch.iter().map(facts_of_export).collect();
                    let mut rows = Rows::default();
                    for facts in &facts {
                        rows.facts(facts);
                    }
                    for exported in &batch {
                        rows.escalation(&exported.escalation);
                        for event in &exported.events {
                            rows.event(exported.escalation.key, event);
                        }
                    }
                    rows.insert(conn).await?;
                    let highest = batch.iter().map(|e| e.escalation.key.0).max();
                    sqlx::query(
                        "UPDATE counters SET value = MAX(value, ?) WHERE name = 'escalation_key'",
                    )
                    .bind(highest.unwrap_or(0))
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                    Ok(())
                })
            })
            .await
    }
}
