-- The overview's backlog and intake, kept as counts while escalations are
-- written (triggers: in the same transaction as the write, whatever path
-- it takes: create, save, import) instead of counted at each read, which
-- at a million open cases meant walking a million index entries.
-- Counts are by UTC day in microseconds, as `created_at` is stored.
CREATE TABLE open_backlog (
    status   TEXT NOT NULL,
    priority INTEGER NOT NULL,
    open     INTEGER NOT NULL,
    PRIMARY KEY (status, priority)
) WITHOUT ROWID;

CREATE TABLE daily_intake (
    day      INTEGER NOT NULL,
    type     TEXT NOT NULL,
    received INTEGER NOT NULL,
    PRIMARY KEY (day, type)
) WITHOUT ROWID;

INSERT INTO open_backlog (status, priority, open)
SELECT status, priority, COUNT(*) FROM escalations
WHERE status NOT IN ('resolved', 'closed')
GROUP BY status, priority;

INSERT INTO daily_intake (day, type, received)
SELECT created_at / 86400000000, type, COUNT(*) FROM escalations
GROUP BY created_at / 86400000000, type;

CREATE TRIGGER escalations_counted AFTER INSERT ON escalations
BEGIN
    INSERT INTO open_backlog (status, priority, open)
    SELECT NEW.status, NEW.priority, 1 WHERE NEW.status NOT IN ('resolved', 'closed')
    ON CONFLICT (status, priority) DO UPDATE SET open = open + 1;
    INSERT INTO daily_intake (day, type, received)
    VALUES (NEW.created_at / 86400000000, NEW.type, 1)
    ON CONFLICT (day, type) DO UPDATE SET received = received + 1;
END;

-- Saves write every column; only a real change of what is counted moves a count.
CREATE TRIGGER escalations_recounted AFTER UPDATE OF status, priority, type, created_at ON escalations
WHEN OLD.status IS NOT NEW.status OR OLD.priority IS NOT NEW.priority
  OR OLD.type IS NOT NEW.type OR OLD.created_at IS NOT NEW.created_at
BEGIN
    UPDATE open_backlog SET open = open - 1
    WHERE status = OLD.status AND priority = OLD.priority
      AND OLD.status NOT IN ('resolved', 'closed');
    INSERT INTO open_backlog (status, priority, open)
    SELECT NEW.status, NEW.priority, 1 WHERE NEW.status NOT IN ('resolved', 'closed')
    ON CONFLICT (status, priority) DO UPDATE SET open = open + 1;
    UPDATE daily_intake SET received = received - 1
    WHERE day = OLD.created_at / 86400000000 AND type = OLD.type;
    INSERT INTO daily_intake (day, type, received)
    VALUES (NEW.created_at / 86400000000, NEW.type, 1)
    ON CONFLICT (day, type) DO UPDATE SET received = received + 1;
END;

CREATE TRIGGER escalations_uncounted AFTER DELETE ON escalations
BEGIN
    UPDATE open_backlog SET open = open - 1
    WHERE status = OLD.status AND priority = OLD.priority
      AND OLD.status NOT IN ('resolved', 'closed');
    UPDATE daily_intake SET received = received - 1
    WHERE day = OLD.created_at / 86400000000 AND type = OLD.type;
END;
