//! Root key rotation on schedule (`rotation_period`, rotated by `sweep`) and rotate-root cut
//! short by kill -9 at each step. Against the signature-checking emulator, so that a deleted key
//! is refused and a stored key is proven to work by issuing with it; after each scenario the
//! root user has exactly one key, the one config/root holds.

use std::time::Duration;

use crate::proxy::{Fault, Proxy};
use crate::rootconfig::{keys_of, rotator};
use crate::support::*;

/// A mount whose root keys are those of a new IAM user `user` of the signature-checking
/// emulator, reached through `proxy`; returns the env and the first key pair.
fn rotating_env(user: &str, proxy: &Proxy) -> (Env, String, String) {
    let (access, secret) = rotator(user);
    let env = Env::new();
    env.run(["mount", "aws"]).ok();
    env.run([
        "write",
        "aws/config/root",
        &format!("access_key={access}"),
        &format!("secret_key={secret}"),
        &format!("iam_endpoint={}", proxy.url),
        &format!("sts_endpoint={}", proxy.url),
        "max_retries=0",
    ])
    .ok();
    (env, access, secret)
}

fn root_table(env: &Env) -> std::collections::BTreeMap<String, String> {
    env.run(["read", "aws/config/root"]).ok().table()
}

/// The root user holds exactly one key, the one config/root holds, and it works: awscreds
/// issues (and revokes) credentials with it on the signature-checking emulator.
#[track_caller]
fn one_working_key(env: &Env, user: &str, role: &str) -> String {
    let stored = root_table(env)["access_key"].clone();
    assert_eq!(
        keys_of(user),
        std::slice::from_ref(&stored),
        "keys of {user}"
    );
    env.role(&format!("aws/roles/{role}"));
    let (id, _) = env.issue(&format!("aws/creds/{role}"));
    env.run(["lease", "revoke", &id]).ok();
    stored
}

#[track_caller]
fn refused(access: &str, secret: &str) {
    let old = Iam::with_key(&auth_endpoint(), access, secret);
    assert!(
        old.call(|c| c.get_user().send()).is_err(),
        "the old key {access} still works"
    );
}

#[test]
fn sweep_rotates_the_root_key_when_its_rotation_period_has_run_out() {
    let proxy = Proxy::start(&auth_endpoint());
    let (env, old_access, old_secret) = rotating_env("rot-sched", &proxy);
    let table = root_table(&env);
    assert_eq!(table["rotation_period"], "n/a");
    assert_eq!(table["last_rotated"], "n/a");
    assert_eq!(table["next_rotation"], "n/a");

    // Not due yet: the sweep makes no IAM call for it.
    env.run(["write", "aws/config/root", "rotation_period=720h"])
        .ok();
    let table = root_table(&env);
    assert_eq!(table["rotation_period"], "720h");
    assert_eq!(table["last_rotated"], "n/a");
    let next = chrono::DateTime::parse_from_rfc3339(&table["next_rotation"]).unwrap();
    let in_30_days = chrono::Utc::now() + chrono::Duration::hours(720);
    assert!(
        (in_30_days - next.to_utc()).num_seconds().abs() < 60,
        "{next}"
    );
    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 0 revoked, 0 failed\n");
    assert_eq!(proxy.count("CreateAccessKey"), 0);
    assert_eq!(keys_of("rot-sched"), std::slice::from_ref(&old_access));

    // Due: rotated, the old key deleted, and the audit log says so.
    let log = crate::audit::enable(&env);
    env.run(["write", "aws/config/root", "rotation_period=1s"])
        .ok();
    std::thread::sleep(Duration::from_millis(1100));
    let run = env.run(["sweep"]).ok();
    let new_access = root_table(&env)["access_key"].clone();
    assert_ne!(new_access, old_access);
    assert_eq!(
        run.stdout,
        format!(
            "Swept expired leases: 0 revoked, 0 failed\n\
             Rotated the root key of aws: new access key {new_access}\n"
        )
    );
    assert!(!run.stdout.contains(&old_secret));
    let sweep = crate::audit::entries(&log)
        .into_iter()
        .find(|e| e["type"] == "response" && e["request"]["operation"] == "sweep")
        .unwrap();
    assert_eq!(
        sweep["response"]["data"]["root_keys_rotated"]["aws"],
        crate::audit::hash(&env, &new_access).as_str(),
        "{sweep:#}"
    );
    assert_eq!(one_working_key(&env, "rot-sched", "rot_sched"), new_access);
    refused(&old_access, &old_secret);
    let table = root_table(&env);
    let last = chrono::DateTime::parse_from_rfc3339(&table["last_rotated"]).unwrap();
    assert!((chrono::Utc::now() - last.to_utc()).num_seconds() < 60);
    let next = chrono::DateTime::parse_from_rfc3339(&table["next_rotation"]).unwrap();
    assert_eq!((next - last).num_seconds(), 1);

    // Unset: never again.
    env.run(["write", "aws/config/root", "rotation_period="])
        .ok();
    std::thread::sleep(Duration::from_millis(1100));
    let created = proxy.count("CreateAccessKey");
    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 0 revoked, 0 failed\n");
    assert_eq!(proxy.count("CreateAccessKey"), created);
    assert_eq!(root_table(&env)["next_rotation"], "n/a");
}

#[test]
fn a_failed_scheduled_rotation_keeps_the_key_exits_2_and_is_retried() {
    let proxy = Proxy::start(&auth_endpoint());
    let (env, old_access, old_secret) = rotating_env("rot-fail", &proxy);
    let log = crate::audit::enable(&env);
    env.run(["write", "aws/config/root", "rotation_period=1s"])
        .ok();
    std::thread::sleep(Duration::from_millis(1100));
    // A 5xx: whether IAM made a key is unknown, so the rotation looks for one to delete.
    proxy.fault("CreateAccessKey", Fault::ServerError, None);
    let run = env.run(["sweep"]).fails(2).stderr_any();
    assert_eq!(run.stdout, "Swept expired leases: 0 revoked, 0 failed\n");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{run:#?}");
    assert!(
        lines[0].starts_with(
            "error: rotating the root key of aws: creating an access key for rot-fail: "
        ),
        "{run:#?}"
    );
    assert_eq!(
        lines[1],
        "hint: the key in use is kept and still works; the next awscreds sweep tries again"
    );
    assert!(!run.stderr.contains(&old_secret));
    // The audit log has the failure too (hashed, as every value).
    let sweep = crate::audit::entries(&log)
        .into_iter()
        .find(|e| e["type"] == "response" && e["request"]["operation"] == "sweep")
        .unwrap();
    let failed = &sweep["response"]["data"]["root_rotations_failed"]["aws"];
    assert!(
        failed.as_str().unwrap().starts_with("hmac-sha256:"),
        "{sweep:#}"
    );
    assert!(sweep["response"]["data"].get("root_keys_rotated").is_none());
    assert_eq!(root_table(&env)["last_rotated"], "n/a");
    assert_eq!(keys_of("rot-fail"), std::slice::from_ref(&old_access));
    proxy.clear("CreateAccessKey"); // issuing makes keys too
    assert_eq!(one_working_key(&env, "rot-fail", "rot_fail"), old_access);

    // Refused outright (proves nothing was made): the same.
    proxy.fault("CreateAccessKey", Fault::Error(403, "AccessDenied"), None);
    env.run(["sweep"])
        .fails(2)
        .stderr_has("AccessDenied")
        .stderr_has("hint: the key in use is kept");
    assert_eq!(keys_of("rot-fail"), std::slice::from_ref(&old_access));

    // The next sweep, with IAM well again, rotates.
    proxy.clear("CreateAccessKey");
    env.run(["sweep"])
        .ok()
        .stdout_has("Rotated the root key of aws: new access key ");
    let new_access = one_working_key(&env, "rot-fail", "rot_fail");
    assert_ne!(new_access, old_access);
    refused(&old_access, &old_secret);
}

#[test]
fn rotation_period_is_checked_when_written() {
    let env = Env::configured();
    let before = env.dump();
    env.run(["write", "aws/config/root", "rotation_period=soon"])
        .fails(1)
        .one_line_error("rotation_period: invalid duration \"soon\"");
    assert_eq!(env.dump(), before);

    // Keys from the credential chain are not awscreds' to rotate.
    let chain = Env::new();
    chain.run(["mount", "aws"]).ok();
    chain
        .run(["write", "aws/config/root", "rotation_period=720h"])
        .fails(1)
        .one_line_error("rotation_period needs an access key in aws/config/root");
    chain
        .run(["write", "aws/config/root", "rotation_period=0"])
        .ok();
}

/// kill -9 of `rotate-root` while `action` is held by `fault` at the proxy (Hang: it never
/// reaches IAM; Delay: it is done at IAM, but the answer comes too late). Then a sweep settles
/// what was left: returns (env, old key, old secret, the key stored after it).
/// `left` is how many keys the user has after the kill, before the sweep.
fn killed_rotating(
    user: &str,
    action: &str,
    fault: Fault,
    left: usize,
) -> (Env, String, String, String) {
    let proxy = Proxy::start(&auth_endpoint());
    let (env, old_access, old_secret) = rotating_env(user, &proxy);
    let forwarded = matches!(fault, Fault::Delay(_));
    proxy.fault(action, fault, Some(1));
    let mut child = env.spawn(&["write", "aws/config/rotate-root"]);
    proxy.wait_seen(action, 1);
    child.kill().unwrap(); // SIGKILL
    let out = child.wait_with_output().unwrap();
    assert!(out.status.code().is_none(), "killed");
    assert!(out.stdout.is_empty());
    if forwarded {
        proxy.wait_forwarded(action);
    }
    assert_eq!(keys_of(user).len(), left, "keys of {user} after the kill");
    let run = env.run(["sweep"]).ok();
    assert!(
        run.stdout
            .starts_with("Swept expired leases: 0 revoked, 0 failed\n"),
        "{run:#?}"
    );
    let stored = one_working_key(&env, user, &user.replace('-', "_"));
    // Settled for good: a second sweep finds nothing, a rotation works again.
    let again = env.run(["sweep"]).ok();
    assert_eq!(again.stdout, "Swept expired leases: 0 revoked, 0 failed\n");
    (env, old_access, old_secret, stored)
}

#[test]
fn kill_9_before_create_access_key_reached_iam_keeps_the_old_key() {
    let (env, old, _, stored) =
        killed_rotating("rot-kill-cak-hang", "CreateAccessKey", Fault::Hang, 1);
    assert_eq!(stored, old);
    assert_eq!(root_table(&env)["last_rotated"], "n/a");
    // The user has one key again, so rotate-root is not refused for two.
    env.run(["write", "aws/config/rotate-root"]).ok();
    assert_ne!(
        one_working_key(&env, "rot-kill-cak-hang", "rot_kill_a"),
        old
    );
}

#[test]
fn kill_9_during_create_access_key_deletes_the_key_that_was_never_stored() {
    let (env, old, _, stored) = killed_rotating(
        "rot-kill-cak",
        "CreateAccessKey",
        Fault::Delay(Duration::from_secs(3)),
        2,
    );
    assert_eq!(stored, old, "the old key stays");
    assert_eq!(root_table(&env)["last_rotated"], "n/a");
}

#[test]
fn kill_9_before_delete_access_key_reached_iam_deletes_the_old_key() {
    let (env, old, old_secret, stored) =
        killed_rotating("rot-kill-dak-hang", "DeleteAccessKey", Fault::Hang, 2);
    assert_ne!(stored, old, "the new key is kept");
    refused(&old, &old_secret);
    assert_ne!(root_table(&env)["last_rotated"], "n/a");
}

#[test]
fn kill_9_during_delete_access_key_finishes_the_rotation() {
    let (env, old, old_secret, stored) = killed_rotating(
        "rot-kill-dak",
        "DeleteAccessKey",
        Fault::Delay(Duration::from_secs(3)),
        1,
    );
    assert_ne!(stored, old);
    refused(&old, &old_secret);
    assert_ne!(root_table(&env)["last_rotated"], "n/a");
}

#[test]
fn the_next_command_that_calls_aws_settles_an_interrupted_rotation() {
    let proxy = Proxy::start(&auth_endpoint());
    let (env, old_access, old_secret) = rotating_env("rot-kill-next", &proxy);
    env.role("aws/roles/rot_next");
    proxy.fault("DeleteAccessKey", Fault::Hang, Some(1));
    let mut child = env.spawn(&["write", "aws/config/rotate-root"]);
    proxy.wait_seen("DeleteAccessKey", 1);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(keys_of("rot-kill-next").len(), 2);

    // Issuing builds the mount's client, which first deletes the old key: no sweep needed.
    let (id, _) = env.issue("aws/creds/rot_next");
    let stored = root_table(&env)["access_key"].clone();
    assert_ne!(stored, old_access);
    assert_eq!(keys_of("rot-kill-next"), std::slice::from_ref(&stored));
    refused(&old_access, &old_secret);
    env.run(["lease", "revoke", &id]).ok();
    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 0 revoked, 0 failed\n");
}

/// A rotation that is due shows in `sweep --dry-run` and in `status`, which call no AWS API and
/// leave the key alone; the sweep after them rotates it.
#[test]
fn a_due_rotation_is_listed_by_the_dry_run_and_status_without_an_aws_call() {
    let proxy = Proxy::start(&auth_endpoint());
    let (env, old_access, _) = rotating_env("rot-plan", &proxy);
    env.run(["write", "aws/config/root", "rotation_period=1s"])
        .ok();
    std::thread::sleep(Duration::from_millis(1100));
    let calls = proxy.seen().len();

    let plan = env
        .run(["sweep", "--dry-run", "--format", "json"])
        .ok()
        .json();
    let rotations = plan["root_rotations"].as_array().unwrap();
    assert_eq!(rotations.len(), 1, "{plan}");
    assert_eq!(rotations[0]["mount"], "aws");
    assert_eq!(rotations[0]["access_key"], old_access.as_str());
    let status = env.run(["status", "--format", "json"]).ok().json();
    let root = &status["mounts"][0]["root_key"];
    assert_eq!(root["access_key"], old_access.as_str(), "{status}");
    let next = root["next_rotation"].as_str().expect("a next rotation");
    assert!(chrono::DateTime::parse_from_rfc3339(next).unwrap() <= chrono::Utc::now());
    assert_eq!(proxy.seen().len(), calls, "no AWS call: {:?}", proxy.seen());
    assert_eq!(keys_of("rot-plan"), std::slice::from_ref(&old_access));

    env.run(["sweep"]).ok();
    let new_access = root_table(&env)["access_key"].clone();
    assert_ne!(new_access, old_access);
    assert_eq!(keys_of("rot-plan"), std::slice::from_ref(&new_access));
    // Not due again for 30 days: nothing to list.
    env.run(["write", "aws/config/root", "rotation_period=720h"])
        .ok();
    let plan = env
        .run(["sweep", "--dry-run", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        plan["root_rotations"].as_array().unwrap().len(),
        0,
        "{plan}"
    );
}
