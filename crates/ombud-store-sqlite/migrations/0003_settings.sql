-- Settings administrators edit (calendars, SLA policies, regulation
-- settings): a JSON document per kind and code, versioned.
CREATE TABLE settings (
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    body TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, code)
) WITHOUT ROWID;
