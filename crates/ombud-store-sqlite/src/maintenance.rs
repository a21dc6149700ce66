//! Readiness, online backup (`VACUUM INTO`) and counts.

use std::path::Path;

use async_trait::async_trait;
use ombud_store::{Maintenance, StoreError, StoreResult};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::{Db, backend};

#[derive(Debug)]
pub(crate) struct SqliteMaintenance(pub(crate) Db);

#[async_trait]
impl Maintenance for SqliteMaintenance {
    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.0.read)
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn backup(&self, to: &Path) -> StoreResult<()> {
        if to.exists() {
            return Err(StoreError::Conflict(format!(
                "{} already exists; choose a new file",
                to.display()
            )));
        }
        let target = to
            .to_str()
            .ok_or_else(|| StoreError::Conflict("the backup path must be valid UTF-8".into()))?;
        // VACUUM INTO copies a consistent snapshot while writers go on; it
        // cannot run inside the writer's open transaction, so it gets its own
        // connection.
        let mut conn = SqliteConnectOptions::new()
            .filename(&self.0.path)
            .disable_statement_logging()
            .connect()
            .await
            .map_err(backend)?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&mut conn)
            .await
            .map_err(backend)?;
        conn.close().await.map_err(backend)
    }

    async fn escalation_count(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM escalations")
            .fetch_one(&self.0.read)
            .await
            .map_err(backend)
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        // The SQLite queries are written for plans that need no statistics
        // (claim-next names its index): there is nothing to refresh.
        Ok(())
    }
}
