//! Passwords (argon2id) and API tokens (random secrets stored as SHA-256).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jiff::Timestamp;
use ombud_domain::Role;
use ombud_store::{NewToken, NewUser, StoreError, Stores, User, sha256_hex};

use crate::error::{ApiError, ApiResult};
use rand::RngCore;

/// Tokens start with this, so secret scanners and people recognise them.
pub const TOKEN_PREFIX: &str = "ombud_";

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

/// Checks `password` against a stored PHC string; false for malformed hashes.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A new token: the secret to show once, and the record to store.
pub fn new_token(
    name: &str,
    role: Role,
    partner: Option<&str>,
    at: Timestamp,
) -> (String, NewToken) {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let record = NewToken {
        name: name.to_string(),
        role,
        partner: partner.map(str::to_string),
        prefix: secret[..TOKEN_PREFIX.len() + 6].to_string(),
        secret_sha256: sha256_hex(secret.as_bytes()),
        created_at: at,
    };
    (secret, record)
}

/// Shortest password a user may be given.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A user as an administrator adds one (from the CLI or the console).
#[derive(Debug, Clone)]
pub struct UserRequest {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Required for the partner role, and only for it.
    pub partner: Option<String>,
    pub password: String,
}

/// Checks a role's partner: a partner principal needs an existing partner,
/// staff have none.
async fn check_partner(stores: &Stores, role: Role, partner: Option<&str>) -> ApiResult<()> {
    match (role, partner) {
        (Role::Partner, Some(slug)) => match stores.directory.get_partner(slug).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound) => Err(ApiError::field(
                "validation_failed",
                "partner",
                format!("no partner {slug:?}"),
            )),
            Err(e) => Err(e.into()),
        },
        (Role::Partner, None) => Err(ApiError::field(
            "validation_failed",
            "partner",
            "a partner user or token belongs to a partner: name it",
        )),
        (_, Some(_)) => Err(ApiError::field(
            "validation_failed",
            "partner",
            "only the partner role belongs to a partner",
        )),
        (_, None) => Ok(()),
    }
}

/// Adds a user once its email, name, password and partner are valid.
pub async fn create_user(stores: &Stores, request: &UserRequest, at: Timestamp) -> ApiResult<User> {
    let email = ombud_domain::partner::email("email", &request.email)?;
    let name = ombud_domain::validation::text("name", &request.name, 1, 200)?;
    if request.password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::field(
            "validation_failed",
            "password",
            format!("must have at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    check_partner(stores, request.role, request.partner.as_deref()).await?;
    let user = NewUser {
        email,
        name,
        role: request.role,
        partner: request.partner.clone(),
        password_hash: hash_password(&request.password),
        created_at: at,
    };
    Ok(stores.directory.create_user(&user).await?)
}

/// Creates a token and returns its secret, shown this once.
pub async fn create_token(
    stores: &Stores,
    name: &str,
    role: Role,
    partner: Option<&str>,
    at: Timestamp,
) -> ApiResult<String> {
    let name = ombud_domain::validation::text("name", name, 1, 200)?;
    check_partner(stores, role, partner).await?;
    let (secret, record) = new_token(&name, role, partner, at);
    stores.directory.create_token(&record).await?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn tokens_are_stored_only_as_hashes() {
        let (secret, record) = new_token("ci", Role::Agent, None, Timestamp::UNIX_EPOCH);
        assert!(secret.starts_with(TOKEN_PREFIX));
        assert_eq!(secret.len(), TOKEN_PREFIX.len() + 48);
        assert!(!record.secret_sha256.contains(&secret[TOKEN_PREFIX.len()..]));
        assert_eq!(record.secret_sha256, sha256_hex(secret.as_bytes()));
        assert!(secret.starts_with(&record.prefix));
    }
}
