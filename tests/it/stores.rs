//! What every store backend promises, checked on the one the suite runs against (SQLite, then
//! PostgreSQL): atomic claims among concurrent sweeps, pending leases taken from their issuer,
//! renewal rules, and issuer liveness seen from another process and from the issuer itself.
//! Then what only the PostgreSQL store has: its URL, its password, its schema version, and its
//! server's files, which must never hold a root secret key.

use std::collections::BTreeSet;

use awscreds::model::{CredentialType, Lease, LeaseState, Mount};
use awscreds::store::{self, Activation, Location, Store};

use crate::support::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn open(rt: &tokio::runtime::Runtime, db: &str) -> Box<dyn Store> {
    rt.block_on(store::open(&Location::parse(db))).unwrap()
}

fn lease(id: &str, due_at: i64) -> Lease {
    Lease {
        id: id.into(),
        mount: "aws".into(),
        role: "r".into(),
        iam_user: format!("u-{id}"),
        access_key_id: None,
        state: LeaseState::Pending,
        issued_at: 0,
        expires_at: due_at,
        max_expires_at: due_at,
        due_at,
        attempts: 0,
        last_error: None,
        owner: None,
        attached: None,
        kind: CredentialType::IamUser,
        key_wait_ms: None,
        cached_secret: None,
    }
}

fn with_mount(env: &Env) -> String {
    let db = env.db.display().to_string();
    let rt = runtime();
    let store = open(&rt, &db);
    rt.block_on(store.create_mount(&Mount {
        path: "aws".into(),
        kind: "aws".into(),
        created_at: 1,
    }))
    .unwrap();
    db
}

#[test]
fn concurrent_claims_never_take_a_lease_twice() {
    let env = Env::new();
    let db = with_mount(&env);
    let rt = runtime();
    let store = open(&rt, &db);
    rt.block_on(async {
        for i in 0..200 {
            store
                .insert_lease(&lease(&format!("l{i:03}"), 10))
                .await
                .unwrap();
        }
    });
    let claimers: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || {
                let rt = runtime();
                let store = open(&rt, &db);
                let mut taken = Vec::new();
                loop {
                    let got = rt.block_on(store.claim_due(10, 1_000, 7)).unwrap();
                    if got.is_empty() {
                        return taken;
                    }
                    taken.extend(got.into_iter().map(|l| l.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.join().unwrap());
    }
    let unique: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 200, "a lease was claimed twice or lost");
    assert_eq!(unique.len(), 200);
    assert!(!rt.block_on(store.any_due(10)).unwrap());
    assert_eq!(rt.block_on(store.count_due(1_000)).unwrap(), 200);
}

#[test]
fn a_taken_pending_lease_cannot_be_activated_and_a_held_one_not_renewed() {
    let env = Env::new();
    let db = with_mount(&env);
    let rt = runtime();
    let store = open(&rt, &db);
    let act = |expires_at| Activation {
        access_key_id: "AK",
        attached: &[],
        expires_at,
    };
    rt.block_on(async {
        let mut pending = lease("p", 100);
        pending.owner = Some("me".into());
        store.insert_lease(&pending).await.unwrap();
        assert!(
            !store
                .activate_if_owned("p", Some("other"), &act(50))
                .await
                .unwrap()
        );
        store.take_pending("p").await.unwrap();
        assert!(
            !store
                .activate_if_owned("p", Some("me"), &act(50))
                .await
                .unwrap()
        );
        assert_eq!(
            store.lease("p").await.unwrap().unwrap().state,
            LeaseState::Pending
        );

        store.insert_lease(&lease("a", 100)).await.unwrap();
        assert!(store.activate_if_owned("a", None, &act(50)).await.unwrap());
        // Read as pending by a sweep, then activated by its issuer, which exited: the sweep's
        // verdict "issuer gone" no longer makes it due.
        store.make_due("a", 5).await.unwrap();
        assert_eq!(store.lease("a").await.unwrap().unwrap().due_at, 50);
        assert!(store.renew_lease("a", 10, 60).await.unwrap());
        // Held by a sweep: not renewed.
        assert_eq!(store.claim_prefix("a", 500).await.unwrap().len(), 1);
        assert!(!store.renew_lease("a", 10, 70).await.unwrap());
        // Backing off after a failure: not renewed either.
        store.record_failure("a", "boom", 400).await.unwrap();
        assert!(!store.renew_lease("a", 10, 70).await.unwrap());
        let a = store.lease("a").await.unwrap().unwrap();
        assert_eq!((a.attempts, a.due_at, a.expires_at), (1, 400, 60));
        assert_eq!(a.last_error.as_deref(), Some("boom"));
    });
}

#[test]
fn an_issuer_is_alive_to_itself_and_to_others_until_its_store_is_gone() {
    let env = Env::new();
    let db = with_mount(&env);
    let rt = runtime();
    let issuer = open(&rt, &db);
    let other = open(&rt, &db);
    let token = rt
        .block_on(issuer.issuer_token())
        .unwrap()
        .expect("a token");
    assert_eq!(
        rt.block_on(issuer.issuer_token()).unwrap().as_deref(),
        Some(token.as_str())
    );
    assert!(!rt.block_on(issuer.issuer_gone(&token)), "gone to itself");
    assert!(!rt.block_on(other.issuer_gone(&token)), "gone to another");
    assert!(rt.block_on(other.issuer_gone("a-token-nobody-took")));
    drop(issuer);
    // The server notices a closed connection at once, but give it a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !rt.block_on(other.issuer_gone(&token)) {
        assert!(std::time::Instant::now() < deadline, "still alive");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Eight processes opening a new database at once: each migrates or waits for the one that
/// does, and all succeed.
#[test]
fn many_processes_opening_a_new_database_at_once_all_succeed() {
    let env = Env::new();
    let spawned: Vec<_> = (0..8)
        .map(|_| {
            env.command(["mounts"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in spawned {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !stderr.contains("error"),
            "{stderr}"
        );
    }
    env.run(["mount", "aws"]).ok();
}

#[test]
fn a_database_of_a_newer_schema_is_refused_in_one_line() {
    if !postgres() {
        return eprintln!("PostgreSQL only: SQLite's is in src/store/sqlite/tests.rs");
    }
    let env = Env::new();
    env.run(["mount", "aws"]).ok();
    let db = env.db.display().to_string();
    postgres_sql(&db, "UPDATE awscreds_schema SET version = 99");
    // The number this awscreds knows changes with every migration; the rest of the line not.
    let run = env.run(["mounts"]).fails(1).stderr_any();
    let line = run.stderr.trim_end();
    assert!(
        line.starts_with(
            "error: database holds an unreadable schema: version 99 is newer than this awscreds \
             knows ("
        ) && line.ends_with("); upgrade awscreds")
            && run.stderr.lines().count() == 1,
        "{run:#?}"
    );
}

#[test]
fn the_password_comes_from_the_url_or_pgpassword_and_is_never_shown() {
    if !postgres() {
        return eprintln!("PostgreSQL only: URLs and passwords");
    }
    let env = Env::new();
    let url = env.db.display().to_string();
    let (scheme, rest) = url.split_once("://").unwrap();
    let (userinfo, host) = rest.split_once('@').unwrap();
    let (user, password) = userinfo.split_once(':').unwrap();
    let without = format!("postgresql://{user}@{host}");
    env.run(["--db", &without, "mount", "aws"])
        .fails(1)
        .stderr_has("password missing");
    let with_var = Env::new().with_var("PGPASSWORD", password);
    with_var.run(["--db", &without, "mount", "aws"]).ok();
    with_var
        .run(["--db", &without, "mounts"])
        .ok()
        .stdout_has("aws/");

    let wrong = format!("{scheme}://{user}:Wr0ng%40pass@{host}");
    let run = env.run(["--db", &wrong, "mounts"]).fails(1).stderr_any();
    assert!(!run.stderr.contains("Wr0ng"), "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(
        run.stderr.contains("password authentication failed"),
        "{run:#?}"
    );

    let port = dead_endpoint().rsplit(':').next().unwrap().to_string();
    let dead = format!("postgres://{user}:s3cret@127.0.0.1:{port}/x?sslmode=disable");
    let run = env.run(["--db", &dead, "mounts"]).fails(1).stderr_any();
    assert!(!run.stderr.contains("s3cret"), "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(run.stderr.contains("refused"), "{run:#?}");
}

/// Secrets are sealed before they reach the store: after a CHECKPOINT, no file of the server
/// (tables, WAL, catalogs, of every database) holds the root secret key in the clear.
#[test]
fn no_file_of_the_postgres_server_holds_a_root_secret_key() {
    if !postgres() {
        return eprintln!("PostgreSQL only: SQLite's files are checked by every test's Env");
    }
    let env = Env::with_roles(&["pg_raw"]);
    env.issue("aws/creds/pg_raw");
    env.run(["write", "aws/config/root", "region=us-west-2"])
        .ok();
    let Some(files) = postgres_files(None) else {
        return;
    };
    assert!(files.len() > 100, "{} files", files.len());
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !bytes
                .windows(SEED_SECRET_KEY.len())
                .any(|w| w == SEED_SECRET_KEY.as_bytes()),
            "{} holds the root secret key in the clear",
            file.display()
        );
    }
}

/// A server that is not listening yet (starting up, say) is waited for, briefly: awscreds
/// started before it still gets through once it listens.
#[test]
fn connecting_waits_briefly_for_a_server_that_is_starting() {
    if !postgres() {
        return eprintln!("PostgreSQL only: connecting to a server");
    }
    let env = Env::new();
    let url = env.db.display().to_string();
    let (userinfo, rest) = url.rsplit_once('@').unwrap();
    let (server, path) = rest.split_once('/').unwrap();
    // A port of the test's own, bound but not listening (connections are refused) until the
    // server "starts" on it.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    let late = format!("{userinfo}@127.0.0.1:{port}/{path}");
    let child = env
        .command(["--db", &late, "mount", "aws"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    // Now "the server" listens: a plain relay to the real one.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(async { socket.listen(16).unwrap().into_std() })
        .unwrap();
    listener.set_nonblocking(false).unwrap();
    let server = server.to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let upstream = std::net::TcpStream::connect(&server).unwrap();
            for (mut from, mut to) in [
                (conn.try_clone().unwrap(), upstream.try_clone().unwrap()),
                (upstream, conn),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.run(["mounts"]).ok().stdout_has("aws/");
}

#[test]
fn a_named_value_is_kept_replaced_and_absent_until_set() {
    let env = Env::new();
    let db = with_mount(&env);
    let rt = runtime();
    let store = open(&rt, &db);
    rt.block_on(async {
        assert_eq!(store.meta_value("last_sweep").await.unwrap(), None);
        store.set_meta_value("last_sweep", "one").await.unwrap();
        store.set_meta_value("last_sweep", "two").await.unwrap();
        assert_eq!(
            store.meta_value("last_sweep").await.unwrap().as_deref(),
            Some("two")
        );
    });
    // Another process sees it.
    let other = open(&rt, &db);
    assert_eq!(
        rt.block_on(other.meta_value("last_sweep"))
            .unwrap()
            .as_deref(),
        Some("two")
    );
}

/// Eight issuers at once, each with its own connection, against a role cap of 5 and a mount cap
/// of 8: the count and the insert are one step, so neither cap is overshot, and every refusal
/// names the cap that refused it.
#[test]
fn capped_inserts_from_many_connections_at_once_never_overshoot() {
    let env = Env::new();
    let db = with_mount(&env);
    let issuers: Vec<_> = (0..8)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                let rt = runtime();
                let store = open(&rt, &db);
                let mut refused = Vec::new();
                for i in 0..6 {
                    let role = if i % 2 == 0 { "capped" } else { "free" };
                    let mut l = lease(&format!("aws/creds/{role}/{t}-{i}"), 100);
                    l.role = role.into();
                    let cap = if role == "capped" { 5 } else { 0 };
                    if let Some(hit) = rt.block_on(store.insert_lease_capped(&l, cap, 8)).unwrap() {
                        refused.push(hit);
                    }
                }
                refused
            })
        })
        .collect();
    let refused: Vec<store::CapReached> = issuers
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let rt = runtime();
    let store = open(&rt, &db);
    let capped = rt
        .block_on(store.count_leases("aws", Some("capped")))
        .unwrap();
    let all = rt.block_on(store.count_leases("aws", None)).unwrap();
    assert!(capped <= 5, "{capped} leases of a role capped at 5");
    assert_eq!(all, 8, "the mount's cap of 8 is reached exactly");
    assert_eq!(refused.len(), 48 - 8);
    for hit in &refused {
        assert!(hit.count >= hit.cap, "{hit:?}");
        match hit.scope {
            store::CapScope::Role => assert_eq!((hit.cap, hit.count), (5, 5)),
            store::CapScope::Mount => assert_eq!((hit.cap, hit.count), (8, 8)),
        }
    }
    // No cap at all: a plain insert.
    let mut free = lease("aws/creds/free/uncapped", 100);
    free.role = "free".into();
    assert_eq!(
        rt.block_on(store.insert_lease_capped(&free, 0, 0)).unwrap(),
        None
    );
    assert_eq!(rt.block_on(store.count_leases("aws", None)).unwrap(), 9);
}

/// What `status` and `sweep --dry-run` read: counts per mount and role from the database, and
/// the due leases without claiming them.
#[test]
fn lease_stats_count_per_role_and_due_leases_are_not_claimed() {
    let env = Env::new();
    let db = with_mount(&env);
    let rt = runtime();
    let store = open(&rt, &db);
    let act = |expires_at| Activation {
        access_key_id: "AK",
        attached: &[],
        expires_at,
    };
    rt.block_on(async {
        for (id, role) in [("b1", "b"), ("b2", "b"), ("b3", "b"), ("a1", "a")] {
            let mut l = lease(id, 1_000);
            l.role = role.into();
            l.issued_at = 10;
            store.insert_lease(&l).await.unwrap();
        }
        // b1 active, expired at 50; b2 active until 500, failing twice; b3 pending; a1 active.
        store.activate_if_owned("b1", None, &act(50)).await.unwrap();
        store
            .activate_if_owned("b2", None, &act(500))
            .await
            .unwrap();
        store
            .activate_if_owned("a1", None, &act(700))
            .await
            .unwrap();
        store.record_failure("b2", "first", 90).await.unwrap();
        store.record_failure("b2", "denied", 95).await.unwrap();
        store.record_failure("b3", "lost", 2_000).await.unwrap();

        let stats = store.lease_stats(100).await.unwrap();
        let roles: Vec<(&str, &str)> = stats
            .iter()
            .map(|s| (s.mount.as_str(), s.role.as_str()))
            .collect();
        assert_eq!(roles, [("aws", "a"), ("aws", "b")]);
        let b = &stats[1];
        assert_eq!(
            (b.live, b.pending, b.failing, b.expired, b.next_expiry),
            (3, 1, 2, 1, Some(50))
        );
        let oldest = b.oldest_failing.clone().expect("a failing lease");
        // Both failing leases were issued at 10: the first by id.
        assert_eq!(oldest.id, "b2");
        assert_eq!((oldest.attempts, oldest.due_at), (2, 95));
        assert_eq!(oldest.last_error.as_deref(), Some("denied"));
        assert_eq!(stats[0].oldest_failing, None);
        assert_eq!((stats[0].live, stats[0].failing), (1, 0));

        let due: Vec<String> = store
            .due_leases(100)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.id)
            .collect();
        assert_eq!(due, ["b1", "b2"]);
        // Looking claimed nothing: a sweep still takes both.
        assert_eq!(store.claim_due(100, 1_000, 10).await.unwrap().len(), 2);

        // The counts follow deletes and changes of state too.
        store.delete_lease("b1").await.unwrap();
        store.delete_lease("b3").await.unwrap();
        let stats = store.lease_stats(100).await.unwrap();
        let b = &stats[1];
        assert_eq!(
            (b.live, b.pending, b.failing, b.expired, b.next_expiry),
            (1, 0, 1, 0, Some(500))
        );
        assert_eq!(store.count_leases("aws", Some("b")).await.unwrap(), 1);
        assert_eq!(store.count_leases("aws", None).await.unwrap(), 2);
        store.delete_lease("a1").await.unwrap();
        let roles: Vec<String> = store
            .lease_stats(100)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.role)
            .collect();
        assert_eq!(roles, ["b"], "a role without leases is not listed");
        assert_eq!(store.count_leases("aws", Some("a")).await.unwrap(), 0);
        assert_eq!(store.count_leases("nowhere", None).await.unwrap(), 0);
    });
}

#[test]
fn user_paths_are_kept_once_each_in_order() {
    let env = Env::new();
    let db = with_mount(&env);
    let rt = runtime();
    let store = open(&rt, &db);
    rt.block_on(async {
        assert!(store.user_paths().await.unwrap().is_empty());
        for path in ["/team/x/", "/awscreds/", "/team/x/", "/a/"] {
            store.record_user_path(path).await.unwrap();
        }
        assert_eq!(
            store.user_paths().await.unwrap(),
            ["/a/", "/awscreds/", "/team/x/"]
        );
    });
    // Another process sees them.
    let other = open(&rt, &db);
    assert_eq!(rt.block_on(other.user_paths()).unwrap().len(), 3);
}

#[test]
fn a_named_lock_let_go_of_can_be_taken_by_another_process() {
    let env = Env::new();
    let db = with_mount(&env);
    let rt = runtime();
    let store = open(&rt, &db);
    rt.block_on(store.hold_lock("rotate-root:aws")).unwrap();
    rt.block_on(store.release_lock("rotate-root:aws")).unwrap();
    // Another store (on PostgreSQL another session) takes it while this one is still open.
    let (done, taken) = std::sync::mpsc::channel();
    let other_db = db.clone();
    std::thread::spawn(move || {
        let rt = runtime();
        let other = open(&rt, &other_db);
        rt.block_on(other.hold_lock("rotate-root:aws")).unwrap();
        rt.block_on(other.release_lock("rotate-root:aws")).unwrap();
        done.send(()).unwrap();
    });
    taken
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the lock was let go of");
    // Letting go of a lock not held is nothing.
    rt.block_on(store.release_lock("never-taken")).unwrap();
    rt.block_on(store.hold_lock("rotate-root:aws")).unwrap();
}
