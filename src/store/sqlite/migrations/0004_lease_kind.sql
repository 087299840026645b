-- What a lease's credential is: iam_user, or one of the STS kinds (nothing to delete at AWS).
ALTER TABLE leases ADD COLUMN kind TEXT NOT NULL DEFAULT 'iam_user';
