-- How long an issued access key took to work at AWS, when its issuer waited for it (--wait).
ALTER TABLE leases ADD COLUMN key_wait_ms INTEGER;
