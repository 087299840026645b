//! Expiry and revocation: by `sweep`, by the reaping that every other command does first, and
//! what happens when IAM changed behind awscreds' back or cannot be reached.

use std::time::Duration;

use crate::support::*;

/// A configured env with `roles` written; its leases expire when the test says (below).
fn short_leases(roles: &[&str]) -> Env {
    let env = Env::configured();
    for role in roles {
        env.role(&format!("aws/roles/{role}"));
    }
    env
}

/// The leases' end comes: moved behind awscreds' back rather than waited for, so that no
/// command between issuing and this point (on a loaded machine, seconds later) finds them
/// expired and reaps them first.
fn wait_for_expiry(env: &Env) {
    expire_all(env);
}

#[test]
fn sweep_revokes_expired_leases_and_their_iam_users() {
    let env = short_leases(&["lse_sweep"]);
    let iam = Iam::new();
    env.issue("aws/creds/lse_sweep");
    env.issue("aws/creds/lse_sweep");
    assert_eq!(iam.users_of_role("lse_sweep").len(), 2);
    assert_eq!(env.leases().len(), 2);

    wait_for_expiry(&env);
    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 2 revoked, 0 failed\n");
    assert!(iam.users_of_role("lse_sweep").is_empty());
    assert!(env.leases().is_empty());

    // Nothing left: a second sweep has nothing to do.
    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 0 revoked, 0 failed\n");
}

#[test]
fn unexpired_leases_are_left_alone() {
    let env = Env::configured();
    env.role("aws/roles/lse_keep");
    let iam = Iam::new();
    env.issue("aws/creds/lse_keep");
    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 0 revoked, 0 failed\n");
    assert_eq!(iam.users_of_role("lse_keep").len(), 1);
    assert_eq!(env.leases().len(), 1);
}

#[test]
fn any_other_command_reaps_expired_leases_first() {
    let env = short_leases(&["lse_reap"]);
    let iam = Iam::new();
    env.issue("aws/creds/lse_reap");
    assert_eq!(iam.users_of_role("lse_reap").len(), 1);

    wait_for_expiry(&env);
    let run = env
        .run(["list", "aws/roles/"])
        .ok()
        .stdout_is("Keys\n----\nlse_reap\n");
    assert!(run.stderr.is_empty(), "{run:#?}");
    assert!(iam.users_of_role("lse_reap").is_empty());
    assert!(env.leases().is_empty());
}

#[test]
fn a_user_deleted_behind_our_back_counts_as_revoked() {
    let env = short_leases(&["lse_gone"]);
    let iam = Iam::new();
    env.issue("aws/creds/lse_gone");
    let user = env.leases()[0].iam_user.clone();
    iam.delete_user(&user);

    wait_for_expiry(&env);
    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 1 revoked, 0 failed\n");
    assert!(env.leases().is_empty());
}

#[test]
fn a_failed_revocation_keeps_the_lease_with_its_error() {
    let env = short_leases(&["lse_fail"]);
    let iam = Iam::new();
    env.issue("aws/creds/lse_fail");
    // AWS becomes unreachable.
    env.point_iam_at(&dead_endpoint());

    wait_for_expiry(&env);
    let run = env
        .run(["sweep"])
        .fails(2)
        .stdout_is("Swept expired leases: 0 revoked, 1 failed\n")
        .stderr_has("error: could not revoke lease aws/creds/lse_fail/");
    assert!(!run.stderr.contains(SEED_SECRET_KEY));
    let leases = env.leases();
    assert_eq!(leases.len(), 1, "the lease is never lost");
    assert_eq!(leases[0].attempts, 1);
    assert!(
        leases[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("cannot reach AWS"),
        "{leases:?}"
    );
    assert_eq!(
        iam.users_of_role("lse_fail").len(),
        1,
        "the user is still there"
    );
}

#[test]
fn reaping_that_fails_is_only_a_warning() {
    let env = short_leases(&["lse_warn"]);
    env.issue("aws/creds/lse_warn");
    env.point_iam_at(&dead_endpoint());

    wait_for_expiry(&env);
    let started = std::time::Instant::now();
    env.run(["read", "aws/roles/lse_warn"])
        .ok()
        .stdout_has("policy")
        .stderr_has("warning: could not revoke lease aws/creds/lse_warn/");
    // Bounded: reaping gives up after a few seconds (generous margin for a loaded machine).
    assert!(started.elapsed() < Duration::from_secs(15));
    let leases = env.leases();
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].attempts, 1);
}

#[test]
fn deleting_a_role_leaves_its_leases_to_run_their_course() {
    let env = short_leases(&["lse_delrole"]);
    let iam = Iam::new();
    env.issue("aws/creds/lse_delrole");
    env.run(["delete", "aws/roles/lse_delrole"])
        .ok()
        .stdout_is("Success! Data deleted (if it existed) at: aws/roles/lse_delrole\n");
    assert_eq!(iam.users_of_role("lse_delrole").len(), 1);
    assert_eq!(env.leases().len(), 1);

    wait_for_expiry(&env);
    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 1 revoked, 0 failed\n");
    assert!(iam.users_of_role("lse_delrole").is_empty());
}

#[test]
fn a_policy_iam_refuses_leaves_no_user_and_no_lease() {
    // Valid JSON with a Statement, but IAM refuses it (bad Effect): the user must be rolled back.
    let env = Env::configured();
    let iam = Iam::new();
    let policy = env.file(
        "bad.json",
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}}"#,
    );
    env.run([
        "write",
        "aws/roles/lse_refused",
        &format!("policy=@{policy}"),
    ])
    .ok();
    env.run(["read", "aws/creds/lse_refused"])
        .fails(2)
        .stderr_has("error: setting up IAM user awscreds-lse_refused-")
        .stderr_has("MalformedPolicyDocument")
        .stderr_has("hint: the IAM user was deleted again; nothing was left behind");
    assert!(iam.users_of_role("lse_refused").is_empty());
    assert!(env.leases().is_empty());
}

#[test]
fn unreachable_aws_on_issue_keeps_a_pending_lease_for_the_sweep() {
    // Whether CreateUser reached AWS is unknown, so the lease stays pending: a later sweep
    // deletes the user if it exists.
    let env = Env::new();
    env.run(["mount", "aws"]).ok();
    env.run([
        "write",
        "aws/config/root",
        "access_key=AKIAEXAMPLE",
        "secret_key=x",
        "region=us-east-1",
        &format!("iam_endpoint={}", dead_endpoint()),
    ])
    .ok();
    env.role("aws/roles/lse_unreach");
    env.run(["read", "aws/creds/lse_unreach"])
        .fails(2)
        .stderr_has("error: creating IAM user awscreds-lse_unreach-")
        .stderr_has("cannot reach AWS");
    let leases = env.leases();
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].state, "pending");
    assert!(leases[0].access_key_id.is_none());
}
