-- How long an issued access key took to work at AWS (--wait), and the sealed secret of a lease
-- that credential-process keeps for reuse (NULL for all others).
ALTER TABLE leases ADD COLUMN key_wait_ms BIGINT;
ALTER TABLE leases ADD COLUMN cached_secret BYTEA;
