-- The work lists, nearest deadline first, read in order: an agent's open
-- cases (`escalations_held`, which also counts them for claim-next), and
-- the open, unassigned ones.
DROP INDEX escalations_held;
CREATE INDEX escalations_held
ON escalations (assignee, COALESCE(due_at, 9223372036854775807), id)
WHERE assignee IS NOT NULL AND status NOT IN ('resolved', 'closed');
CREATE INDEX escalations_unassigned_by_due
ON escalations (COALESCE(due_at, 9223372036854775807), id)
WHERE assignee IS NULL AND status NOT IN ('resolved', 'closed');
