//! Partners, users, API tokens and browser sessions.

use async_trait::async_trait;
use jiff::Timestamp;
use ombud_domain::{Partner, Role};
use ombud_store::codec::{from_micros, micros};
use ombud_store::{
    DirectoryStore, NewSession, NewToken, NewUser, Session, StoreError, StoreResult, Token, User,
    UserCredentials,
};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;

use crate::{Pool, backend, map_err};

#[derive(Debug)]
pub(crate) struct PgDirectory(pub(crate) Pool);

fn role(value: &str) -> StoreResult<Role> {
    Role::parse(value)
        .ok_or_else(|| StoreError::Backend(format!("stored role {value:?} is unknown").into()))
}

fn user_from_row(row: &PgRow) -> StoreResult<User> {
    Ok(User {
        id: row.get("id"),
        email: row.get("email"),
        name: row.get("name"),
        role: role(row.get("role"))?,
        partner: row.get("partner"),
        active: row.get("active"),
        created_at: from_micros(row.get("created_at"))?,
    })
}

fn token_from_row(row: &PgRow) -> StoreResult<Token> {
    Ok(Token {
        id: row.get("id"),
        name: row.get("name"),
        role: role(row.get("role"))?,
        partner: row.get("partner"),
        prefix: row.get("prefix"),
        created_at: from_micros(row.get("created_at"))?,
        revoked_at: row
            .get::<Option<i64>, _>("revoked_at")
            .map(from_micros)
            .transpose()?,
    })
}

#[async_trait]
impl DirectoryStore for PgDirectory {
    async fn create_partner(&self, partner: &Partner) -> StoreResult<()> {
        sqlx::query("INSERT INTO partners (slug, version, state) VALUES ($1, $2, $3)")
            .bind(partner.slug.as_str())
            .bind(partner.version)
            .bind(Json(partner))
            .execute(&self.0)
            .await
            .map_err(map_err(&format!("partner slug {}", partner.slug.as_str())))?;
        Ok(())
    }

    async fn get_partner(&self, slug: &str) -> StoreResult<Partner> {
        let Json(partner): Json<Partner> =
            sqlx::query_scalar("SELECT state FROM partners WHERE slug = $1")
                .bind(slug)
                .fetch_optional(&self.0)
                .await
                .map_err(backend)?
                .ok_or(StoreError::NotFound)?;
        Ok(partner)
    }

    async fn list_partners(&self) -> StoreResult<Vec<Partner>> {
        let rows: Vec<Json<Partner>> =
            sqlx::query_scalar("SELECT state FROM partners ORDER BY slug COLLATE \"C\"")
                .fetch_all(&self.0)
                .await
                .map_err(backend)?;
        Ok(rows.into_iter().map(|Json(p)| p).collect())
    }

    async fn save_partner(&self, partner: &Partner, expected_version: i64) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE partners SET version = $1, state = $2 WHERE slug = $3 AND version = $4",
        )
        .bind(partner.version)
        .bind(Json(partner))
        .bind(partner.slug.as_str())
        .bind(expected_version)
        .execute(&self.0)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let current: Option<i64> =
            sqlx::query_scalar("SELECT version FROM partners WHERE slug = $1")
                .bind(partner.slug.as_str())
                .fetch_optional(&self.0)
                .await
                .map_err(backend)?;
        Err(match current {
            None => StoreError::NotFound,
            Some(current) => StoreError::VersionConflict {
                expected: expected_version,
                current,
            },
        })
    }

    async fn delete_partner(&self, slug: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM partners WHERE slug = $1")
            .bind(slug)
            .execute(&self.0)
            .await
            .map_err(|e| match map_err("")(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "partner {slug} still has escalations, users or tokens; deactivate it instead"
                )),
                other => other,
            })?;
        crate::found(done.rows_affected())
    }

    async fn create_user(&self, user: &NewUser) -> StoreResult<User> {
        let row = sqlx::query(
            "INSERT INTO users (email, name, role, partner, active, created_at, password_hash) VALUES ($1, $2, $3, $4, TRUE, $5, $6) RETURNING *",
        )
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(&user.partner)
        .bind(micros(user.created_at))
        .bind(&user.password_hash)
        .fetch_one(&self.0)
        .await
        .map_err(map_err(&format!("user {}", user.email)))?;
        user_from_row(&row)
    }

    async fn user_credentials(&self, email: &str) -> StoreResult<UserCredentials> {
        let row = sqlx::query("SELECT * FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.0)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        Ok(UserCredentials {
            user: user_from_row(&row)?,
            password_hash: row.get("password_hash"),
        })
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY id")
            .fetch_all(&self.0)
            .await
            .map_err(backend)?;
        rows.iter().map(user_from_row).collect()
    }

    async fn import_user(&self, user: &User, password_hash: &str) -> StoreResult<()> {
        let mut tx = self.0.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO users (id, email, name, role, partner, active, created_at, password_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(user.id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(&user.partner)
        .bind(user.active)
        .bind(micros(user.created_at))
        .bind(password_hash)
        .execute(&mut *tx)
        .await
        .map_err(map_err(&format!("user {}", user.email)))?;
        // Later users must not collide with imported ids.
        sqlx::query("SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST((SELECT MAX(id) FROM users), 1))")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn create_token(&self, token: &NewToken) -> StoreResult<Token> {
        let row = sqlx::query(
            "INSERT INTO tokens (name, role, partner, prefix, secret_sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(&token.name)
        .bind(token.role.as_str())
        .bind(&token.partner)
        .bind(&token.prefix)
        .bind(&token.secret_sha256)
        .bind(micros(token.created_at))
        .fetch_one(&self.0)
        .await
        .map_err(map_err(&format!("token {}", token.name)))?;
        token_from_row(&row)
    }

    async fn find_token(&self, secret_sha256: &str) -> StoreResult<Token> {
        let row =
            sqlx::query("SELECT * FROM tokens WHERE secret_sha256 = $1 AND revoked_at IS NULL")
                .bind(secret_sha256)
                .fetch_optional(&self.0)
                .await
                .map_err(backend)?
                .ok_or(StoreError::NotFound)?;
        token_from_row(&row)
    }

    async fn list_tokens(&self) -> StoreResult<Vec<Token>> {
        let rows = sqlx::query("SELECT * FROM tokens ORDER BY id")
            .fetch_all(&self.0)
            .await
            .map_err(backend)?;
        rows.iter().map(token_from_row).collect()
    }

    async fn export_tokens(&self) -> StoreResult<Vec<(Token, String)>> {
        let rows = sqlx::query("SELECT * FROM tokens ORDER BY id")
            .fetch_all(&self.0)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| Ok((token_from_row(row)?, row.get("secret_sha256"))))
            .collect()
    }

    async fn import_token(&self, token: &Token, secret_sha256: &str) -> StoreResult<()> {
        let mut tx = self.0.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO tokens (id, name, role, partner, prefix, secret_sha256, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(token.id)
        .bind(&token.name)
        .bind(token.role.as_str())
        .bind(&token.partner)
        .bind(&token.prefix)
        .bind(secret_sha256)
        .bind(micros(token.created_at))
        .bind(token.revoked_at.map(micros))
        .execute(&mut *tx)
        .await
        .map_err(map_err(&format!("token {}", token.name)))?;
        // Later tokens must not collide with imported ids.
        sqlx::query("SELECT setval(pg_get_serial_sequence('tokens', 'id'), GREATEST((SELECT MAX(id) FROM tokens), 1))")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn create_session(&self, session: &NewSession) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO web_sessions (secret_sha256, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.secret_sha256)
        .bind(session.user_id)
        .bind(&session.csrf_token)
        .bind(micros(session.created_at))
        .bind(micros(session.expires_at))
        .execute(&self.0)
        .await
        .map_err(map_err(&format!("session of user {}", session.user_id)))?;
        Ok(())
    }

    async fn find_session(&self, secret_sha256: &str, now: Timestamp) -> StoreResult<Session> {
        let row = sqlx::query(
            "SELECT u.*, s.csrf_token, s.expires_at AS session_expires_at \
             FROM web_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.secret_sha256 = $1 AND s.expires_at > $2 AND u.active",
        )
        .bind(secret_sha256)
        .bind(micros(now))
        .fetch_optional(&self.0)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
        Ok(Session {
            user: user_from_row(&row)?,
            csrf_token: row.get("csrf_token"),
            expires_at: from_micros(row.get("session_expires_at"))?,
        })
    }

    async fn delete_session(&self, secret_sha256: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM web_sessions WHERE secret_sha256 = $1")
            .bind(secret_sha256)
            .execute(&self.0)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn purge_sessions(&self, now: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(micros(now))
            .execute(&self.0)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn set_user_active(&self, email: &str, active: bool) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET active = $1 WHERE email = $2")
            .bind(active)
            .bind(email)
            .execute(&self.0)
            .await
            .map_err(backend)?;
        crate::found(done.rows_affected())
    }

    async fn revoke_token(&self, id: i64, at: Timestamp) -> StoreResult<()> {
        let done =
            sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(micros(at))
                .bind(id)
                .execute(&self.0)
                .await
                .map_err(backend)?;
        crate::found(done.rows_affected())
    }
}
