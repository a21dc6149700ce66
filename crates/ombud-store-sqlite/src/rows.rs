//! Bulk inserts of escalations, their projections and events: each table
//! gets one statement per command, its rows passed as one JSON array that
//! `json_each` unpacks, so an import batch of a thousand escalations costs a
//! handful of statements instead of tens of thousands, and `create` and
//! `import` share one path.

use ombud_domain::sla::pending_alerts;
use ombud_domain::{Escalation, EscalationKey, StoredEvent, Visibility};
use std::sync::LazyLock;

use ombud_domain::metrics::{ConsultFacts, EscalationFacts};
use ombud_store::codec::{encode_state, main_search_text, micros};
use ombud_store::metrics::{CONSULT_FACTS_COLUMNS, ConsultFactsRow, FACTS_COLUMNS, FactsRow};
use ombud_store::{StoreError, StoreResult};
use serde::Serialize;
use sqlx::SqliteConnection;

use crate::{Violation, backend};

#[derive(Serialize)]
struct EscalationRow<'a> {
    id: i64,
    #[serde(rename = "type")]
    escalation_type: &'a str,
    partner: &'a str,
    status: &'static str,
    priority: i64,
    assignee: Option<&'a str>,
    queue: Option<&'a str>,
    country: &'a str,
    language: &'a str,
    received_at: i64,
    surface: Option<&'a str>,
    policy: Option<&'a str>,
    created_at: i64,
    updated_at: i64,
    version: i64,
    due_at: Option<i64>,
    sensitive: bool,
    consults_open: i64,
    state: String,
}

#[derive(Serialize)]
struct TagRow<'a> {
    escalation_id: i64,
    tag: &'a str,
    created_at: i64,
}

#[derive(Serialize)]
struct SubjectRow<'a> {
    escalation_id: i64,
    normalized_key: &'a str,
    kind: &'static str,
    surface: &'a str,
}

#[derive(Serialize)]
struct DocRow {
    escalation_id: i64,
    source: &'static str,
    visibility: &'static str,
    /// Lowercased here, in Unicode, so that search compares like with like.
    body: String,
}

#[derive(Serialize)]
struct AlertRow {
    escalation_id: i64,
    clock: usize,
    percent: u8,
    fire_at: i64,
}

#[derive(Serialize)]
struct OutboxRow {
    escalation_id: i64,
    seq: i64,
    kind: &'static str,
}

#[derive(Serialize)]
struct EventRow<'a> {
    escalation_id: i64,
    seq: i64,
    kind: &'static str,
    visibility: &'static str,
    actor_id: &'a str,
    actor_name: &'a str,
    actor_role: Option<&'static str>,
    at: i64,
    data: String,
}

/// A count as SQLite stores it.
pub(crate) fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

const INSERT_ESCALATIONS: &str = "INSERT INTO escalations (id, type, partner, status, priority, assignee, queue, country, language, received_at, surface, policy, created_at, updated_at, version, due_at, sensitive, consults_open, state) \
     SELECT value ->> 'id', value ->> 'type', value ->> 'partner', value ->> 'status', value ->> 'priority', value ->> 'assignee', value ->> 'queue', \
     value ->> 'country', value ->> 'language', value ->> 'received_at', value ->> 'surface', value ->> 'policy', value ->> 'created_at', value ->> 'updated_at', value ->> 'version', value ->> 'due_at', value ->> 'sensitive', value ->> 'consults_open', value ->> 'state' FROM json_each(?)";
const INSERT_TAGS: &str = "INSERT INTO escalation_tags (escalation_id, tag, created_at) \
     SELECT value ->> 'escalation_id', value ->> 'tag', value ->> 'created_at' FROM json_each(?)";
const INSERT_SUBJECTS: &str = "INSERT INTO escalation_subjects (escalation_id, normalized_key, kind, surface) \
     SELECT value ->> 'escalation_id', value ->> 'normalized_key', value ->> 'kind', value ->> 'surface' FROM json_each(?)";
const INSERT_DOCS: &str = "INSERT INTO search_docs (escalation_id, source, visibility, body) \
     SELECT value ->> 'escalation_id', value ->> 'source', value ->> 'visibility', value ->> 'body' FROM json_each(?)";
const INSERT_ALERTS: &str = "INSERT INTO clock_alerts (escalation_id, clock, percent, fire_at) \
     SELECT value ->> 'escalation_id', value ->> 'clock', value ->> 'percent', value ->> 'fire_at' FROM json_each(?)";
const INSERT_OUTBOX: &str = "INSERT INTO outbox (escalation_id, seq, kind) \
     SELECT value ->> 'escalation_id', value ->> 'seq', value ->> 'kind' FROM json_each(?)";
const INSERT_EVENTS: &str = "INSERT INTO events (escalation_id, seq, kind, visibility, actor_id, actor_name, actor_role, at, data) \
     SELECT value ->> 'escalation_id', value ->> 'seq', value ->> 'kind', value ->> 'visibility', value ->> 'actor_id', \
     value ->> 'actor_name', value ->> 'actor_role', value ->> 'at', value ->> 'data' FROM json_each(?)";

/// Facts replace the escalation's earlier ones.
static REPLACE_FACTS: LazyLock<String> =
    LazyLock::new(|| replace_from_json("escalation_facts", FACTS_COLUMNS));
static REPLACE_CONSULT_FACTS: LazyLock<String> =
    LazyLock::new(|| replace_from_json("consult_facts", CONSULT_FACTS_COLUMNS));

fn replace_from_json(table: &str, columns: &[&str]) -> String {
    let values: Vec<String> = columns.iter().map(|c| format!("value ->> '{c}'")).collect();
    format!(
        "INSERT OR REPLACE INTO {table} ({}) SELECT {} FROM json_each(?)",
        columns.join(", "),
        values.join(", ")
    )
}

/// The rows one write command inserts.
#[derive(Default)]
pub(crate) struct Rows<'a> {
    escalations: Vec<EscalationRow<'a>>,
    tags: Vec<TagRow<'a>>,
    subjects: Vec<SubjectRow<'a>>,
    docs: Vec<DocRow>,
    alerts: Vec<AlertRow>,
    events: Vec<EventRow<'a>>,
    outbox: Vec<OutboxRow>,
    facts: Vec<FactsRow<'a>>,
    consult_facts: Vec<ConsultFactsRow<'a>>,
}

impl<'a> Rows<'a> {
    /// A new escalation with its tags, subjects and main search document.
    pub(crate) fn escalation(&mut self, e: &'a Escalation) {
        self.escalations.push(EscalationRow {
            id: e.key.0,
            escalation_type: &e.escalation_type,
            partner: &e.partner,
            status: e.status.as_str(),
            priority: e.priority.rank(),
            assignee: e.assignee.as_deref(),
            queue: e.queue.as_deref(),
            country: e.country.as_str(),
            language: e.language.as_str(),
            received_at: micros(e.received_at),
            surface: e.surface(),
            policy: e.policy(),
            created_at: micros(e.created_at),
            updated_at: micros(e.updated_at),
            version: e.version,
            due_at: e.due_at().map(micros),
            sensitive: e.is_sensitive(),
            consults_open: count(e.open_consults()),
            state: encode_state(e),
        });
        self.tags(e);
        self.subjects(e);
        self.main_doc(e, &main_search_text(e));
        self.alerts(e);
    }

    /// An escalation's metrics facts, replacing the stored ones.
    pub(crate) fn facts(&mut self, (facts, consults): &'a (EscalationFacts, Vec<ConsultFacts>)) {
        self.facts.push(FactsRow::of(facts));
        self.consult_facts
            .extend(consults.iter().map(ConsultFactsRow::of));
    }

    /// The alerts its running clocks will raise.
    pub(crate) fn alerts(&mut self, e: &Escalation) {
        self.alerts
            .extend(pending_alerts(&e.clocks).into_iter().map(|a| AlertRow {
                escalation_id: e.key.0,
                clock: a.clock,
                percent: a.percent,
                fire_at: micros(a.at),
            }));
    }

    pub(crate) fn tags(&mut self, e: &'a Escalation) {
        self.tags.extend(e.tags.iter().map(|tag| TagRow {
            escalation_id: e.key.0,
            tag,
            created_at: micros(e.created_at),
        }));
    }

    pub(crate) fn subjects(&mut self, e: &'a Escalation) {
        self.subjects.extend(e.subjects.iter().map(|s| SubjectRow {
            escalation_id: e.key.0,
            normalized_key: &s.normalized_key,
            kind: s.kind.as_str(),
            surface: &s.surface,
        }));
    }

    /// The document title, description and subjects are found by; partners may search it.
    pub(crate) fn main_doc(&mut self, e: &Escalation, text: &str) {
        self.docs.push(DocRow {
            escalation_id: e.key.0,
            source: "main",
            visibility: Visibility::Partner.as_str(),
            body: text.to_lowercase(),
        });
    }

    /// An event of `escalation`, and a search document if it has searchable text.
    pub(crate) fn event(&mut self, escalation: EscalationKey, event: &'a StoredEvent) {
        let escalation_id = escalation.0;
        self.events.push(EventRow {
            escalation_id,
            seq: event.seq,
            kind: event.kind.as_str(),
            visibility: event.visibility.as_str(),
            actor_id: &event.actor.id,
            actor_name: &event.actor.name,
            actor_role: event.actor.role.map(|r| r.as_str()),
            at: micros(event.at),
            data: event.data.to_string(),
        });
        if let Some(text) = event.searchable_text() {
            self.docs.push(DocRow {
                escalation_id,
                source: "comment",
                visibility: event.visibility.as_str(),
                body: text.to_lowercase(),
            });
        }
    }

    /// Queues a new event for webhooks (imports restore history and queue nothing).
    pub(crate) fn outbox(&mut self, escalation: EscalationKey, event: &StoredEvent) {
        self.outbox.push(OutboxRow {
            escalation_id: escalation.0,
            seq: event.seq,
            kind: event.kind.as_str(),
        });
    }

    pub(crate) async fn insert(&self, conn: &mut SqliteConnection) -> StoreResult<()> {
        if !self.escalations.is_empty() {
            let payload = json(&self.escalations);
            if let Err(error) = sqlx::query(INSERT_ESCALATIONS)
                .bind(&payload)
                .execute(&mut *conn)
                .await
            {
                return Err(explain(conn, error, &payload).await);
            }
        }
        insert(conn, INSERT_TAGS, &self.tags).await?;
        insert(conn, INSERT_SUBJECTS, &self.subjects).await?;
        insert(conn, INSERT_DOCS, &self.docs).await?;
        insert(conn, INSERT_ALERTS, &self.alerts).await?;
        insert(conn, INSERT_EVENTS, &self.events).await?;
        insert(conn, INSERT_OUTBOX, &self.outbox).await?;
        insert(conn, &REPLACE_FACTS, &self.facts).await?;
        insert(conn, &REPLACE_CONSULT_FACTS, &self.consult_facts).await
    }
}

fn json<T: Serialize>(rows: &[T]) -> String {
    serde_json::to_string(rows).expect("rows of strings and numbers serialise to JSON")
}

async fn insert<T: Serialize>(
    conn: &mut SqliteConnection,
    sql: &str,
    rows: &[T],
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(sql)
        .bind(json(rows))
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

/// An imported key that exists already or that the batch repeats.
const TAKEN_KEY: &str = "SELECT value ->> 'id' AS k FROM json_each(?) GROUP BY k \
     HAVING COUNT(*) > 1 OR k IN (SELECT id FROM escalations) LIMIT 1";
const MISSING_PARTNER: &str = "SELECT value ->> 'partner' FROM json_each(?) \
     WHERE value ->> 'partner' NOT IN (SELECT slug FROM partners) LIMIT 1";

/// Names the key or partner that made inserting escalations fail.
async fn explain(conn: &mut SqliteConnection, error: sqlx::Error, payload: &str) -> StoreError {
    let culprit = match Violation::of(&error) {
        Some(Violation::Unique) => sqlx::query_scalar::<_, i64>(TAKEN_KEY)
            .bind(payload)
            .fetch_optional(&mut *conn)
            .await
            .map(|key| key.map(|k| format!("escalation {} already exists", EscalationKey(k)))),
        Some(Violation::Reference) => sqlx::query_scalar::<_, String>(MISSING_PARTNER)
            .bind(payload)
            .fetch_optional(&mut *conn)
            .await
            .map(|slug| slug.map(|s| format!("partner {s} does not exist"))),
        None => return backend(error),
    };
    StoreError::Conflict(
        culprit
            .ok()
            .flatten()
            .unwrap_or_else(|| "the escalations conflict with stored records".into()),
    )
}
