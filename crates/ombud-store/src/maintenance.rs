//! Operations on the database as a whole: readiness, backup, counts.

use std::path::Path;

use async_trait::async_trait;

use crate::error::StoreResult;

#[async_trait]
pub trait Maintenance: Send + Sync {
    /// `sqlite` or `postgres`.
    fn backend_name(&self) -> &'static str;
    /// Answers when the database accepts queries.
    async fn ping(&self) -> StoreResult<()>;
    /// Writes a consistent copy of the whole database to `to` while it
    /// stays online. Backends that cannot (PostgreSQL: use pg_dump) say so
    /// with `Conflict`.
    async fn backup(&self, to: &Path) -> StoreResult<()>;
    /// Number of escalations stored.
    async fn escalation_count(&self) -> StoreResult<i64>;
    /// Brings the query planner's statistics (and, on PostgreSQL, the
    /// visibility map) up to date after a bulk load (`ombud import`, demo
    /// data), so that the first queries after it are planned for the data
    /// they meet rather than for an empty table.
    async fn refresh_statistics(&self) -> StoreResult<()>;
}
