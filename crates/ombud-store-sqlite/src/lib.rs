//! The embedded SQLite backend of Ombud's storage contract: one database file
//! in the data directory, WAL with `synchronous=FULL`, one group-committing
//! writer and a pool of read-only connections.

mod analytics;
mod directory;
mod escalations;
mod idempotency;
mod listing;
mod maintenance;
mod metrics;
mod outbox;
mod reference;
mod rows;
mod settings;
mod spikes;
mod writer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use ombud_store::{FsBlobStore, StoreError, StoreResult, Stores};
use sqlx::ConnectOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::writer::Writer;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The database file inside a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("ombud.db")
}

/// Shared by every store of one opened database.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pub(crate) read: SqlitePool,
    pub(crate) writer: Writer,
    pub(crate) path: PathBuf,
}

/// Opens (creating if needed) the database in `data_dir`, applies the
/// migrations and seeds the reference data of an empty database.
/// Metrics facts built by an older binary are rebuilt before it returns
/// (`ombud_store::metrics::rebuild_facts`).
pub async fn open(data_dir: &Path) -> StoreResult<Stores> {
    std::fs::create_dir_all(data_dir).map_err(StoreError::backend)?;
    let path = database_path(data_dir);
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(StoreError::backend)?
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("cache_size", "-16000")
        .disable_statement_logging();
    // Checkpoints run off the writer's path (see `writer`).
    let mut write_conn = options
        .clone()
        .pragma("wal_autocheckpoint", "0")
        // A WAL that grew under a burst shrinks back once checkpointed.
        .pragma("journal_size_limit", "67108864")
        // Every write descends a dozen indexes: keep their upper levels.
        .pragma("cache_size", "-65536")
        .connect()
        .await
        .map_err(StoreError::backend)?;
    MIGRATOR
        .run(&mut write_conn)
        .await
        .map_err(StoreError::backend)?;
    let read = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options.clone().read_only(true))
        .await
        .map_err(StoreError::backend)?;
    let db = Db {
        read,
        writer: Writer::spawn(
            write_conn,
            options.connect().await.map_err(StoreError::backend)?,
        ),
        path,
    };
    reference::seed_defaults(&db).await?;
    let stores = Stores {
        escalations: Arc::new(escalations::SqliteEscalations(db.clone())),
        directory: Arc::new(directory::SqliteDirectory(db.clone())),
        reference: Arc::new(reference::SqliteReference(db.clone())),
        settings: Arc::new(settings::SqliteSettings(db.clone())),
        outbox: Arc::new(outbox::SqliteOutbox(db.clone())),
        spikes: Arc::new(spikes::SqliteSpikes(db.clone())),
        idempotency: Arc::new(idempotency::SqliteIdempotency(db.clone())),
        blobs: Arc::new(FsBlobStore::new(data_dir.join("blobs"))),
        maintenance: Arc::new(maintenance::SqliteMaintenance(db.clone())),
        metrics: Arc::new(metrics::SqliteMetrics(db)),
        analytics: Arc::new(analytics::SqliteAnalytics {
            path: database_path(data_dir),
        }),
    };
    ombud_store::metrics::rebuild_facts(&stores).await?;
    Ok(stores)
}

/// A constraint a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Violation {
    /// A key or unique column already holds the value.
    Unique,
    /// A foreign key names a missing row, or a deleted row is still named.
    Reference,
}

impl Violation {
    pub(crate) fn of(error: &sqlx::Error) -> Option<Violation> {
        match error {
            sqlx::Error::Database(db) => match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => Some(Violation::Unique),
                sqlx::error::ErrorKind::ForeignKeyViolation => Some(Violation::Reference),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Maps a write's sqlx error to the contract's: a `Conflict` saying what is
/// `taken` or which referenced record is `missing`, else a backend error.
pub(crate) fn conflict(
    taken: String,
    missing: Option<String>,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match (Violation::of(&error), missing) {
        (Some(Violation::Unique), _) => StoreError::Conflict(taken),
        (Some(Violation::Reference), Some(missing)) => StoreError::Conflict(missing),
        _ => StoreError::backend(error),
    }
}

pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::backend(error)
}

/// A write that had to change a row: `NotFound` when it changed none.
pub(crate) fn found(rows_affected: u64) -> ombud_store::StoreResult<()> {
    match rows_affected {
        0 => Err(ombud_store::StoreError::NotFound),
        _ => Ok(()),
    }
}
