-- Lease counts per mount and role, kept by triggers, so that a cap's check on every issue and
-- `status` read one row per role instead of counting leases (100,000 of them, say).
CREATE TABLE lease_counts (
    mount   TEXT NOT NULL,
    role    TEXT NOT NULL,
    live    INTEGER NOT NULL DEFAULT 0,
    pending INTEGER NOT NULL DEFAULT 0,
    failing INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mount, role)
);
INSERT INTO lease_counts (mount, role, live, pending, failing)
    SELECT mount, role, count(*), sum(state = 'pending'), sum(attempts > 0)
    FROM leases GROUP BY mount, role;
CREATE TRIGGER lease_counts_insert AFTER INSERT ON leases BEGIN
    INSERT INTO lease_counts (mount, role, live, pending, failing)
        VALUES (NEW.mount, NEW.role, 1, NEW.state = 'pending', NEW.attempts > 0)
        ON CONFLICT (mount, role) DO UPDATE SET live = live + 1,
            pending = pending + excluded.pending, failing = failing + excluded.failing;
END;
CREATE TRIGGER lease_counts_delete AFTER DELETE ON leases BEGIN
    UPDATE lease_counts SET live = live - 1, pending = pending - (OLD.state = 'pending'),
        failing = failing - (OLD.attempts > 0)
        WHERE mount = OLD.mount AND role = OLD.role;
END;
-- A lease's mount and role never change; its state and attempts do.
CREATE TRIGGER lease_counts_update AFTER UPDATE OF state, attempts ON leases BEGIN
    UPDATE lease_counts
        SET pending = pending - (OLD.state = 'pending') + (NEW.state = 'pending'),
            failing = failing - (OLD.attempts > 0) + (NEW.attempts > 0)
        WHERE mount = OLD.mount AND role = OLD.role;
END;
-- `status`: a role's expired leases and its next expiry are a range of this index.
CREATE INDEX leases_role ON leases (mount, role, state, expires_at);
-- `status` names the oldest failing lease of each role; failing leases are few.
CREATE INDEX leases_failing ON leases (mount, role, issued_at, id) WHERE attempts > 0;
