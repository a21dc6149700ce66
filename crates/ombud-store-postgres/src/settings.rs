//! Settings documents (calendars, SLA policies, regulation settings).

use async_trait::async_trait;
use jiff::Timestamp;
use ombud_store::codec::{from_micros, micros};
use ombud_store::{
    Expect, Setting, SettingKind, SettingsStore, StoreError, StoreResult, settings_version,
};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::{Pool, backend, map_err};

#[derive(Debug)]
pub(crate) struct PgSettings(pub(crate) Pool);

fn setting_from_row(row: &PgRow) -> StoreResult<Setting> {
    Ok(Setting {
        code: row.get("code"),
        body: serde_json::from_str(row.get("body")).map_err(StoreError::backend)?,
        version: row.get("version"),
        updated_at: from_micros(row.get("updated_at"))?,
    })
}

#[async_trait]
impl SettingsStore for PgSettings {
    async fn list(&self, kind: SettingKind) -> StoreResult<Vec<Setting>> {
        sqlx::query("SELECT * FROM settings WHERE kind = $1 ORDER BY code")
            .bind(kind.as_str())
            .fetch_all(&self.0)
            .await
            .map_err(backend)?
            .iter()
            .map(setting_from_row)
            .collect()
    }

    async fn get(&self, kind: SettingKind, code: &str) -> StoreResult<Setting> {
        let row = sqlx::query("SELECT * FROM settings WHERE kind = $1 AND code = $2")
            .bind(kind.as_str())
            .bind(code)
            .fetch_optional(&self.0)
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
        let mut tx = self.0.begin().await.map_err(backend)?;
        // Serialises writers of this setting (and of a setting being created:
        // the advisory lock covers the not-yet-existing row).
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))")
            .bind(kind.as_str())
            .bind(code)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT version FROM settings WHERE kind = $1 AND code = $2")
                .bind(kind.as_str())
                .bind(code)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        let version = settings_version(kind, code, expect, current)?;
        sqlx::query(
            "INSERT INTO settings (kind, code, body, version, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (kind, code) DO UPDATE
             SET body = excluded.body, version = excluded.version, updated_at = excluded.updated_at",
        )
        .bind(kind.as_str())
        .bind(code)
        .bind(body.to_string())
        .bind(version)
        .bind(micros(at))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(Setting {
            code: code.to_string(),
            body: body.clone(),
            version,
            updated_at: at,
        })
    }

    async fn restore(&self, kind: SettingKind, setting: &Setting) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO settings (kind, code, body, version, updated_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(kind.as_str())
        .bind(&setting.code)
        .bind(setting.body.to_string())
        .bind(setting.version)
        .bind(micros(setting.updated_at))
        .execute(&self.0)
        .await
        .map_err(map_err(&format!("{} {:?}", kind.as_str(), setting.code)))?;
        Ok(())
    }

    async fn delete(&self, kind: SettingKind, code: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM settings WHERE kind = $1 AND code = $2")
            .bind(kind.as_str())
            .bind(code)
            .execute(&self.0)
            .await
            .map_err(backend)?;
        crate::found(done.rows_affected())
    }
}
