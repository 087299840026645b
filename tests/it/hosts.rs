//! Many hosts on one team store: hosts are processes with their own HOME (so their own data
//! directory and no shared key file: the seal is on KMS) and the same PostgreSQL URL. An issuer
//! killed with -9 on one host is cleaned up from another at once; four hosts issue 50 credentials
//! each at once; two hosts sweep at once. Afterwards IAM holds exactly the users the leases say,
//! no lease is lost, and no user was deleted twice.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::proxy::{Fault, Proxy};
use crate::seal::{kms_key, with_kms};
use crate::support::*;

const ROLE: &str = "hosts_many";

struct Host {
    home: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        Host {
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self, env: &Env, args: &[&str]) -> Command {
        let mut cmd = env.command(args);
        cmd.env("HOME", self.home.path())
            .current_dir(self.home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn spawn(&self, env: &Env, args: &[&str]) -> Child {
        self.command(env, args).spawn().unwrap()
    }

    #[track_caller]
    fn run(&self, env: &Env, args: &[&str]) -> Run {
        finish(self.spawn(env, args))
    }
}

/// Every IAM user of the role (all pages: there are hundreds).
fn iam_users() -> Vec<String> {
    let prefix = format!("awscreds-{ROLE}-");
    let mut names: Vec<String> = Iam::new().call(|c| {
        let c = c.clone();
        async move {
            let mut names = Vec::new();
            let mut pages = c.list_users().into_paginator().send();
            while let Some(page) = pages.next().await {
                for user in page.unwrap().users() {
                    names.push(user.user_name().to_string());
                }
            }
            names
        }
    });
    names.retain(|n| n.starts_with(&prefix));
    names.sort();
    names
}

#[track_caller]
fn iam_matches_leases(env: &Env) {
    let mut leased: Vec<String> = env.leases().into_iter().map(|l| l.iam_user).collect();
    leased.sort();
    assert_eq!(iam_users(), leased, "IAM users vs leases");
}

#[test]
fn four_hosts_issue_and_two_sweep_at_once_and_nothing_is_lost_or_deleted_twice() {
    if !postgres() {
        return eprintln!("PostgreSQL only: hosts share a database through PostgreSQL");
    }
    let started = Instant::now();
    let proxy = Proxy::start(&endpoint());
    let env = with_kms(Env::at(&proxy.url, &[ROLE]));
    env.run(["seal", "kms", &kms_key()]).ok();
    let hosts: Vec<Host> = (0..4).map(|_| Host::new()).collect();

    // An issuer killed with -9 on host 0, cleaned up from host 1 at once: its advisory lock
    // went with its connection, so the default --pending-timeout (5 min) is not waited for.
    proxy.fault(
        "CreateAccessKey",
        Fault::Delay(Duration::from_secs(3)),
        Some(1),
    );
    let mut issuer = hosts[0].spawn(&env, &["read", &format!("aws/creds/{ROLE}")]);
    proxy.wait_seen("CreateAccessKey", 1);
    issuer.kill().unwrap();
    finish(issuer).killed();
    proxy.wait_forwarded("CreateAccessKey");
    assert_eq!(env.leases().len(), 1);
    assert_eq!(env.leases()[0].state, "pending");
    hosts[1]
        .run(&env, &["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 1 revoked, 0 failed\n");
    assert!(env.leases().is_empty());
    assert!(iam_users().is_empty());

    // Four hosts, 50 issues each, all at once.
    let children: Vec<Child> = hosts
        .iter()
        .flat_map(|host| {
            (0..50)
                .map(|_| {
                    host.spawn(
                        &env,
                        &["read", &format!("aws/creds/{ROLE}"), "-format=json"],
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let mut issued = Vec::new();
    for child in children {
        let run = finish(child).ok();
        issued.push(run.json()["lease_id"].as_str().unwrap().to_string());
    }
    issued.sort();
    let leases: Vec<String> = env.leases().into_iter().map(|l| l.id).collect();
    assert_eq!(leases, issued, "every issued credential has its lease");
    assert!(env.leases().iter().all(|l| l.state == "active"));
    iam_matches_leases(&env);

    // All due now (behind awscreds' back), and two hosts sweep at once.
    let state = env.state();
    let now = chrono::Utc::now().timestamp() - 1;
    for id in &issued {
        state.change_lease(id, |l| {
            l.expires_at = now;
            l.due_at = now;
        });
    }
    drop(state);
    let sweeps = [
        hosts[2].spawn(&env, &["sweep"]),
        hosts[3].spawn(&env, &["sweep"]),
    ];
    let mut revoked = 0;
    for sweep in sweeps {
        let run = finish(sweep).ok();
        // "Swept expired leases: N revoked, 0 failed"
        let summary = run.stdout.strip_prefix("Swept expired leases: ").unwrap();
        assert!(summary.ends_with(" revoked, 0 failed\n"), "{run:#?}");
        revoked += summary.split(' ').next().unwrap().parse::<u64>().unwrap();
    }
    assert_eq!(revoked, 200, "each lease revoked by exactly one sweep");
    assert!(env.leases().is_empty());
    iam_matches_leases(&env);

    // No user was deleted twice (the killed issuer's included).
    let mut deletes: BTreeMap<String, usize> = BTreeMap::new();
    for user in proxy.users_of("DeleteUser") {
        *deletes.entry(user).or_default() += 1;
    }
    assert_eq!(deletes.len(), 201);
    let twice: Vec<_> = deletes.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "deleted more than once: {twice:?}");
    // Nothing hung (how fast it goes is scripts/bench's to say, not a test's).
    assert!(
        started.elapsed() < Duration::from_secs(300),
        "took {:?}",
        started.elapsed()
    );
}
