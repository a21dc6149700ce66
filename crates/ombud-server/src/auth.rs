//! Passwords (argon2id) and API tokens (random secrets stored as SHA-256).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jiff::Timestamp;
use ombud_domain::Role;
use ombud_store::{NewToken, sha256_hex};
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
