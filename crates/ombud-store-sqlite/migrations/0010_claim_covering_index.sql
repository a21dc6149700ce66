-- Claim-next tests each case it walks against the agent's skills. With the
-- skill columns in the index the walk never reads a table row: `sensitive`
-- comes after the large `state` column in the table, so testing it there
-- meant following the state's overflow pages for every case passed over.
DROP INDEX escalations_claimable;
CREATE INDEX escalations_claimable
ON escalations (
    priority, COALESCE(due_at, 9223372036854775807), id,
    queue, language, country, type, sensitive
)
WHERE assignee IS NULL AND status NOT IN ('resolved', 'closed');
