//! Reference data (types, surfaces, outcomes, root causes, policies).

use async_trait::async_trait;
use ombud_domain::{RefItem, RefKind};

use crate::error::StoreResult;

/// Backends seed `ombud_domain::reference::defaults` into an empty database.
#[async_trait]
pub trait ReferenceStore: Send + Sync {
    /// All items of a kind, active and retired, ordered by code.
    async fn list(&self, kind: RefKind) -> StoreResult<Vec<RefItem>>;
    async fn get(&self, kind: RefKind, code: &str) -> StoreResult<RefItem>;
    /// `Conflict` if the code exists.
    async fn create(&self, kind: RefKind, item: &RefItem) -> StoreResult<()>;
    /// `NotFound` if the code does not exist.
    async fn update(&self, kind: RefKind, item: &RefItem) -> StoreResult<()>;
    /// `Conflict` while escalations use it (retire it with `active: false` instead).
    async fn delete(&self, kind: RefKind, code: &str) -> StoreResult<()>;
}
