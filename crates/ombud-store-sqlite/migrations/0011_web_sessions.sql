-- Browser sessions of the web console and the partner portal: the cookie's
-- secret only as its SHA-256, and the session's anti-forgery token.
CREATE TABLE web_sessions (
    secret_sha256 TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    csrf_token    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);
