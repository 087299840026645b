//! Bad input: a clear one-line error (and an optional hint), a non-zero exit, and nothing changed,
//! neither in the database nor in IAM. The root secret key is never printed, by any command.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

/// The IAM users of each of `roles`, to compare before and after a refused command.
fn iam_state(roles: &[&str]) -> Vec<Vec<User>> {
    if roles.is_empty() {
        return Vec::new();
    }
    let iam = Iam::new();
    roles.iter().map(|role| iam.users_of_role(role)).collect()
}

/// Fails if the root secret key appears in what a command printed.
#[track_caller]
fn no_secret(run: &Run) {
    assert!(
        !run.stdout.contains(SEED_SECRET_KEY) && !run.stderr.contains(SEED_SECRET_KEY),
        "the root secret key was printed: {run:#?}"
    );
}

/// An error's shape: nothing on stdout, one message line and at most one `hint:` line.
#[track_caller]
fn error_shape(run: &Run) {
    run.checks_stderr();
    assert!(
        run.stdout.is_empty(),
        "nothing on stdout after an error: {run:#?}"
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        (1..=2).contains(&lines.len()),
        "one error line and an optional hint: {run:#?}"
    );
    if let Some(hint) = lines.get(1) {
        assert!(hint.starts_with("hint: "), "{run:#?}");
    }
}

/// Runs `args`, which must fail with exit 1 and a one-line error, and change nothing: not the
/// database, not the IAM users of `roles`. Returns the run for checks of its message.
#[track_caller]
fn refused(env: &Env, args: &[&str], roles: &[&str]) -> Run {
    let (db, iam) = (env.dump(), iam_state(roles));
    let run = env.run(args).fails(1);
    error_shape(&run);
    no_secret(&run);
    assert_eq!(env.dump(), db, "the database changed: {run:#?}");
    assert_eq!(iam_state(roles), iam, "IAM changed: {run:#?}");
    run
}

/// The error line without its `error: ` prefix.
#[track_caller]
fn message(run: &Run) -> &str {
    let first = run.stderr.lines().next().unwrap_or_default();
    first
        .strip_prefix("error: ")
        .unwrap_or_else(|| panic!("not an error line: {run:#?}"))
}

/// The hint line without its `hint: ` prefix.
#[track_caller]
fn hint(run: &Run) -> &str {
    run.stderr
        .lines()
        .nth(1)
        .and_then(|l| l.strip_prefix("hint: "))
        .unwrap_or_else(|| panic!("no hint: {run:#?}"))
}

/// A configured `aws` mount with role `role` (the seed's policy) already written.
fn with_role(role: &str) -> Env {
    let env = Env::configured();
    env.role(&format!("aws/roles/{role}"));
    env
}

#[test]
fn malformed_json_policies_are_refused_and_the_role_kept() {
    let env = with_role("err_badjson");
    let roles = ["err_badjson", "err_badjson_new"];
    let truncated = env.file("truncated.json", "{\"Version\": \"2012-10-17\",\n");
    for path in ["aws/roles/err_badjson", "aws/roles/err_badjson_new"] {
        // The seed's policy= and policy_document= (with the credential type a new role needs)
        // parse a policy the same way.
        for (param, extra) in [
            ("policy", None),
            ("policy_document", Some("credential_type=iam_user")),
        ] {
            let write = |value: &str| {
                let arg = format!("{param}={value}");
                let mut args = vec!["write", path];
                args.extend(extra);
                args.push(&arg);
                refused(&env, &args, &roles)
            };
            let run = write(&format!("@{truncated}"));
            assert!(
                message(&run).starts_with("cannot parse policy document: "),
                "{run:#?}"
            );
            assert_eq!(
                hint(&run),
                "a policy is a JSON object such as {\"Version\": \"2012-10-17\", \
                 \"Statement\": [...]}"
            );
            write("[1]").one_line_error("policy document is not a JSON object");
        }
        // The seed's policy= always carries a policy: empty is unparsable.
        let run = refused(&env, &["write", path, "policy="], &roles);
        assert!(
            message(&run).starts_with("cannot parse policy document: "),
            "{run:#?}"
        );
    }
    // An empty policy_document unsets it, which leaves the iam_user role nothing to grant...
    let run = refused(
        &env,
        &["write", "aws/roles/err_badjson", "policy_document="],
        &roles,
    );
    let run = run.one_line_error(
        "an iam_user role needs at least one of policy_document, policy_arns or iam_groups",
    );
    assert_eq!(hint(&run), "e.g. policy_document=@policy.json");
    refused(
        &env,
        &[
            "write",
            "aws/roles/err_badjson_new",
            "credential_type=iam_user",
            "policy_document=",
        ],
        &roles,
    )
    .one_line_error(
        "an iam_user role needs at least one of policy_document, policy_arns or iam_groups",
    );
    // ...and does not make a new role one.
    refused(
        &env,
        &["write", "aws/roles/err_badjson_new", "policy_document="],
        &roles,
    )
    .one_line_error("did not supply credential_type");
    // The existing role still has its policy; the new one was never created.
    env.run(["read", "aws/roles/err_badjson", "-field=policy"])
        .ok()
        .stdout_is(SEED_POLICY_COMPACT);
    env.run(["read", "aws/roles/err_badjson_new"])
        .fails(1)
        .stderr_has("No value found at aws/roles/err_badjson_new");
    env.run(["list", "aws/roles/"])
        .ok()
        .stdout_is("Keys\n----\nerr_badjson\n");
}

#[test]
fn a_policy_without_statement_is_refused() {
    let env = with_role("err_nostmt");
    let file = env.file("nostmt.json", r#"{"Version": "2012-10-17"}"#);
    let run = refused(
        &env,
        &["write", "aws/roles/err_nostmt", &format!("policy=@{file}")],
        &["err_nostmt"],
    );
    run.one_line_error("policy document has no \"Statement\"");
    env.run(["read", "aws/roles/err_nostmt", "-field=policy"])
        .ok()
        .stdout_is(SEED_POLICY_COMPACT);
}

#[test]
fn missing_required_parameters_are_named_with_an_example() {
    let env = with_role("err_missing");
    env.run(["write", "aws/config/lease", "lease=30m", "lease_max=2h"])
        .ok();
    // A second mount whose root credentials come from the AWS credential chain.
    env.run(["mount", "aws", "--path", "err_chain"]).ok();
    let roles = ["err_missing", "err_missing_new"];

    // Nothing at all to write, to a role or to config/root.
    for path in [
        "aws/roles/err_missing",
        "aws/roles/err_missing_new",
        "aws/config/root",
    ] {
        let run = refused(&env, &["write", path], &roles);
        let run = run.one_line_error(&format!("nothing to write to {path}"));
        assert_eq!(
            hint(&run),
            format!("give parameters as KEY=VALUE; awscreds help {path} lists them")
        );
    }

    // A new role must say what credentials it makes: name= alone, or a policy_document without
    // the seed's policy=, does not.
    let policy = env.file("p.json", SEED_POLICY);
    for args in [
        vec!["write", "aws/roles/err_missing_new", "name=err_missing_new"],
        vec![
            "write",
            "aws/roles/err_missing_new",
            &format!("policy_document=@{policy}"),
        ],
    ] {
        let run = refused(&env, &args, &roles);
        let run = run.one_line_error("did not supply credential_type");
        assert_eq!(
            hint(&run),
            "give credential_type=iam_user, assumed_role, federation_token or session_token \
             (or the seed's policy=@policy.json for an iam_user role)"
        );
    }
    // An iam_user role must be given something to grant.
    let run = refused(
        &env,
        &[
            "write",
            "aws/roles/err_missing_new",
            "credential_type=iam_user",
        ],
        &roles,
    );
    let run = run.one_line_error(
        "an iam_user role needs at least one of policy_document, policy_arns or iam_groups",
    );
    assert_eq!(hint(&run), "e.g. policy_document=@policy.json");

    // config/root has no required parameters, but an access key needs its secret key...
    let run = refused(
        &env,
        &["write", "aws/config/root", "access_key=AKIAOTHER"],
        &roles,
    );
    let run = run.one_line_error("missing required parameter \"secret_key\" for aws/config/root");
    assert_eq!(
        hint(&run),
        "awscreds write aws/config/root access_key=... secret_key=... (or secret_key=- to read \
         it from standard input)"
    );
    // ...and a secret key needs an access key, where none is configured.
    let run = refused(
        &env,
        &[
            "write",
            "err_chain/config/root",
            "secret_key=x",
            "region=us-east-1",
        ],
        &roles,
    );
    let run = run.one_line_error("secret_key without access_key");
    assert_eq!(
        hint(&run),
        "give both, or neither to use the AWS credential chain"
    );

    let run = refused(&env, &["write", "aws/config/lease", "lease=1h"], &roles);
    let run = run.one_line_error("missing required parameter \"lease_max\" for aws/config/lease");
    assert_eq!(
        hint(&run),
        "awscreds write aws/config/lease lease=... lease_max=..."
    );

    // What was configured before is what is still configured.
    let root = env.run(["read", "aws/config/root"]).ok().table();
    assert_eq!(root["access_key"], SEED_ACCESS_KEY);
    env.run(["read", "err_chain/config/root"])
        .fails(1)
        .stderr_has("No value found at err_chain/config/root");
    let lease = env.run(["read", "aws/config/lease"]).ok().table();
    assert_eq!(
        (lease["lease"].as_str(), lease["lease_max"].as_str()),
        ("30m", "2h")
    );
    env.run(["read", "aws/roles/err_missing", "-field=policy"])
        .ok()
        .stdout_is(SEED_POLICY_COMPACT);
    env.run(["read", "aws/roles/err_missing_new"])
        .fails(1)
        .stderr_has("No value found at aws/roles/err_missing_new");
}

#[test]
fn unknown_parameters_are_refused_with_the_known_ones() {
    let env = with_role("err_unknown");
    let policy = env.file("p.json", SEED_POLICY);
    let roles = ["err_unknown", "err_unknown_new"];

    let run = refused(
        &env,
        &[
            "write",
            "aws/roles/err_unknown_new",
            &format!("policy=@{policy}"),
            "ttl=1h",
        ],
        &roles,
    );
    let run = run.one_line_error("unknown parameter \"ttl\" for aws/roles/err_unknown_new");
    assert_eq!(
        hint(&run),
        "parameters of aws/roles/err_unknown_new: name, credential_type, policy_document, \
         policy, policy_arns, iam_groups, iam_tags, user_path, permissions_boundary_arn, \
         role_arns, default_sts_ttl, max_sts_ttl, session_tags, external_id, mfa_serial_number, \
         max_leases"
    );

    let run = refused(
        &env,
        &[
            "write",
            "aws/config/lease",
            "lease=1h",
            "lease_max=2h",
            "max_ttl=3h",
        ],
        &roles,
    );
    run.one_line_error("unknown parameter \"max_ttl\" for aws/config/lease");

    // creds takes the request's parameters, by read or write; anything else is refused before
    // any IAM user is made.
    for op in ["read", "write"] {
        let run = refused(&env, &[op, "aws/creds/err_unknown", "max_ttl=5m"], &roles);
        let run = run.one_line_error("unknown parameter \"max_ttl\" for aws/creds/err_unknown");
        assert_eq!(
            hint(&run),
            "parameters of aws/creds/err_unknown: ttl, role_arn, role_session_name, mfa_code"
        );
    }
    // ttl is known, but an iam_user role's credentials last the mount's lease.
    let run = refused(&env, &["read", "aws/creds/err_unknown", "ttl=5m"], &roles);
    let run = run.one_line_error("ttl does not apply to iam_user credentials");
    assert_eq!(
        hint(&run),
        "IAM-user leases last the mount's lease (config/lease)"
    );
    refused(
        &env,
        &[
            "read",
            "aws/creds/err_unknown",
            "role_arn=arn:aws:iam::123456789012:role/x",
        ],
        &roles,
    )
    .one_line_error("role_arn does not apply to iam_user credentials");
    let run = refused(
        &env,
        &["read", "aws/creds/err_unknown", "mfa_code=123456"],
        &roles,
    );
    let run = run.one_line_error(
        "role \"err_unknown\" has no mfa_serial_number, so mfa_code does not apply",
    );
    assert_eq!(hint(&run), "leave mfa_code out");
    assert!(env.leases().is_empty());
    assert!(Iam::new().users_of_role("err_unknown").is_empty());

    env.run(["read", "aws/roles/err_unknown_new"])
        .fails(1)
        .stderr_has("No value found at aws/roles/err_unknown_new");
}

#[test]
fn a_name_that_does_not_match_the_path_is_refused() {
    let env = with_role("err_name");
    let policy = env.file("p.json", r#"{"Statement": []}"#);
    let roles = ["err_name", "err_name_other"];
    let run = refused(
        &env,
        &[
            "write",
            "aws/roles/err_name",
            "name=err_name_other",
            &format!("policy=@{policy}"),
        ],
        &roles,
    );
    let run = run
        .one_line_error("name \"err_name_other\" does not match the path's role name \"err_name\"");
    assert_eq!(
        hint(&run),
        "leave name= out, or write to aws/roles/err_name_other"
    );
    // Neither role was written: the old policy stands, the other name does not exist.
    env.run(["read", "aws/roles/err_name", "-field=policy"])
        .ok()
        .stdout_is(SEED_POLICY_COMPACT);
    env.run(["list", "aws/roles"])
        .ok()
        .stdout_is("Keys\n----\nerr_name\n");
}

#[test]
fn creds_for_an_unknown_role_create_no_user_and_no_lease() {
    let env = with_role("err_known");
    let roles = ["err_known", "err_ghost"];
    let run = refused(&env, &["read", "aws/creds/err_ghost"], &roles);
    let run = run.one_line_error("Role \"err_ghost\" not found");
    assert_eq!(
        hint(&run),
        "create it first: awscreds write aws/roles/err_ghost policy=@policy.json"
    );
    // Also with -format=json and through the default mount.
    refused(&env, &["read", "creds/err_ghost", "-format=json"], &roles)
        .one_line_error("Role \"err_ghost\" not found");
    assert!(env.leases().is_empty());
    assert!(Iam::new().users_of_role("err_ghost").is_empty());
    assert!(Iam::new().users_of_role("err_known").is_empty());
}

#[test]
fn bad_durations_are_refused() {
    let env = Env::configured();
    env.run(["write", "aws/config/lease", "lease=15m", "lease_max=1h"])
        .ok();
    let before = env.run(["read", "aws/config/lease"]).ok().stdout.clone();

    let run = refused(
        &env,
        &["write", "aws/config/lease", "lease=abc", "lease_max=1h"],
        &[],
    );
    let run = run.one_line_error("lease: invalid duration \"abc\"");
    assert!(hint(&run).contains("90s, 30m, 1h"), "{run:#?}");
    refused(
        &env,
        &["write", "aws/config/lease", "lease=1h", "lease_max=1d"],
        &[],
    )
    .one_line_error("lease_max: invalid duration \"1d\"");
    refused(
        &env,
        &["write", "aws/config/lease", "lease=-5", "lease_max=1h"],
        &[],
    )
    .one_line_error("lease: invalid duration \"-5\"");
    refused(
        &env,
        &["write", "aws/config/lease", "lease=", "lease_max=1h"],
        &[],
    )
    .one_line_error("lease: invalid duration \"\"");
    refused(
        &env,
        &["write", "aws/config/lease", "lease=0", "lease_max=1h"],
        &[],
    )
    .one_line_error("lease: must be at least 1s");

    env.run(["read", "aws/config/lease"])
        .ok()
        .stdout_is(&before);
}

#[test]
fn a_lease_longer_than_lease_max_is_refused() {
    let env = Env::configured();
    env.run(["write", "aws/config/lease", "lease=15m", "lease_max=1h"])
        .ok();
    let run = refused(
        &env,
        &["write", "aws/config/lease", "lease=2h", "lease_max=1h30m"],
        &[],
    );
    let run = run.one_line_error("lease (2h) is longer than lease_max (1h30m)");
    assert_eq!(hint(&run), "lease must be at most lease_max");
    let lease = env.run(["read", "aws/config/lease"]).ok().table();
    assert_eq!(
        (lease["lease"].as_str(), lease["lease_max"].as_str()),
        ("15m", "1h")
    );
}

#[test]
fn a_missing_file_is_named() {
    let env = with_role("err_nofile");
    let roles = ["err_nofile"];
    let run = refused(
        &env,
        &["write", "aws/roles/err_nofile", "policy=@missing.json"],
        &roles,
    );
    let run = run.one_line_error("cannot read file \"missing.json\" for policy: no such file");
    assert!(hint(&run).contains("\\@"), "{run:#?}");
    // A lone @FILE of parameters, too.
    refused(
        &env,
        &["write", "aws/roles/err_nofile", "@params.json"],
        &roles,
    )
    .one_line_error(
        "cannot read file \"params.json\" for a JSON object of parameters: no such file",
    );
    env.run(["read", "aws/roles/err_nofile", "-field=policy"])
        .ok()
        .stdout_is(SEED_POLICY_COMPACT);
}

#[test]
fn an_unknown_path_is_named_and_the_routes_listed() {
    let env = Env::configured();
    let routes = "the paths are aws/config/lease, aws/config/root, aws/config/rotate-root, \
                  aws/creds/NAME, aws/roles/, aws/roles/NAME, aws/sts/NAME";
    for (args, path) in [
        (vec!["read", "aws/nothing/here"], "aws/nothing/here"),
        (vec!["write", "aws/config/other", "a=b"], "aws/config/other"),
        (vec!["read", "aws/creds"], "aws/creds"),
        (vec!["read", "aws/sts/"], "aws/sts"),
        (
            vec!["write", "aws/config/rotate-root/x"],
            "aws/config/rotate-root/x",
        ),
        (
            vec!["read", "aws/config/root/extra"],
            "aws/config/root/extra",
        ),
        (vec!["delete", "aws/config"], "aws/config"),
        (vec!["read", "aws"], "aws"),
    ] {
        let run = refused(&env, &args, &[]);
        let run = run.one_line_error(&format!("no route \"{path}\""));
        assert_eq!(hint(&run), routes, "{run:#?}");
    }
    // help for such a path fails the same way.
    let run = refused(&env, &["help", "aws/nothing/here"], &[]);
    let run = run.one_line_error("no route \"aws/nothing/here\"");
    assert!(hint(&run).contains("MOUNT/creds/NAME"), "{run:#?}");
}

#[test]
fn a_path_under_no_mount_is_refused() {
    // Nothing mounted at all.
    let env = Env::new();
    let run = refused(&env, &["read", "creds/err_nomount"], &[]);
    let run = run.one_line_error("no mount at 'aws' for path \"creds/err_nomount\"");
    assert!(hint(&run).contains("awscreds mount aws"), "{run:#?}");
    let run = refused(&env, &["read", "aws/creds/err_nomount"], &["err_nomount"]);
    let run = run.one_line_error("no mount for path \"aws/creds/err_nomount\"");
    assert!(hint(&run).contains("nothing is mounted yet"), "{run:#?}");

    // Only aws is mounted: prod/... belongs to no mount, and is not taken as aws/prod/...
    let env = Env::configured();
    let policy = format!("policy=@{}", env.file("p.json", SEED_POLICY));
    for args in [
        vec!["read", "prod/creds/err_nomount"],
        vec!["write", "prod/roles/err_nomount", &policy],
        vec!["list", "prod/roles/"],
        vec!["read", "awsx/config/root"],
    ] {
        let run = refused(&env, &args, &["err_nomount"]);
        let path = args[1];
        let run = run.one_line_error(&format!("no mount for path \"{path}\""));
        assert!(
            hint(&run).starts_with("mounts: aws/; the paths are MOUNT/"),
            "{run:#?}"
        );
    }
    assert!(env.leases().is_empty());
}

#[test]
fn creds_of_an_unconfigured_mount_are_refused() {
    let env = Env::new();
    env.run(["mount", "aws"]).ok();
    env.role("aws/roles/err_unconf");
    let run = refused(&env, &["read", "aws/creds/err_unconf"], &["err_unconf"]);
    let run = run.one_line_error("aws/config/root is not configured");
    assert_eq!(
        hint(&run),
        "awscreds write aws/config/root access_key=... secret_key=... region=..."
    );
    assert!(env.leases().is_empty());
    assert!(Iam::new().users_of_role("err_unconf").is_empty());
    // Reading the missing configuration is Vault's plain "No value found".
    refused(&env, &["read", "aws/config/root"], &[])
        .stderr_is("No value found at aws/config/root\n");
}

#[test]
fn operations_a_route_does_not_support_are_refused() {
    let env = with_role("err_ops");
    let roles = ["err_ops"];
    for (args, message, try_) in [
        (
            vec!["delete", "aws/config/root"],
            "delete is not supported on aws/config/root",
            "try awscreds read aws/config/root or awscreds write aws/config/root",
        ),
        (
            vec!["read", "aws/roles/"],
            "read is not supported on aws/roles/",
            "try awscreds list aws/roles/",
        ),
        // creds/ and sts/ issue by read and by write (as in Vault), nothing else.
        (
            vec!["delete", "aws/creds/err_ops"],
            "delete is not supported on aws/creds/err_ops",
            "try awscreds read aws/creds/err_ops or awscreds write aws/creds/err_ops",
        ),
        (
            vec!["list", "aws/creds/err_ops"],
            "list is not supported on aws/creds/err_ops",
            "try awscreds read aws/creds/err_ops or awscreds write aws/creds/err_ops",
        ),
        (
            vec!["delete", "aws/sts/err_ops"],
            "delete is not supported on aws/sts/err_ops",
            "try awscreds read aws/sts/err_ops or awscreds write aws/sts/err_ops",
        ),
        // rotate-root is an action: write only.
        (
            vec!["read", "aws/config/rotate-root"],
            "read is not supported on aws/config/rotate-root",
            "try awscreds write aws/config/rotate-root",
        ),
        (
            vec!["delete", "aws/config/rotate-root"],
            "delete is not supported on aws/config/rotate-root",
            "try awscreds write aws/config/rotate-root",
        ),
        (
            vec!["list", "aws/config/lease"],
            "list is not supported on aws/config/lease",
            "try awscreds read aws/config/lease or awscreds write aws/config/lease",
        ),
        (
            vec!["delete", "aws/roles"],
            "delete is not supported on aws/roles/",
            "try awscreds list aws/roles/",
        ),
    ] {
        let run = refused(&env, &args, &roles);
        let run = run.one_line_error(message);
        assert_eq!(hint(&run), try_);
    }
    // The configuration and the role are still there, and no credential was issued.
    assert_eq!(
        env.run(["read", "aws/config/root"]).ok().table()["access_key"],
        SEED_ACCESS_KEY
    );
    env.run(["list", "aws/roles/"])
        .ok()
        .stdout_is("Keys\n----\nerr_ops\n");
    assert!(env.leases().is_empty());
}

#[test]
fn an_empty_list_is_no_value_found() {
    let env = Env::configured();
    for args in [
        vec!["list", "aws/roles/"],
        vec!["list", "aws/roles"],
        vec!["list", "roles/", "-format=json"],
    ] {
        refused(&env, &args, &[]).stderr_is("No value found at aws/roles/\n");
    }
}

#[test]
fn a_missing_field_is_refused() {
    let env = Env::configured();
    let run = refused(&env, &["read", "aws/config/lease", "-field=x"], &[]);
    let run = run.one_line_error("Field \"x\" not present in secret");
    assert_eq!(hint(&run), "fields: lease, lease_max, max_leases");
    env.role("aws/roles/err_field");
    refused(
        &env,
        &["read", "aws/roles/err_field", "--field", "Statement"],
        &["err_field"],
    )
    .one_line_error("Field \"Statement\" not present in secret");
}

/// A field that credentials never have could be refused before any IAM user is made; instead a
/// live credential is created that nobody ever sees.
#[test]

fn a_missing_field_on_creds_issues_nothing() {
    let env = with_role("err_credfield");
    let run = refused(
        &env,
        &["read", "aws/creds/err_credfield", "-field=nope"],
        &["err_credfield"],
    );
    run.one_line_error("Field \"nope\" not present in secret");
    assert!(env.leases().is_empty());
    assert!(Iam::new().users_of_role("err_credfield").is_empty());
}

#[test]
fn bad_key_value_syntax_is_refused() {
    let env = with_role("err_kv");
    let roles = ["err_kv"];
    let run = refused(&env, &["write", "aws/roles/err_kv", "novalue"], &roles);
    // A malformed argument may be a secret typed without its key: it is named by position.
    let run = run.one_line_error("invalid key/value pair (argument 1): format must be key=value");
    assert!(hint(&run).contains("KEY=VALUE"), "{run:#?}");
    refused(
        &env,
        &["write", "aws/roles/err_kv", "name=x", "=s3cr3t"],
        &roles,
    )
    .one_line_error("invalid key/value pair (argument 2): the key is empty");
    // The same parameter twice is a list, which a string parameter refuses.
    let policy = env.file("p.json", SEED_POLICY);
    let at = format!("policy=@{policy}");
    refused(&env, &["write", "aws/roles/err_kv", &at, &at], &roles)
        .one_line_error("parameter \"policy\" was given more than once");
    // Two parameters cannot both read standard input.
    refused(
        &env,
        &["write", "aws/roles/err_kv", "policy=-", "name=-"],
        &roles,
    )
    .one_line_error("standard input already consumed (by name)");
    // A lone "-" that is not a JSON object.
    let (db, iam) = (env.dump(), iam_state(&roles));
    let run = env
        .run_with_stdin(["write", "aws/roles/err_kv", "-"], "policy=x")
        .fails(1);
    error_shape(&run);
    assert!(
        message(&run).starts_with("cannot parse - as a JSON object of parameters"),
        "{run:#?}"
    );
    assert_eq!(env.dump(), db);
    assert_eq!(iam_state(&roles), iam);
}

#[test]
fn config_root_with_a_bad_endpoint_or_region_is_refused() {
    let env = Env::configured();
    let before = env.run(["read", "aws/config/root"]).ok().table();
    let write = |extra: &[&str]| {
        let mut args = vec![
            "write".to_string(),
            "aws/config/root".to_string(),
            "access_key=AKIAOTHERKEY".to_string(),
            format!("secret_key={SEED_SECRET_KEY}"),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        refused(
            &env,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            &[],
        )
    };
    let run = write(&["region=us-east-1", "iam_endpoint=notaurl"]);
    let run = run.one_line_error("invalid iam_endpoint \"notaurl\"");
    assert!(hint(&run).contains("http://127.0.0.1:5000"), "{run:#?}");
    write(&["region=us-east-1", "iam_endpoint=http://"])
        .one_line_error("invalid iam_endpoint \"http://\"");
    write(&["region=us-east-1", "iam_endpoint=http://a b"])
        .one_line_error("invalid iam_endpoint \"http://a b\"");
    write(&["region=us-east-1", "sts_endpoint=ftp://sts.example"])
        .one_line_error("invalid sts_endpoint \"ftp://sts.example\"");
    let run = write(&["region=US East"]).one_line_error("invalid region \"US East\"");
    assert_eq!(
        hint(&run),
        "a region looks like us-east-1; leave it empty for AWS_REGION, AWS_DEFAULT_REGION or \
         us-east-1"
    );
    write(&["region= us-east-1"]).one_line_error("invalid region \" us-east-1\"");
    // A good region does not save a bad endpoint given with it.
    write(&["region=eu-west-1", "iam_endpoint=notaurl"])
        .one_line_error("invalid iam_endpoint \"notaurl\"");

    // Writes merge: a write of a bad parameter alone is refused the same way, and the
    // parameters it does not give are not touched either.
    for (arg, message) in [
        ("iam_endpoint=notaurl", "invalid iam_endpoint \"notaurl\""),
        (
            "sts_endpoint=ftp://sts.example",
            "invalid sts_endpoint \"ftp://sts.example\"",
        ),
        ("region=US East", "invalid region \"US East\""),
    ] {
        refused(&env, &["write", "aws/config/root", arg], &[]).one_line_error(message);
    }

    // The configuration in place is untouched.
    let table = env.run(["read", "aws/config/root"]).ok().table();
    assert_eq!(table, before);
    assert_eq!(table["access_key"], SEED_ACCESS_KEY);
    assert_eq!(table["iam_endpoint"], endpoint());
    assert_eq!(table["region"], "us-east-1");

    // An empty region is no longer refused: it unsets the region (AWS_REGION,
    // AWS_DEFAULT_REGION, then us-east-1), and changes nothing else.
    env.run(["write", "aws/config/root", "region="])
        .ok()
        .stdout_is("Success! Data written to: aws/config/root\n");
    let json = env
        .run(["read", "aws/config/root", "-format=json"])
        .ok()
        .json();
    assert_eq!(json["data"]["region"], "");
    assert_eq!(json["data"]["access_key"], SEED_ACCESS_KEY);
    assert_eq!(json["data"]["iam_endpoint"], endpoint().as_str());
    assert!(json["data"].get("secret_key").is_none(), "{json:#}");
    let mut want = before.clone();
    want.insert("region".into(), "n/a".into());
    assert_eq!(env.run(["read", "aws/config/root"]).ok().table(), want);

    // And the configuration still works: the secret key was kept.
    env.role("aws/roles/err_endpoint");
    env.issue("aws/creds/err_endpoint");
    assert_eq!(Iam::new().users_of_role("err_endpoint").len(), 1);
}

/// Runs `args` with a standard input that stays open (a pipe, not a terminal) and fails the test
/// if awscreds is still running after `limit`.
fn run_with_open_stdin(env: &Env, args: &[&str], limit: Duration) -> Run {
    let mut cmd = env.command(args);
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{shown} still waits after {limit:?} (for a prompt?)");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(stdin);
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Run::new(shown, status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn a_missing_secret_key_without_a_terminal_is_an_error_not_a_prompt() {
    let env = Env::new();
    env.run(["mount", "aws"]).ok();
    let before = env.dump();
    let args = [
        "write",
        "aws/config/root",
        "access_key=AKIAX",
        "region=us-east-1",
    ];
    let run = run_with_open_stdin(&env, &args, Duration::from_secs(30)).fails(1);
    let run = run.one_line_error("missing required parameter \"secret_key\" for aws/config/root");
    let want_hint = "awscreds write aws/config/root access_key=... secret_key=... (or \
                     secret_key=- to read it from standard input)";
    assert_eq!(hint(&run), want_hint, "{run:#?}");
    assert_eq!(env.dump(), before);
    // An empty secret key from standard input is no secret key either: an access key with an
    // empty secret is a missing secret.
    let run = env
        .run_with_stdin(
            [
                "write",
                "aws/config/root",
                "access_key=AKIAX",
                "secret_key=-",
                "region=us-east-1",
            ],
            "\n",
        )
        .fails(1);
    let run = run.one_line_error("missing required parameter \"secret_key\" for aws/config/root");
    assert_eq!(hint(&run), want_hint, "{run:#?}");
    assert_eq!(env.dump(), before);
    env.run(["read", "aws/config/root"])
        .fails(1)
        .stderr_has("No value found at aws/config/root");
}

/// Writes merge, so `secret_key=` alone keeps the configured access key; an access key with an
/// empty secret is a missing secret, so that write must be refused like the one that gives
/// `access_key=` with an empty secret, and leave the working secret in place.
#[test]
fn an_empty_secret_key_alone_does_not_blank_the_configured_one() {
    let env = with_role("err_blank_secret");
    let roles = ["err_blank_secret"];
    let want = "missing required parameter \"secret_key\" for aws/config/root";
    refused(&env, &["write", "aws/config/root", "secret_key="], &roles).one_line_error(want);
    let (db, iam) = (env.dump(), iam_state(&roles));
    let run = env
        .run_with_stdin(["write", "aws/config/root", "secret_key=-"], "\n")
        .fails(1);
    error_shape(&run);
    run.one_line_error(want);
    assert_eq!(env.dump(), db);
    assert_eq!(iam_state(&roles), iam);
    // The configured secret still works.
    env.issue("aws/creds/err_blank_secret");
    assert_eq!(Iam::new().users_of_role("err_blank_secret").len(), 1);
}

#[test]
fn the_root_secret_key_is_never_printed() {
    let env = with_role("err_secret");
    let table = env.run(["read", "aws/config/root"]).ok();
    no_secret(&table);
    let keys = [
        "access_key",
        "iam_endpoint",
        "last_rotated",
        "max_retries",
        "next_rotation",
        "profile",
        "region",
        "rotation_period",
        "sts_endpoint",
        "sts_name_template",
        "username_template",
    ];
    assert_eq!(table.table_keys(), keys);
    let json = env.run(["read", "aws/config/root", "-format=json"]).ok();
    no_secret(&json);
    let data = json.json()["data"].clone();
    assert!(data.get("secret_key").is_none(), "{json:#?}");
    assert_eq!(data["access_key"], SEED_ACCESS_KEY);
    let json_keys: Vec<&str> = data
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(json_keys, keys, "{json:#?}");

    for args in [
        vec!["read", "aws/config/root", "-field=secret_key"],
        vec!["read", "aws/config/root", "--field", "secret_key"],
        vec![
            "read",
            "aws/config/root",
            "-format=json",
            "-field=secret_key",
        ],
    ] {
        let run = refused(&env, &args, &["err_secret"]);
        let run = run.one_line_error("Field \"secret_key\" not present in secret");
        assert_eq!(hint(&run), format!("fields: {}", keys.join(", ")));
    }

    // Nor by the commands around it: writing the configuration, issuing, listing, help.
    let write_root = |endpoint: &str| {
        env.run([
            "write",
            "aws/config/root",
            &format!("access_key={SEED_ACCESS_KEY}"),
            &format!("secret_key={SEED_SECRET_KEY}"),
            "region=us-east-1",
            &format!("iam_endpoint={endpoint}"),
        ])
    };
    let run = write_root(&endpoint()).ok();
    no_secret(&run);
    let run = env.run(["read", "aws/creds/err_secret"]).ok();
    no_secret(&run);
    for args in [
        vec!["list", "aws/roles/"],
        vec!["mounts"],
        vec!["help", "aws/config/root"],
        vec!["read", "aws/config/lease"],
    ] {
        no_secret(&env.run(&args).ok());
    }

    // An AWS that cannot be reached: the error names the failure, not the credentials.
    no_secret(&write_root(&dead_endpoint()).ok());
    let run = env
        .run(["read", "aws/creds/err_secret"])
        .fails(2)
        .stderr_has("cannot reach AWS");
    no_secret(&run);
    // The sweep cannot clean up the pending lease that read left behind: named, exit 2.
    no_secret(
        &env.run(["sweep"])
            .fails(2)
            .stderr_has("error: could not revoke lease aws/creds/err_secret/")
            .stderr_has("cannot reach AWS"),
    );
}
