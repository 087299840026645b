-- Lease caps count a role's leases on every issue, and `status` counts them per mount and role:
-- both read this index alone, never the rows.
CREATE INDEX leases_role ON leases (mount, role, state, attempts, expires_at);
-- `status` names the oldest failing lease of each role; failing leases are few.
CREATE INDEX leases_failing ON leases (mount, role, issued_at, id) WHERE attempts > 0;
