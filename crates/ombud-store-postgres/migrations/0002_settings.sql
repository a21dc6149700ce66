-- Settings administrators edit (calendars, SLA policies, regulation
-- settings): a JSON document per kind and code, versioned.
CREATE TABLE settings (
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    body TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, code)
);
