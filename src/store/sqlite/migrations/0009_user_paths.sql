-- Every IAM path (a role's user_path) that a role of this database ever used, kept after the
-- role is gone, so that tidy looks for this database's users under all of them. Seeded from the
-- roles there are.
CREATE TABLE user_paths (
    path TEXT PRIMARY KEY NOT NULL
);
INSERT OR IGNORE INTO user_paths (path)
    SELECT DISTINCT json_extract(definition, '$.user_path') FROM roles
    WHERE json_extract(definition, '$.user_path') <> '';
