-- Alerts the running clocks will raise (warnings and breaches), rewritten
-- with the escalation's state in the same transaction, so a timer is never
-- lost and never outlives the clock that set it. A worker claims due rows
-- by setting a lease; raising the alert saves the escalation, which
-- removes the row.
CREATE TABLE clock_alerts (
    escalation_id BIGINT NOT NULL REFERENCES escalations (id),
    clock INTEGER NOT NULL,
    percent INTEGER NOT NULL,
    fire_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (escalation_id, clock, percent)
);
CREATE INDEX clock_alerts_due ON clock_alerts (fire_at);
