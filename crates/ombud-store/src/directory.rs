//! Partners, users and API tokens: who reports and who may act.

use async_trait::async_trait;
use jiff::Timestamp;
use ombud_domain::{Partner, Role};
use serde::{Deserialize, Serialize};

use crate::error::{StoreError, StoreResult};

/// A staff or partner user. Password hashes never leave the store except in
/// `UserCredentials`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The partner a `partner` user belongs to.
    pub partner: Option<String>,
    pub active: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub partner: Option<String>,
    /// An argon2id PHC string.
    pub password_hash: String,
    pub created_at: Timestamp,
}

/// A user with the hash needed to check a password.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

impl std::fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentials")
            .field("user", &self.user)
            .field("password_hash", &"[redacted]")
            .finish()
    }
}

/// An API token as stored: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The partner a `partner` token acts for.
    pub partner: Option<String>,
    /// The first characters of the secret, to recognise it in a list.
    pub prefix: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub partner: Option<String>,
    pub prefix: String,
    /// Hex SHA-256 of the whole secret.
    pub secret_sha256: String,
    pub created_at: Timestamp,
}

/// A browser session of the web console or the partner portal. The cookie's
/// secret is stored only as its SHA-256, like a token's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub secret_sha256: String,
    pub user_id: i64,
    /// The anti-forgery token every form of this session must carry.
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A live session and the active user it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// `Conflict` if the slug is taken.
    async fn create_partner(&self, partner: &Partner) -> StoreResult<()>;
    async fn get_partner(&self, slug: &str) -> StoreResult<Partner>;
    async fn list_partners(&self) -> StoreResult<Vec<Partner>>;
    /// Optimistic: `VersionConflict` if the stored version is not `expected_version`.
    async fn save_partner(&self, partner: &Partner, expected_version: i64) -> StoreResult<()>;
    /// `Conflict` while escalations, users or tokens refer to the partner
    /// (deactivate it instead).
    async fn delete_partner(&self, slug: &str) -> StoreResult<()>;

    /// `Conflict` if the email is taken; `partner` must exist.
    async fn create_user(&self, user: &NewUser) -> StoreResult<User>;
    async fn user_credentials(&self, email: &str) -> StoreResult<UserCredentials>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Lets a user sign in again, or stops them: an inactive user's
    /// sessions end at once. `NotFound` if there is no such user.
    async fn set_user_active(&self, email: &str, active: bool) -> StoreResult<()>;
    /// Imports a user exactly as exported, hash included.
    async fn import_user(&self, user: &User, password_hash: &str) -> StoreResult<()>;

    async fn create_token(&self, token: &NewToken) -> StoreResult<Token>;
    /// The live (not revoked) token whose secret hashes to `secret_sha256`.
    async fn find_token(&self, secret_sha256: &str) -> StoreResult<Token>;
    async fn list_tokens(&self) -> StoreResult<Vec<Token>>;
    async fn revoke_token(&self, id: i64, at: Timestamp) -> StoreResult<()>;

    /// `Conflict` if the secret is taken; the user must exist.
    async fn create_session(&self, session: &NewSession) -> StoreResult<()>;
    /// The session whose secret hashes to `secret_sha256`, if it has not
    /// expired by `now` and its user is active; else `NotFound`.
    async fn find_session(&self, secret_sha256: &str, now: Timestamp) -> StoreResult<Session>;
    /// Ends a session (signing out); ending one that is gone is no error.
    async fn delete_session(&self, secret_sha256: &str) -> StoreResult<()>;
    /// Forgets sessions expired by `now`; returns how many.
    async fn purge_sessions(&self, now: Timestamp) -> StoreResult<u64>;

    /// Every token with the hex SHA-256 of its secret, by id, for `ombud export`.
    async fn export_tokens(&self) -> StoreResult<Vec<(Token, String)>> {
        Err(StoreError::Backend(
            "this backend cannot export tokens".into(),
        ))
    }
    /// Imports a token exactly as exported (id, hash and revocation included).
    async fn import_token(&self, token: &Token, secret_sha256: &str) -> StoreResult<()> {
        let _ = (token, secret_sha256);
        Err(StoreError::Backend(
            "this backend cannot import tokens".into(),
        ))
    }
}
