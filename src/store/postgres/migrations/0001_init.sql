-- The whole schema as SQLite has it after its fifth migration. Times are unix seconds; JSON is
-- kept as text, as SQLite keeps it. Keys compare bytewise (COLLATE "C"), as in SQLite, so that
-- listings come in the same order and an id prefix is a range of the primary key.
CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);
-- Names this database in the tags of the IAM users it creates.
INSERT INTO meta (key, value) VALUES ('db_id', replace(gen_random_uuid()::text, '-', ''));

CREATE TABLE mounts (
    path         TEXT COLLATE "C" PRIMARY KEY,
    kind         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    root_config  TEXT,
    lease_config TEXT
);

CREATE TABLE roles (
    mount      TEXT COLLATE "C" NOT NULL REFERENCES mounts(path) ON DELETE CASCADE,
    name       TEXT COLLATE "C" NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (mount, name)
);

-- No ON DELETE CASCADE: a mount that still has leases cannot be removed by accident.
CREATE TABLE leases (
    id             TEXT COLLATE "C" PRIMARY KEY,
    mount          TEXT COLLATE "C" NOT NULL REFERENCES mounts(path),
    role           TEXT NOT NULL,
    iam_user       TEXT NOT NULL,
    access_key_id  TEXT,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'active')),
    issued_at      BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    max_expires_at BIGINT NOT NULL,
    due_at         BIGINT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT,
    -- The issuer's token (its advisory lock), for pending leases.
    owner          TEXT,
    -- What issuing attached to the IAM user, as JSON.
    attached       TEXT,
    kind           TEXT NOT NULL DEFAULT 'iam_user'
);
CREATE INDEX leases_due ON leases (due_at);
CREATE INDEX leases_mount ON leases (mount);
CREATE INDEX leases_pending ON leases (state) WHERE state = 'pending';
CREATE INDEX leases_iam_user ON leases (iam_user);

CREATE TABLE audit_devices (
    path       TEXT COLLATE "C" PRIMARY KEY,
    kind       TEXT NOT NULL,
    options    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
