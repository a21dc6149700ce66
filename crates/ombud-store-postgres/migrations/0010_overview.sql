-- The console's overview counts from indexes alone: the open backlog by
-- status and priority, open deadlines before an instant, and intake per
-- day and type.
CREATE INDEX escalations_status_priority ON escalations (status, priority);
CREATE INDEX escalations_open_due ON escalations (due_at)
WHERE due_at IS NOT NULL AND status NOT IN ('resolved', 'closed');
CREATE INDEX escalations_created_type ON escalations (created_at, type);
