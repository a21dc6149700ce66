//! Settings documents (calendars, SLA policies, regulation settings).

use async_trait::async_trait;
use jiff::Timestamp;
use ombud_store::codec::{from_micros, micros};
use ombud_store::{Expect, Setting, SettingKind, SettingsStore, StoreError, StoreResult};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{Db, backend, conflict};

#[derive(Debug)]
pub(crate) struct SqliteSettings(pub(crate) Db);

fn setting_from_row(row: &SqliteRow) -> StoreResult<Setting> {
    Ok(Setting {
        code: row.get("code"),
        body: serde_json::from_str(row.get("body")).map_err(StoreError::backend)?,
        version: row.get("version"),
        updated_at: from_micros(row.get("updated_at"))?,
    })
}

#[async_trait]
impl SettingsStore for SqliteSettings {
    async fn list(&self, kind: SettingKind) -> StoreResult<Vec<Setting>> {
        sqlx::query("SELECT * FROM settings WHERE kind = ? ORDER BY code")
            .bind(kind.as_str())
            .fetch_all(&self.0.read)
            .await
            .map_err(backend)?
            .iter()
            .map(setting_from_row)
            .collect()
    }

    async fn get(&self, kind: SettingKind, code: &str) -> StoreResult<Setting> {
        let row = sqlx::query("SELECT * FROM settings WHERE kind = ? AND code = ?")
            .bind(kind.as_str())
            .bind(code)
            .fetch_optional(&self.0.read)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        setting_from_row(&row)
    }

    async fn put(
        &self,
        kind: SettingKind,
        code: &str,
        body: &serde_json::Value,
        expect: Expect,
        at: Timestamp,
    ) -> StoreResult<Setting> {
        let code = code.to_string();
        let text = body.to_string();
        let body = body.clone();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let current: Option<i64> =
                        sqlx::query_scalar("SELECT version FROM settings WHERE kind = ? AND code = ?")
                            .bind(kind.as_str())
                            .bind(&code)
                            .fetch_optional(&mut *conn)
                            .await
                            .map_err(backend)?;
                    let version = ombud_store::settings_version(kind, &code, expect, current)?;
                    sqlx::query(
                        "INSERT INTO settings (kind, code, body, version, updated_at) VALUES (?, ?, ?, ?, ?)
                         ON CONFLICT (kind, code) DO UPDATE
                         SET body = excluded.body, version = excluded.version, updated_at = excluded.updated_at",
                    )
                    .bind(kind.as_str())
                    .bind(&code)
                    .bind(&text)
                    .bind(version)
                    .bind(micros(at))
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                    Ok(Setting {
                        code,
                        body,
                        version,
                        updated_at: at,
                    })
                })
            })
            .await
    }

    async fn restore(&self, kind: SettingKind, setting: &Setting) -> StoreResult<()> {
        let setting = setting.clone();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO settings (kind, code, body, version, updated_at) VALUES (?, ?, ?, ?, ?)",
                    )
                    .bind(kind.as_str())
                    .bind(&setting.code)
                    .bind(setting.body.to_string())
                    .bind(setting.version)
                    .bind(micros(setting.updated_at))
                    .execute(&mut *conn)
                    .await
                    .map_err(conflict(
                        format!("{} {:?} already exists", kind.as_str(), setting.code),
                        None,
                    ))?;
                    Ok(())
                })
            })
            .await
    }

    async fn delete(&self, kind: SettingKind, code: &str) -> StoreResult<()> {
        let code = code.to_string();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let done = sqlx::query("DELETE FROM settings WHERE kind = ? AND code = ?")
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
