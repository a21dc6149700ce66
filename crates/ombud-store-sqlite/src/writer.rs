//! The single writer: every write runs on one connection, and whatever is
//! queued when the writer wakes is committed as one transaction (group
//! commit), each command in its own savepoint. One fsync then acknowledges
//! many requests without weakening `synchronous=FULL`.

use futures::future::BoxFuture;
use ombud_store::{StoreError, StoreResult};
use sqlx::SqliteConnection;
use tokio::sync::{mpsc, oneshot};

/// How many queued commands one transaction takes at most.
const MAX_BATCH: usize = 512;

/// Delivers a command's result once its transaction has committed (or not).
type Completion = Box<dyn FnOnce(Option<String>) + Send>;

/// A write command: runs on the writer's connection and reports whether it
/// succeeded (so its savepoint is kept) and how to answer its caller.
type Job =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, (bool, Completion)> + Send>;

#[derive(Clone, Debug)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub(crate) fn spawn(conn: SqliteConnection) -> Writer {
        let (jobs, rx) = mpsc::channel(4096);
        tokio::spawn(run(conn, rx));
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
                let completion: Completion = Box::new(move |commit_error| {
                    let outcome = match commit_error {
                        None => result,
                        Some(error) => Err(StoreError::Backend(
                            format!("commit failed: {error}").into(),
                        )),
                    };
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

async fn run(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        if let Err(error) = exec(&mut conn, "BEGIN IMMEDIATE").await {
            // Dropping the commands answers their callers with an error.
            tracing::error!(%error, "SQLite writer could not begin a transaction");
            batch.clear();
            continue;
        }
        let mut completions = Vec::with_capacity(batch.len());
        for job in batch.drain(..) {
            if let Err(error) = exec(&mut conn, "SAVEPOINT command").await {
                tracing::error!(%error, "SQLite writer could not open a savepoint");
                continue;
            }
            let (ok, completion) = job(&mut conn).await;
            if !ok {
                let _ = exec(&mut conn, "ROLLBACK TO command").await;
            }
            let _ = exec(&mut conn, "RELEASE command").await;
            completions.push(completion);
        }
        let commit_error = match exec(&mut conn, "COMMIT").await {
            Ok(()) => None,
            Err(error) => {
                tracing::error!(%error, "SQLite group commit failed");
                let _ = exec(&mut conn, "ROLLBACK").await;
                Some(error)
            }
        };
        for completion in completions {
            completion(commit_error.clone());
        }
    }
}

async fn exec(conn: &mut SqliteConnection, sql: &str) -> Result<(), String> {
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
