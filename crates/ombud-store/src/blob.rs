//! Content-addressed storage of evidence bytes, keyed by SHA-256. One node
//! keeps them as files in the data directory; several nodes keep them in the
//! database (see the PostgreSQL backend).

use std::path::PathBuf;

use async_trait::async_trait;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::error::{StoreError, StoreResult};

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` durably and returns their hex SHA-256. Storing the same
    /// bytes twice keeps one copy.
    async fn put(&self, bytes: Bytes) -> StoreResult<String>;
    /// `NotFound` if no blob has this hash.
    async fn get(&self, sha256: &str) -> StoreResult<Bytes>;
}

/// Blobs as files `<root>/ab/cdef…`, written to a temporary name, synced, and
/// renamed, so a blob is either whole or absent after a crash.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsBlobStore { root: root.into() }
    }

    fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        valid.then(|| self.root.join(&sha256[..2]).join(&sha256[2..]))
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, bytes: Bytes) -> StoreResult<String> {
        let sha = sha256_hex(&bytes);
        let path = self.path_of(&sha).expect("a hex digest is a valid name");
        tokio::task::spawn_blocking(move || write_durably(&path, &bytes))
            .await
            .map_err(StoreError::backend)?
            .map_err(StoreError::backend)?;
        Ok(sha)
    }

    async fn get(&self, sha256: &str) -> StoreResult<Bytes> {
        let path = self.path_of(sha256).ok_or(StoreError::NotFound)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Bytes::from(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NotFound),
            Err(e) => Err(StoreError::backend(e)),
        }
    }
}

fn write_durably(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if path.exists() {
        return Ok(());
    }
    let dir = path.parent().expect("blob paths have a parent");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".tmp-{}-{}", std::process::id(), uniq()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    // The rename is durable only once the directory entry is.
    std::fs::File::open(dir)?.sync_all()
}

fn uniq() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blobs_are_stored_once_by_content() {
        let dir = std::env::temp_dir().join(format!("ombud-blob-test-{}", std::process::id()));
        let store = FsBlobStore::new(&dir);
        let a = store.put(Bytes::from_static(b"evidence")).await.unwrap();
        let b = store.put(Bytes::from_static(b"evidence")).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(a, sha256_hex(b"evidence"));
        assert_eq!(
            store.get(&a).await.unwrap(),
            Bytes::from_static(b"evidence")
        );
        assert!(matches!(
            store.get(&"0".repeat(64)).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.get("../../etc/passwd").await,
            Err(StoreError::NotFound)
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
