-- Keeps first pages fast at a million escalations.

-- Each tag row carries its escalation's creation time, so "tag X, newest
-- first" reads one index range in order instead of sorting every tagged
-- escalation. Creation times never change, so the copy never goes stale.
ALTER TABLE escalation_tags ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
UPDATE escalation_tags
SET created_at = (SELECT e.created_at FROM escalations e WHERE e.id = escalation_id);
CREATE INDEX escalation_tags_created ON escalation_tags (tag, created_at, escalation_id);

-- Sorting by priority breaks ties by key: (priority, rowid) is that order.
CREATE INDEX escalations_priority_key ON escalations (priority);

-- Search documents are stored lowercased (by the application, in Unicode),
-- so that `instr` finds terms of any length case-insensitively without
-- lowering every row at query time. SQLite's lower() folds ASCII only; that
-- is as far as existing rows can be brought here.
UPDATE search_docs SET body = lower(body);
INSERT INTO search_fts (search_fts) VALUES ('rebuild');
