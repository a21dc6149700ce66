-- Claim-next walks the unassigned, open cases in its own order — priority,
-- nearest deadline (none last), key — and stops at the first the agent may
-- take, instead of sorting the whole backlog on every claim.
DROP INDEX escalations_claimable;
CREATE INDEX escalations_claimable
ON escalations (priority, COALESCE(due_at, 9223372036854775807), id)
WHERE assignee IS NULL AND status NOT IN ('resolved', 'closed');
