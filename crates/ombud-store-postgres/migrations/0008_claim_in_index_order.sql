-- Claim-next walks the unassigned, open cases in its own order — priority,
-- nearest deadline (none last), key — and stops at the first the agent may
-- take; the skill columns ride along in the index, and the predicate is the
-- query's own, so the walk needs no sort of the whole backlog.
DROP INDEX escalations_claimable;
CREATE INDEX escalations_claimable
ON escalations (priority, due_at NULLS LAST, id)
INCLUDE (queue, language, country, type, sensitive)
WHERE assignee IS NULL AND status NOT IN ('resolved', 'closed');
