//! `awscreds db copy --to TARGET`: the database the suite runs on is copied into an empty one of
//! the other backend (SQLite to PostgreSQL on the first pass, PostgreSQL to SQLite on the
//! second), and the copy carries on: same content, same database id, the sealed root secret
//! opens with the same key, leases revoke, audit devices write. A target that is not empty is
//! refused.

use crate::support::*;

/// A new, empty database of the other backend than the suite's: a file under `env`'s directory
/// named `dir`, or a fresh PostgreSQL database.
fn other_backend(env: &Env, dir: &str) -> String {
    if postgres() {
        env.dir
            .path()
            .join(dir)
            .join("awscreds.db")
            .display()
            .to_string()
    } else {
        new_postgres_database()
    }
}

/// Drops a PostgreSQL database that `other_backend` made (a file goes with its test's dir).
fn drop_other_backend(target: &str) {
    if !postgres() {
        let name = target
            .split('?')
            .next()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        postgres_admin(&format!("DROP DATABASE {name} WITH (FORCE)"));
    }
}

#[test]
fn a_database_is_copied_to_the_other_backend_and_carries_on_there() {
    let env = Env::new();
    let key = env.dir.path().join("seal.key").display().to_string();
    let env = env.with_var("AWSCREDS_SEAL_KEY_FILE", &key);
    env.configure("aws");
    env.role("aws/roles/copy_me");
    // A role that is gone, whose path tidy must still look under in the copy.
    env.run([
        "write",
        "aws/roles/copy_gone",
        "credential_type=iam_user",
        "policy_arns=arn:aws:iam::aws:policy/ReadOnlyAccess",
        "user_path=/copy/gone/",
    ])
    .ok();
    env.run(["delete", "aws/roles/copy_gone"]).ok();
    env.run(["write", "aws/config/lease", "lease=2h", "lease_max=10h"])
        .ok();
    let log = env.dir.path().join("audit.log").display().to_string();
    env.run(["audit", "enable", "file", &format!("file_path={log}")])
        .ok();
    let (id, _) = env.issue("aws/creds/copy_me");

    let target = other_backend(&env, "copy");
    let shown = if postgres() {
        target.clone()
    } else {
        let (_, host) = target.rsplit_once('@').unwrap();
        format!("postgres://...@{host}")
    };
    env.run(["db", "copy", "--to", &target])
        .ok()
        .stdout_is(&format!(
            "Success! Copied 1 mounts, 1 roles, 1 leases and 1 audit devices to {shown}\n"
        ));
    let (from, to) = (env.state(), State::open(&target).unwrap());
    assert_eq!(to.dump(), from.dump());
    assert!(to.dump().contains("user path: /copy/gone/\n"));
    assert_eq!(to.db_id(), from.db_id());
    let seal = |s: &State| format!("{:?}", s.run(s.store().seal_record()).unwrap());
    assert_eq!(seal(&to), seal(&from));
    let audit_key = |s: &State| s.run(s.store().audit_key()).unwrap();
    assert_eq!(audit_key(&to), audit_key(&from));
    let devices = |s: &State| format!("{:?}", s.run(s.store().audit_devices()).unwrap());
    assert_eq!(devices(&to), devices(&from));
    drop((from, to));

    // Not into a database that holds something.
    env.run(["db", "copy", "--to", &target])
        .fails(1)
        .one_line_error(&format!(
            "database {shown} is not empty: it holds 1 mount, 1 lease, 1 audit device, a seal, \
             an audit key"
        ));

    // The copy carries on: the lease revokes (the root secret unseals), a new one issues, the
    // audit device writes, and tidy knows the copy's users as its own.
    let copy = env.with_var("AWSCREDS_DB", &target);
    copy.run(["lease", "revoke", &id]).ok();
    let iam = Iam::new();
    assert!(iam.users_of_role("copy_me").is_empty());
    let (second, _) = copy.issue("aws/creds/copy_me");
    copy.run(["tidy"]).ok().stderr_any();
    assert!(std::fs::read_to_string(&log).unwrap().contains(&second));
    copy.run(["lease", "revoke", &second]).ok();
    drop_other_backend(&target);
}

#[test]
fn a_copy_that_fails_half_way_leaves_the_target_empty_to_be_tried_again() {
    let env = Env::new();
    let key = env.dir.path().join("seal.key").display().to_string();
    let env = env.with_var("AWSCREDS_SEAL_KEY_FILE", &key);
    env.configure("aws");
    env.role("aws/roles/copy_half");
    let (id, _) = env.issue("aws/creds/copy_half");

    // A target of the other backend whose leases table refuses rows: the copy has written the
    // mount, its configuration, the role and the seal by the time it fails.
    let target = other_backend(&env, "half");
    // Made by a command run on it: its schema is there to put the trigger in.
    env.run(["--db", &target, "status"]).ok();
    let own_id = State::open(&target).unwrap().db_id();
    if postgres() {
        let connection = rusqlite::Connection::open(&target).unwrap();
        connection
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON leases \
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
            )
            .unwrap();
    } else {
        postgres_sql(
            &target,
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$; \
             CREATE TRIGGER refuse BEFORE INSERT ON leases \
             FOR EACH ROW EXECUTE FUNCTION refuse()",
        );
    }
    // A local failure (exit 1) that changed nothing.
    env.run(["db", "copy", "--to", &target])
        .fails(1)
        .one_line_error("database: refused by the test");
    let to = State::open(&target).unwrap();
    assert_eq!(to.dump(), "");
    assert_eq!(to.db_id(), own_id);
    assert!(to.run(to.store().seal_record()).unwrap().is_none());
    assert!(to.run(to.store().audit_key()).unwrap().is_none());
    drop(to);

    // Nothing is left in the way: the same copy, tried again, goes through.
    if postgres() {
        let connection = rusqlite::Connection::open(&target).unwrap();
        connection.execute_batch("DROP TRIGGER refuse").unwrap();
    } else {
        postgres_sql(&target, "DROP TRIGGER refuse ON leases");
    }
    env.run(["db", "copy", "--to", &target]).ok();
    let (from, to) = (env.state(), State::open(&target).unwrap());
    assert_eq!(to.dump(), from.dump());
    assert_eq!(to.db_id(), from.db_id());
    drop((from, to));
    env.with_var("AWSCREDS_DB", &target)
        .run(["lease", "revoke", &id])
        .ok();
    assert!(Iam::new().users_of_role("copy_half").is_empty());
    drop_other_backend(&target);
}
