//! Readiness and counts; backups are pg_dump's job.

use std::path::Path;

use async_trait::async_trait;
use ombud_store::{Maintenance, StoreError, StoreResult};

use crate::{Pool, backend};

#[derive(Debug)]
pub(crate) struct PgMaintenance(pub(crate) Pool);

#[async_trait]
impl Maintenance for PgMaintenance {
    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.0)
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn backup(&self, _to: &Path) -> StoreResult<()> {
        Err(StoreError::Conflict(
            "online backup of PostgreSQL is pg_dump's job: pg_dump --format=custom <database>"
                .into(),
        ))
    }

    async fn escalation_count(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM escalations")
            .fetch_one(&self.0)
            .await
            .map_err(backend)
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        // Autovacuum gets there too, but only a minute or more later. The
        // vacuum also marks the loaded pages all-visible, which lets counts
        // and lists answer from indexes alone (at 30,000 demo cases the
        // console's pages took 20-70 ms before it, 2-9 ms after).
        sqlx::raw_sql("VACUUM (ANALYZE)")
            .execute(&self.0)
            .await
            .map(|_| ())
            .map_err(backend)
    }
}
