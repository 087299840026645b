//! Lease caps (`max_leases` on a role and on `config/lease`): shown where the settings are read,
//! refused before any AWS call with one line that names the cap and the count, and held under
//! parallel issuers. Both sides are checked: what awscreds says and what IAM holds.

use std::process::Child;

use crate::proxy::Proxy;
use crate::support::*;

#[test]
fn max_leases_is_read_back_where_it_was_written() {
    let env = Env::with_roles(&["cap_read"]);
    assert_eq!(
        env.run(["read", "aws/roles/cap_read"]).ok().table()["max_leases"],
        "0"
    );
    env.run(["write", "aws/roles/cap_read", "max_leases=5"])
        .ok();
    let role = env
        .run(["read", "aws/roles/cap_read", "-format=json"])
        .ok()
        .json();
    assert_eq!(role["data"]["max_leases"], 5);
    // The rest of the role is kept.
    assert_eq!(role["data"]["policy"], SEED_POLICY_COMPACT);

    // Alone, max_leases leaves lease and lease_max as they are; the pair still goes together.
    env.run(["write", "aws/config/lease", "lease=30m", "lease_max=2h"])
        .ok();
    env.run(["write", "aws/config/lease", "max_leases=10"]).ok();
    let table = env.run(["read", "aws/config/lease"]).ok().table();
    assert_eq!(
        (
            table["lease"].as_str(),
            table["lease_max"].as_str(),
            table["max_leases"].as_str()
        ),
        ("30m", "2h", "10")
    );
    let before = env.dump();
    env.run(["write", "aws/config/lease", "lease=1h", "max_leases=3"])
        .fails(1)
        .one_line_error("missing required parameter \"lease_max\" for aws/config/lease");
    env.run(["write", "aws/roles/cap_read", "max_leases=-1"])
        .fails(1)
        .one_line_error("invalid max_leases \"-1\"");
    env.run(["write", "aws/config/lease", "max_leases=many"])
        .fails(1)
        .one_line_error("invalid max_leases \"many\"");
    assert_eq!(env.dump(), before, "a refused write changed something");
    // 0 (or empty) removes the cap.
    env.run(["write", "aws/roles/cap_read", "max_leases="]).ok();
    assert_eq!(
        env.run(["read", "aws/roles/cap_read"]).ok().table()["max_leases"],
        "0"
    );
}

#[test]
fn a_role_at_its_cap_refuses_before_any_aws_call_and_changes_nothing() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["cap_role"]);
    env.run(["write", "aws/roles/cap_role", "max_leases=2"])
        .ok();
    env.issue("aws/creds/cap_role");
    env.issue("aws/creds/cap_role");
    let calls = proxy.seen().len();
    let before = env.dump();
    env.run(["read", "aws/creds/cap_role"])
        .fails(1)
        .one_line_error(
            "lease cap reached: role \"cap_role\" has 2 live leases, its max_leases is 2",
        )
        .stderr_has(
            "hint: awscreds lease list aws/creds/cap_role shows them; revoke some, or raise \
             max_leases (awscreds write aws/roles/cap_role max_leases=N)",
        );
    assert_eq!(proxy.seen().len(), calls, "an AWS call: {:?}", proxy.seen());
    assert_eq!(env.dump(), before);
    assert_eq!(Iam::new().users_of_role("cap_role").len(), 2);

    // A revoked lease makes room again.
    let (id, _) = (env.leases()[0].id.clone(), ());
    env.run(["lease", "revoke", &id]).ok();
    env.issue("aws/creds/cap_role");
    assert_eq!(Iam::new().users_of_role("cap_role").len(), 2);
    env.run(["lease", "revoke", "--prefix", "aws/creds/cap_role"])
        .ok();
    assert!(Iam::new().users_of_role("cap_role").is_empty());
}

#[test]
fn the_mount_cap_counts_every_role_of_the_mount() {
    let env = Env::with_roles(&["cap_mount_a", "cap_mount_b"]);
    env.run(["write", "aws/config/lease", "max_leases=2"]).ok();
    env.issue("aws/creds/cap_mount_a");
    env.issue("aws/creds/cap_mount_b");
    env.run(["read", "aws/creds/cap_mount_a"])
        .fails(1)
        .one_line_error("lease cap reached: mount \"aws\" has 2 live leases, its max_leases is 2")
        .stderr_has("hint: awscreds lease list aws/ shows them");
    assert_eq!(Iam::new().users_of_role("cap_mount_a").len(), 1);
    assert_eq!(env.leases().len(), 2);
    env.run(["lease", "revoke", "--prefix", "aws/"]).ok();
    assert!(Iam::new().users_of_role("cap_mount_a").is_empty());
    assert!(Iam::new().users_of_role("cap_mount_b").is_empty());
}

/// The issue's test: 20 issuers at once against a cap of 5.
#[test]
fn twenty_parallel_issuers_against_a_cap_of_five() {
    let env = Env::with_roles(&["cap_many"]);
    env.run(["write", "aws/roles/cap_many", "max_leases=5"])
        .ok();
    let children: Vec<Child> = (0..20)
        .map(|_| env.spawn(&["read", "aws/creds/cap_many", "-format=json"]))
        .collect();
    let runs: Vec<Run> = children.into_iter().map(finish).collect();
    let (ok, refused): (Vec<Run>, Vec<Run>) = runs.into_iter().partition(|r| r.code == 0);
    assert_eq!(ok.len(), 5, "{ok:#?} {refused:#?}");
    assert_eq!(refused.len(), 15, "{ok:#?} {refused:#?}");
    for run in refused {
        let run = run.fails(1).stderr_any();
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(
            lines,
            [
                "error: lease cap reached: role \"cap_many\" has 5 live leases, its max_leases \
                 is 5",
                "hint: awscreds lease list aws/creds/cap_many shows them; revoke some, or raise \
                 max_leases (awscreds write aws/roles/cap_many max_leases=N)",
            ],
            "{run:#?}"
        );
        assert!(run.stdout.is_empty(), "{run:#?}");
    }
    let users = Iam::new().users_of_role("cap_many");
    assert_eq!(users.len(), 5);
    let mut leased: Vec<String> = env.leases().into_iter().map(|l| l.iam_user).collect();
    let mut names: Vec<String> = users.into_iter().map(|u| u.name).collect();
    leased.sort();
    names.sort();
    assert_eq!(leased, names);
    env.run(["lease", "revoke", "--prefix", "aws/creds/cap_many"])
        .ok();
    assert!(Iam::new().users_of_role("cap_many").is_empty());
}

/// STS leases count too (Vault's quotas count leases, whatever they are): the one past the cap
/// is refused before STS is asked.
#[test]
fn sts_credentials_are_capped_too() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &[]);
    env.file("policy.json", SEED_POLICY);
    env.run([
        "write",
        "aws/roles/cap_fed",
        "credential_type=federation_token",
        "policy_document=@policy.json",
        "max_leases=1",
    ])
    .ok();
    env.run(["read", "aws/sts/cap_fed"]).ok();
    assert_eq!(proxy.count("GetFederationToken"), 1);
    let before = env.dump();
    env.run(["read", "aws/sts/cap_fed"])
        .fails(1)
        .one_line_error(
            "lease cap reached: role \"cap_fed\" has 1 live leases, its max_leases is 1",
        )
        .stderr_has("hint: awscreds lease list aws/sts/cap_fed shows them");
    assert_eq!(proxy.count("GetFederationToken"), 1, "{:?}", proxy.seen());
    assert_eq!(env.dump(), before);
}
