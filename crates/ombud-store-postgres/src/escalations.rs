//! Escalations: state and events written in one transaction per request,
//! the row locked (`FOR UPDATE`) so concurrent nodes cannot both win a save.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use ombud_domain::emerging::segments::IntakeCount;
use ombud_domain::emerging::spikes::Granularity;
use ombud_domain::metrics::Milestones;
use ombud_domain::sla::pending_alerts;
use ombud_domain::{
    Actor, Escalation, EscalationDraft, EscalationKey, EventKind, NewEvent, StoredEvent, Visibility,
};
use ombud_store::codec::{self, EventColumns, micros};
use ombud_store::listing::search_terms;
use ombud_store::metrics::{FactsColumns, MILESTONE_COLUMNS, facts_after, facts_of_export};
use ombud_store::{
    Assign, Claim, ClaimQuery, Cursor, DueAlert, EscalationFilter, EscalationStore,
    ExportedEscalation, MICROS_PER_DAY, Overview, Page, Scope, SortDirection, SortField,
    StoreError, StoreResult, WorkCounts,
};
use sqlx::postgres::{PgConnection, PgRow, Postgres};
use sqlx::types::Json;
use sqlx::{PgExecutor, QueryBuilder, Row};

use crate::metrics::{Columns, write_facts};
use crate::{Pool, backend, map_err};

#[derive(Debug)]
pub(crate) struct PgEscalations(pub(crate) Pool);

/// How many open escalations `assignee` holds (index `escalations_held`).
async fn held_open(executor: impl PgExecutor<'_>, assignee: &str) -> StoreResult<u32> {
    let held: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM escalations WHERE assignee = $1 \
         AND status NOT IN ('resolved', 'closed')",
    )
    .bind(assignee)
    .fetch_one(executor)
    .await
    .map_err(backend)?;
    Ok(u32::try_from(held).unwrap_or(u32::MAX))
}

/// One event row to insert, from a new or an imported event.
struct EventRow<'a> {
    seq: i64,
    kind: EventKind,
    visibility: Visibility,
    actor: &'a Actor,
    at: Timestamp,
    data: &'a serde_json::Value,
}

impl<'a> EventRow<'a> {
    fn new(seq: i64, e: &'a NewEvent) -> Self {
        EventRow {
            seq,
            kind: e.kind,
            visibility: e.visibility,
            actor: &e.actor,
            at: e.at,
            data: &e.data,
        }
    }

    fn stored(e: &'a StoredEvent) -> Self {
        EventRow {
            seq: e.seq,
            kind: e.kind,
            visibility: e.visibility,
            actor: &e.actor,
            at: e.at,
            data: &e.data,
        }
    }

    fn comment_body(&self) -> Option<&str> {
        (self.kind == EventKind::CommentAdded)
            .then(|| self.data.get("body").and_then(|b| b.as_str()))
            .flatten()
    }
}

async fn insert_event(conn: &mut PgConnection, id: i64, event: EventRow<'_>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO events (escalation_id, seq, kind, visibility, actor_id, actor_name, actor_role, at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(event.seq)
    .bind(event.kind.as_str())
    .bind(event.visibility.as_str())
    .bind(&event.actor.id)
    .bind(&event.actor.name)
    .bind(event.actor.role.map(|r| r.as_str()))
    .bind(micros(event.at))
    .bind(Json(event.data))
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    if let Some(body) = event.comment_body() {
        insert_search_doc(conn, id, "comment", event.visibility.as_str(), body).await?;
    }
    Ok(())
}

async fn insert_search_doc(
    conn: &mut PgConnection,
    id: i64,
    source: &str,
    visibility: &str,
    body: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO search_docs (escalation_id, source, visibility, body) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(source)
    .bind(visibility)
    .bind(body)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

async fn insert_state(conn: &mut PgConnection, e: &Escalation) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO escalations (id, type, partner, status, priority, assignee, queue, country, language, received_at, surface, policy, \
         created_at, updated_at, version, due_at, sensitive, consults_open, state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
    )
    .bind(e.key.0)
    .bind(&e.escalation_type)
    .bind(&e.partner)
    .bind(e.status.as_str())
    .bind(e.priority.rank())
    .bind(&e.assignee)
    .bind(&e.queue)
    .bind(e.country.as_str())
    .bind(e.language.as_str())
    .bind(micros(e.received_at))
    .bind(e.surface())
    .bind(e.policy())
    .bind(micros(e.created_at))
    .bind(micros(e.updated_at))
    .bind(e.version)
    .bind(e.due_at().map(micros))
    .bind(e.is_sensitive())
    .bind(i32::try_from(e.open_consults()).unwrap_or(i32::MAX))
    .bind(Json(e))
    .execute(&mut *conn)
    .await
    .map_err(map_err(&format!("escalation {}", e.key)))?;
    insert_projections(conn, e).await?;
    insert_alerts(conn, e).await
}

/// Queues a new event for webhooks (imports restore history and queue nothing).
async fn queue_outbox(
    conn: &mut PgConnection,
    escalation: i64,
    seq: i64,
    kind: EventKind,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO outbox (escalation_id, seq, kind) VALUES ($1, $2, $3)")
        .bind(escalation)
        .bind(seq)
        .bind(kind.as_str())
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

/// Schedules the alerts the escalation's running clocks will raise.
async fn insert_alerts(conn: &mut PgConnection, e: &Escalation) -> StoreResult<()> {
    for alert in pending_alerts(&e.clocks) {
        sqlx::query(
            "INSERT INTO clock_alerts (escalation_id, clock, percent, fire_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(e.key.0)
        .bind(alert.clock as i32)
        .bind(i32::from(alert.percent))
        .bind(micros(alert.at))
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    Ok(())
}

async fn insert_projections(conn: &mut PgConnection, e: &Escalation) -> StoreResult<()> {
    for tag in &e.tags {
        sqlx::query("INSERT INTO escalation_tags (tag, escalation_id) VALUES ($1, $2)")
            .bind(tag)
            .bind(e.key.0)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
    }
    for s in &e.subjects {
        sqlx::query("INSERT INTO escalation_subjects (escalation_id, normalized_key, kind, surface) VALUES ($1, $2, $3, $4)")
            .bind(e.key.0)
            .bind(&s.normalized_key)
            .bind(s.kind.as_str())
            .bind(&s.surface)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
    }
    insert_search_doc(
        conn,
        e.key.0,
        "main",
        Visibility::Partner.as_str(),
        &codec::main_search_text(e),
    )
    .await
}

async fn replace_projections(
    conn: &mut PgConnection,
    before: &Escalation,
    e: &Escalation,
) -> StoreResult<()> {
    if before.tags == e.tags
        && before.subjects == e.subjects
        && codec::main_search_text(before) == codec::main_search_text(e)
    {
        return Ok(());
    }
    for sql in [
        "DELETE FROM escalation_tags WHERE escalation_id = $1",
        "DELETE FROM escalation_subjects WHERE escalation_id = $1",
        "DELETE FROM search_docs WHERE escalation_id = $1 AND source = 'main'",
    ] {
        sqlx::query(sql)
            .bind(e.key.0)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
    }
    insert_projections(conn, e).await
}

fn escalation_from_row(row: &PgRow) -> StoreResult<Escalation> {
    let Json(e): Json<Escalation> = row.try_get("state").map_err(backend)?;
    Ok(e)
}

fn event_from_row(row: &PgRow) -> StoreResult<StoredEvent> {
    let Json(data): Json<serde_json::Value> = row.try_get("data").map_err(backend)?;
    EventColumns {
        escalation_id: row.get("escalation_id"),
        seq: row.get("seq"),
        kind: row.get("kind"),
        visibility: row.get("visibility"),
        actor_id: row.get("actor_id"),
        actor_name: row.get("actor_name"),
        actor_role: row.get("actor_role"),
        at: row.get("at"),
        data,
    }
    .into_event()
}

const EVENT_COLUMNS: &str =
    "escalation_id, seq, kind, visibility, actor_id, actor_name, actor_role, at, data";

fn sort_column(field: SortField) -> &'static str {
    match field {
        SortField::CreatedAt | SortField::Relevance => "e.created_at",
        SortField::UpdatedAt => "e.updated_at",
        SortField::Priority => "e.priority",
        SortField::Key => "e.id",
        SortField::DueAt => codec::DUE_AT_SORT,
    }
}

fn push_any<'a, T: sqlx::Encode<'a, Postgres> + sqlx::Type<Postgres> + Send + 'a>(
    query: &mut QueryBuilder<'a, Postgres>,
    column: &str,
    values: impl ExactSizeIterator<Item = T>,
) {
    if values.len() == 0 {
        return;
    }
    query.push(format!(" AND {column} IN ("));
    let mut list = query.separated(", ");
    for v in values {
        list.push_bind(v);
    }
    list.push_unseparated(")");
}

/// Adds ` AND column` matching any of `values`, where `None` matches NULL.
fn push_any_or_null<'a>(
    query: &mut QueryBuilder<'a, Postgres>,
    column: &str,
    values: &[Option<String>],
) {
    if values.is_empty() {
        return;
    }
    let named: Vec<&String> = values.iter().flatten().collect();
    query.push(" AND (");
    if named.is_empty() {
        query.push("FALSE");
    } else {
        query.push(format!("{column} IN ("));
        let mut list = query.separated(", ");
        for v in named {
            list.push_bind(v.to_string());
        }
        list.push_unseparated(")");
    }
    if values.iter().any(Option::is_none) {
        query.push(format!(" OR {column} IS NULL"));
    }
    query.push(")");
}

/// `%term%` with LIKE's metacharacters escaped: user input is never a pattern.
fn like_pattern(term: &str) -> String {
    let escaped = term
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The documents matching every search term, restricted to what `scope` may read.
fn push_search_match<'a>(
    query: &mut QueryBuilder<'a, Postgres>,
    terms: &'a [String],
    scope: &Scope,
) {
    query.push(" FROM search_docs d WHERE TRUE");
    for term in terms {
        query
            .push(" AND d.body ILIKE ")
            .push_bind(like_pattern(term));
    }
    if scope.partner().is_some() {
        query.push(" AND d.visibility = 'partner'");
    }
}

/// Saves `next` over the stored version `expected` and appends `events`,
/// within the caller's transaction.
async fn save_in(
    tx: &mut PgConnection,
    next: &Escalation,
    expected_version: i64,
    events: &[NewEvent],
) -> StoreResult<()> {
    let id = next.key.0;
    let row = sqlx::query("SELECT version, state FROM escalations WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
    let current: i64 = row.get("version");
    if current != expected_version {
        return Err(StoreError::VersionConflict {
            expected: expected_version,
            current,
        });
    }
    let before = escalation_from_row(&row)?;
    sqlx::query(
            "UPDATE escalations SET type = $1, partner = $2, status = $3, priority = $4, assignee = $5, queue = $6, country = $7, \
             language = $8, updated_at = $9, version = $10, due_at = $11, sensitive = $12, consults_open = $13, state = $14, \
             received_at = $15, surface = $16, policy = $17 WHERE id = $18",
        )
        .bind(&next.escalation_type)
        .bind(&next.partner)
        .bind(next.status.as_str())
        .bind(next.priority.rank())
        .bind(&next.assignee)
        .bind(&next.queue)
        .bind(next.country.as_str())
        .bind(next.language.as_str())
        .bind(micros(next.updated_at))
        .bind(next.version)
        .bind(next.due_at().map(micros))
        .bind(next.is_sensitive())
        .bind(i32::try_from(next.open_consults()).unwrap_or(i32::MAX))
        .bind(Json(next))
        .bind(micros(next.received_at))
        .bind(next.surface())
        .bind(next.policy())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_err(&format!("escalation {}", next.key)))?;
    replace_projections(tx, &before, next).await?;
    if before.clocks != next.clocks {
        sqlx::query("DELETE FROM clock_alerts WHERE escalation_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        insert_alerts(tx, next).await?;
    }
    let last: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events WHERE escalation_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
    for (i, event) in events.iter().enumerate() {
        let seq = last + 1 + i as i64;
        insert_event(tx, id, EventRow::new(seq, event)).await?;
        queue_outbox(tx, id, seq, event.kind).await?;
    }
    let milestones = sqlx::query(&format!(
        "SELECT {MILESTONE_COLUMNS} FROM escalation_facts WHERE escalation_id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(backend)?
    .map(|row| Columns(&row).milestones())
    .transpose()?
    .unwrap_or_default();
    write_facts(tx, &[facts_after(next, milestones, events)]).await
}

#[async_trait]
impl EscalationStore for PgEscalations {
    async fn create(
        &self,
        draft: EscalationDraft,
        actor: &Actor,
        at: Timestamp,
    ) -> StoreResult<Escalation> {
        let mut tx = self.0.begin().await.map_err(backend)?;
        let key: i64 = sqlx::query_scalar("SELECT nextval('escalation_keys')")
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let (escalation, event) = draft.into_escalation(EscalationKey(key), actor, at);
        insert_state(&mut tx, &escalation).await?;
        insert_event(&mut tx, key, EventRow::new(1, &event)).await?;
        queue_outbox(&mut tx, key, 1, event.kind).await?;
        let facts = facts_after(
            &escalation,
            Milestones::default(),
            std::slice::from_ref(&event),
        );
        write_facts(&mut tx, &[facts]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(escalation)
    }

    async fn save(
        &self,
        next: &Escalation,
        expected_version: i64,
        events: &[NewEvent],
    ) -> StoreResult<()> {
        let mut tx = self.0.begin().await.map_err(backend)?;
        save_in(&mut tx, next, expected_version, events).await?;
        tx.commit().await.map_err(backend)
    }

    async fn claim_next(&self, query: &ClaimQuery, assign: Assign) -> StoreResult<Claim> {
        let mut tx = self.0.begin().await.map_err(backend)?;
        if let Some(capacity) = query.capacity {
            // One claim per agent at a time, on every node, so two claims
            // at once cannot both see room for one more.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(format!("claim:{}", query.agent))
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            let held = held_open(&mut *tx, &query.agent).await?;
            if held >= capacity {
                return Ok(Claim::AtCapacity { held });
            }
        }
        let mut select = QueryBuilder::<Postgres>::new(
            "SELECT version, state FROM escalations WHERE assignee IS NULL \
             AND status NOT IN ('resolved', 'closed')",
        );
        for (column, values) in [
            ("queue", &query.queues),
            ("language", &query.languages),
            ("country", &query.countries),
            ("type", &query.types),
        ] {
            if !values.is_empty() {
                select.push(format!(" AND {column} = ANY("));
                select.push_bind(values.clone());
                select.push(")");
            }
        }
        if !query.sensitive_media {
            select.push(" AND NOT sensitive");
        }
        // SKIP LOCKED: a case another node is claiming is passed over, not waited for.
        select.push(" ORDER BY priority, due_at NULLS LAST, id LIMIT 1 FOR UPDATE SKIP LOCKED");
        let Some(row) = select
            .build()
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
        else {
            return Ok(Claim::NoneEligible);
        };
        let current = escalation_from_row(&row)?;
        let (next, events) = assign(&current);
        save_in(&mut tx, &next, row.get("version"), &events).await?;
        tx.commit().await.map_err(backend)?;
        Ok(Claim::Assigned(Box::new(next)))
    }

    async fn work_counts(&self, agent: &str, soon: Timestamp, cap: u32) -> StoreResult<WorkCounts> {
        let row: (i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT \
             (SELECT COUNT(*) FROM (SELECT 1 FROM escalations \
                WHERE assignee = $1 AND status NOT IN ('resolved', 'closed') LIMIT $3) AS mine), \
             (SELECT COUNT(*) FROM (SELECT 1 FROM escalations \
                WHERE assignee IS NULL AND status NOT IN ('resolved', 'closed') LIMIT $3) AS unassigned), \
             (SELECT COUNT(*) FROM (SELECT 1 FROM escalations \
                WHERE due_at IS NOT NULL AND status NOT IN ('resolved', 'closed') AND due_at < $2 LIMIT $3) AS breaching), \
             (SELECT COUNT(*) FROM (SELECT 1 FROM escalations \
                WHERE consults_open > 0 AND status NOT IN ('resolved', 'closed') LIMIT $3) AS waiting), \
             (SELECT COUNT(*) FROM (SELECT 1 FROM escalations \
                WHERE status NOT IN ('resolved', 'closed') LIMIT $3) AS open)",
        )
        .bind(agent)
        .bind(micros(soon))
        .bind(i64::from(cap))
        .fetch_one(&self.0)
        .await
        .map_err(backend)?;
        Ok(WorkCounts::from_row(row))
    }

    async fn held_open(&self, assignee: &str) -> StoreResult<u32> {
        held_open(&self.0, assignee).await
    }

    async fn intake_counts(
        &self,
        granularity: Granularity,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<IntakeCount>> {
        let sql = codec::intake_counts_sql(granularity, "$1", "$2");
        let rows = sqlx::query_as(&sql)
            .bind(micros(from))
            .bind(micros(to))
            .fetch_all(&self.0)
            .await
            .map_err(backend)?;
        codec::intake_counts(rows)
    }

    async fn first_received(&self) -> StoreResult<Option<Timestamp>> {
        let first: Option<i64> = sqlx::query_scalar("SELECT MIN(received_at) FROM escalations")
            .fetch_one(&self.0)
            .await
            .map_err(backend)?;
        first.map(codec::from_micros).transpose()
    }

    async fn overview(
        &self,
        now: Timestamp,
        soon: Timestamp,
        since: Timestamp,
    ) -> StoreResult<Overview> {
        // Backlog and intake are counts the trigger of migration 0012 keeps.
        let backlog =
            sqlx::query_as("SELECT status, priority, open FROM open_backlog WHERE open > 0")
                .fetch_all(&self.0)
                .await
                .map_err(backend)?;
        let (breached, due_soon): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM escalations WHERE due_at IS NOT NULL \
                       AND status NOT IN ('resolved', 'closed') AND due_at < $1), \
                    (SELECT COUNT(*) FROM escalations WHERE due_at IS NOT NULL \
                       AND status NOT IN ('resolved', 'closed') AND due_at >= $1 AND due_at < $2)",
        )
        .bind(micros(now))
        .bind(micros(soon))
        .fetch_one(&self.0)
        .await
        .map_err(backend)?;
        let intake = sqlx::query_as(
            "SELECT day, type, received FROM daily_intake \
             WHERE day >= $1 AND received > 0 ORDER BY day, type",
        )
        .bind(micros(since).div_euclid(MICROS_PER_DAY))
        .fetch_all(&self.0)
        .await
        .map_err(backend)?;
        codec::overview(backlog, breached, due_soon, intake)
    }

    async fn sharing_subjects(
        &self,
        subject_keys: &[String],
        limit: u32,
    ) -> StoreResult<Vec<EscalationKey>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT escalation_id FROM escalation_subjects WHERE normalized_key = ANY($1) \
             ORDER BY escalation_id DESC LIMIT $2",
        )
        .bind(subject_keys)
        .bind(i64::from(limit))
        .fetch_all(&self.0)
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
        // SKIP LOCKED: nodes claiming at once take different rows, none waits.
        let rows = sqlx::query(
            "UPDATE clock_alerts SET lease_until = $1 WHERE (escalation_id, clock, percent) IN \
             (SELECT escalation_id, clock, percent FROM clock_alerts WHERE fire_at <= $2 AND lease_until <= $2 \
              ORDER BY fire_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING escalation_id, clock, percent, fire_at",
        )
        .bind(micros(until))
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.0)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(DueAlert {
                    key: EscalationKey(row.get("escalation_id")),
                    clock: row.get::<i32, _>("clock") as usize,
                    percent: row.get::<i32, _>("percent") as u8,
                    at: codec::from_micros(row.get("fire_at"))?,
                })
            })
            .collect()
    }

    async fn get(&self, key: EscalationKey, scope: &Scope) -> StoreResult<Escalation> {
        let row = sqlx::query("SELECT partner, state FROM escalations WHERE id = $1")
            .bind(key.0)
            .fetch_optional(&self.0)
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
        let terms = filter.q.as_deref().map(search_terms).unwrap_or_default();
        let relevance = filter.sort == SortField::Relevance && !terms.is_empty();
        let query_text = terms.join(" ");
        let mut query = QueryBuilder::<Postgres>::new("SELECT e.state FROM escalations e");
        if relevance {
            query
                .push(" JOIN (SELECT d.escalation_id AS id, MAX(word_similarity(")
                .push_bind(query_text.clone());
            query.push(", d.body)) AS rank");
            push_search_match(&mut query, &terms, scope);
            query.push(" GROUP BY d.escalation_id) m ON m.id = e.id");
        }
        query.push(" WHERE TRUE");
        if !terms.is_empty() && !relevance {
            query.push(" AND e.id IN (SELECT d.escalation_id");
            push_search_match(&mut query, &terms, scope);
            query.push(")");
        }
        if let Some(partner) = scope.partner() {
            query
                .push(" AND e.partner = ")
                .push_bind(partner.to_string());
        }
        push_any(
            &mut query,
            "e.status",
            filter.statuses.iter().map(|s| s.as_str()),
        );
        push_any(&mut query, "e.type", filter.types.iter().cloned());
        push_any(
            &mut query,
            "e.priority",
            filter.priorities.iter().map(|p| p.rank()),
        );
        push_any(&mut query, "e.partner", filter.partners.iter().cloned());
        push_any(&mut query, "e.country", filter.countries.iter().cloned());
        push_any(&mut query, "e.language", filter.languages.iter().cloned());
        push_any_or_null(&mut query, "e.surface", &filter.surfaces);
        push_any_or_null(&mut query, "e.policy", &filter.policies);
        match &filter.assignee {
            None => {}
            Some(None) => {
                query.push(" AND e.assignee IS NULL");
            }
            Some(Some(a)) => {
                query.push(" AND e.assignee = ").push_bind(a.clone());
            }
        }
        if let Some(q) = &filter.queue {
            query.push(" AND e.queue = ").push_bind(q.clone());
        }
        if filter.awaiting_consult {
            query.push(" AND e.consults_open > 0");
        }
        for tag in &filter.tags {
            query
                .push(" AND e.id IN (SELECT escalation_id FROM escalation_tags WHERE tag = ")
                .push_bind(tag.clone())
                .push(")");
        }
        for (column, op, bound) in [
            ("e.created_at", ">=", filter.created_from),
            ("e.created_at", "<", filter.created_to),
            ("e.received_at", ">=", filter.received_from),
            ("e.received_at", "<", filter.received_to),
            ("e.updated_at", ">=", filter.updated_from),
            ("e.updated_at", "<", filter.updated_to),
        ] {
            if let Some(at) = bound {
                query
                    .push(format!(" AND {column} {op} "))
                    .push_bind(micros(at));
            }
        }
        let limit = i64::from(filter.limit.max(1));
        let dir = if filter.direction == SortDirection::Asc {
            "ASC"
        } else {
            "DESC"
        };
        if relevance {
            let offset = match filter.cursor {
                Some(Cursor::Offset(n)) => i64::try_from(n).unwrap_or(i64::MAX),
                _ => 0,
            };
            query
                .push(" ORDER BY m.rank DESC, e.id DESC LIMIT ")
                .push_bind(limit + 1)
                .push(" OFFSET ")
                .push_bind(offset);
            let rows = query.build().fetch_all(&self.0).await.map_err(backend)?;
            let mut items = rows
                .iter()
                .map(escalation_from_row)
                .collect::<StoreResult<Vec<_>>>()?;
            let next =
                (items.len() as i64 > limit).then(|| Cursor::Offset((offset + limit) as u64));
            items.truncate(limit as usize);
            return Ok(Page { items, next });
        }
        let column = sort_column(filter.sort);
        if let Some(Cursor::After { value, key }) = filter.cursor {
            let op = if filter.direction == SortDirection::Asc {
                ">"
            } else {
                "<"
            };
            query
                .push(format!(" AND ({column}, e.id) {op} ("))
                .push_bind(value)
                .push(", ")
                .push_bind(key.0)
                .push(")");
        }
        query
            .push(format!(" ORDER BY {column} {dir}, e.id {dir} LIMIT "))
            .push_bind(limit + 1);
        let rows = query.build().fetch_all(&self.0).await.map_err(backend)?;
        let mut items = rows
            .iter()
            .map(escalation_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|last| Cursor::After {
                value: codec::sort_value(last, filter.sort),
                key: last.key,
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn timeline(&self, key: EscalationKey, scope: &Scope) -> StoreResult<Vec<StoredEvent>> {
        self.get(key, scope).await?;
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE escalation_id = "
        ));
        query.push_bind(key.0);
        if scope.partner().is_some() {
            query.push(" AND visibility = 'partner'");
        }
        query.push(" ORDER BY seq");
        let rows = query.build().fetch_all(&self.0).await.map_err(backend)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn export_batch(
        &self,
        after: Option<EscalationKey>,
        limit: u32,
    ) -> StoreResult<Vec<ExportedEscalation>> {
        let rows = sqlx::query("SELECT state FROM escalations WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after.map_or(0, |k| k.0))
            .bind(i64::from(limit))
            .fetch_all(&self.0)
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
            "SELECT {EVENT_COLUMNS} FROM events WHERE escalation_id BETWEEN $1 AND $2 ORDER BY escalation_id, seq"
        ))
        .bind(first.key.0)
        .bind(last.key.0)
        .fetch_all(&self.0)
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
        let mut tx = self.0.begin().await.map_err(backend)?;
        let mut highest = 0;
        for exported in batch {
            let e = &exported.escalation;
            insert_state(&mut tx, e).await?;
            for event in &exported.events {
                insert_event(&mut tx, e.key.0, EventRow::stored(event)).await?;
            }
            highest = highest.max(e.key.0);
        }
        let facts: Vec<_> = batch.iter().map(facts_of_export).collect();
        write_facts(&mut tx, &facts).await?;
        if highest > 0 {
            sqlx::query("SELECT setval('escalation_keys', GREATEST((SELECT last_value FROM escalation_keys), $1))")
                .bind(highest)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }
}
