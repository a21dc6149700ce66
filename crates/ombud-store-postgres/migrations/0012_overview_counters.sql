-- The overview's backlog and intake, kept as counts while escalations are
-- written (a trigger, in the same transaction as the write, whatever path
-- it takes) instead of counted at each read. Counter rows are touched in
-- one order (the smaller status and priority first) so that two saves
-- moving cases in opposite directions never wait on each other in a cycle.
CREATE TABLE open_backlog (
    status   TEXT NOT NULL,
    priority BIGINT NOT NULL,
    open     BIGINT NOT NULL,
    PRIMARY KEY (status, priority)
);

CREATE TABLE daily_intake (
    day      BIGINT NOT NULL,
    type     TEXT NOT NULL,
    received BIGINT NOT NULL,
    PRIMARY KEY (day, type)
);

INSERT INTO open_backlog (status, priority, open)
SELECT status, priority, COUNT(*) FROM escalations
WHERE status NOT IN ('resolved', 'closed')
GROUP BY status, priority;

INSERT INTO daily_intake (day, type, received)
SELECT created_at / 86400000000, type, COUNT(*) FROM escalations
GROUP BY created_at / 86400000000, type;

CREATE FUNCTION open_backlog_add(s TEXT, p BIGINT, delta BIGINT) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO open_backlog (status, priority, open) VALUES (s, p, delta)
    ON CONFLICT (status, priority) DO UPDATE SET open = open_backlog.open + delta
$$;

CREATE FUNCTION daily_intake_add(d BIGINT, t TEXT, delta BIGINT) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO daily_intake (day, type, received) VALUES (d, t, delta)
    ON CONFLICT (day, type) DO UPDATE SET received = daily_intake.received + delta
$$;

CREATE FUNCTION escalations_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_open BOOLEAN := false;
    new_open BOOLEAN := false;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_open := OLD.status NOT IN ('resolved', 'closed');
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_open := NEW.status NOT IN ('resolved', 'closed');
    END IF;
    IF new_open AND (NOT old_open OR (NEW.status, NEW.priority) < (OLD.status, OLD.priority)) THEN
        PERFORM open_backlog_add(NEW.status, NEW.priority, 1);
        new_open := false;
    END IF;
    IF old_open THEN
        PERFORM open_backlog_add(OLD.status, OLD.priority, -1);
    END IF;
    IF new_open THEN
        PERFORM open_backlog_add(NEW.status, NEW.priority, 1);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM daily_intake_add(OLD.created_at / 86400000000, OLD.type, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM daily_intake_add(NEW.created_at / 86400000000, NEW.type, 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER escalations_counted AFTER INSERT OR DELETE ON escalations
FOR EACH ROW EXECUTE FUNCTION escalations_count();

-- Saves write every column; only a real change of what is counted moves a count.
CREATE TRIGGER escalations_recounted AFTER UPDATE OF status, priority, type, created_at ON escalations
FOR EACH ROW
WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.priority IS DISTINCT FROM NEW.priority
   OR OLD.type IS DISTINCT FROM NEW.type OR OLD.created_at IS DISTINCT FROM NEW.created_at)
EXECUTE FUNCTION escalations_count();
