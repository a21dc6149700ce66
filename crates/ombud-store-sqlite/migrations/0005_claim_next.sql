-- What claim-next orders and filters by: the earliest due instant of the
-- running clocks, and whether the case holds sensitive media (only agents
-- cleared for it may claim it).
ALTER TABLE escalations ADD COLUMN due_at INTEGER;
ALTER TABLE escalations ADD COLUMN sensitive INTEGER NOT NULL DEFAULT 0;
UPDATE escalations SET sensitive = 1
WHERE EXISTS (SELECT 1 FROM json_each(escalations.state, '$.risk_flags') WHERE value = 'sensitive_media');
-- Unassigned cases in claim order.
CREATE INDEX escalations_claimable ON escalations (priority, due_at) WHERE assignee IS NULL;
