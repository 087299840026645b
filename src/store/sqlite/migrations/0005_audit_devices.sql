-- Audit devices (Vault's shape): each enabled device gets a request and a response line for every
-- command that reads or changes state. Options are JSON (file_path).
CREATE TABLE audit_devices (
    path       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    options    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
