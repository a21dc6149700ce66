-- Spike detection (docs/emerging.md): intake counted per segment and UTC
-- hour or day by arrival time, and the alerts raised on it.

-- What segments are cut by, kept with the state like the other list
-- columns: when the report reached the partner, the surface of the first
-- subject (NULL without subjects) and the decision's policy (NULL while
-- undecided). Backfilled from the state: `received_at` is RFC 3339 text in
-- UTC ("…T10:00:00Z" or with a fraction of up to nine digits), read to the
-- microsecond as every stored time is.
ALTER TABLE escalations ADD COLUMN received_at INTEGER;
ALTER TABLE escalations ADD COLUMN surface TEXT;
ALTER TABLE escalations ADD COLUMN policy TEXT;
UPDATE escalations SET
    received_at = unixepoch(substr(state ->> '$.received_at', 1, 19)) * 1000000
        + CASE WHEN substr(state ->> '$.received_at', 20, 1) = '.'
               THEN CAST(substr(rtrim(substr(state ->> '$.received_at', 21), 'Z') || '00000', 1, 6) AS INTEGER)
               ELSE 0 END,
    surface = state ->> '$.subjects[0].surface',
    policy = state ->> '$.decision.policy';
-- Every column an hour's count groups by, in arrival order: the count reads
-- the index alone, one range of it.
CREATE INDEX escalations_received
    ON escalations (received_at, type, surface, country, policy);

CREATE TABLE spike_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    granularity TEXT NOT NULL,
    bucket_start INTEGER NOT NULL,
    type TEXT NOT NULL,
    -- '(none)' for escalations without subjects.
    surface TEXT NOT NULL,
    country TEXT NOT NULL,
    -- NULL: any policy (the roll-up).
    policy TEXT,
    count INTEGER NOT NULL,
    baseline REAL NOT NULL,
    spread REAL NOT NULL,
    score REAL NOT NULL,
    samples INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by TEXT,
    acknowledged_by_name TEXT,
    acknowledged_by_role TEXT
) STRICT;
-- One alert per segment, granularity and bucket, however many nodes
-- evaluate it: inserting is the claim.
CREATE UNIQUE INDEX spike_alerts_once
    ON spike_alerts (type, surface, country, COALESCE(policy, ''), granularity, bucket_start);
CREATE INDEX spike_alerts_newest ON spike_alerts (bucket_start, id);
CREATE INDEX spike_alerts_waiting ON spike_alerts (bucket_start, id) WHERE acknowledged_at IS NULL;

-- A spike alert's webhook event names the alert, not an escalation event:
-- its escalation_id and seq are 0 (SQLite cannot drop NOT NULL in place).
ALTER TABLE outbox ADD COLUMN spike_alert_id INTEGER REFERENCES spike_alerts (id);
