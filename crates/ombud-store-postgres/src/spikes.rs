//! Spike alerts: recorded together with their webhook event in one
//! transaction, at most once per segment, granularity and bucket however
//! many nodes race (the unique index decides).

use async_trait::async_trait;
use jiff::Timestamp;
use ombud_domain::Actor;
use ombud_domain::webhook::SPIKE_DETECTED;
use ombud_store::codec::{SpikeAlertColumns, micros};
use ombud_store::{NewSpikeAlert, SpikeAlert, SpikeFilter, SpikeStore, StoreError, StoreResult};
use sqlx::postgres::{PgRow, Postgres};
use sqlx::{PgExecutor, QueryBuilder, Row};

use crate::{Pool, backend};

#[derive(Debug)]
pub(crate) struct PgSpikes(pub(crate) Pool);

fn alert_from_row(row: &PgRow) -> StoreResult<SpikeAlert> {
    SpikeAlertColumns {
        id: row.get("id"),
        granularity: row.get("granularity"),
        bucket_start: row.get("bucket_start"),
        escalation_type: row.get("type"),
        surface: row.get("surface"),
        country: row.get("country"),
        policy: row.get("policy"),
        count: row.get("count"),
        baseline: row.get("baseline"),
        spread: row.get("spread"),
        score: row.get("score"),
        samples: row.get("samples"),
        created_at: row.get("created_at"),
        acknowledged_at: row.get("acknowledged_at"),
        acknowledged_by: row.get("acknowledged_by"),
        acknowledged_by_name: row.get("acknowledged_by_name"),
        acknowledged_by_role: row.get("acknowledged_by_role"),
    }
    .into_alert()
}

async fn get(executor: impl PgExecutor<'_>, id: i64) -> StoreResult<SpikeAlert> {
    let row = sqlx::query("SELECT * FROM spike_alerts WHERE id = $1")
        .bind(id)
        .fetch_optional(executor)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
    alert_from_row(&row)
}

#[async_trait]
impl SpikeStore for PgSpikes {
    async fn record(&self, alert: &NewSpikeAlert) -> StoreResult<Option<SpikeAlert>> {
        let segment = &alert.segment;
        let mut tx = self.0.begin().await.map_err(backend)?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO spike_alerts (granularity, bucket_start, type, surface, country, policy, \
             count, baseline, spread, score, samples, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(alert.granularity.as_str())
        .bind(micros(alert.bucket))
        .bind(&segment.escalation_type)
        .bind(&segment.surface)
        .bind(&segment.country)
        .bind(&segment.policy)
        .bind(i64::try_from(alert.count).map_err(StoreError::backend)?)
        .bind(alert.baseline)
        .bind(alert.spread)
        .bind(alert.score)
        .bind(i64::from(alert.samples))
        .bind(micros(alert.created_at))
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(id) = id else {
            return Ok(None);
        };
        sqlx::query(
            "INSERT INTO outbox (escalation_id, seq, kind, spike_alert_id) VALUES (0, 0, $1, $2)",
        )
        .bind(SPIKE_DETECTED)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(Some(SpikeAlert {
            id,
            alert: alert.clone(),
            acknowledged: None,
        }))
    }

    async fn get(&self, id: i64) -> StoreResult<SpikeAlert> {
        get(&self.0, id).await
    }

    async fn list(&self, filter: &SpikeFilter) -> StoreResult<Vec<SpikeAlert>> {
        let mut query = QueryBuilder::<Postgres>::new("SELECT * FROM spike_alerts WHERE TRUE");
        match filter.acknowledged {
            None => {}
            Some(true) => {
                query.push(" AND acknowledged_at IS NOT NULL");
            }
            Some(false) => {
                query.push(" AND acknowledged_at IS NULL");
            }
        }
        if let Some(granularity) = filter.granularity {
            query
                .push(" AND granularity = ")
                .push_bind(granularity.as_str());
        }
        if !filter.types.is_empty() {
            query
                .push(" AND type = ANY(")
                .push_bind(filter.types.clone())
                .push(")");
        }
        if !filter.countries.is_empty() {
            query
                .push(" AND country = ANY(")
                .push_bind(filter.countries.clone())
                .push(")");
        }
        if let Some(from) = filter.bucket_from {
            query.push(" AND bucket_start >= ").push_bind(micros(from));
        }
        if let Some(to) = filter.bucket_to {
            query.push(" AND bucket_start < ").push_bind(micros(to));
        }
        if let Some((bucket, id)) = filter.after {
            query
                .push(" AND (bucket_start, id) < (")
                .push_bind(micros(bucket))
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        query
            .push(" ORDER BY bucket_start DESC, id DESC LIMIT ")
            .push_bind(i64::from(filter.limit));
        query
            .build()
            .fetch_all(&self.0)
            .await
            .map_err(backend)?
            .iter()
            .map(alert_from_row)
            .collect()
    }

    async fn acknowledge(&self, id: i64, actor: &Actor, at: Timestamp) -> StoreResult<SpikeAlert> {
        let mut tx = self.0.begin().await.map_err(backend)?;
        sqlx::query(
            "UPDATE spike_alerts SET acknowledged_at = $1, acknowledged_by = $2, \
             acknowledged_by_name = $3, acknowledged_by_role = $4 \
             WHERE id = $5 AND acknowledged_at IS NULL",
        )
        .bind(micros(at))
        .bind(&actor.id)
        .bind(&actor.name)
        .bind(actor.role.map(|r| r.as_str()))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let alert = get(&mut *tx, id).await?;
        tx.commit().await.map_err(backend)?;
        Ok(alert)
    }

    async fn unacknowledged(&self) -> StoreResult<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM spike_alerts WHERE acknowledged_at IS NULL")
                .fetch_one(&self.0)
                .await
                .map_err(backend)?;
        u64::try_from(count).map_err(StoreError::backend)
    }
}
