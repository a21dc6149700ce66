-- Ombud's schema on PostgreSQL. Times are BIGINT microseconds since the Unix
-- epoch (as on SQLite); JSONB columns hold the domain types as the API shows them.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Keys ESC-<n>: a sequence hands out each number once, across all nodes.
CREATE SEQUENCE escalation_keys;

CREATE TABLE partners (
    slug    TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    state   JSONB NOT NULL
);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    partner       TEXT REFERENCES partners (slug),
    active        BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    password_hash TEXT NOT NULL
);

CREATE TABLE tokens (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    partner       TEXT REFERENCES partners (slug),
    prefix        TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);

CREATE TABLE reference_items (
    kind        TEXT NOT NULL,
    code        TEXT NOT NULL,
    label       TEXT NOT NULL,
    description TEXT NOT NULL,
    parent      TEXT,
    active      BOOLEAN NOT NULL,
    PRIMARY KEY (kind, code)
);

CREATE TABLE escalations (
    id         BIGINT PRIMARY KEY,
    type       TEXT NOT NULL,
    partner    TEXT NOT NULL REFERENCES partners (slug),
    status     TEXT NOT NULL,
    priority   BIGINT NOT NULL,
    assignee   TEXT,
    queue      TEXT,
    country    TEXT NOT NULL,
    language   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version    BIGINT NOT NULL,
    state      JSONB NOT NULL
);
CREATE INDEX escalations_created ON escalations (created_at, id);
CREATE INDEX escalations_updated ON escalations (updated_at, id);
CREATE INDEX escalations_priority ON escalations (priority, created_at, id);
CREATE INDEX escalations_status ON escalations (status, created_at, id);
CREATE INDEX escalations_partner ON escalations (partner, created_at, id);
CREATE INDEX escalations_type ON escalations (type, created_at, id);
CREATE INDEX escalations_assignee ON escalations (assignee, created_at, id);
CREATE INDEX escalations_queue ON escalations (queue, created_at, id);
CREATE INDEX escalations_country ON escalations (country, created_at, id);
CREATE INDEX escalations_language ON escalations (language, created_at, id);

CREATE TABLE escalation_tags (
    tag           TEXT NOT NULL,
    escalation_id BIGINT NOT NULL REFERENCES escalations (id),
    PRIMARY KEY (tag, escalation_id)
);
CREATE INDEX escalation_tags_escalation ON escalation_tags (escalation_id);

CREATE TABLE escalation_subjects (
    escalation_id  BIGINT NOT NULL REFERENCES escalations (id),
    normalized_key TEXT NOT NULL,
    kind           TEXT NOT NULL,
    surface        TEXT NOT NULL,
    PRIMARY KEY (escalation_id, normalized_key)
);
CREATE INDEX escalation_subjects_key ON escalation_subjects (normalized_key);
CREATE INDEX escalation_subjects_surface ON escalation_subjects (surface);

CREATE TABLE events (
    id            BIGSERIAL PRIMARY KEY,
    escalation_id BIGINT NOT NULL REFERENCES escalations (id),
    seq           BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    visibility    TEXT NOT NULL,
    actor_id      TEXT NOT NULL,
    actor_name    TEXT NOT NULL,
    actor_role    TEXT,
    at            BIGINT NOT NULL,
    data          JSONB NOT NULL,
    UNIQUE (escalation_id, seq)
);
CREATE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable';
END;
$$;
CREATE TRIGGER events_are_immutable BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_immutable();

-- One `main` document per escalation and one per comment; trigram indexes
-- serve case-insensitive substring search in any script.
CREATE TABLE search_docs (
    id            BIGSERIAL PRIMARY KEY,
    escalation_id BIGINT NOT NULL REFERENCES escalations (id),
    source        TEXT NOT NULL,
    visibility    TEXT NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX search_docs_escalation ON search_docs (escalation_id, source);
CREATE INDEX search_docs_body ON search_docs USING gin (body gin_trgm_ops);

CREATE TABLE idempotency_keys (
    principal   TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    status      INTEGER,
    headers     JSONB,
    body        BYTEA,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Evidence bytes, shared by every node (nodes share no disk).
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    bytes  BYTEA NOT NULL
);
