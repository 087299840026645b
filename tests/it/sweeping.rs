//! Sweeping at IAM's pace and within the reaping budget: a rate-limited IAM (the proxy's token
//! bucket) is swept without a failure; an unreachable IAM costs the reaping budget once per
//! backoff, not on every command; a DeleteUser in flight when the budget runs out is seen
//! through, never sent twice.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use crate::proxy::{Fault, Proxy};
use crate::support::*;

/// Each of `users` was named by exactly one DeleteUser that reached the emulator (a throttled
/// one did nothing), and no other user by more than one.
#[track_caller]
fn assert_deleted_once_each(proxy: &Proxy, users: &[String]) {
    let mut times: BTreeMap<String, usize> = BTreeMap::new();
    for user in proxy.forwarded_users_of("DeleteUser") {
        *times.entry(user).or_default() += 1;
    }
    let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "DeleteUser carried out twice: {twice:?}");
    for user in users {
        assert_eq!(times.get(user), Some(&1), "DeleteUser for {user}");
    }
}

/// Issues `n` credentials of `role`, a few processes at once.
fn issue_many(env: &Env, role: &str, n: usize) {
    let path = format!("aws/creds/{role}");
    let mut left = n;
    while left > 0 {
        let batch = left.min(6);
        let children: Vec<_> = (0..batch)
            .map(|_| {
                env.command(["read", path.as_str()])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        left -= batch;
    }
}

#[test]
fn a_rate_limited_iam_is_swept_with_no_failure() {
    const LEASES: usize = 200;
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["swp_rate"]);
    issue_many(&env, "swp_rate", LEASES);
    let users: Vec<String> = env.leases().into_iter().map(|l| l.iam_user).collect();
    assert_eq!(users.len(), LEASES);
    expire_all(&env);

    // IAM's rate limit: 30 requests a second, bursts of 5. The default sweep is throttled, slows
    // down, and sends every throttled call again: nothing fails.
    proxy.rate_limit(30.0, 5.0);
    let run = env.run(["sweep"]).ok();
    let throttled = proxy.throttled();
    assert!(throttled > 0, "the rate limit was reached");
    // Said, and kept for status and the metrics: every Throttling answer the sweep got.
    run.stdout_is(&format!(
        "Swept expired leases: {LEASES} revoked, 0 failed ({throttled} calls throttled by IAM \
         and sent again)\n"
    ));
    let status = env.run(["status", "--format", "json"]).ok().json();
    assert_eq!(status["last_sweep"]["throttled"], throttled, "{status:#}");
    assert_eq!(status["last_sweep"]["throttled_total"], throttled);
    let metrics = env.run(["status", "--format", "prometheus"]).ok();
    assert!(
        metrics
            .stdout
            .contains(&format!("\nawscreds_sweep_throttled_total {throttled}\n")),
        "{metrics:#?}"
    );
    assert!(env.leases().is_empty(), "every lease revoked, none lost");
    assert!(Iam::new().users_of_role("swp_rate").is_empty());
    assert_deleted_once_each(&proxy, &users);
}

/// The number N of a sweep's `Swept expired leases: N revoked, 0 failed`.
#[track_caller]
fn revoked_without_failure(run: &Run) -> usize {
    assert_eq!(run.code, 0, "{run:#?}");
    let summary = run.stdout.trim();
    let summary = summary.split(" (").next().unwrap();
    assert!(summary.ends_with(" revoked, 0 failed"), "{run:#?}");
    summary
        .strip_prefix("Swept expired leases: ")
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{run:#?}"))
}

#[test]
fn two_sweeps_share_a_rate_limited_iam_and_revoke_each_lease_once() {
    const LEASES: usize = 80;
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["swp_two"]);
    issue_many(&env, "swp_two", LEASES);
    let users: Vec<String> = env.leases().into_iter().map(|l| l.iam_user).collect();
    expire_all(&env);

    proxy.rate_limit(30.0, 5.0);
    let sweeps: Vec<_> = (0..2)
        .map(|_| {
            env.command(["sweep"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let revoked: usize = sweeps
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            let run = Run::new(
                "sweep".into(),
                out.status.code().unwrap_or(-1),
                String::from_utf8(out.stdout).unwrap(),
                String::from_utf8(out.stderr).unwrap(),
            );
            revoked_without_failure(&run)
        })
        .sum();
    assert_eq!(revoked, LEASES, "each lease revoked by exactly one sweep");
    assert!(env.leases().is_empty());
    assert!(Iam::new().users_of_role("swp_two").is_empty());
    assert_deleted_once_each(&proxy, &users);
}

#[test]
fn an_unreachable_iam_costs_the_reaping_budget_once_per_backoff() {
    // A new user's typo: the endpoint cannot be reached, and a failed issue leaves a pending
    // lease (whether CreateUser arrived is unknown).
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
    env.role("aws/roles/swp_offline");
    env.run(["read", "aws/creds/swp_offline"])
        .fails(2)
        .stderr_has("cannot reach AWS");
    let id = env.leases()[0].id.clone();

    // The next command tries to clean it up, runs out of its budget, and says so.
    env.run(["read", "aws/roles/swp_offline"])
        .ok()
        .stdout_has("policy")
        .warns(&format!("could not revoke lease {id}"));
    let lease = env.state().lease(&id).unwrap();
    let attempts = lease.attempts;
    assert!(lease.taken(), "taken from its (dead) issuer");
    assert!(
        lease.due_at >= unix_now() + 20,
        "backed off like a failure: due at {}, now {}",
        lease.due_at,
        unix_now()
    );

    // Backing off: the commands after it do not try again, so are quiet (and fast).
    env.run(["read", "aws/roles/swp_offline"])
        .ok()
        .stdout_has("policy");
    env.run(["list", "aws/roles/"])
        .ok()
        .stdout_is("Keys\n----\nswp_offline\n");
    let still = env.state().lease(&id).unwrap();
    assert_eq!(still.attempts, attempts);
    assert_eq!(still.due_at, lease.due_at);

    // `sweep` still tries it, at once.
    env.run(["sweep"])
        .fails(2)
        .stdout_is("Swept expired leases: 0 revoked, 1 failed\n")
        .stderr_has("cannot reach AWS");
    assert_eq!(env.state().lease(&id).unwrap().attempts, attempts + 1);
}

#[test]
fn a_delete_user_in_flight_when_the_budget_runs_out_is_seen_through() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["swp_inflight"]);
    env.issue("aws/creds/swp_inflight");
    let user = env.leases()[0].iam_user.clone();
    expire_all(&env);

    // DeleteUser takes longer than the whole reaping budget (3 s).
    proxy.fault("DeleteUser", Fault::Delay(Duration::from_secs(4)), Some(1));
    env.run(["list", "aws/roles/"])
        .ok()
        .stdout_is("Keys\n----\nswp_inflight\n");
    assert!(
        env.leases().is_empty(),
        "revoked: its DeleteUser was waited for"
    );
    assert!(Iam::new().users_of_role("swp_inflight").is_empty());

    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 0 revoked, 0 failed\n");
    assert_eq!(proxy.users_of("DeleteUser"), std::slice::from_ref(&user));
    assert_deleted_once_each(&proxy, &[user]);
}

#[test]
fn a_delete_user_that_never_answers_keeps_its_claim() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["swp_hang"]);
    env.issue("aws/creds/swp_hang");
    let lease = env.state().leases().remove(0);
    expire_all(&env);

    // Past the budget and the wait for a DeleteUser in flight: reaping gives up on it...
    proxy.fault("DeleteUser", Fault::Hang, Some(1));
    env.run(["list", "aws/roles/"])
        .ok()
        .stdout_is("Keys\n----\nswp_hang\n")
        .warns(&format!("could not revoke lease {}", lease.id));
    // ...but keeps it claimed, past the hold, so no sweep sends DeleteUser again meanwhile.
    let kept = env.state().lease(&lease.id).unwrap();
    assert!(
        kept.due_at >= unix_now() + 100,
        "held: due at {}",
        kept.due_at
    );
    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 0 revoked, 0 failed\n");
    assert_eq!(
        proxy.users_of("DeleteUser"),
        std::slice::from_ref(&lease.iam_user)
    );

    // Once the hold has passed (moved here), the next sweep finishes the job.
    env.state()
        .change_lease(&lease.id, |l| l.due_at = unix_now() - 1);
    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 1 revoked, 0 failed\n");
    assert!(env.leases().is_empty());
    assert!(Iam::new().users_of_role("swp_hang").is_empty());
}
