//! Idempotency keys: reservations and the responses they replay.

use async_trait::async_trait;
use jiff::Timestamp;
use ombud_store::codec::micros;
use ombud_store::{IdempotencyBegin, IdempotencyStore, SavedResponse, StoreError, StoreResult};
use sqlx::Row;

use crate::{Db, backend};

#[derive(Debug)]
pub(crate) struct SqliteIdempotency(pub(crate) Db);

#[async_trait]
impl IdempotencyStore for SqliteIdempotency {
    async fn begin(
        &self,
        principal: &str,
        key: &str,
        fingerprint: &str,
        at: Timestamp,
    ) -> StoreResult<IdempotencyBegin> {
        let (principal, key, fingerprint) = (
            principal.to_string(),
            key.to_string(),
            fingerprint.to_string(),
        );
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let row = sqlx::query(
                        "SELECT fingerprint, status, headers, body FROM idempotency_keys WHERE principal = ? AND key = ?",
                    )
                    .bind(&principal)
                    .bind(&key)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?;
                    let Some(row) = row else {
                        sqlx::query("INSERT INTO idempotency_keys (principal, key, fingerprint, created_at) VALUES (?, ?, ?, ?)")
                            .bind(&principal)
                            .bind(&key)
                            .bind(&fingerprint)
                            .bind(micros(at))
                            .execute(&mut *conn)
                            .await
                            .map_err(backend)?;
                        return Ok(IdempotencyBegin::Started);
                    };
                    if row.get::<String, _>("fingerprint") != fingerprint {
                        return Ok(IdempotencyBegin::Mismatch);
                    }
                    let Some(status) = row.get::<Option<i64>, _>("status") else {
                        return Ok(IdempotencyBegin::InProgress);
                    };
                    let headers: String = row.get("headers");
                    Ok(IdempotencyBegin::Replay(SavedResponse {
                        status: u16::try_from(status).map_err(StoreError::backend)?,
                        headers: serde_json::from_str(&headers).map_err(StoreError::backend)?,
                        body: row.get("body"),
                    }))
                })
            })
            .await
    }

    async fn complete(
        &self,
        principal: &str,
        key: &str,
        response: &SavedResponse,
    ) -> StoreResult<()> {
        let (principal, key, response) = (principal.to_string(), key.to_string(), response.clone());
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let headers = serde_json::to_string(&response.headers).map_err(StoreError::backend)?;
                    let done = sqlx::query("UPDATE idempotency_keys SET status = ?, headers = ?, body = ? WHERE principal = ? AND key = ?")
                        .bind(i64::from(response.status))
                        .bind(headers)
                        .bind(&response.body)
                        .bind(&principal)
                        .bind(&key)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    crate::found(done.rows_affected())
                })
            })
            .await
    }

    async fn abandon(&self, principal: &str, key: &str) -> StoreResult<()> {
        let (principal, key) = (principal.to_string(), key.to_string());
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    sqlx::query("DELETE FROM idempotency_keys WHERE principal = ? AND key = ? AND status IS NULL")
                        .bind(&principal)
                        .bind(&key)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    Ok(())
                })
            })
            .await
    }

    async fn purge(&self, before: Timestamp) -> StoreResult<u64> {
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
                        .bind(micros(before))
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    Ok(done.rows_affected())
                })
            })
            .await
    }
}
