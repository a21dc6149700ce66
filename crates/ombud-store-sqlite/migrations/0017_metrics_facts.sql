-- Per-escalation facts for the metrics (ombud_domain::metrics::facts),
-- rewritten in the same transaction as every change to the escalation.
-- Times are Unix seconds. Rows written under an older FACTS_VERSION than
-- the binary's are rebuilt from state and timeline when the store opens;
-- `metrics_facts_version` holds the version the rows were built with.
CREATE TABLE escalation_facts (
    escalation_id     INTEGER PRIMARY KEY REFERENCES escalations (id),
    arrived_at        INTEGER NOT NULL,
    type              TEXT NOT NULL,
    surface           TEXT NOT NULL,
    country           TEXT NOT NULL,
    language          TEXT NOT NULL,
    partner           TEXT NOT NULL,
    queue             TEXT NOT NULL,
    open              INTEGER NOT NULL,
    acknowledged_at   INTEGER,
    first_response_at INTEGER,
    resolved_at       INTEGER,
    reopens           INTEGER NOT NULL,
    sla               INTEGER,
    regulatory        INTEGER,
    outcome           TEXT,
    policy            TEXT,
    root_cause        TEXT,
    decided_at        INTEGER
);
CREATE INDEX escalation_facts_by_arrival ON escalation_facts (arrived_at);
CREATE INDEX escalation_facts_open ON escalation_facts (arrived_at) WHERE open = 1;

CREATE TABLE consult_facts (
    escalation_id INTEGER NOT NULL REFERENCES escalations (id),
    number        INTEGER NOT NULL,
    function      TEXT NOT NULL,
    requested_at  INTEGER NOT NULL,
    answered_at   INTEGER,
    PRIMARY KEY (escalation_id, number)
);
CREATE INDEX consult_facts_by_request ON consult_facts (requested_at);

CREATE TABLE metrics_facts_version (version INTEGER NOT NULL);
INSERT INTO metrics_facts_version (version) VALUES (0);
