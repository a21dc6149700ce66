//! Reference data: types, surfaces, outcomes, root causes and policies.

use async_trait::async_trait;
use ombud_domain::{RefItem, RefKind, reference};
use ombud_store::{ReferenceStore, StoreError, StoreResult};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{Db, backend, conflict};

#[derive(Debug)]
pub(crate) struct SqliteReference(pub(crate) Db);

fn item_from_row(row: &SqliteRow) -> RefItem {
    RefItem {
        code: row.get("code"),
        label: row.get("label"),
        description: row.get("description"),
        parent: row.get("parent"),
        active: row.get::<i64, _>("active") != 0,
    }
}

const INSERT: &str = "INSERT INTO reference_items (kind, code, label, description, parent, active) VALUES (?, ?, ?, ?, ?, ?)";

/// Seeds the defaults of every kind that has no items yet.
pub(crate) async fn seed_defaults(db: &Db) -> StoreResult<()> {
    db.writer
        .write(|conn| {
            Box::pin(async move {
                // Every kind without items: a fresh database, or a kind a
                // newer version added.
                for kind in RefKind::ALL {
                    let count: i64 =
                        sqlx::query_scalar("SELECT COUNT(*) FROM reference_items WHERE kind = ?")
                            .bind(kind.as_str())
                            .fetch_one(&mut *conn)
                            .await
                            .map_err(backend)?;
                    if count > 0 {
                        continue;
                    }
                    for item in reference::defaults(kind) {
                        sqlx::query(INSERT)
                            .bind(kind.as_str())
                            .bind(&item.code)
                            .bind(&item.label)
                            .bind(&item.description)
                            .bind(&item.parent)
                            .bind(i64::from(item.active))
                            .execute(&mut *conn)
                            .await
                            .map_err(backend)?;
                    }
                }
                Ok(())
            })
        })
        .await
}

#[async_trait]
impl ReferenceStore for SqliteReference {
    async fn list(&self, kind: RefKind) -> StoreResult<Vec<RefItem>> {
        let rows = sqlx::query("SELECT * FROM reference_items WHERE kind = ? ORDER BY code")
            .bind(kind.as_str())
            .fetch_all(&self.0.read)
            .await
            .map_err(backend)?;
        Ok(rows.iter().map(item_from_row).collect())
    }

    async fn get(&self, kind: RefKind, code: &str) -> StoreResult<RefItem> {
        let row = sqlx::query("SELECT * FROM reference_items WHERE kind = ? AND code = ?")
            .bind(kind.as_str())
            .bind(code)
            .fetch_optional(&self.0.read)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        Ok(item_from_row(&row))
    }

    async fn create(&self, kind: RefKind, item: &RefItem) -> StoreResult<()> {
        let item = item.clone();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    sqlx::query(INSERT)
                        .bind(kind.as_str())
                        .bind(&item.code)
                        .bind(&item.label)
                        .bind(&item.description)
                        .bind(&item.parent)
                        .bind(i64::from(item.active))
                        .execute(&mut *conn)
                        .await
                        .map_err(conflict(
                            format!("{} {:?} already exists", kind.as_str(), item.code),
                            None,
                        ))?;
                    Ok(())
                })
            })
            .await
    }

    async fn update(&self, kind: RefKind, item: &RefItem) -> StoreResult<()> {
        let item = item.clone();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "UPDATE reference_items SET label = ?, description = ?, parent = ?, active = ? WHERE kind = ? AND code = ?",
                    )
                    .bind(&item.label)
                    .bind(&item.description)
                    .bind(&item.parent)
                    .bind(i64::from(item.active))
                    .bind(kind.as_str())
                    .bind(&item.code)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                    crate::found(done.rows_affected())
                })
            })
            .await
    }

    async fn delete(&self, kind: RefKind, code: &str) -> StoreResult<()> {
        let code = code.to_string();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let in_use_sql = match kind {
                        RefKind::EscalationType => Some("SELECT 1 FROM escalations WHERE type = ? LIMIT 1"),
                        RefKind::Surface => Some("SELECT 1 FROM escalation_subjects WHERE surface = ? LIMIT 1"),
                        RefKind::Outcome | RefKind::RootCause | RefKind::Policy | RefKind::ConsultFunction => None,
                    };
                    if let Some(sql) = in_use_sql
                        && sqlx::query(sql).bind(&code).fetch_optional(&mut *conn).await.map_err(backend)?.is_some()
                    {
                        return Err(StoreError::Conflict(format!(
                            "{} {code:?} is used by escalations; retire it with active: false instead",
                            kind.as_str()
                        )));
                    }
                    let done = sqlx::query("DELETE FROM reference_items WHERE kind = ? AND code = ?")
                        .bind(kind.as_str())
                        .bind(&code)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    crate::found(done.rows_affected())
                })
            })
            .await
    }
}
