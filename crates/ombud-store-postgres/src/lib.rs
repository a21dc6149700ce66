//! The PostgreSQL backend of Ombud's storage contract, for teams that run
//! several stateless Ombud nodes on one database: no mutable state is cached
//! in process, keys come from a sequence, and every read-modify-write is
//! guarded in SQL (`SELECT … FOR UPDATE`, `WHERE version = …`).

mod analytics;
mod blobs;
mod directory;
mod escalations;
mod idempotency;
mod maintenance;
mod metrics;
mod outbox;
mod reference;
mod settings;
mod spikes;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;
use std::time::Duration;

use ombud_store::{StoreError, StoreResult, Stores};
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connects to `url`, applies the migrations (under sqlx's advisory lock, so
/// nodes starting together do not race) and seeds the reference data of an
/// empty database. Analysts' SQL logs in as `analytics::ANALYST_ROLE`, on
/// `analyst_url` when given, else on `url` with that user and no password.
/// Metrics facts built by an older binary are rebuilt before it returns
/// (`ombud_store::metrics::rebuild_facts`).
pub async fn open(url: &str, analyst_url: Option<&str>) -> StoreResult<Stores> {
    let options: PgConnectOptions = url
        .parse::<PgConnectOptions>()
        .map_err(StoreError::backend)?
        .disable_statement_logging();
    let analytics = analytics::pool(&options, analyst_url)?;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(StoreError::backend)?;
    MIGRATOR.run(&pool).await.map_err(StoreError::backend)?;
    reference::seed_defaults(&pool).await?;
    let stores = Stores {
        escalations: Arc::new(escalations::PgEscalations(pool.clone())),
        directory: Arc::new(directory::PgDirectory(pool.clone())),
        reference: Arc::new(reference::PgReference(pool.clone())),
        settings: Arc::new(settings::PgSettings(pool.clone())),
        outbox: Arc::new(outbox::PgOutbox(pool.clone())),
        spikes: Arc::new(spikes::PgSpikes(pool.clone())),
        idempotency: Arc::new(idempotency::PgIdempotency(pool.clone())),
        blobs: Arc::new(blobs::PgBlobs(pool.clone())),
        maintenance: Arc::new(maintenance::PgMaintenance(pool.clone())),
        metrics: Arc::new(metrics::PgMetrics(pool)),
        analytics: Arc::new(analytics::PgAnalytics(analytics)),
    };
    ombud_store::metrics::rebuild_facts(&stores).await?;
    Ok(stores)
}

/// Maps sqlx errors to the contract's, naming what a constraint protects.
pub(crate) fn map_err(what: &str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    move |error| match &error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) => match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => {
                StoreError::Conflict(format!("{what} already exists"))
            }
            sqlx::error::ErrorKind::ForeignKeyViolation => StoreError::Conflict(format!(
                "{what} refers to, or is referred to by, another record"
            )),
            _ => StoreError::backend(error),
        },
        _ => StoreError::backend(error),
    }
}

pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::backend(error)
}

pub(crate) type Pool = PgPool;

/// A write that had to change a row: `NotFound` when it changed none.
pub(crate) fn found(rows_affected: u64) -> ombud_store::StoreResult<()> {
    match rows_affected {
        0 => Err(ombud_store::StoreError::NotFound),
        _ => Ok(()),
    }
}
