-- An agent's open cases, counted on every claim (capacity) and for
-- least-loaded auto-assignment, without reading their closed history.
CREATE INDEX escalations_held ON escalations (assignee)
WHERE assignee IS NOT NULL AND status NOT IN ('resolved', 'closed');
