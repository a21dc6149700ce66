-- Spike detection (docs/emerging.md): intake counted per segment and UTC
-- hour or day by arrival time, and the alerts raised on it.

-- What segments are cut by, kept with the state like the other list
-- columns: when the report reached the partner, the surface of the first
-- subject (NULL without subjects) and the decision's policy (NULL while
-- undecided), backfilled from the state.
ALTER TABLE escalations
    ADD COLUMN received_at BIGINT,
    ADD COLUMN surface TEXT,
    ADD COLUMN policy TEXT;
UPDATE escalations SET
    received_at = (extract(epoch FROM (state ->> 'received_at')::timestamptz) * 1000000)::bigint,
    surface = state -> 'subjects' -> 0 ->> 'surface',
    policy = state -> 'decision' ->> 'policy';
ALTER TABLE escalations ALTER COLUMN received_at SET NOT NULL;
-- Every column an hour's count groups by, in arrival order: the count is an
-- index-only scan of one range.
CREATE INDEX escalations_received
    ON escalations (received_at, type, surface, country, policy);

CREATE TABLE spike_alerts (
    id BIGSERIAL PRIMARY KEY,
    granularity TEXT NOT NULL,
    bucket_start BIGINT NOT NULL,
    type TEXT NOT NULL,
    -- '(none)' for escalations without subjects.
    surface TEXT NOT NULL,
    country TEXT NOT NULL,
    -- NULL: any policy (the roll-up).
    policy TEXT,
    count BIGINT NOT NULL,
    baseline DOUBLE PRECISION NOT NULL,
    spread DOUBLE PRECISION NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    samples BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    acknowledged_by_name TEXT,
    acknowledged_by_role TEXT
);
-- One alert per segment, granularity and bucket, however many nodes
-- evaluate it: inserting is the claim.
CREATE UNIQUE INDEX spike_alerts_once
    ON spike_alerts (type, surface, country, COALESCE(policy, ''), granularity, bucket_start);
CREATE INDEX spike_alerts_newest ON spike_alerts (bucket_start, id);
CREATE INDEX spike_alerts_waiting ON spike_alerts (bucket_start, id) WHERE acknowledged_at IS NULL;

-- A spike alert's webhook event names the alert, not an escalation event:
-- its escalation_id and seq are 0, as on SQLite, which cannot drop NOT NULL.
ALTER TABLE outbox ADD COLUMN spike_alert_id BIGINT REFERENCES spike_alerts (id);
