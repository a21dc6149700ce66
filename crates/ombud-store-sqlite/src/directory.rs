//! Partners, users, API tokens and browser sessions.

use async_trait::async_trait;
use jiff::Timestamp;
use ombud_domain::{Partner, Role};
use ombud_store::codec::{decode_state, encode_state, from_micros, micros};
use ombud_store::{
    DirectoryStore, NewSession, NewToken, NewUser, Session, StoreError, StoreResult, Token, User,
    UserCredentials,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{Db, Violation, backend, conflict};

#[derive(Debug)]
pub(crate) struct SqliteDirectory(pub(crate) Db);

fn role(value: &str) -> StoreResult<Role> {
    Role::parse(value)
        .ok_or_else(|| StoreError::Backend(format!("stored role {value:?} is unknown").into()))
}

fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    Ok(User {
        id: row.get("id"),
        email: row.get("email"),
        name: row.get("name"),
        role: role(row.get("role"))?,
        partner: row.get("partner"),
        active: row.get::<i64, _>("active") != 0,
        created_at: from_micros(row.get("created_at"))?,
    })
}

fn token_from_row(row: &SqliteRow) -> StoreResult<Token> {
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

/// A user's email is unique, and the partner it belongs to must exist.
fn user_conflict(email: &str, partner: Option<&str>) -> impl FnOnce(sqlx::Error) -> StoreError {
    conflict(
        format!("user {email} already exists"),
        partner.map(|p| format!("partner {p} does not exist")),
    )
}

const INSERT_USER: &str = "INSERT INTO users (id, email, name, role, partner, active, created_at, password_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *";

#[async_trait]
impl DirectoryStore for SqliteDirectory {
    async fn create_partner(&self, partner: &Partner) -> StoreResult<()> {
        let partner = partner.clone();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO partners (slug, version, state) VALUES (?, ?, ?)")
                        .bind(partner.slug.as_str())
                        .bind(partner.version)
                        .bind(encode_state(&partner))
                        .execute(&mut *conn)
                        .await
                        .map_err(conflict(
                            format!("partner slug {} already exists", partner.slug.as_str()),
                            None,
                        ))?;
                    Ok(())
                })
            })
            .await
    }

    async fn get_partner(&self, slug: &str) -> StoreResult<Partner> {
        let state: String = sqlx::query_scalar("SELECT state FROM partners WHERE slug = ?")
            .bind(slug)
            .fetch_optional(&self.0.read)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        decode_state(&state)
    }

    async fn list_partners(&self) -> StoreResult<Vec<Partner>> {
        let states: Vec<String> = sqlx::query_scalar("SELECT state FROM partners ORDER BY slug")
            .fetch_all(&self.0.read)
            .await
            .map_err(backend)?;
        states.iter().map(|s| decode_state(s)).collect()
    }

    async fn save_partner(&self, partner: &Partner, expected_version: i64) -> StoreResult<()> {
        let partner = partner.clone();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "UPDATE partners SET version = ?, state = ? WHERE slug = ? AND version = ?",
                    )
                    .bind(partner.version)
                    .bind(encode_state(&partner))
                    .bind(partner.slug.as_str())
                    .bind(expected_version)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                    if done.rows_affected() == 1 {
                        return Ok(());
                    }
                    let current: Option<i64> =
                        sqlx::query_scalar("SELECT version FROM partners WHERE slug = ?")
                            .bind(partner.slug.as_str())
                            .fetch_optional(&mut *conn)
                            .await
                            .map_err(backend)?;
                    Err(match current {
                        None => StoreError::NotFound,
                        Some(current) => StoreError::VersionConflict {
                            expected: expected_version,
                            current,
                        },
                    })
                })
            })
            .await
    }

    async fn delete_partner(&self, slug: &str) -> StoreResult<()> {
        let slug = slug.to_string();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let done = sqlx::query("DELETE FROM partners WHERE slug = ?")
                        .bind(&slug)
                        .execute(&mut *conn)
                        .await
                        .map_err(|e| match Violation::of(&e) {
                            Some(Violation::Reference) => StoreError::Conflict(format!(
                                "partner {slug} still has escalations, users or tokens; deactivate it instead"
                            )),
                            _ => backend(e),
                        })?;
                    crate::found(done.rows_affected())
                })
            })
            .await
    }

    async fn create_user(&self, user: &NewUser) -> StoreResult<User> {
        let user = user.clone();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let row = sqlx::query(INSERT_USER)
                        .bind(None::<i64>)
                        .bind(&user.email)
                        .bind(&user.name)
                        .bind(user.role.as_str())
                        .bind(&user.partner)
                        .bind(1_i64)
                        .bind(micros(user.created_at))
                        .bind(&user.password_hash)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(user_conflict(&user.email, user.partner.as_deref()))?;
                    user_from_row(&row)
                })
            })
            .await
    }

    async fn user_credentials(&self, email: &str) -> StoreResult<UserCredentials> {
        let row = sqlx::query("SELECT * FROM users WHERE email = ?")
            .bind(email)
            .fetch_optional(&self.0.read)
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
            .fetch_all(&self.0.read)
            .await
            .map_err(backend)?;
        rows.iter().map(user_from_row).collect()
    }

    async fn import_user(&self, user: &User, password_hash: &str) -> StoreResult<()> {
        let (user, password_hash) = (user.clone(), password_hash.to_string());
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    sqlx::query(INSERT_USER)
                        .bind(user.id)
                        .bind(&user.email)
                        .bind(&user.name)
                        .bind(user.role.as_str())
                        .bind(&user.partner)
                        .bind(i64::from(user.active))
                        .bind(micros(user.created_at))
                        .bind(&password_hash)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(user_conflict(&user.email, user.partner.as_deref()))?;
                    Ok(())
                })
            })
            .await
    }

    async fn create_token(&self, token: &NewToken) -> StoreResult<Token> {
        let token = token.clone();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let row = sqlx::query(
                        "INSERT INTO tokens (name, role, partner, prefix, secret_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
                    )
                    .bind(&token.name)
                    .bind(token.role.as_str())
                    .bind(&token.partner)
                    .bind(&token.prefix)
                    .bind(&token.secret_sha256)
                    .bind(micros(token.created_at))
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(conflict(
                        format!("a token with this secret already exists ({})", token.prefix),
                        token.partner.as_ref().map(|p| format!("partner {p} does not exist")),
                    ))?;
                    token_from_row(&row)
                })
            })
            .await
    }

    async fn find_token(&self, secret_sha256: &str) -> StoreResult<Token> {
        let row =
            sqlx::query("SELECT * FROM tokens WHERE secret_sha256 = ? AND revoked_at IS NULL")
                .bind(secret_sha256)
                .fetch_optional(&self.0.read)
                .await
                .map_err(backend)?
                .ok_or(StoreError::NotFound)?;
        token_from_row(&row)
    }

    async fn list_tokens(&self) -> StoreResult<Vec<Token>> {
        let rows = sqlx::query("SELECT * FROM tokens ORDER BY id")
            .fetch_all(&self.0.read)
            .await
            .map_err(backend)?;
        rows.iter().map(token_from_row).collect()
    }

    async fn export_tokens(&self) -> StoreResult<Vec<(Token, String)>> {
        let rows = sqlx::query("SELECT * FROM tokens ORDER BY id")
            .fetch_all(&self.0.read)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| Ok((token_from_row(row)?, row.get("secret_sha256"))))
            .collect()
    }

    async fn import_token(&self, token: &Token, secret_sha256: &str) -> StoreResult<()> {
        let (token, secret_sha256) = (token.clone(), secret_sha256.to_string());
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO tokens (id, name, role, partner, prefix, secret_sha256, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(token.id)
                    .bind(&token.name)
                    .bind(token.role.as_str())
                    .bind(&token.partner)
                    .bind(&token.prefix)
                    .bind(&secret_sha256)
                    .bind(micros(token.created_at))
                    .bind(token.revoked_at.map(micros))
                    .execute(&mut *conn)
                    .await
                    .map_err(conflict(
                        format!("token {} already exists", token.id),
                        token.partner.as_ref().map(|p| format!("partner {p} does not exist")),
                    ))?;
                    Ok(())
                })
            })
            .await
    }

    async fn create_session(&self, session: &NewSession) -> StoreResult<()> {
        let session = session.clone();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO web_sessions (secret_sha256, user_id, csrf_token, created_at, expires_at) \
                         VALUES (?, ?, ?, ?, ?)",
                    )
                    .bind(&session.secret_sha256)
                    .bind(session.user_id)
                    .bind(&session.csrf_token)
                    .bind(micros(session.created_at))
                    .bind(micros(session.expires_at))
                    .execute(&mut *conn)
                    .await
                    .map_err(conflict(
                        "the session exists".into(),
                        Some(format!("user {} does not exist", session.user_id)),
                    ))?;
                    Ok(())
                })
            })
            .await
    }

    async fn find_session(&self, secret_sha256: &str, now: Timestamp) -> StoreResult<Session> {
        let row = sqlx::query(
            "SELECT u.*, s.csrf_token, s.expires_at AS session_expires_at \
             FROM web_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.secret_sha256 = ? AND s.expires_at > ? AND u.active = 1",
        )
        .bind(secret_sha256)
        .bind(micros(now))
        .fetch_optional(&self.0.read)
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
        let secret_sha256 = secret_sha256.to_string();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    sqlx::query("DELETE FROM web_sessions WHERE secret_sha256 = ?")
                        .bind(&secret_sha256)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    Ok(())
                })
            })
            .await
    }

    async fn purge_sessions(&self, now: Timestamp) -> StoreResult<u64> {
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let done = sqlx::query("DELETE FROM web_sessions WHERE expires_at <= ?")
                        .bind(micros(now))
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    Ok(done.rows_affected())
                })
            })
            .await
    }

    async fn set_user_active(&self, email: &str, active: bool) -> StoreResult<()> {
        let email = email.to_string();
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let done = sqlx::query("UPDATE users SET active = ? WHERE email = ?")
                        .bind(i64::from(active))
                        .bind(&email)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    crate::found(done.rows_affected())
                })
            })
            .await
    }

    async fn revoke_token(&self, id: i64, at: Timestamp) -> StoreResult<()> {
        self.0
            .writer
            .write(move |conn| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    )
                    .bind(micros(at))
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                    crate::found(done.rows_affected())
                })
            })
            .await
    }
}
