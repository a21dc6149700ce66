-- Ombud's schema on SQLite. Times are INTEGER microseconds since the Unix
-- epoch; JSON columns hold the domain types as the API shows them.

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO counters (name, value) VALUES ('escalation_key', 0);

CREATE TABLE partners (
    slug    TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state   TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    partner       TEXT REFERENCES partners (slug),
    active        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    password_hash TEXT NOT NULL
) STRICT;

CREATE TABLE tokens (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    partner       TEXT REFERENCES partners (slug),
    prefix        TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
) STRICT;

CREATE TABLE reference_items (
    kind        TEXT NOT NULL,
    code        TEXT NOT NULL,
    label       TEXT NOT NULL,
    description TEXT NOT NULL,
    parent      TEXT,
    active      INTEGER NOT NULL,
    PRIMARY KEY (kind, code)
) STRICT, WITHOUT ROWID;

-- The current state of each escalation: the whole aggregate as JSON, plus the
-- columns lists filter and sort on. `id` is the number of the key ESC-<id>.
CREATE TABLE escalations (
    id         INTEGER PRIMARY KEY,
    type       TEXT NOT NULL,
    partner    TEXT NOT NULL REFERENCES partners (slug),
    status     TEXT NOT NULL,
    priority   INTEGER NOT NULL,
    assignee   TEXT,
    queue      TEXT,
    country    TEXT NOT NULL,
    language   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    state      TEXT NOT NULL
) STRICT;
-- Each index ends (implicitly) with the rowid, so "filter, newest first" is
-- one index range scan.
CREATE INDEX escalations_created ON escalations (created_at);
CREATE INDEX escalations_updated ON escalations (updated_at);
CREATE INDEX escalations_priority ON escalations (priority, created_at);
CREATE INDEX escalations_status ON escalations (status, created_at);
CREATE INDEX escalations_partner ON escalations (partner, created_at);
CREATE INDEX escalations_type ON escalations (type, created_at);
CREATE INDEX escalations_assignee ON escalations (assignee, created_at);
CREATE INDEX escalations_queue ON escalations (queue, created_at);
CREATE INDEX escalations_country ON escalations (country, created_at);
CREATE INDEX escalations_language ON escalations (language, created_at);

CREATE TABLE escalation_tags (
    tag           TEXT NOT NULL,
    escalation_id INTEGER NOT NULL REFERENCES escalations (id),
    PRIMARY KEY (tag, escalation_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX escalation_tags_escalation ON escalation_tags (escalation_id);

CREATE TABLE escalation_subjects (
    escalation_id  INTEGER NOT NULL REFERENCES escalations (id),
    normalized_key TEXT NOT NULL,
    kind           TEXT NOT NULL,
    surface        TEXT NOT NULL,
    PRIMARY KEY (escalation_id, normalized_key)
) STRICT, WITHOUT ROWID;
CREATE INDEX escalation_subjects_key ON escalation_subjects (normalized_key);
CREATE INDEX escalation_subjects_surface ON escalation_subjects (surface);

-- The immutable timeline. seq counts from 1 per escalation without gaps.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    escalation_id INTEGER NOT NULL REFERENCES escalations (id),
    seq           INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    visibility    TEXT NOT NULL,
    actor_id      TEXT NOT NULL,
    actor_name    TEXT NOT NULL,
    actor_role    TEXT,
    at            INTEGER NOT NULL,
    data          TEXT NOT NULL,
    UNIQUE (escalation_id, seq)
) STRICT;
CREATE TRIGGER events_are_immutable_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;
CREATE TRIGGER events_are_immutable_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;

-- Searchable documents: one `main` document per escalation (title,
-- description, subject ids and URLs) and one per comment.
CREATE TABLE search_docs (
    id            INTEGER PRIMARY KEY,
    escalation_id INTEGER NOT NULL REFERENCES escalations (id),
    source        TEXT NOT NULL,
    visibility    TEXT NOT NULL,
    body          TEXT NOT NULL
) STRICT;
CREATE INDEX search_docs_escalation ON search_docs (escalation_id, source);
CREATE VIRTUAL TABLE search_fts USING fts5 (
    body, content = 'search_docs', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER search_docs_insert AFTER INSERT ON search_docs
BEGIN INSERT INTO search_fts (rowid, body) VALUES (new.id, new.body); END;
CREATE TRIGGER search_docs_delete AFTER DELETE ON search_docs
BEGIN INSERT INTO search_fts (search_fts, rowid, body) VALUES ('delete', old.id, old.body); END;

CREATE TABLE idempotency_keys (
    principal   TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    status      INTEGER,
    headers     TEXT,
    body        BLOB,
    PRIMARY KEY (principal, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
