//! The errors every backend maps its own failures to.

/// A storage failure, in terms the server can answer with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such record, or the caller's scope may not see it.
    #[error("not found")]
    NotFound,
    /// Optimistic concurrency: the record moved on since it was read.
    #[error("version conflict: expected version {expected}, current is {current}")]
    VersionConflict { expected: i64, current: i64 },
    /// A uniqueness or reference rule refused the write; the text says which.
    #[error("{0}")]
    Conflict(String),
    /// An analyst's query was refused or failed; the text says why, in the
    /// database's words, for the analyst who wrote it.
    #[error("{0}")]
    Query(String),
    /// The database failed; the cause is for logs, never for clients.
    #[error("storage backend error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(error))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
