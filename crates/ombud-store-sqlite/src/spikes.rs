//! Spike alerts: recorded by the writer together with their webhook event,
//! at most once per segment, granularity and bucket.

use async_trait::async_trait;
use jiff::Timestamp;
use ombud_domain::Actor;
use ombud_domain::webhook::SPIKE_DETECTED;
use ombud_store::codec::{SpikeAlertColumns, micros};
use ombud_store::{NewSpikeAlert, SpikeAlert, SpikeFilter, SpikeStore, StoreError, StoreResult};
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{QueryBuilder, Row, SqliteExecutor};

use crate::{Db, backend};

#[derive(Debug)]
pub(crate) struct SqliteSpikes(pub(crate) Db);

fn alert_from_row(row: &SqliteRow) -> StoreResult<SpikeAlert> {
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

async fn get(executor: impl SqliteExecutor<'_>, id: i64) -> StoreResult<SpikeAlert> {
    let row = sqlx::query("SELECT * FROM spike_alerts WHERE id = ?")
        .bind(id)
        .fetch_optional(executor)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
    alert_from_row(&row)
}

fn push_any<'a>(query: &mut QueryBuilder<'a, Sqlite>, column: &str, values: &'a [String]) {
    if values.is_empty() {
        return;
    }
    query.push(format!(" AND {column} IN ("));
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value.as_str());
    }
    list.push_unseparated(")");
}

#[async_trait]
impl SpikeStore for SqliteSpikes {
    async fn record(&self, alert: &NewSpikeAlert) -> StoreResult<Option<SpikeAlert>> {
        let alert = alert.clone();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let segment = &alert.segment;
                    let id: Option<i64> = sqlx::query_scalar(
                        "INSERT INTO spike_alerts (granularity, bucket_start, type, surface, country, policy, \
                         count, baseline, spread, score, samples, created_at) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
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
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?;
                    let Some(id) = id else {
                        return Ok(None);
                    };
                    sqlx::query(
                        "INSERT INTO outbox (escalation_id, seq, kind, spike_alert_id) VALUES (0, 0, ?, ?)",
                    )
                    .bind(SPIKE_DETECTED)
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                    Ok(Some(SpikeAlert {
                        id,
                        alert,
                        acknowledged: None,
                    }))
                })
            })
            .await
    }

    async fn get(&self, id: i64) -> StoreResult<SpikeAlert> {
        get(&self.0.read, id).await
    }

    async fn list(&self, filter: &SpikeFilter) -> StoreResult<Vec<SpikeAlert>> {
        let mut query = QueryBuilder::<Sqlite>::new("SELECT * FROM spike_alerts WHERE TRUE");
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
        push_any(&mut query, "type", &filter.types);
        push_any(&mut query, "country", &filter.countries);
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
            .fetch_all(&self.0.read)
            .await
            .map_err(backend)?
            .iter()
            .map(alert_from_row)
            .collect()
    }

    async fn acknowledge(&self, id: i64, actor: &Actor, at: Timestamp) -> StoreResult<SpikeAlert> {
        let actor = actor.clone();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "UPDATE spike_alerts SET acknowledged_at = ?, acknowledged_by = ?, \
                         acknowledged_by_name = ?, acknowledged_by_role = ? \
                         WHERE id = ? AND acknowledged_at IS NULL",
                    )
                    .bind(micros(at))
                    .bind(&actor.id)
                    .bind(&actor.name)
                    .bind(actor.role.map(|r| r.as_str()))
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                    get(&mut *conn, id).await
                })
            })
            .await
    }

    async fn unacknowledged(&self) -> StoreResult<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM spike_alerts WHERE acknowledged_at IS NULL")
                .fetch_one(&self.0.read)
                .await
                .map_err(backend)?;
        u64::try_from(count).map_err(StoreError::backend)
    }
}
