-- What issuing attached to the IAM user, as JSON [["access_key", "AKIA..."], ...]: revoking
-- removes exactly that instead of listing first.
ALTER TABLE leases ADD COLUMN attached TEXT;
