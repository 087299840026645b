-- The first schema. Times are unix seconds.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Names this database in the tags of the IAM users it creates.
INSERT INTO meta (key, value) VALUES ('db_id', lower(hex(randomblob(16))));

CREATE TABLE mounts (
    path         TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    root_config  TEXT,
    lease_config TEXT
);

CREATE TABLE roles (
    mount      TEXT NOT NULL REFERENCES mounts(path) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (mount, name)
);

-- No ON DELETE CASCADE: a mount that still has leases cannot be removed by accident.
CREATE TABLE leases (
    id             TEXT PRIMARY KEY,
    mount          TEXT NOT NULL REFERENCES mounts(path),
    role           TEXT NOT NULL,
    iam_user       TEXT NOT NULL,
    access_key_id  TEXT,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'active')),
    issued_at      INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    max_expires_at INTEGER NOT NULL,
    due_at         INTEGER NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT
);
CREATE INDEX leases_due ON leases (due_at);
CREATE INDEX leases_mount ON leases (mount);
