//! Idempotency keys, safe across nodes: the reservation is an
//! `INSERT … ON CONFLICT DO NOTHING`, so exactly one request wins a key.

use async_trait::async_trait;
use jiff::Timestamp;
use ombud_store::codec::micros;
use ombud_store::{IdempotencyBegin, IdempotencyStore, SavedResponse, StoreError, StoreResult};
use sqlx::Row;
use sqlx::types::Json;

use crate::{Pool, backend};

#[derive(Debug)]
pub(crate) struct PgIdempotency(pub(crate) Pool);

#[async_trait]
impl IdempotencyStore for PgIdempotency {
    async fn begin(
        &self,
        principal: &str,
        key: &str,
        fingerprint: &str,
        at: Timestamp,
    ) -> StoreResult<IdempotencyBegin> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (principal, key, fingerprint, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(principal)
        .bind(key)
        .bind(fingerprint)
        .bind(micros(at))
        .execute(&self.0)
        .await
        .map_err(backend)?;
        if inserted.rows_affected() == 1 {
            return Ok(IdempotencyBegin::Started);
        }
        let Some(row) = sqlx::query("SELECT fingerprint, status, headers, body FROM idempotency_keys WHERE principal = $1 AND key = $2")
            .bind(principal)
            .bind(key)
            .fetch_optional(&self.0)
            .await
            .map_err(backend)?
        else {
            // Purged between the two statements: the first request is long gone.
            return Ok(IdempotencyBegin::InProgress);
        };
        if row.get::<String, _>("fingerprint") != fingerprint {
            return Ok(IdempotencyBegin::Mismatch);
        }
        let Some(status) = row.get::<Option<i32>, _>("status") else {
            return Ok(IdempotencyBegin::InProgress);
        };
        let Json(headers): Json<Vec<(String, String)>> = row.get("headers");
        Ok(IdempotencyBegin::Replay(SavedResponse {
            status: u16::try_from(status).map_err(StoreError::backend)?,
            headers,
            body: row.get("body"),
        }))
    }

    async fn complete(
        &self,
        principal: &str,
        key: &str,
        response: &SavedResponse,
    ) -> StoreResult<()> {
        let done = sqlx::query("UPDATE idempotency_keys SET status = $1, headers = $2, body = $3 WHERE principal = $4 AND key = $5")
            .bind(i32::from(response.status))
            .bind(Json(&response.headers))
            .bind(&response.body)
            .bind(principal)
            .bind(key)
            .execute(&self.0)
            .await
            .map_err(backend)?;
        crate::found(done.rows_affected())
    }

    async fn abandon(&self, principal: &str, key: &str) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND status IS NULL",
        )
        .bind(principal)
        .bind(key)
        .execute(&self.0)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn purge(&self, before: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(micros(before))
            .execute(&self.0)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }
}
