-- The outbox: every event written by a create or a save gets a row here in
-- the same transaction, so no event is lost to webhooks; a worker fans each
-- row out into one delivery per matching subscription, and delivers those
-- with retries (at least once).
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    escalation_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    fanned_out BOOLEAN NOT NULL DEFAULT FALSE,
    lease_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_pending ON outbox (id) WHERE NOT fanned_out;

CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    subscription TEXT NOT NULL,
    outbox_id BIGINT NOT NULL REFERENCES outbox (id),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    last_status INTEGER,
    last_error TEXT,
    delivered_at BIGINT,
    UNIQUE (subscription, outbox_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription, id);
