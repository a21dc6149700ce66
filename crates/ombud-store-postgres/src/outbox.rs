//! The webhook outbox and its deliveries. Claims use `FOR UPDATE SKIP
//! LOCKED`, so nodes working at once take different rows.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use ombud_store::codec::{from_micros, micros, outbox_source};
use ombud_store::{
    Attempt, AttemptOutcome, Delivery, DeliveryRecord, FanOut, OutboxEntry, OutboxStore,
    StoreError, StoreResult,
};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::{Pool, backend};

#[derive(Debug)]
pub(crate) struct PgOutbox(pub(crate) Pool);

fn entry(row: &PgRow, id: &str) -> OutboxEntry {
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
impl OutboxStore for PgOutbox {
    async fn claim_entries(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let until = now.checked_add(lease).map_err(StoreError::backend)?;
        let rows = sqlx::query(
            "UPDATE outbox SET lease_until = $1 WHERE id IN \
             (SELECT id FROM outbox WHERE NOT fanned_out AND lease_until <= $2 ORDER BY id LIMIT $3 \
              FOR UPDATE SKIP LOCKED) \
             RETURNING id, escalation_id, seq, spike_alert_id, kind",
        )
        .bind(micros(until))
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.0)
        .await
        .map_err(backend)?;
        let mut entries: Vec<OutboxEntry> = rows.iter().map(|r| entry(r, "id")).collect();
        entries.sort_by_key(|e| e.id);
        Ok(entries)
    }

    async fn fan_out(&self, entries: &[FanOut], now: Timestamp) -> StoreResult<()> {
        let (subscriptions, outbox_ids): (Vec<&str>, Vec<i64>) = entries
            .iter()
            .flat_map(|e| e.subscriptions.iter().map(|s| (s.as_str(), e.entry)))
            .unzip();
        let ids: Vec<i64> = entries.iter().map(|e| e.entry).collect();
        let mut tx = self.0.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO webhook_deliveries (subscription, outbox_id, next_attempt_at) \
             SELECT subscription, outbox_id, $3 FROM UNNEST($1::text[], $2::bigint[]) AS d (subscription, outbox_id) \
             ON CONFLICT (subscription, outbox_id) DO NOTHING",
        )
        .bind(subscriptions)
        .bind(outbox_ids)
        .bind(micros(now))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query("UPDATE outbox SET fanned_out = TRUE WHERE id = ANY($1)")
            .bind(ids)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        let until = now.checked_add(lease).map_err(StoreError::backend)?;
        let rows = sqlx::query(
            "WITH claimed AS ( \
               UPDATE webhook_deliveries SET lease_until = $1 WHERE id IN \
               (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $2 \
                AND lease_until <= $2 ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
               RETURNING id, subscription, attempts, outbox_id) \
             SELECT c.id, c.subscription, c.attempts, o.id AS outbox_id, o.escalation_id, o.seq, o.spike_alert_id, o.kind \
             FROM claimed c JOIN outbox o ON o.id = c.outbox_id ORDER BY o.id",
        )
        .bind(micros(until))
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.0)
        .await
        .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|row| Delivery {
                id: row.get("id"),
                subscription: row.get("subscription"),
                entry: entry(row, "outbox_id"),
                attempts: row.get::<i32, _>("attempts") as u32,
            })
            .collect())
    }

    async fn record_attempt(&self, delivery: i64, attempt: &Attempt) -> StoreResult<()> {
        let (state, next, delivered) = match attempt.outcome {
            AttemptOutcome::Delivered => ("delivered", None, Some(micros(attempt.at))),
            AttemptOutcome::Retry(at) => ("pending", Some(micros(at)), None),
            AttemptOutcome::GaveUp => ("failed", None, None),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, state = $1, \
             next_attempt_at = COALESCE($2, next_attempt_at), lease_until = 0, \
             last_status = $3, last_error = $4, delivered_at = $5 WHERE id = $6",
        )
        .bind(state)
        .bind(next)
        .bind(attempt.status.map(i32::from))
        .bind(&attempt.error)
        .bind(delivered)
        .bind(delivery)
        .execute(&self.0)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn deliveries(&self, subscription: &str, limit: u32) -> StoreResult<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT d.id, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, \
             o.id AS outbox_id, o.escalation_id, o.seq, o.spike_alert_id, o.kind \
             FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id \
             WHERE d.subscription = $1 ORDER BY d.id DESC LIMIT $2",
        )
        .bind(subscription)
        .bind(i64::from(limit))
        .fetch_all(&self.0)
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
                    attempts: row.get::<i32, _>("attempts") as u32,
                    last_status: row.get::<Option<i32>, _>("last_status").map(|s| s as u16),
                    last_error: row.get("last_error"),
                    delivered_at: optional_time(row.get("delivered_at"))?,
                })
            })
            .collect()
    }
}
