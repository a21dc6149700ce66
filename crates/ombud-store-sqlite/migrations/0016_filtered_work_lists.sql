-- Work lists filtered by one queue, country, type or priority, nearest
-- deadline first: each read in order from an index of the open cases by
-- that column and deadline, stopping after a page, instead of walking the
-- deadline index past every case of the other values (at a million open
-- cases, "P1 in Japan" took seconds).
CREATE INDEX escalations_open_queue_by_due
ON escalations (queue, COALESCE(due_at, 9223372036854775807), id)
WHERE status NOT IN ('resolved', 'closed');
CREATE INDEX escalations_open_country_by_due
ON escalations (country, COALESCE(due_at, 9223372036854775807), id)
WHERE status NOT IN ('resolved', 'closed');
CREATE INDEX escalations_open_type_by_due
ON escalations (type, COALESCE(due_at, 9223372036854775807), id)
WHERE status NOT IN ('resolved', 'closed');
CREATE INDEX escalations_open_priority_by_due
ON escalations (priority, COALESCE(due_at, 9223372036854775807), id)
WHERE status NOT IN ('resolved', 'closed');
