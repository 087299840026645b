//! Mounts side by side (`mount aws`, `mount aws --path prod`), each with its own configuration,
//! roles and leases; `mounts`; and `unmount`, which takes every lease of a mount back first.

use crate::support::*;

/// A policy other than the seed's, to tell two mounts' roles apart.
const DENY_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;

/// Writes `mount`'s root configuration with `access_key`, against IAM at `iam_endpoint`.
fn write_root(env: &Env, mount: &str, access_key: &str, iam_endpoint: &str) -> Run {
    env.run([
        "write",
        &format!("{mount}/config/root"),
        &format!("access_key={access_key}"),
        &format!("secret_key={SEED_SECRET_KEY}"),
        "region=us-east-1",
        &format!("iam_endpoint={iam_endpoint}"),
    ])
}

/// The mounts' paths as `mounts -format=json` lists them.
fn mount_paths(env: &Env) -> Vec<String> {
    let json = env.run(["mounts", "-format=json"]).ok().json();
    json.as_object().unwrap().keys().cloned().collect()
}

/// An error's shape: nothing on stdout, an `error:` line and at most one `hint:` line.
#[track_caller]
fn error_lines(run: &Run) -> (String, Option<String>) {
    run.checks_stderr();
    assert!(
        run.stdout.is_empty(),
        "nothing on stdout after an error: {run:#?}"
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!((1..=2).contains(&lines.len()), "{run:#?}");
    let message = lines[0]
        .strip_prefix("error: ")
        .unwrap_or_else(|| panic!("not an error line: {run:#?}"));
    let hint = lines.get(1).map(|h| {
        h.strip_prefix("hint: ")
            .unwrap_or_else(|| panic!("not a hint: {run:#?}"))
            .to_string()
    });
    (message.to_string(), hint)
}

#[test]
fn two_mounts_have_their_own_config_roles_and_leases() {
    let env = Env::configured();
    env.run(["mount", "aws", "--path", "prod"])
        .ok()
        .stdout_is("Successfully mounted 'aws' at 'prod'!\n");
    write_root(&env, "prod", "AKIAPRODMOUNTKEY0001", &endpoint())
        .ok()
        .stdout_is("Success! Data written to: prod/config/root\n");
    env.run(["write", "prod/config/lease", "lease=10m", "lease_max=1h"])
        .ok()
        .stdout_is("Success! Data written to: prod/config/lease\n");

    // Root configuration: each mount reads back its own.
    assert_eq!(
        env.run(["read", "aws/config/root"]).ok().table()["access_key"],
        SEED_ACCESS_KEY
    );
    assert_eq!(
        env.run(["read", "prod/config/root"]).ok().table()["access_key"],
        "AKIAPRODMOUNTKEY0001"
    );
    // Lease configuration: prod's write did not touch aws's defaults.
    let aws_lease = env.run(["read", "aws/config/lease"]).ok().table();
    assert_eq!(
        (aws_lease["lease"].as_str(), aws_lease["lease_max"].as_str()),
        ("1h", "24h")
    );
    let prod_lease = env.run(["read", "prod/config/lease"]).ok().table();
    assert_eq!(
        (
            prod_lease["lease"].as_str(),
            prod_lease["lease_max"].as_str()
        ),
        ("10m", "1h")
    );

    // Roles: one only in prod, one name in both with different policies.
    env.role("prod/roles/mnt_side_prod");
    env.role("aws/roles/mnt_side_both");
    let deny = env.file("deny.json", DENY_POLICY);
    env.run([
        "write",
        "prod/roles/mnt_side_both",
        &format!("policy=@{deny}"),
    ])
    .ok();
    env.run(["read", "aws/roles/mnt_side_prod"])
        .fails(1)
        .stderr_has("No value found at aws/roles/mnt_side_prod");
    env.run(["read", "roles/mnt_side_prod"])
        .fails(1)
        .stderr_has("No value found at aws/roles/mnt_side_prod");
    env.run(["read", "prod/roles/mnt_side_prod", "-field=policy"])
        .ok()
        .stdout_is(SEED_POLICY_COMPACT);
    env.run(["read", "aws/roles/mnt_side_both", "-field=policy"])
        .ok()
        .stdout_is(SEED_POLICY_COMPACT);
    env.run(["read", "prod/roles/mnt_side_both", "-field=policy"])
        .ok()
        .stdout_is(DENY_POLICY);
    env.run(["list", "aws/roles/"])
        .ok()
        .stdout_is("Keys\n----\nmnt_side_both\n");
    env.run(["list", "prod/roles/"])
        .ok()
        .stdout_is("Keys\n----\nmnt_side_both\nmnt_side_prod\n");

    // Creds of a prod-only role are not found under aws, and nothing is issued trying.
    let run = env.run(["read", "aws/creds/mnt_side_prod"]).fails(1);
    assert_eq!(error_lines(&run).0, "Role \"mnt_side_prod\" not found");
    assert!(env.leases().is_empty());
    assert!(Iam::new().users_of_role("mnt_side_prod").is_empty());

    // Leases: named after their mount, with their mount's lease duration and role policy.
    let prod = env
        .run(["read", "prod/creds/mnt_side_prod", "-format=json"])
        .ok()
        .json();
    let prod_id = prod["lease_id"].as_str().unwrap().to_string();
    assert!(prod_id.starts_with("prod/creds/mnt_side_prod/"), "{prod}");
    assert_eq!(prod["lease_duration"], 600);
    let both_prod = env
        .run(["read", "prod/creds/mnt_side_both", "-format=json"])
        .ok()
        .json();
    let both_prod_id = both_prod["lease_id"].as_str().unwrap().to_string();
    assert!(
        both_prod_id.starts_with("prod/creds/mnt_side_both/"),
        "{both_prod}"
    );
    let both_aws = env
        .run(["read", "aws/creds/mnt_side_both", "-format=json"])
        .ok()
        .json();
    let both_aws_id = both_aws["lease_id"].as_str().unwrap().to_string();
    assert!(
        both_aws_id.starts_with("aws/creds/mnt_side_both/"),
        "{both_aws}"
    );
    assert_eq!(both_aws["lease_duration"], 3600);

    let mut ids: Vec<String> = env.leases().into_iter().map(|l| l.id).collect();
    ids.sort();
    let mut want = vec![prod_id, both_prod_id.clone(), both_aws_id.clone()];
    want.sort();
    assert_eq!(ids, want);

    // Each lease's IAM user has the policy of the role in its own mount.
    let iam = Iam::new();
    let users = iam.users_of_role("mnt_side_both");
    assert_eq!(users.len(), 2, "{users:#?}");
    for (lease_id, policy) in [
        (&both_aws_id, SEED_POLICY_COMPACT),
        (&both_prod_id, DENY_POLICY),
    ] {
        let user = users
            .iter()
            .find(|u| u.tags.get("awscreds:lease-id") == Some(lease_id))
            .unwrap_or_else(|| panic!("no IAM user for {lease_id}: {users:#?}"));
        assert_eq!(
            user.policies.get("mnt_side_both").map(String::as_str),
            Some(policy)
        );
    }
    assert_eq!(iam.users_of_role("mnt_side_prod").len(), 1);
}

#[test]
fn mounts_lists_every_mount_as_a_table_and_as_json() {
    let env = Env::new();
    // Nothing mounted yet: an empty table, an empty object.
    env.run(["mounts"])
        .ok()
        .stdout_is("Path    Type    Created\n");
    assert_eq!(
        env.run(["mounts", "-format=json"]).ok().json(),
        serde_json::json!({})
    );

    env.run(["mount", "aws"]).ok();
    env.run(["mount", "aws", "--path", "prod"]).ok();
    env.run(["mount", "aws", "--path", "team/aws"])
        .ok()
        .stdout_is("Successfully mounted 'aws' at 'team/aws'!\n");

    let run = env.run(["mounts"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{run:#?}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["Path", "Type", "Created"]);
    let rows: Vec<Vec<&str>> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let paths: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(paths, ["aws/", "prod/", "team/aws/"]);
    for row in &rows {
        assert_eq!(row.len(), 3, "{run:#?}");
        assert_eq!(row[1], "aws");
        assert!(
            chrono::DateTime::parse_from_rfc3339(row[2]).is_ok(),
            "{}: {run:#?}",
            row[2]
        );
    }

    let json = env.run(["mounts", "-format=json"]).ok().json();
    let object = json.as_object().unwrap();
    assert_eq!(
        object.keys().collect::<Vec<_>>(),
        ["aws/", "prod/", "team/aws/"]
    );
    for (path, info) in object {
        assert_eq!(info["type"], "aws", "{path}");
        let created = info["created"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(created).is_ok(),
            "{created}"
        );
        // The table and the JSON agree.
        assert!(
            rows.iter().any(|r| r[0] == path && r[2] == created),
            "{path}"
        );
    }
    // --format json is the same as -format=json.
    assert_eq!(env.run(["mounts", "--format", "json"]).ok().json(), json);
}

#[test]
fn mounting_an_existing_path_fails_and_changes_nothing() {
    let env = Env::configured();
    env.run(["mount", "aws", "--path", "prod"]).ok();
    env.role("aws/roles/mnt_dup");
    let before = env.dump();
    for (args, path) in [
        (vec!["mount", "aws"], "aws"),
        (vec!["mount", "aws", "--path", "aws"], "aws"),
        (vec!["mount", "aws", "--path", "prod"], "prod"),
        (vec!["mount", "aws", "--path", "/prod/"], "prod"),
    ] {
        let run = env.run(&args).fails(1);
        let (message, hint) = error_lines(&run);
        assert_eq!(message, format!("existing mount at '{path}'"));
        assert!(
            hint.unwrap().contains(&format!("awscreds unmount {path}")),
            "{run:#?}"
        );
        assert_eq!(env.dump(), before, "{run:#?}");
    }
    // The existing mount keeps its configuration and roles.
    assert_eq!(
        env.run(["read", "aws/config/root"]).ok().table()["access_key"],
        SEED_ACCESS_KEY
    );
    env.run(["list", "aws/roles/"])
        .ok()
        .stdout_is("Keys\n----\nmnt_dup\n");
    assert_eq!(mount_paths(&env), ["aws/", "prod/"]);
}

#[test]
fn only_the_aws_backend_can_be_mounted() {
    let env = Env::new();
    for args in [
        vec!["mount", "gcp"],
        vec!["mount", "gcp", "--path", "gcp_prod"],
    ] {
        let run = env.run(&args).fails(1);
        let (message, hint) = error_lines(&run);
        assert_eq!(message, "unknown backend type \"gcp\"");
        assert_eq!(
            hint.unwrap(),
            "awscreds has one backend: awscreds mount aws [--path NAME]"
        );
    }
    assert_eq!(env.dump(), "");
    assert!(mount_paths(&env).is_empty());
}

#[test]
fn invalid_mount_paths_fail_and_change_nothing() {
    let env = Env::new();
    env.run(["mount", "aws"]).ok();
    let before = env.dump();
    for (path, message) in [
        (
            "creds",
            "invalid mount path 'creds': \"creds\" is a route name",
        ),
        (
            "roles",
            "invalid mount path 'roles': \"roles\" is a route name",
        ),
        (
            "team/config",
            "invalid mount path 'team/config': \"config\" is a route name",
        ),
        ("a//b", "invalid mount path 'a//b'"),
        ("a b", "invalid mount path 'a b'"),
        ("..", "invalid mount path '..'"),
        ("team/./x", "invalid mount path 'team/./x'"),
        ("prod*", "invalid mount path 'prod*'"),
        ("", "empty mount path"),
        ("/", "empty mount path"),
    ] {
        let run = env.run(["mount", "aws", "--path", path]).fails(1);
        let (got, hint) = error_lines(&run);
        assert_eq!(got, message, "{run:#?}");
        assert!(hint.is_some(), "{run:#?}");
        assert_eq!(env.dump(), before, "{run:#?}");
    }
    assert_eq!(mount_paths(&env), ["aws/"]);
}

#[test]
fn unmount_revokes_the_mounts_leases_and_removes_it_alone() {
    let env = Env::configured();
    env.configure("prod");
    env.role("aws/roles/mnt_un_aws");
    env.role("prod/roles/mnt_un_prod");
    env.run(["write", "prod/config/lease", "lease=10m", "lease_max=1h"])
        .ok();
    let (aws_lease, aws_key) = env.issue("aws/creds/mnt_un_aws");
    env.issue("prod/creds/mnt_un_prod");
    env.issue("prod/creds/mnt_un_prod");
    let iam = Iam::new();
    assert_eq!(iam.users_of_role("mnt_un_prod").len(), 2);
    let aws_users = iam.users_of_role("mnt_un_aws");
    assert_eq!(aws_users.len(), 1);
    assert_eq!(aws_users[0].keys, [aws_key]);

    env.run(["unmount", "prod"])
        .ok()
        .stdout_is("Successfully unmounted 'prod' (2 leases revoked)\n");

    // prod's IAM users and leases are gone; aws's are untouched.
    assert!(iam.users_of_role("mnt_un_prod").is_empty());
    assert_eq!(iam.users_of_role("mnt_un_aws"), aws_users);
    let leases = env.leases();
    assert_eq!(leases.len(), 1, "{leases:#?}");
    assert_eq!(leases[0].id, aws_lease);
    assert_eq!(leases[0].state, "active");

    // prod, its configuration and its roles are gone.
    assert_eq!(mount_paths(&env), ["aws/"]);
    let run = env.run(["read", "prod/config/root"]).fails(1);
    assert_eq!(
        error_lines(&run).0,
        "no mount for path \"prod/config/root\""
    );
    let run = env.run(["read", "prod/creds/mnt_un_prod"]).fails(1);
    assert_eq!(
        error_lines(&run).0,
        "no mount for path \"prod/creds/mnt_un_prod\""
    );
    assert!(iam.users_of_role("mnt_un_prod").is_empty());
    assert!(!env.dump().contains("prod"), "{}", env.dump());

    // Mounting prod again starts empty: nothing of the old mount comes back.
    env.run(["mount", "aws", "--path", "prod"]).ok();
    env.run(["read", "prod/config/root"])
        .fails(1)
        .stderr_has("No value found at prod/config/root");
    env.run(["list", "prod/roles/"])
        .fails(1)
        .stderr_has("No value found at prod/roles/");
    let lease = env.run(["read", "prod/config/lease"]).ok().table();
    assert_eq!(lease["lease"], "1h");

    // aws still works as before.
    env.run(["read", "aws/roles/mnt_un_aws", "-field=policy"])
        .ok()
        .stdout_is(SEED_POLICY_COMPACT);
    env.issue("aws/creds/mnt_un_aws");
    assert_eq!(iam.users_of_role("mnt_un_aws").len(), 2);
}

#[test]
fn unmount_takes_the_path_with_slashes_and_reports_zero_leases() {
    let env = Env::configured();
    env.configure("prod");
    env.role("prod/roles/mnt_un_empty");
    env.run(["unmount", "/prod/"])
        .ok()
        .stdout_is("Successfully unmounted 'prod' (0 leases revoked)\n");
    assert_eq!(mount_paths(&env), ["aws/"]);
    assert!(!env.dump().contains("mnt_un_empty"));
}

#[test]
fn unmount_of_an_unknown_mount_fails_and_changes_nothing() {
    let env = Env::configured();
    env.role("aws/roles/mnt_unknown");
    env.issue("aws/creds/mnt_unknown");
    let users = Iam::new().users_of_role("mnt_unknown");
    let before = env.dump();
    for (path, name) in [("prod", "prod"), ("aws/roles", "aws/roles"), ("", "")] {
        let run = env.run(["unmount", path]).fails(1);
        let (message, hint) = error_lines(&run);
        assert_eq!(message, format!("no mount at '{name}'"));
        assert_eq!(hint.unwrap(), "mounts: aws/");
        assert_eq!(env.dump(), before, "{run:#?}");
    }
    assert_eq!(Iam::new().users_of_role("mnt_unknown"), users);
    assert_eq!(users.len(), 1);

    // With nothing mounted at all.
    let empty = Env::new();
    let run = empty.run(["unmount", "aws"]).fails(1);
    let (message, hint) = error_lines(&run);
    assert_eq!(message, "no mount at 'aws'");
    assert_eq!(hint.unwrap(), "nothing is mounted");
}

#[test]
fn unmount_that_cannot_revoke_removes_nothing_until_fixed() {
    let env = Env::configured();
    env.configure("prod");
    env.role("prod/roles/mnt_fail_prod");
    env.role("aws/roles/mnt_fail_aws");
    let (prod_lease, prod_key) = env.issue("prod/creds/mnt_fail_prod");
    let (aws_lease, _) = env.issue("aws/creds/mnt_fail_aws");
    let iam = Iam::new();
    let prod_users = iam.users_of_role("mnt_fail_prod");
    assert_eq!(prod_users.len(), 1);
    assert_eq!(prod_users[0].keys, [prod_key.as_str()]);
    let aws_users = iam.users_of_role("mnt_fail_aws");
    assert_eq!(aws_users.len(), 1);

    // prod's AWS cannot be reached any more.
    let dead = dead_endpoint();
    write_root(&env, "prod", SEED_ACCESS_KEY, &dead).ok();
    let run = env.run(["unmount", "prod"]).fails(2);
    let (message, hint) = error_lines(&run);
    assert!(message.starts_with("unmounting 'prod'"), "{run:#?}");
    assert!(
        message.contains("nothing removed") || message.contains("nothing was removed"),
        "{run:#?}"
    );
    assert!(message.contains(&prod_lease), "{run:#?}");
    assert!(message.contains("cannot reach AWS"), "{run:#?}");
    assert!(hint.unwrap().contains("awscreds unmount prod"), "{run:#?}");
    assert!(!run.stderr.contains(SEED_SECRET_KEY));

    // The mount, its configuration, its role, its lease and the IAM user are all still there.
    assert_eq!(mount_paths(&env), ["aws/", "prod/"]);
    assert_eq!(
        env.run(["read", "prod/config/root"]).ok().table()["iam_endpoint"],
        dead
    );
    env.run(["read", "prod/roles/mnt_fail_prod", "-field=policy"])
        .ok()
        .stdout_is(SEED_POLICY_COMPACT);
    let leases = env.leases();
    assert_eq!(leases.len(), 2, "{leases:#?}");
    let kept = leases.iter().find(|l| l.id == prod_lease).unwrap();
    assert_eq!(kept.state, "active");
    assert_eq!(kept.iam_user, prod_users[0].name);
    assert_eq!(kept.access_key_id.as_deref(), Some(prod_key.as_str()));
    assert_eq!(kept.attempts, 1);
    assert!(
        kept.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("cannot reach AWS"),
        "{kept:#?}"
    );
    assert_eq!(iam.users_of_role("mnt_fail_prod"), prod_users);
    // aws was not touched.
    let untouched = leases.iter().find(|l| l.id == aws_lease).unwrap();
    assert_eq!(
        (untouched.attempts, untouched.last_error.as_deref()),
        (0, None)
    );
    assert_eq!(iam.users_of_role("mnt_fail_aws"), aws_users);

    // Fixed: the same unmount now revokes the lease and removes the mount.
    write_root(&env, "prod", SEED_ACCESS_KEY, &endpoint()).ok();
    env.run(["unmount", "prod"])
        .ok()
        .stdout_is("Successfully unmounted 'prod' (1 leases revoked)\n");
    assert!(iam.users_of_role("mnt_fail_prod").is_empty());
    assert!(iam.user(&prod_users[0].name).is_none());
    assert_eq!(mount_paths(&env), ["aws/"]);
    let leases = env.leases();
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].id, aws_lease);
    assert_eq!(iam.users_of_role("mnt_fail_aws"), aws_users);
    env.run(["read", "prod/roles/mnt_fail_prod"])
        .fails(1)
        .one_line_error("no mount for path \"prod/roles/mnt_fail_prod\"");
}

/// The error of a failed unmount carries its cause twice: `Error::Cloud` prints "{action}:
/// {source}" and the CLI's `{:#}` then appends the source (its `#[source]`) again.
#[test]

fn unmount_failure_names_its_cause_once() {
    let env = Env::new();
    env.configure("prod");
    env.role("prod/roles/mnt_twice");
    let (lease, _) = env.issue("prod/creds/mnt_twice");
    write_root(&env, "prod", SEED_ACCESS_KEY, &dead_endpoint()).ok();
    let run = env.run(["unmount", "prod"]).fails(2);
    // Clean up first (the IAM user is still there), then look at the message.
    write_root(&env, "prod", SEED_ACCESS_KEY, &endpoint()).ok();
    env.run(["unmount", "prod"]).ok();
    let (message, _) = error_lines(&run);
    assert_eq!(message.matches(&lease).count(), 1, "{run:#?}");
    assert_eq!(message.matches("cannot reach AWS").count(), 1, "{run:#?}");
}
