//! The single writer: every write runs on one connection, and whatever is
//! queued when the writer wakes is committed as one transaction (group
//! commit), each command in its own savepoint. One fsync then acknowledges
//! many requests without weakening `synchronous=FULL`, and key allocation is
//! sequential because only this task allocates.
//!
//! Checkpoints (copying committed pages from the WAL into the database file)
//! run on a connection of their own, not after whichever commit happens to
//! cross SQLite's automatic threshold: a checkpoint fsyncs the database
//! file, and inline it made one write in every few dozen wait for that. A
//! checkpoint running beside the writer can never catch up with it, though,
//! and the WAL restarts only once every frame is copied; so after each
//! background round the writer, between two transactions, copies the few
//! frames written meanwhile, and its next transaction restarts the WAL.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use ombud_store::{StoreError, StoreResult};
use sqlx::SqliteConnection;
use tokio::sync::{mpsc, oneshot};

/// How many queued commands one transaction takes at most.
const MAX_BATCH: usize = 512;

/// How often the checkpointer copies the WAL into the database file. Each
/// checkpoint's fsync delays the commits that meet it; measured with
/// `ombud bench claim` at 1 M escalations, checkpoints every 250 ms put
/// claim-next p99 at 7–8 ms and every 5 s at 4.6–4.9 ms, while the WAL stays
/// below about 100 MB at the writer's full rate.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);

/// Answers a command's caller once its transaction has ended: `None` if it
/// committed, else why not.
type Completion = Box<dyn FnOnce(Option<&str>) + Send>;

/// A write command: runs on the writer's connection and reports whether it
/// succeeded (so its savepoint is kept) and how to answer its caller.
type Job =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, (bool, Completion)> + Send>;

#[derive(Clone, Debug)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

/// Set by the checkpointer after a round, taken by the writer before its
/// next transaction.
type FinishCheckpoint = Arc<AtomicBool>;

impl Writer {
    /// Starts the writer on `conn` (opened with `wal_autocheckpoint=0`)
    /// and the checkpointer on `checkpointer`; both stop when the last
    /// `Writer` is dropped.
    pub(crate) fn spawn(conn: SqliteConnection, checkpointer: SqliteConnection) -> Writer {
        let (jobs, rx) = mpsc::channel(4096);
        let (stopped, writer_stopped) = oneshot::channel::<()>();
        let finish = FinishCheckpoint::default();
        tokio::spawn(run(conn, rx, finish.clone(), stopped));
        tokio::spawn(checkpoint(checkpointer, writer_stopped, finish));
        Writer { jobs }
    }

    /// Runs `command` inside the writer's transaction and returns its result
    /// once that transaction is durably committed.
    pub(crate) async fn write<T, F>(&self, command: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        let (answer, answered) = oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = command(conn).await;
                let ok = result.is_ok();
                let completion: Completion = Box::new(move |failure| {
                    let outcome = match failure {
                        None => result,
                        // The command's own error says more than the
                        // transaction's; a success that was rolled back did not happen.
                        Some(_) if result.is_err() => result,
                        Some(why) => Err(StoreError::Backend(
                            format!("the write was rolled back: {why}").into(),
                        )),
                    };
                    // The caller may have gone away; the write stands regardless.
                    let _ = answer.send(outcome);
                });
                (ok, completion)
            })
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::Backend("the SQLite writer has stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Backend("the SQLite writer dropped a command".into()))?
    }
}

/// Runs the queued commands in group-committed transactions until every
/// `Writer` is dropped, then drops `stopped`.
async fn run(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Job>,
    finish: FinishCheckpoint,
    stopped: oneshot::Sender<()>,
) {
    let mut received = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut received, MAX_BATCH).await > 0 {
        let mut queue: VecDeque<Job> = received.drain(..).collect();
        while !queue.is_empty() {
            if finish.swap(false, Ordering::Relaxed)
                && let Err(error) = exec(&mut conn, "PRAGMA wal_checkpoint(PASSIVE)").await
            {
                tracing::warn!(%error, "SQLite writer could not finish a checkpoint");
            }
            if let Err(error) = exec(&mut conn, "BEGIN IMMEDIATE").await {
                // Dropping the commands answers their callers with an error.
                tracing::error!(%error, "SQLite writer could not begin a transaction");
                queue.clear();
                break;
            }
            transaction(&mut conn, &mut queue).await;
        }
    }
    drop(stopped);
}

/// Checkpoints the WAL every `CHECKPOINT_EVERY` until the writer stops,
/// then asks the writer to finish the round. `PASSIVE` never blocks the
/// writer or readers.
async fn checkpoint(
    mut conn: SqliteConnection,
    mut writer_stopped: oneshot::Receiver<()>,
    finish: FinishCheckpoint,
) {
    loop {
        tokio::select! {
            _ = &mut writer_stopped => return,
            () = tokio::time::sleep(CHECKPOINT_EVERY) => {}
        }
        match exec(&mut conn, "PRAGMA wal_checkpoint(PASSIVE)").await {
            Ok(()) => finish.store(true, Ordering::Relaxed),
            Err(error) => tracing::warn!(%error, "SQLite checkpoint failed; retrying"),
        }
    }
}

/// Runs queued commands in the open transaction and ends it. If SQLite
/// abandons the transaction itself (a full disk, an I/O error), the commands
/// run so far are answered with that failure and the rest wait for the next
/// transaction.
async fn transaction(conn: &mut SqliteConnection, queue: &mut VecDeque<Job>) {
    let mut completions = Vec::with_capacity(queue.len());
    let mut lost = None;
    while let Some(job) = queue.pop_front() {
        if let Err(error) = exec(conn, "SAVEPOINT command").await {
            // Dropping the command answers its caller with an error.
            lost = Some(error);
            break;
        }
        // A panicking command is a bug; it must not take every later write
        // down with the writer task. Its caller sees a dropped command.
        let outcome = AssertUnwindSafe(job(conn)).catch_unwind().await;
        let ok = match outcome {
            Ok((ok, completion)) => {
                completions.push(completion);
                ok
            }
            Err(_) => {
                tracing::error!("a SQLite write command panicked; rolled back");
                false
            }
        };
        if !ok && let Err(error) = exec(conn, "ROLLBACK TO command").await {
            // The savepoint is gone with the whole transaction.
            lost = Some(error);
            break;
        }
        if let Err(error) = exec(conn, "RELEASE command").await {
            lost = Some(error);
            break;
        }
    }
    let failure = match lost {
        Some(error) => Some(error),
        None => exec(conn, "COMMIT").await.err(),
    };
    if let Some(error) = &failure {
        tracing::error!(%error, "SQLite group commit failed; rolling back");
        // Fails harmlessly when SQLite has already rolled back.
        let _ = exec(conn, "ROLLBACK").await;
    }
    for completion in completions {
        completion(failure.as_deref());
    }
}

async fn exec(conn: &mut SqliteConnection, sql: &str) -> Result<(), String> {
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
