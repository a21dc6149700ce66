-- "Waiting on consults": how many consults of each escalation still wait
-- for their answer, kept with the state, and a partial index holding only
-- the escalations that have one.
ALTER TABLE escalations ADD COLUMN consults_open INTEGER NOT NULL DEFAULT 0;
UPDATE escalations
SET consults_open = (
    SELECT COUNT(*) FROM jsonb_array_elements(state -> 'consults') AS c
    WHERE c -> 'answer' IS NULL OR jsonb_typeof(c -> 'answer') = 'null'
)
WHERE jsonb_array_length(COALESCE(state -> 'consults', '[]'::jsonb)) > 0;
CREATE INDEX escalations_awaiting_consult ON escalations (consults_open) WHERE consults_open > 0;
