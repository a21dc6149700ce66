//! Reference data: types, surfaces, outcomes, root causes and policies.

use async_trait::async_trait;
use ombud_domain::{RefItem, RefKind, reference};
use ombud_store::{ReferenceStore, StoreError, StoreResult};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::{Pool, backend, map_err};

#[derive(Debug)]
pub(crate) struct PgReference(pub(crate) Pool);

fn item_from_row(row: &PgRow) -> RefItem {
    RefItem {
        code: row.get("code"),
        label: row.get("label"),
        description: row.get("description"),
        parent: row.get("parent"),
        active: row.get("active"),
    }
}

const INSERT: &str = "INSERT INTO reference_items (kind, code, label, description, parent, active) VALUES ($1, $2, $3, $4, $5, $6)";

/// Seeds the defaults of every kind that has no items yet (a fresh
/// database, or a kind a newer version added); nodes starting at the same
/// time may both try, and `ON CONFLICT` makes that harmless.
pub(crate) async fn seed_defaults(pool: &Pool) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(backend)?;
    for kind in RefKind::ALL {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reference_items WHERE kind = $1")
            .bind(kind.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if count > 0 {
            continue;
        }
        for item in reference::defaults(kind) {
            sqlx::query(&format!("{INSERT} ON CONFLICT DO NOTHING"))
                .bind(kind.as_str())
                .bind(&item.code)
                .bind(&item.label)
                .bind(&item.description)
                .bind(&item.parent)
                .bind(item.active)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
    }
    tx.commit().await.map_err(backend)
}

#[async_trait]
impl ReferenceStore for PgReference {
    async fn list(&self, kind: RefKind) -> StoreResult<Vec<RefItem>> {
        let rows = sqlx::query(
            "SELECT * FROM reference_items WHERE kind = $1 ORDER BY code COLLATE \"C\"",
        )
        .bind(kind.as_str())
        .fetch_all(&self.0)
        .await
        .map_err(backend)?;
        Ok(rows.iter().map(item_from_row).collect())
    }

    async fn get(&self, kind: RefKind, code: &str) -> StoreResult<RefItem> {
        let row = sqlx::query("SELECT * FROM reference_items WHERE kind = $1 AND code = $2")
            .bind(kind.as_str())
            .bind(code)
            .fetch_optional(&self.0)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        Ok(item_from_row(&row))
    }

    async fn create(&self, kind: RefKind, item: &RefItem) -> StoreResult<()> {
        sqlx::query(INSERT)
            .bind(kind.as_str())
            .bind(&item.code)
            .bind(&item.label)
            .bind(&item.description)
            .bind(&item.parent)
            .bind(item.active)
            .execute(&self.0)
            .await
            .map_err(map_err(&format!("{} {:?}", kind.as_str(), item.code)))?;
        Ok(())
    }

    async fn update(&self, kind: RefKind, item: &RefItem) -> StoreResult<()> {
        let done = sqlx::query("UPDATE reference_items SET label = $1, description = $2, parent = $3, active = $4 WHERE kind = $5 AND code = $6")
            .bind(&item.label)
            .bind(&item.description)
            .bind(&item.parent)
            .bind(item.active)
            .bind(kind.as_str())
            .bind(&item.code)
            .execute(&self.0)
            .await
            .map_err(backend)?;
        crate::found(done.rows_affected())
    }

    async fn delete(&self, kind: RefKind, code: &str) -> StoreResult<()> {
        let in_use_sql = match kind {
            RefKind::EscalationType => Some("SELECT 1 FROM escalations WHERE type = $1 LIMIT 1"),
            RefKind::Surface => {
                Some("SELECT 1 FROM escalation_subjects WHERE surface = $1 LIMIT 1")
            }
            RefKind::Outcome | RefKind::RootCause | RefKind::Policy | RefKind::ConsultFunction => {
                None
            }
        };
        let mut tx = self.0.begin().await.map_err(backend)?;
        if let Some(sql) = in_use_sql
            && sqlx::query(sql)
                .bind(code)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?
                .is_some()
        {
            return Err(StoreError::Conflict(format!(
                "{} {code:?} is used by escalations; retire it with active: false instead",
                kind.as_str()
            )));
        }
        let done = sqlx::query("DELETE FROM reference_items WHERE kind = $1 AND code = $2")
            .bind(kind.as_str())
            .bind(code)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        crate::found(done.rows_affected())
    }
}
