-- Every IAM path (a role's user_path) that a role of this database ever used, kept after the
-- role is gone, so that tidy looks for this database's users under all of them. Seeded from the
-- roles there are.
CREATE TABLE user_paths (
    path TEXT COLLATE "C" PRIMARY KEY
);
INSERT INTO user_paths (path)
    SELECT DISTINCT definition::jsonb ->> 'user_path' FROM roles
    WHERE coalesce(definition::jsonb ->> 'user_path', '') <> ''
    ON CONFLICT DO NOTHING;
