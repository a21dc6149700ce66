-- Per-escalation facts for the metrics (ombud_domain::metrics::facts),
-- rewritten in the same transaction as every change to the escalation.
-- Times are Unix seconds. Rows written under an older FACTS_VERSION than
-- the binary's are rebuilt from state and timeline when the store opens;
-- `metrics_facts_version` holds the version the rows were built with.
-- `open` is 0 or 1, as on SQLite, so that both backends read one shape.
CREATE TABLE escalation_facts (
    escalation_id     BIGINT PRIMARY KEY REFERENCES escalations (id),
    arrived_at        BIGINT NOT NULL,
    type              TEXT NOT NULL,
    surface           TEXT NOT NULL,
    country           TEXT NOT NULL,
    language          TEXT NOT NULL,
    partner           TEXT NOT NULL,
    queue             TEXT NOT NULL,
    open              BIGINT NOT NULL,
    acknowledged_at   BIGINT,
    first_response_at BIGINT,
    resolved_at       BIGINT,
    reopens           BIGINT NOT NULL,
    sla               BIGINT,
    regulatory        BIGINT,
    outcome           TEXT,
    policy            TEXT,
    root_cause        TEXT,
    decided_at        BIGINT
);
CREATE INDEX escalation_facts_by_arrival ON escalation_facts (arrived_at);
CREATE INDEX escalation_facts_open ON escalation_facts (arrived_at) WHERE open = 1;

CREATE TABLE consult_facts (
    escalation_id BIGINT NOT NULL REFERENCES escalations (id),
    number        BIGINT NOT NULL,
    function      TEXT NOT NULL,
    requested_at  BIGINT NOT NULL,
    answered_at   BIGINT,
    PRIMARY KEY (escalation_id, number)
);
CREATE INDEX consult_facts_by_request ON consult_facts (requested_at);

CREATE TABLE metrics_facts_version (version BIGINT NOT NULL);
INSERT INTO metrics_facts_version (version) VALUES (0);
