//! Evidence bytes in the database, so that every node can serve them.

use async_trait::async_trait;
use bytes::Bytes;
use ombud_store::{BlobStore, StoreError, StoreResult, sha256_hex};

use crate::{Pool, backend};

#[derive(Debug)]
pub(crate) struct PgBlobs(pub(crate) Pool);

#[async_trait]
impl BlobStore for PgBlobs {
    async fn put(&self, bytes: Bytes) -> StoreResult<String> {
        let sha = sha256_hex(&bytes);
        sqlx::query(
            "INSERT INTO blobs (sha256, bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(&sha)
        .bind(bytes.as_ref())
        .execute(&self.0)
        .await
        .map_err(backend)?;
        Ok(sha)
    }

    async fn get(&self, sha256: &str) -> StoreResult<Bytes> {
        let bytes: Vec<u8> = sqlx::query_scalar("SELECT bytes FROM blobs WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&self.0)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        Ok(Bytes::from(bytes))
    }
}
