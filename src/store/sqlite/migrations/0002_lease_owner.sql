-- The token of the issuing process's lock (see src/owner.rs), for pending leases.
ALTER TABLE leases ADD COLUMN owner TEXT;
-- Pending leases are few; a sweep looks at all of them to find those whose issuer died.
CREATE INDEX leases_pending ON leases (state) WHERE state = 'pending';
-- `awscreds tidy` asks whether an IAM user belongs to a lease.
CREATE INDEX leases_iam_user ON leases (iam_user);
