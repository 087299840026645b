//! awscreds under AWS failures, crashes and concurrency, with the fault-injecting proxy between it
//! and the emulator. After each scenario: the IAM users awscreds created == the leases, exactly.

use std::process::Child;
use std::time::Duration;

use crate::proxy::{Fault, Proxy};
use crate::support::*;

/// The IAM users of `role` are exactly those that the leases name.
#[track_caller]
fn iam_matches_leases(env: &Env, role: &str) {
    let mut users: Vec<String> = Iam::new()
        .users_of_role(role)
        .into_iter()
        .map(|u| u.name)
        .collect();
    let mut leased: Vec<String> = env.leases().into_iter().map(|l| l.iam_user).collect();
    users.sort();
    leased.sort();
    assert_eq!(users, leased, "IAM users of {role} vs leases");
}

#[test]
fn a_throttling_storm_is_ridden_out() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["flt_storm"]);
    proxy.fault("CreateUser", Fault::Throttle, Some(3));
    proxy.fault("PutUserPolicy", Fault::Throttle, Some(2));
    proxy.fault("CreateAccessKey", Fault::ServerError, Some(2));
    let (_, key) = env.issue("aws/creds/flt_storm");
    assert_eq!(proxy.count("CreateUser"), 4);
    assert_eq!(proxy.count("PutUserPolicy"), 3);
    assert_eq!(proxy.count("CreateAccessKey"), 3);
    let users = Iam::new().users_of_role("flt_storm");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].keys, [key]);
    assert_eq!(env.leases()[0].state, "active");
    iam_matches_leases(&env, "flt_storm");
}

#[test]
fn throttling_that_never_ends_gives_up_and_leaves_nothing() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["flt_throttled"]);
    proxy.fault("CreateUser", Fault::Throttle, None);
    env.run(["read", "aws/creds/flt_throttled"])
        .fails(2)
        .stderr_has("throttled by AWS, gave up after 5 attempts")
        .stderr_has("hint: the lease stays pending");
    assert_eq!(proxy.count("CreateUser"), 5);
    // An earlier attempt may have created the user before a later one was throttled, so the
    // lease stays pending; no user exists, which a forced sweep confirms and settles.
    let leases = env.leases();
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].state, "pending");
    assert!(Iam::new().users_of_role("flt_throttled").is_empty());
    proxy.clear("CreateUser");
    env.run(["sweep", "--pending-timeout", "0s"])
        .ok()
        .stdout_is("Swept expired leases: 1 revoked, 0 failed\n");
    assert!(env.leases().is_empty());
    iam_matches_leases(&env, "flt_throttled");
}

#[test]
fn a_lost_answer_to_create_user_is_retried_safely() {
    // CreateUser reaches IAM but its answer is lost; the SDK retries and IAM says the user
    // exists. It is ours: issuing goes on, and nothing is duplicated or leaked.
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["flt_lostanswer"]);
    proxy.fault("CreateUser", Fault::Reset, Some(1));
    let (_, key) = env.issue("aws/creds/flt_lostanswer");
    assert_eq!(proxy.count("CreateUser"), 2);
    let users = Iam::new().users_of_role("flt_lostanswer");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].keys, [key]);
    iam_matches_leases(&env, "flt_lostanswer");
}

#[test]
fn a_lost_answer_to_create_access_key_leaves_a_key_that_revocation_removes() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["flt_lostkey"]);
    proxy.fault("CreateAccessKey", Fault::Reset, Some(1));
    let (id, key) = env.issue("aws/creds/flt_lostkey");
    let users = Iam::new().users_of_role("flt_lostkey");
    assert_eq!(users[0].keys.len(), 2, "the lost answer's key exists too");
    assert!(users[0].keys.contains(&key));
    // Real IAM refuses DeleteUser while the unknown key exists; the emulator does not, so the
    // proxy answers the first DeleteUser the way IAM would.
    proxy.fault("DeleteUser", Fault::Error(409, "DeleteConflict"), Some(1));
    env.run(["lease", "revoke", &id]).ok();
    assert_eq!(proxy.count("DeleteAccessKey"), 2, "{:?}", proxy.seen());
    assert_eq!(proxy.count("DeleteUser"), 2);
    assert!(Iam::new().users_of_role("flt_lostkey").is_empty());
    assert!(env.leases().is_empty());
}

#[test]
fn a_permanently_failing_delete_user_keeps_the_lease_visible() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["flt_nodelete"]);
    env.run(["write", "aws/config/lease", "lease=1s", "lease_max=1h"])
        .ok();
    let (id, _) = env.issue("aws/creds/flt_nodelete");
    proxy.fault("DeleteUser", Fault::Error(403, "AccessDenied"), None);
    std::thread::sleep(Duration::from_millis(2100));

    env.run(["sweep"])
        .fails(2)
        .stdout_is("Swept expired leases: 0 revoked, 1 failed\n")
        .stderr_has("AccessDenied");
    let listed = env.run(["lease", "list", "--format", "json"]).ok().json();
    assert_eq!(listed[0]["lease_id"], id.as_str());
    assert_eq!(listed[0]["attempts"], 1);
    assert!(
        listed[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("AccessDenied")
    );
    env.run(["lease", "list"])
        .ok()
        .stdout_has("active (failed 1x)");
    let users = Iam::new().users_of_role("flt_nodelete");
    assert_eq!(users.len(), 1, "the user stays until it can be deleted");
    assert!(users[0].keys.is_empty(), "its keys are already gone");
    iam_matches_leases(&env, "flt_nodelete");

    // The cause is fixed; an explicit revoke does not wait for the backoff.
    proxy.clear("DeleteUser");
    env.run(["lease", "revoke", &id])
        .ok()
        .stdout_is(&format!("Success! Revoked lease: {id}\n"));
    assert!(env.leases().is_empty());
    iam_matches_leases(&env, "flt_nodelete");
}

/// kill -9 while the given IAM call is in flight; the call still completes at IAM.
fn killed_during(action: &str, role: &str) {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &[role]);
    proxy.fault(action, Fault::Delay(Duration::from_secs(3)), Some(1));
    let mut child = env.spawn(&["read", &format!("aws/creds/{role}")]);
    proxy.wait_seen(action, 1);
    child.kill().unwrap(); // SIGKILL
    let killed = finish(child).killed();
    assert!(
        killed.stdout.is_empty(),
        "no credentials were handed out: {killed:?}"
    );
    proxy.wait_forwarded(action);

    let leases = env.leases();
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].state, "pending");
    iam_matches_leases(&env, role);

    // The issuer is known to be gone (its lock died with it): no need to wait 5 minutes.
    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 1 revoked, 0 failed\n");
    assert!(env.leases().is_empty());
    assert!(Iam::new().users_of_role(role).is_empty());
}

#[test]
fn kill_9_during_create_user_is_cleaned_up_by_the_next_sweep() {
    killed_during("CreateUser", "flt_kill_cu");
}

#[test]
fn kill_9_during_put_user_policy_is_cleaned_up_by_the_next_sweep() {
    killed_during("PutUserPolicy", "flt_kill_pup");
}

#[test]
fn kill_9_during_create_access_key_is_cleaned_up_by_the_next_sweep() {
    killed_during("CreateAccessKey", "flt_kill_cak");
}

#[test]
fn kill_9_before_create_user_reached_iam_waits_then_is_forced() {
    // CreateUser never reaches IAM. The user does not exist, but IAM's eventual consistency
    // means "does not exist" is not trusted at once: the lease waits until --pending-timeout.
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["flt_kill_none"]);
    proxy.fault("CreateUser", Fault::Hang, None);
    let mut child = env.spawn(&["read", "aws/creds/flt_kill_none"]);
    proxy.wait_seen("CreateUser", 1);
    child.kill().unwrap();
    finish(child).killed();

    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 0 revoked, 0 failed, 1 waiting\n");
    assert_eq!(env.leases().len(), 1);
    env.run(["sweep", "--pending-timeout", "0s"])
        .ok()
        .stdout_is("Swept expired leases: 1 revoked, 0 failed\n");
    assert!(env.leases().is_empty());
    iam_matches_leases(&env, "flt_kill_none");
}

#[test]
fn a_sweep_leaves_a_live_issuer_alone() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["flt_live"]);
    proxy.fault(
        "CreateAccessKey",
        Fault::Delay(Duration::from_secs(4)),
        Some(1),
    );
    let child = env.spawn(&["read", "aws/creds/flt_live", "-format=json"]);
    proxy.wait_seen("CreateAccessKey", 1);
    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 0 revoked, 0 failed\n");
    let issued = finish(child).ok();
    let key = issued.json()["data"]["access_key"]
        .as_str()
        .unwrap()
        .to_string();
    let users = Iam::new().users_of_role("flt_live");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].keys, [key]);
    assert_eq!(env.leases()[0].state, "active");
}

#[test]
fn twenty_parallel_issuers_and_overlapping_sweeps() {
    let env = Env::configured();
    env.role("aws/roles/flt_many");
    let mut children: Vec<Child> = (0..20)
        .map(|_| env.spawn(&["read", "aws/creds/flt_many", "-format=json"]))
        .collect();
    children.push(env.spawn(&["sweep"]));
    children.push(env.spawn(&["sweep"]));
    let runs: Vec<Run> = children.into_iter().map(finish).collect();
    for run in &runs {
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(!run.stderr.contains("locked"), "{run:#?}");
    }
    let keys: Vec<String> = runs[..20]
        .iter()
        .map(|r| r.json()["data"]["access_key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(env.leases().len(), 20);
    let users = Iam::new().users_of_role("flt_many");
    assert_eq!(users.len(), 20);
    for key in &keys {
        assert_eq!(users.iter().filter(|u| u.keys.contains(key)).count(), 1);
    }
    iam_matches_leases(&env, "flt_many");

    expire_all(&env);
    let sweeps: Vec<Run> = (0..3)
        .map(|_| env.spawn(&["sweep", "--parallel", "4"]))
        .collect::<Vec<_>>()
        .into_iter()
        .map(finish)
        .collect();
    let mut revoked = 0;
    for run in &sweeps {
        assert_eq!(run.code, 0, "{run:#?}");
        let summary = run.stdout.trim();
        let n: usize = summary
            .strip_prefix("Swept expired leases: ")
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{run:#?}"));
        assert!(summary.ends_with(" revoked, 0 failed"), "{run:#?}");
        revoked += n;
    }
    assert_eq!(revoked, 20, "every lease revoked exactly once: {sweeps:#?}");
    assert!(env.leases().is_empty());
    assert!(Iam::new().users_of_role("flt_many").is_empty());
}

const EMPTY_SERVICE_CREDENTIALS: &str = "<ListServiceSpecificCredentialsResponse \
    xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListServiceSpecificCredentialsResult>\
    <ServiceSpecificCredentials/></ListServiceSpecificCredentialsResult><ResponseMetadata>\
    <RequestId>1</RequestId></ResponseMetadata></ListServiceSpecificCredentialsResponse>";

#[test]
fn what_someone_attached_behind_our_back_does_not_strand_the_user() {
    // Vault leaks the user here (its issue #16685): IAM refuses DeleteUser while a login
    // profile, a managed policy or a group membership remains.
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["flt_attached"]);
    let (id, _) = env.issue("aws/creds/flt_attached");
    let user = env.leases()[0].iam_user.clone();
    let iam = Iam::new();
    iam.call(|c| {
        let (c, user) = (c.clone(), user.clone());
        async move {
            c.create_login_profile()
                .user_name(&user)
                .password("Pa55word!Pa55word!")
                .send()
                .await
                .unwrap();
            let policy = c
                .create_policy()
                .policy_name(format!("p-{user}"))
                .policy_document(SEED_POLICY_COMPACT)
                .send()
                .await
                .unwrap();
            let arn = policy.policy().unwrap().arn().unwrap().to_string();
            c.attach_user_policy()
                .user_name(&user)
                .policy_arn(arn)
                .send()
                .await
                .unwrap();
            c.create_group()
                .group_name(format!("g-{user}"))
                .send()
                .await
                .unwrap();
            c.add_user_to_group()
                .user_name(&user)
                .group_name(format!("g-{user}"))
                .send()
                .await
                .unwrap();
        }
    });
    // The emulator does not implement service-specific credentials, and its DeleteUser does
    // not refuse everything real IAM refuses: the proxy stands in for both.
    proxy.fault(
        "ListServiceSpecificCredentials",
        Fault::Stub(EMPTY_SERVICE_CREDENTIALS.into()),
        None,
    );
    proxy.fault("DeleteUser", Fault::Error(409, "DeleteConflict"), Some(1));

    env.run(["lease", "revoke", &id]).ok();
    let seen = proxy.seen();
    for action in [
        "DeleteLoginProfile",
        "DetachUserPolicy",
        "RemoveUserFromGroup",
        "ListMFADevices",
        "ListSSHPublicKeys",
        "ListSigningCertificates",
        "ListServiceSpecificCredentials",
    ] {
        assert!(
            seen.iter().any(|a| a == action),
            "{action} not called: {seen:?}"
        );
    }
    assert_eq!(proxy.count("DeleteUser"), 2);
    assert!(iam.user(&user).is_none(), "the user is gone");
    assert!(env.leases().is_empty());
}

#[test]
fn revoke_by_prefix_leaves_a_lease_being_issued_to_its_issuer() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["flt_prefixlive"]);
    proxy.fault(
        "CreateAccessKey",
        Fault::Delay(Duration::from_secs(4)),
        Some(1),
    );
    let child = env.spawn(&["read", "aws/creds/flt_prefixlive", "-format=json"]);
    proxy.wait_seen("CreateAccessKey", 1);
    env.run(["lease", "revoke", "--prefix", "aws/creds/flt_prefixlive"])
        .fails(1)
        .stderr_has("error: left 1 of 1 leases with prefix aws/creds/flt_prefixlive alone");
    let issued = finish(child).ok();
    let key = issued.json()["data"]["access_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(Iam::new().users_of_role("flt_prefixlive")[0].keys, [key]);
    assert_eq!(env.leases()[0].state, "active");
    iam_matches_leases(&env, "flt_prefixlive");
}
