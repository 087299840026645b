-- The sealed secret of a lease that credential-process keeps for reuse; NULL for all others.
ALTER TABLE leases ADD COLUMN cached_secret BLOB;
