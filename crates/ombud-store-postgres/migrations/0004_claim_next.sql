-- What claim-next orders and filters by: the earliest due instant of the
-- running clocks, and whether the case holds sensitive media (only agents
-- cleared for it may claim it).
ALTER TABLE escalations ADD COLUMN due_at BIGINT;
ALTER TABLE escalations ADD COLUMN sensitive BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE escalations SET sensitive = TRUE WHERE state->'risk_flags' ? 'sensitive_media';
-- Unassigned cases in claim order.
CREATE INDEX escalations_claimable ON escalations (priority, due_at NULLS LAST) WHERE assignee IS NULL;
