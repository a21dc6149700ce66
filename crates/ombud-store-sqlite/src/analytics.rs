//! Analysts' SQL on SQLite. Each query gets its own read-only connection
//! (rusqlite, on the same bundled SQLite as sqlx) on which the analytics
//! views exist as TEMP views, so that an unqualified `escalations` names the
//! view and not the table. An authorizer then allows a statement to read a
//! table only on behalf of one of those views: base tables, `sqlite_schema`
//! and the secrets in `users` and `tokens` are out of reach, and every
//! write, PRAGMA, ATTACH or schema change is denied while it is compiled.
//! A progress handler ends a statement that runs past its time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ombud_store::analytics::{AnalyticsStore, QueryRows, Row, VIEWS, rows_from, trimmed_statement};
use ombud_store::{StoreError, StoreResult};
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::ValueRef;
use rusqlite::{Batch, Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone)]
pub(crate) struct SqliteAnalytics {
    pub(crate) path: PathBuf,
}

/// Functions no analyst needs that reach outside the query.
const DENIED_FUNCTIONS: &[&str] = &["load_extension", "fts3_tokenizer"];

/// Rows a query may have read before the channel pushes back.
const ROWS_IN_FLIGHT: usize = 256;

/// Timestamps in the views read `YYYY-MM-DDTHH:MM:SSZ` on every backend.
macro_rules! micros {
    ($column:literal) => {
        concat!(
            "strftime('%Y-%m-%dT%H:%M:%SZ', ",
            $column,
            " / 1000000, 'unixepoch')"
        )
    };
}
macro_rules! json_time {
    ($json:literal, $path:literal) => {
        concat!(
            "substr(json_extract(",
            $json,
            ", '",
            $path,
            "'), 1, 19) || 'Z'"
        )
    };
}

/// The view definitions, in `VIEWS` order; the conformance suite checks
/// their columns against `VIEWS`.
const DEFINITIONS: &[(&str, &str)] = &[
    (
        "escalations",
        concat!(
            "SELECT 'ESC-' || e.id AS key, e.type AS type, ",
            "json_extract(e.state, '$.title') AS title, e.partner AS partner, ",
            "json_extract(e.state, '$.channel') AS channel, e.status AS status, ",
            "e.priority AS priority, e.assignee AS assignee, e.queue AS queue, ",
            "e.country AS country, e.language AS language, e.sensitive AS sensitive, ",
            "e.consults_open AS consults_open, ",
            json_time!("e.state", "$.received_at"),
            " AS received_at, ",
            micros!("e.created_at"),
            " AS created_at, ",
            micros!("e.updated_at"),
            " AS updated_at, ",
            micros!("e.due_at"),
            " AS due_at, ",
            "json_extract(e.state, '$.decision.outcome') AS outcome, ",
            "json_extract(e.state, '$.decision.root_cause') AS root_cause, ",
            json_time!("e.state", "$.decision.decided_at"),
            " AS decided_at FROM main.escalations e"
        ),
    ),
    (
        "events",
        concat!(
            "SELECT 'ESC-' || v.escalation_id AS escalation_key, v.seq AS seq, v.kind AS kind, ",
            "v.visibility AS visibility, v.actor_id AS actor, v.actor_name AS actor_name, ",
            "v.actor_role AS actor_role, ",
            micros!("v.at"),
            " AS at, v.data AS data FROM main.events v"
        ),
    ),
    (
        "clocks",
        concat!(
            "SELECT 'ESC-' || e.id AS escalation_key, json_extract(c.value, '$.kind') AS kind, ",
            "json_extract(c.value, '$.source.kind') AS source_kind, ",
            "CAST(json_extract(c.value, '$.source.id') AS TEXT) AS source_id, ",
            "json_extract(c.value, '$.target') AS target, ",
            json_time!("c.value", "$.started_at"),
            " AS started_at, ",
            json_time!("c.value", "$.due_at"),
            " AS due_at, ",
            json_time!("c.value", "$.stopped_at"),
            " AS stopped_at FROM main.escalations e, json_each(e.state, '$.clocks') c"
        ),
    ),
    (
        "decisions",
        concat!(
            "SELECT 'ESC-' || e.id AS escalation_key, ",
            "json_extract(e.state, '$.decision.outcome') AS outcome, ",
            "json_extract(e.state, '$.decision.policy') AS policy, ",
            "json_extract(e.state, '$.decision.policy_version') AS policy_version, ",
            "json_extract(e.state, '$.decision.root_cause') AS root_cause, ",
            "json_extract(e.state, '$.decision.root_cause_note') AS root_cause_note, ",
            "json_extract(e.state, '$.decision.owning_team') AS owning_team, ",
            "json_extract(e.state, '$.decision.upstream_fix.url') AS fix_url, ",
            "json_extract(e.state, '$.decision.upstream_fix.status') AS fix_status, ",
            "json_extract(e.state, '$.decision.upstream_fix.owner') AS fix_owner, ",
            "json_extract(e.state, '$.decision.decided_by') AS decided_by, ",
            json_time!("e.state", "$.decision.decided_at"),
            " AS decided_at FROM main.escalations e ",
            "WHERE json_extract(e.state, '$.decision') IS NOT NULL"
        ),
    ),
    (
        "decision_actions",
        concat!(
            "SELECT 'ESC-' || e.id AS escalation_key, ",
            "json_extract(a.value, '$.subject') AS subject, ",
            "json_extract(a.value, '$.action') AS action, ",
            "coalesce((SELECT group_concat(c.value, ',' ORDER BY c.key) ",
            "FROM json_each(a.value, '$.countries') c), '') AS countries ",
            "FROM main.escalations e, json_each(e.state, '$.decision.actions') a"
        ),
    ),
    (
        "consults",
        concat!(
            "SELECT 'ESC-' || e.id AS escalation_key, json_extract(c.value, '$.id') AS id, ",
            "json_extract(c.value, '$.function') AS function, ",
            "json_extract(c.value, '$.required') AS required, ",
            "json_extract(c.value, '$.requested_by') AS requested_by, ",
            json_time!("c.value", "$.requested_at"),
            " AS requested_at, ",
            json_time!("c.value", "$.due_at"),
            " AS due_at, ",
            "json_extract(c.value, '$.answer.verdict') AS verdict, ",
            "json_extract(c.value, '$.answer.by') AS answered_by, ",
            json_time!("c.value", "$.answer.at"),
            " AS answered_at FROM main.escalations e, json_each(e.state, '$.consults') c"
        ),
    ),
    (
        "partners",
        concat!(
            "SELECT p.slug AS slug, json_extract(p.state, '$.name') AS name, ",
            "json_extract(p.state, '$.kind') AS kind, json_extract(p.state, '$.tier') AS tier, ",
            "json_extract(p.state, '$.country') AS country, ",
            "json_extract(p.state, '$.language') AS language, ",
            "json_extract(p.state, '$.active') AS active, ",
            json_time!("p.state", "$.created_at"),
            " AS created_at FROM main.partners p"
        ),
    ),
    (
        "subjects",
        concat!(
            "SELECT 'ESC-' || s.escalation_id AS escalation_key, s.normalized_key AS subject, ",
            "s.kind AS kind, s.surface AS surface FROM main.escalation_subjects s"
        ),
    ),
    (
        "tags",
        "SELECT 'ESC-' || t.escalation_id AS escalation_key, t.tag AS tag FROM main.escalation_tags t",
    ),
];

/// Reads of the analytics views and, on their behalf, of the tables behind
/// them, and plain SELECT machinery; nothing else.
fn authorize(context: AuthContext<'_>) -> Authorization {
    let is_view = |name: &str| VIEWS.iter().any(|v| v.name == name);
    match context.action {
        AuthAction::Select => Authorization::Allow,
        // A view's own columns, read by the query…
        AuthAction::Read { table_name, .. }
            if context.database_name == Some("temp") && is_view(table_name) =>
        {
            Authorization::Allow
        }
        // …and the tables behind it, read by the view.
        AuthAction::Read { .. } if context.accessor.is_some_and(is_view) => Authorization::Allow,
        // A flattened `count(*)` over a view touches its table without
        // reading a column and without naming the view: only a row count,
        // which is no secret in any table.
        AuthAction::Read {
            column_name: "", ..
        } => Authorization::Allow,
        AuthAction::Function { function_name }
            if !DENIED_FUNCTIONS
                .iter()
                .any(|f| f.eq_ignore_ascii_case(function_name)) =>
        {
            Authorization::Allow
        }
        AuthAction::Recursive => Authorization::Allow,
        _ => Authorization::Deny,
    }
}

fn sandbox(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::from_secs(10))?;
    for (name, definition) in DEFINITIONS {
        connection.execute_batch(&format!("CREATE TEMP VIEW {name} AS {definition}"))?;
    }
    connection.authorizer(Some(authorize));
    Ok(connection)
}

fn cell(value: ValueRef<'_>) -> serde_json::Value {
    match value {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(r) => {
            serde_json::Number::from_f64(r).map_or(serde_json::Value::Null, Into::into)
        }
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
        ValueRef::Blob(b) => format!("\\x{}", hex(b)).into(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn query_error(error: rusqlite::Error, timeout: Duration) -> StoreError {
    match error {
        rusqlite::Error::SqliteFailure(e, _)
            if e.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            StoreError::Query(format!(
                "the query ran longer than its {} s limit",
                timeout.as_secs()
            ))
        }
        rusqlite::Error::SqliteFailure(e, Some(message))
            if e.code == rusqlite::ErrorCode::AuthorizationForStatementDenied =>
        {
            StoreError::Query(format!(
                "{message}: queries may only read the analytics views ({})",
                VIEWS.iter().map(|v| v.name).collect::<Vec<_>>().join(", ")
            ))
        }
        rusqlite::Error::SqliteFailure(_, Some(message)) => StoreError::Query(message),
        other => StoreError::Query(other.to_string()),
    }
}

/// Runs on a blocking thread: prepares, reports the columns (or why not),
/// then sends rows until done, refused by the limit, or nobody listens.
fn run(
    path: &std::path::Path,
    sql: &str,
    limit: Option<u64>,
    timeout: Duration,
    started: oneshot::Sender<StoreResult<Vec<String>>>,
    rows: mpsc::Sender<Row>,
) {
    let connection = match sandbox(path) {
        Ok(connection) => connection,
        Err(error) => {
            let _ = started.send(Err(StoreError::backend(error)));
            return;
        }
    };
    let deadline = Instant::now() + timeout;
    connection.progress_handler(10_000, Some(move || Instant::now() > deadline));
    let mut statements = Batch::new(&connection, sql);
    let prepared = match statements.next() {
        Ok(Some(statement)) => match statements.next() {
            Ok(None) => Ok(statement),
            _ => Err(StoreError::Query("run one statement at a time".into())),
        },
        Ok(None) => Err(StoreError::Query("there is no statement to run".into())),
        Err(error) => Err(query_error(error, timeout)),
    };
    let mut statement = match prepared {
        Ok(statement) => statement,
        Err(error) => {
            let _ = started.send(Err(error));
            return;
        }
    };
    if !statement.readonly() {
        let _ = started.send(Err(StoreError::Query(
            "only queries that read may run here".into(),
        )));
        return;
    }
    let columns: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(String::from)
        .collect();
    let width = columns.len();
    if started.send(Ok(columns)).is_err() {
        return;
    }
    let mut cursor = match statement.query([]) {
        Ok(cursor) => cursor,
        Err(error) => {
            let _ = rows.blocking_send(Err(query_error(error, timeout)));
            return;
        }
    };
    let mut sent = 0u64;
    while limit.is_none_or(|limit| sent < limit) {
        let next = match cursor.next() {
            Ok(Some(row)) => Ok((0..width)
                .map(|i| row.get_ref(i).map_or(serde_json::Value::Null, cell))
                .collect()),
            Ok(None) => return,
            Err(error) => Err(query_error(error, timeout)),
        };
        let failed = next.is_err();
        if rows.blocking_send(next).is_err() || failed {
            return;
        }
        sent += 1;
    }
}

#[async_trait]
impl AnalyticsStore for SqliteAnalytics {
    async fn query(
        &self,
        sql: &str,
        limit: Option<u64>,
        timeout: Duration,
    ) -> StoreResult<QueryRows> {
        let (started_tx, started_rx) = oneshot::channel();
        let (rows_tx, rows_rx) = mpsc::channel(ROWS_IN_FLIGHT);
        let path = self.path.clone();
        let sql = trimmed_statement(sql).to_owned();
        tokio::task::spawn_blocking(move || run(&path, &sql, limit, timeout, started_tx, rows_tx));
        let columns = started_rx
            .await
            .map_err(|_| StoreError::Query("the query stopped before it started".into()))??;
        Ok(QueryRows {
            columns,
            rows: rows_from(rows_rx),
        })
    }
}
