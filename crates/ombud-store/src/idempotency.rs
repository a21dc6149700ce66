//! Idempotency keys: a retried POST returns the first answer and does nothing again.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::StoreResult;

/// The response a completed request gave, kept to replay it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedResponse {
    pub status: u16,
    /// Response headers worth replaying (content type, location, etag).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key is new and now reserved for this request.
    Started,
    /// Same key, same request: here is the first response.
    Replay(SavedResponse),
    /// Same key, different request body or route.
    Mismatch,
    /// Same key, and the first request has not finished.
    InProgress,
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Reserves `key` for `principal`, or tells what happened to it before.
    /// `fingerprint` hashes method, path and body.
    async fn begin(
        &self,
        principal: &str,
        key: &str,
        fingerprint: &str,
        at: Timestamp,
    ) -> StoreResult<IdempotencyBegin>;
    /// Stores the response for replay.
    async fn complete(
        &self,
        principal: &str,
        key: &str,
        response: &SavedResponse,
    ) -> StoreResult<()>;
    /// Releases a reservation whose request failed without effect, so a retry may run.
    async fn abandon(&self, principal: &str, key: &str) -> StoreResult<()>;
    /// Forgets keys reserved before `before`; returns how many.
    async fn purge(&self, before: Timestamp) -> StoreResult<u64>;
}
