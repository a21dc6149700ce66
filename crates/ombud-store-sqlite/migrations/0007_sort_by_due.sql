-- Lists sorted by the nearest deadline ("breaching soon") read this index
-- in order; escalations without a running clock sort last.
CREATE INDEX escalations_by_due ON escalations (COALESCE(due_at, 9223372036854775807), id);
