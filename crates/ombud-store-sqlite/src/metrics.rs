//! Reading the metrics facts: narrow rows by arrival (or the open ones),
//! filtered in SQL, from the read-only pool.

use async_trait::async_trait;
use jiff::Timestamp;
use ombud_domain::metrics::{ConsultFacts, EscalationFacts};
use ombud_store::metrics::{CONSULT_FACTS_COLUMNS, FACTS_COLUMNS, FactsColumns};
use ombud_store::{FactsFilter, MetricsStore, StoreError, StoreResult};
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{QueryBuilder, Row};

use crate::rows::Rows;
use crate::{Db, backend};

#[derive(Debug)]
pub(crate) struct SqliteMetrics(pub(crate) Db);

/// A facts row of this backend, read by position.
pub(crate) struct Columns<'r>(pub(crate) &'r SqliteRow);

impl FactsColumns for Columns<'_> {
    fn int(&self, index: usize) -> StoreResult<Option<i64>> {
        self.0.try_get(index).map_err(backend)
    }

    fn text(&self, index: usize) -> StoreResult<Option<String>> {
        self.0.try_get(index).map_err(backend)
    }
}

/// `AND column IN (…)` for each dimension `filter` restricts, on `table`'s columns.
fn push_filter(select: &mut QueryBuilder<'_, Sqlite>, table: &str, filter: &FactsFilter) {
    for (column, values) in filter.columns() {
        let Some(values) = values else { continue };
        if values.is_empty() {
            select.push(" AND 0");
            continue;
        }
        select.push(format!(" AND {table}.{column} IN ("));
        let mut list = select.separated(", ");
        for value in values {
            list.push_bind(value.clone());
        }
        select.push(")");
    }
}

fn facts_select() -> QueryBuilder<'static, Sqlite> {
    let columns: Vec<String> = FACTS_COLUMNS.iter().map(|c| format!("f.{c}")).collect();
    QueryBuilder::new(format!(
        "SELECT {} FROM escalation_facts f WHERE 1",
        columns.join(", ")
    ))
}

impl SqliteMetrics {
    async fn escalation_facts(
        &self,
        mut select: QueryBuilder<'_, Sqlite>,
    ) -> StoreResult<Vec<EscalationFacts>> {
        let rows = select
            .build()
            .fetch_all(&self.0.read)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| Columns(row).escalation_facts())
            .collect()
    }
}

#[async_trait]
impl MetricsStore for SqliteMetrics {
    async fn arrived(
        &self,
        filter: &FactsFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<EscalationFacts>> {
        let mut select = facts_select();
        select.push(" AND f.arrived_at >= ");
        select.push_bind(from.as_second());
        select.push(" AND f.arrived_at < ");
        select.push_bind(to.as_second());
        push_filter(&mut select, "f", filter);
        self.escalation_facts(select).await
    }

    async fn open(&self, filter: &FactsFilter) -> StoreResult<Vec<EscalationFacts>> {
        let mut select = facts_select();
        select.push(" AND f.open = 1");
        push_filter(&mut select, "f", filter);
        self.escalation_facts(select).await
    }

    async fn consults(
        &self,
        filter: &FactsFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<ConsultFacts>> {
        let columns: Vec<String> = CONSULT_FACTS_COLUMNS
            .iter()
            .map(|c| format!("c.{c}"))
            .collect();
        let mut select = QueryBuilder::new(format!(
            "SELECT {} FROM consult_facts c JOIN escalation_facts f \
             ON f.escalation_id = c.escalation_id WHERE c.requested_at >= ",
            columns.join(", ")
        ));
        select.push_bind(from.as_second());
        select.push(" AND c.requested_at < ");
        select.push_bind(to.as_second());
        push_filter(&mut select, "f", filter);
        let rows = select
            .build()
            .fetch_all(&self.0.read)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| Columns(row).consult_facts())
            .collect()
    }

    async fn facts_version(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT version FROM metrics_facts_version")
            .fetch_one(&self.0.read)
            .await
            .map_err(backend)
    }

    async fn replace_facts(
        &self,
        facts: &[(EscalationFacts, Vec<ConsultFacts>)],
        version: Option<i64>,
    ) -> StoreResult<()> {
        let facts = facts.to_vec();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let mut rows = Rows::default();
                    for facts in &facts {
                        rows.facts(facts);
                    }
                    rows.insert(&mut *conn).await?;
                    if let Some(version) = version {
                        sqlx::query("UPDATE metrics_facts_version SET version = ?")
                            .bind(version)
                            .execute(&mut *conn)
                            .await
                            .map_err(backend)?;
                    }
                    Ok::<_, StoreError>(())
                })
            })
            .await
    }
}
