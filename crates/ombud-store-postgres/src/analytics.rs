//! Analysts' SQL on PostgreSQL. Queries run on a pool of their own, logged
//! in as `ombud_analyst` (migration 0013): that role may read the views in
//! the `analytics` schema and no table, and being its own session user it
//! cannot `SET ROLE` its way to more. Each query runs in a READ ONLY
//! transaction with a statement timeout, wrapped as a subquery so that only
//! a SELECT fits, and its rows come back as JSON so any column type reads.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use ombud_store::analytics::{AnalyticsStore, QueryRows, Row, VIEWS, rows_from, trimmed_statement};
use ombud_store::{StoreError, StoreResult};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Acquire, Column, Executor, Row as _};
use tokio::sync::mpsc;

/// The role analysts' queries log in as.
pub const ANALYST_ROLE: &str = "ombud_analyst";

/// Rows read ahead of the client before the channel pushes back.
const ROWS_IN_FLIGHT: usize = 256;

#[derive(Debug, Clone)]
pub(crate) struct PgAnalytics(pub(crate) PgPool);

/// A pool for `url` logged in as the analyst role instead of its user (the
/// password dropped, which trust or peer authentication on the database
/// host allows), unless `analyst_url` says otherwise. Connects on first use,
/// so Ombud starts even where the role is missing.
pub(crate) fn pool(main: &PgConnectOptions, analyst_url: Option<&str>) -> StoreResult<PgPool> {
    let options = match analyst_url {
        Some(url) => url
            .parse::<PgConnectOptions>()
            .map_err(StoreError::backend)?,
        None => main.clone().username(ANALYST_ROLE).password(""),
    };
    let options = options.options([("search_path", "analytics")]);
    Ok(PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options))
}

fn failed(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Database(db) => {
            let message = db.message().to_owned();
            if db.code().as_deref() == Some("57014") {
                StoreError::Query("the query ran longer than its time limit".into())
            } else if db.code().as_deref() == Some("42501") {
                StoreError::Query(format!(
                    "{message}: queries may only read the analytics views ({})",
                    VIEWS.iter().map(|v| v.name).collect::<Vec<_>>().join(", ")
                ))
            } else {
                StoreError::Query(message)
            }
        }
        other => StoreError::Query(format!(
            "analytics queries are unavailable: {other} (is the {ANALYST_ROLE} role set up? see docs/analytics.md)"
        )),
    }
}

/// The statement as a subquery with its columns renamed c1…cN, so that
/// `row_to_json` keeps every column, even two with the same name.
fn wrapped(sql: &str, width: usize, limit: Option<u64>) -> String {
    let aliases: Vec<String> = (1..=width).map(|i| format!("c{i}")).collect();
    let mut wrapped = format!(
        "SELECT row_to_json(q)::text FROM (\n{sql}\n) AS q({})",
        aliases.join(", ")
    );
    if let Some(limit) = limit {
        wrapped.push_str(&format!(" LIMIT {limit}"));
    }
    wrapped
}

fn cells(json: &str, width: usize) -> StoreResult<Vec<serde_json::Value>> {
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).map_err(StoreError::backend)?;
    Ok((1..=width)
        .map(|i| object.remove(&format!("c{i}")).unwrap_or_default())
        .collect())
}

#[async_trait]
impl AnalyticsStore for PgAnalytics {
    async fn query(
        &self,
        sql: &str,
        limit: Option<u64>,
        timeout: Duration,
    ) -> StoreResult<QueryRows> {
        let sql = trimmed_statement(sql).to_owned();
        let mut connection = self.0.acquire().await.map_err(failed)?;
        let columns: Vec<String> = {
            let mut transaction = connection.begin().await.map_err(failed)?;
            transaction
                .execute("SET TRANSACTION READ ONLY")
                .await
                .map_err(failed)?;
            let described = (&mut *transaction).describe(&sql).await.map_err(failed)?;
            described
                .columns()
                .iter()
                .map(|c| c.name().to_owned())
                .collect()
        };
        if columns.is_empty() {
            return Err(StoreError::Query(
                "the query returns no columns; only a SELECT may run here".into(),
            ));
        }
        let width = columns.len();
        let statement = wrapped(&sql, width, limit);
        let (sender, receiver) = mpsc::channel::<Row>(ROWS_IN_FLIGHT);
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let result = async {
                let mut transaction = connection.begin().await?;
                transaction.execute("SET TRANSACTION READ ONLY").await?;
                transaction
                    .execute(
                        format!("SET LOCAL statement_timeout = {}", timeout.as_millis()).as_str(),
                    )
                    .await?;
                Ok::<_, sqlx::Error>(transaction)
            }
            .await;
            let mut transaction = match result {
                Ok(transaction) => transaction,
                Err(error) => {
                    let _ = started_tx.send(Err(failed(error)));
                    return;
                }
            };
            let mut rows = sqlx::query(&statement).fetch(&mut *transaction);
            // The first row, or the error, tells whether the wrapped
            // statement was accepted at all.
            let first = rows.next().await;
            let first = match first {
                Some(Err(error)) => {
                    let _ = started_tx.send(Err(failed(error)));
                    return;
                }
                other => other,
            };
            if started_tx.send(Ok(())).is_err() {
                return;
            }
            let mut next = first;
            while let Some(row) = next {
                let row = row.map_err(failed).and_then(|row| {
                    let json: String = row.try_get(0).map_err(StoreError::backend)?;
                    cells(&json, width)
                });
                let failed = row.is_err();
                if sender.send(row).await.is_err() || failed {
                    return;
                }
                next = rows.next().await;
            }
        });
        started_rx
            .await
            .map_err(|_| StoreError::Query("the query stopped before it started".into()))??;
        Ok(QueryRows {
            columns,
            rows: rows_from(receiver),
        })
    }
}
