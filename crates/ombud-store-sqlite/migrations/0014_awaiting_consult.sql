-- "Waiting on consults": how many consults of each escalation still wait
-- for their answer, kept with the state, and a partial index holding only
-- the escalations that have one (few, however large the table).
ALTER TABLE escalations ADD COLUMN consults_open INTEGER NOT NULL DEFAULT 0;
UPDATE escalations
SET consults_open = (
    SELECT COUNT(*) FROM json_each(escalations.state, '$.consults') AS c
    WHERE json_type(c.value, '$.answer') IS NULL OR json_type(c.value, '$.answer') = 'null'
)
WHERE json_array_length(state, '$.consults') > 0;
CREATE INDEX escalations_awaiting_consult ON escalations (consults_open) WHERE consults_open > 0;
