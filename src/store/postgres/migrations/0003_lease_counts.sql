-- Lease counts per mount and role, kept by a trigger, so that a cap's check on every issue and
-- `status` read one row per role instead of counting leases (100,000 of them, say).
CREATE TABLE lease_counts (
    mount   TEXT COLLATE "C" NOT NULL,
    role    TEXT NOT NULL,
    live    BIGINT NOT NULL DEFAULT 0,
    pending BIGINT NOT NULL DEFAULT 0,
    failing BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (mount, role)
);
INSERT INTO lease_counts (mount, role, live, pending, failing)
    SELECT mount, role, count(*), count(*) FILTER (WHERE state = 'pending'),
        count(*) FILTER (WHERE attempts > 0)
    FROM leases GROUP BY mount, role;
CREATE FUNCTION awscreds_lease_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE lease_counts SET live = live - 1,
            pending = pending - (OLD.state = 'pending')::int,
            failing = failing - (OLD.attempts > 0)::int
            WHERE mount = OLD.mount AND role = OLD.role;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO lease_counts (mount, role, live, pending, failing)
            VALUES (NEW.mount, NEW.role, 1, (NEW.state = 'pending')::int,
                (NEW.attempts > 0)::int)
            ON CONFLICT (mount, role) DO UPDATE SET live = lease_counts.live + 1,
                pending = lease_counts.pending + excluded.pending,
                failing = lease_counts.failing + excluded.failing;
    END IF;
    RETURN NULL;
END
$$;
-- EXECUTE PROCEDURE: PostgreSQL 10 knows no EXECUTE FUNCTION.
CREATE TRIGGER lease_counts AFTER INSERT OR DELETE OR UPDATE OF state, attempts ON leases
    FOR EACH ROW EXECUTE PROCEDURE awscreds_lease_counts();
-- `status`: a role's expired leases and its next expiry are a range of this index.
CREATE INDEX leases_role ON leases (mount, role, state, expires_at);
-- `status` names the oldest failing lease of each role; failing leases are few.
CREATE INDEX leases_failing ON leases (mount, role, issued_at, id) WHERE attempts > 0;
