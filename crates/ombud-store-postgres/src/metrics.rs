//! The metrics facts: written with the escalation in its transaction
//! (`write_facts`), read as narrow rows by arrival (or the open ones),
//! filtered in SQL.

use async_trait::async_trait;
use jiff::Timestamp;
use ombud_domain::metrics::{ConsultFacts, EscalationFacts};
use ombud_store::metrics::{
    CONSULT_FACTS_COLUMNS, ConsultFactsRow, FACTS_COLUMNS, FactsColumns, FactsRow,
};
use ombud_store::{FactsFilter, MetricsStore, StoreError, StoreResult};
use sqlx::postgres::{PgConnection, PgRow, Postgres};
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row};

use crate::{Pool, backend};

#[derive(Debug)]
pub(crate) struct PgMetrics(pub(crate) Pool);

/// A facts row of this backend, read by position.
pub(crate) struct Columns<'r>(pub(crate) &'r PgRow);

impl FactsColumns for Columns<'_> {
    fn int(&self, index: usize) -> StoreResult<Option<i64>> {
        self.0.try_get(index).map_err(backend)
    }

    fn text(&self, index: usize) -> StoreResult<Option<String>> {
        self.0.try_get(index).map_err(backend)
    }
}

/// The SQL type of a facts column: the text dimensions, else a number.
fn column_type(column: &str) -> &'static str {
    match column {
        "type" | "surface" | "country" | "language" | "partner" | "queue" | "outcome"
        | "policy" | "root_cause" | "function" => "TEXT",
        _ => "BIGINT",
    }
}

/// `INSERT … SELECT … FROM jsonb_to_recordset($1)` replacing rows that
/// share the primary key `key`: one statement per batch.
fn upsert_from_json(table: &str, columns: &[&str], key: &str) -> String {
    let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let record: Vec<String> = columns
        .iter()
        .map(|c| format!("\"{c}\" {}", column_type(c)))
        .collect();
    let updates: Vec<String> = quoted
        .iter()
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    format!(
        "INSERT INTO {table} ({columns}) SELECT {columns} FROM jsonb_to_recordset($1) AS r({record}) \
         ON CONFLICT ({key}) DO UPDATE SET {updates}",
        columns = quoted.join(", "),
        record = record.join(", "),
        updates = updates.join(", "),
    )
}

/// Writes the facts of escalations (and their consults), replacing the
/// stored ones, inside the caller's transaction.
pub(crate) async fn write_facts(
    conn: &mut PgConnection,
    facts: &[(EscalationFacts, Vec<ConsultFacts>)],
) -> StoreResult<()> {
    let rows: Vec<FactsRow<'_>> = facts.iter().map(|(f, _)| FactsRow::of(f)).collect();
    let consults: Vec<ConsultFactsRow<'_>> = facts
        .iter()
        .flat_map(|(_, consults)| consults.iter().map(ConsultFactsRow::of))
        .collect();
    if !rows.is_empty() {
        sqlx::query(&upsert_from_json(
            "escalation_facts",
            FACTS_COLUMNS,
            "escalation_id",
        ))
        .bind(Json(&rows))
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    if !consults.is_empty() {
        sqlx::query(&upsert_from_json(
            "consult_facts",
            CONSULT_FACTS_COLUMNS,
            "escalation_id, number",
        ))
        .bind(Json(&consults))
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    Ok(())
}

/// `AND table.column = ANY(…)` for each dimension `filter` restricts.
fn push_filter(select: &mut QueryBuilder<'_, Postgres>, table: &str, filter: &FactsFilter) {
    for (column, values) in filter.columns() {
        if let Some(values) = values {
            select.push(format!(" AND {table}.\"{column}\" = ANY("));
            select.push_bind(values.to_vec());
            select.push(")");
        }
    }
}

fn select_from(table: &str, alias: &str, columns: &[&str]) -> String {
    let columns: Vec<String> = columns.iter().map(|c| format!("{alias}.\"{c}\"")).collect();
    format!("SELECT {} FROM {table} {alias}", columns.join(", "))
}

impl PgMetrics {
    async fn escalation_facts(
        &self,
        mut select: QueryBuilder<'_, Postgres>,
    ) -> StoreResult<Vec<EscalationFacts>> {
        let rows = select.build().fetch_all(&self.0).await.map_err(backend)?;
        rows.iter()
            .map(|row| Columns(row).escalation_facts())
            .collect()
    }
}

#[async_trait]
impl MetricsStore for PgMetrics {
    async fn arrived(
        &self,
        filter: &FactsFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<EscalationFacts>> {
        let mut select = QueryBuilder::new(select_from("escalation_facts", "f", FACTS_COLUMNS));
        select.push(" WHERE f.arrived_at >= ");
        select.push_bind(from.as_second());
        select.push(" AND f.arrived_at < ");
        select.push_bind(to.as_second());
        push_filter(&mut select, "f", filter);
        self.escalation_facts(select).await
    }

    async fn open(&self, filter: &FactsFilter) -> StoreResult<Vec<EscalationFacts>> {
        let mut select = QueryBuilder::new(select_from("escalation_facts", "f", FACTS_COLUMNS));
        select.push(" WHERE f.open = 1");
        push_filter(&mut select, "f", filter);
        self.escalation_facts(select).await
    }

    async fn consults(
        &self,
        filter: &FactsFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<ConsultFacts>> {
        let mut select = QueryBuilder::new(format!(
            "{} JOIN escalation_facts f ON f.escalation_id = c.escalation_id WHERE c.requested_at >= ",
            select_from("consult_facts", "c", CONSULT_FACTS_COLUMNS)
        ));
        select.push_bind(from.as_second());
        select.push(" AND c.requested_at < ");
        select.push_bind(to.as_second());
        push_filter(&mut select, "f", filter);
        let rows = select.build().fetch_all(&self.0).await.map_err(backend)?;
        rows.iter()
            .map(|row| Columns(row).consult_facts())
            .collect()
    }

    async fn facts_version(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT version FROM metrics_facts_version")
            .fetch_one(&self.0)
            .await
            .map_err(backend)
    }

    async fn replace_facts(
        &self,
        facts: &[(EscalationFacts, Vec<ConsultFacts>)],
        version: Option<i64>,
    ) -> StoreResult<()> {
        let mut tx = self.0.begin().await.map_err(backend)?;
        write_facts(&mut tx, facts).await?;
        if let Some(version) = version {
            sqlx::query("UPDATE metrics_facts_version SET version = $1")
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(StoreError::backend)
    }
}
