//! The webhook outbox and its deliveries.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use ombud_store::codec::{from_micros, micros, outbox_source};
use ombud_store::{
    Attempt, AttemptOutcome, Delivery, DeliveryRecord, FanOut, OutboxEntry, OutboxStore,
    StoreError, StoreResult,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{Db, backend};

#[derive(Debug)]
pub(crate) struct SqliteOutbox(pub(crate) Db);

fn entry(row: &SqliteRow, id: &str) -> OutboxEntry {
    OutboxEntry {
        id: row.get(id),
        source: outbox_source(
            row.get("spike_alert_id"),
            row.get("escalation_id"),
            row.get("seq"),
        ),
        kind: row.get("kind"),
    }
}

fn optional_time(value: Option<i64>) -> StoreResult<Option<Timestamp>> {
    value.map(from_micros).transpose()
}

#[async_trait]
impl OutboxStore for SqliteOutbox {
    async fn claim_entries(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let until = now.checked_add(lease).map_err(StoreError::backend)?;
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let rows = sqlx::query(
                        "UPDATE outbox SET lease_until = ? WHERE id IN \
                         (SELECT id FROM outbox WHERE fanned_out = 0 AND lease_until <= ? ORDER BY id LIMIT ?) \
                         RETURNING id, escalation_id, seq, spike_alert_id, kind",
                    )
                    .bind(micros(until))
                    .bind(micros(now))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(backend)?;
                    let mut entries: Vec<OutboxEntry> = rows.iter().map(|r| entry(r, "id")).collect();
                    entries.sort_by_key(|e| e.id);
                    Ok(entries)
                })
            })
            .await
    }

    async fn fan_out(&self, entries: &[FanOut], now: Timestamp) -> StoreResult<()> {
        let entries = entries.to_vec();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    for entry in &entries {
                        for subscription in &entry.subscriptions {
                            sqlx::query(
                                "INSERT INTO webhook_deliveries (subscription, outbox_id, next_attempt_at) VALUES (?, ?, ?) \
                                 ON CONFLICT (subscription, outbox_id) DO NOTHING",
                            )
                            .bind(subscription)
                            .bind(entry.entry)
                            .bind(micros(now))
                            .execute(&mut *conn)
                            .await
                            .map_err(backend)?;
                        }
                    }
                    let ids: Vec<i64> = entries.iter().map(|e| e.entry).collect();
                    sqlx::query(
                        "UPDATE outbox SET fanned_out = 1 WHERE id IN (SELECT value FROM json_each(?))",
                    )
                    .bind(serde_json::to_string(&ids).map_err(StoreError::backend)?)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                    Ok(())
                })
            })
            .await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        let until = now.checked_add(lease).map_err(StoreError::backend)?;
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let claimed: Vec<i64> = sqlx::query_scalar(
                        "UPDATE webhook_deliveries SET lease_until = ? WHERE id IN \
                         (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ? \
                          AND lease_until <= ? ORDER BY next_attempt_at, id LIMIT ?) RETURNING id",
                    )
                    .bind(micros(until))
                    .bind(micros(now))
                    .bind(micros(now))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(backend)?;
                    let mut deliveries = Vec::with_capacity(claimed.len());
                    for id in claimed {
                        let row = sqlx::query(
                            "SELECT d.id, d.subscription, d.attempts, o.id AS outbox_id, o.escalation_id, o.seq, o.spike_alert_id, o.kind \
                             FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id WHERE d.id = ?",
                        )
                        .bind(id)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(backend)?;
                        deliveries.push(Delivery {
                            id: row.get("id"),
                            subscription: row.get("subscription"),
                            entry: entry(&row, "outbox_id"),
                            attempts: row.get::<i64, _>("attempts") as u32,
                        });
                    }
                    deliveries.sort_by_key(|d| d.entry.id);
                    Ok(deliveries)
                })
            })
            .await
    }

    async fn record_attempt(&self, delivery: i64, attempt: &Attempt) -> StoreResult<()> {
        let attempt = attempt.clone();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let (state, next, delivered) = match attempt.outcome {
                        AttemptOutcome::Delivered => ("delivered", None, Some(micros(attempt.at))),
                        AttemptOutcome::Retry(at) => ("pending", Some(micros(at)), None),
                        AttemptOutcome::GaveUp => ("failed", None, None),
                    };
                    sqlx::query(
                        "UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?, \
                         next_attempt_at = COALESCE(?, next_attempt_at), lease_until = 0, \
                         last_status = ?, last_error = ?, delivered_at = ? WHERE id = ?",
                    )
                    .bind(state)
                    .bind(next)
                    .bind(attempt.status.map(i64::from))
                    .bind(&attempt.error)
                    .bind(delivered)
                    .bind(delivery)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                    Ok(())
                })
            })
            .await
    }

    async fn deliveries(&self, subscription: &str, limit: u32) -> StoreResult<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT d.id, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, \
             o.id AS outbox_id, o.escalation_id, o.seq, o.spike_alert_id, o.kind \
             FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id \
             WHERE d.subscription = ? ORDER BY d.id DESC LIMIT ?",
        )
        .bind(subscription)
        .bind(i64::from(limit))
        .fetch_all(&self.0.read)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let state: String = row.get("state");
                Ok(DeliveryRecord {
                    id: row.get("id"),
                    entry: entry(row, "outbox_id"),
                    next_attempt_at: if state == "pending" {
                        optional_time(row.get("next_attempt_at"))?
                    } else {
                        None
                    },
                    state,
                    attempts: row.get::<i64, _>("attempts") as u32,
                    last_status: row.get::<Option<i64>, _>("last_status").map(|s| s as u16),
                    last_error: row.get("last_error"),
                    delivered_at: optional_time(row.get("delivered_at"))?,
                })
            })
            .collect()
    }
}
