//! `awscreds tidy [--delete]`: the IAM users this database created (path /awscreds/, tag
//! awscreds:db = its id) that no lease knows. IAM is shared by every test, but tidy only reports
//! users tagged with its own database's id, so each test sees only its own.

use crate::proxy::{Fault, Proxy};
use crate::support::*;

/// This database's id, as the tag `awscreds:db` carries it.
fn db_id(env: &Env) -> String {
    env.state().db_id()
}

/// A name no other test uses, in the shape awscreds gives its users.
fn unique_name(role: &str) -> String {
    let random: String = uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
    format!(
        "awscreds-{role}-{}-{random}",
        chrono::Utc::now().format("%Y%m%d%H%M%S")
    )
}

/// Creates an IAM user with an access key, behind awscreds' back.
fn create_user(iam: &Iam, name: &str, path: &str, tags: &[(&str, &str)]) {
    let tags: Vec<aws_sdk_iam::types::Tag> = tags
        .iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .unwrap()
        })
        .collect();
    let name = name.to_string();
    let path = path.to_string();
    iam.call(|c| {
        let c = c.clone();
        async move {
            c.create_user()
                .user_name(&name)
                .path(&path)
                .set_tags(Some(tags))
                .send()
                .await
                .unwrap();
            c.create_access_key().user_name(&name).send().await.unwrap();
        }
    });
}

/// The rows of tidy's table (header checked and dropped).
fn tidy_rows(run: &Run) -> Vec<Vec<String>> {
    run.rows(&["Mount", "IAM user", "Status"])
}

#[track_caller]
fn nothing_to_tidy(env: &Env, args: &[&str]) {
    let mut cmd = vec!["tidy"];
    cmd.extend_from_slice(args);
    let run = env
        .run(&cmd)
        .ok()
        .stdout_is("No IAM users without a lease\n");
    assert!(run.stderr.is_empty(), "{run:#?}");
}

#[test]
fn tidy_on_a_clean_database_reports_and_deletes_nothing() {
    let env = Env::with_roles(&["td_clean"]);
    let iam = Iam::new();
    let (id, key) = env.issue("aws/creds/td_clean");
    let before = (env.dump(), iam.users_of_role("td_clean"));
    assert_eq!(before.1.len(), 1);
    assert_eq!(before.1[0].keys, [key]);
    assert_eq!(before.1[0].tags.get("awscreds:db"), Some(&db_id(&env)));

    nothing_to_tidy(&env, &[]);
    nothing_to_tidy(&env, &["--delete"]);
    let run = env.run(["tidy", "--format", "json"]).ok();
    assert_eq!(run.json(), serde_json::json!([]), "{run:#?}");
    assert!(run.stderr.is_empty(), "{run:#?}");
    let run = env.run(["tidy", "--delete", "--format", "json"]).ok();
    assert_eq!(run.json(), serde_json::json!([]), "{run:#?}");

    // The leased user is not an orphan: it is still there, and so is its lease.
    assert_eq!((env.dump(), iam.users_of_role("td_clean")), before);
    assert_eq!(env.leases()[0].id, id);

    // A database without leases at all, and one without even a mount.
    nothing_to_tidy(&Env::configured(), &[]);
    nothing_to_tidy(&Env::new(), &["--delete"]);
}

#[test]
fn tidy_lists_a_user_whose_lease_was_lost_and_delete_removes_it() {
    let env = Env::with_roles(&["td_lost"]);
    let iam = Iam::new();
    let (lost, _) = env.issue("aws/creds/td_lost");
    let (kept, kept_key) = env.issue("aws/creds/td_lost");
    let lost_user = env.lose_lease(&lost);
    let kept_row = env.leases().into_iter().find(|l| l.id == kept).unwrap();
    assert_eq!(iam.users_of_role("td_lost").len(), 2);

    // Listing: the orphan alone, a hint, and nothing deleted.
    let run = env
        .run(["tidy"])
        .ok()
        .stderr_is("hint: awscreds tidy --delete deletes them\n");
    assert_eq!(
        tidy_rows(&run),
        [vec![
            "aws".to_string(),
            lost_user.clone(),
            "no lease".to_string()
        ]],
        "{run:#?}"
    );
    assert!(iam.user(&lost_user).is_some(), "listing deletes nothing");

    let run = env
        .run(["tidy", "-format=json"])
        .ok()
        .stderr_is("hint: awscreds tidy --delete deletes them\n");
    assert_eq!(
        run.json(),
        serde_json::json!([{"mount": "aws", "iam_user": lost_user, "status": "no lease"}]),
        "{run:#?}"
    );
    assert!(iam.user(&lost_user).is_some());

    // Deleting: the orphan goes, with its key and policy; the leased user stays.
    let run = env.run(["tidy", "--delete"]).ok();
    assert_eq!(
        tidy_rows(&run),
        [vec![
            "aws".to_string(),
            lost_user.clone(),
            "deleted".to_string()
        ]],
        "{run:#?}"
    );
    assert!(run.stderr.is_empty(), "no hint once deleted: {run:#?}");
    assert_eq!(iam.user(&lost_user), None);
    let users = iam.users_of_role("td_lost");
    assert_eq!(users.len(), 1, "{users:#?}");
    assert_eq!(users[0].name, kept_row.iam_user);
    assert_eq!(users[0].keys, [kept_key]);
    assert_eq!(env.leases(), [kept_row]);

    // Tidy again: nothing left.
    nothing_to_tidy(&env, &[]);
}

#[test]
fn tidy_delete_as_json_reports_what_it_deleted() {
    let env = Env::with_roles(&["td_json"]);
    let iam = Iam::new();
    let (a, _) = env.issue("aws/creds/td_json");
    let (b, _) = env.issue("aws/creds/td_json");
    let mut lost = [env.lose_lease(&a), env.lose_lease(&b)];
    lost.sort();

    let run = env.run(["tidy", "--delete", "--format", "json"]).ok();
    assert!(run.stderr.is_empty(), "{run:#?}");
    let mut got: Vec<serde_json::Value> = run.json().as_array().unwrap().clone();
    got.sort_by_key(|o| o["iam_user"].as_str().unwrap().to_string());
    assert_eq!(
        got,
        lost.iter()
            .map(|u| serde_json::json!({"mount": "aws", "iam_user": u, "status": "deleted"}))
            .collect::<Vec<_>>(),
        "{run:#?}"
    );
    assert!(iam.users_of_role("td_json").is_empty());
    assert!(env.leases().is_empty());
}

#[test]
fn a_user_of_another_database_is_never_listed_nor_deleted() {
    let iam = Iam::new();
    let ours = Env::with_roles(&["td_mine"]);
    let theirs = Env::with_roles(&["td_theirs"]);
    assert_ne!(db_id(&ours), db_id(&theirs));

    // The other database issues, then loses its lease: an orphan, but not ours.
    let (id, key) = theirs.issue("aws/creds/td_theirs");
    let their_user = theirs.lose_lease(&id);
    // And a user made by hand in our path, with a made-up database id.
    let forged = unique_name("td_forged");
    create_user(
        &iam,
        &forged,
        "/awscreds/",
        &[
            ("awscreds:db", "0123456789abcdef0123456789abcdef"),
            ("awscreds:lease-id", "aws/creds/td_forged/x"),
        ],
    );
    // Ours has an orphan of its own, so that tidy --delete has work to do.
    let (mine, _) = ours.issue("aws/creds/td_mine");
    let my_user = ours.lose_lease(&mine);

    let run = ours
        .run(["tidy"])
        .ok()
        .stderr_is("hint: awscreds tidy --delete deletes them\n");
    assert_eq!(
        tidy_rows(&run),
        [vec![
            "aws".to_string(),
            my_user.clone(),
            "no lease".to_string()
        ]],
        "only our own orphan: {run:#?}"
    );
    let run = ours.run(["tidy", "--delete", "--format", "json"]).ok();
    assert_eq!(
        run.json(),
        serde_json::json!([{"mount": "aws", "iam_user": my_user, "status": "deleted"}]),
        "{run:#?}"
    );
    assert_eq!(iam.user(&my_user), None);
    let theirs_left = iam
        .user(&their_user)
        .expect("the other database's user is kept");
    assert_eq!(theirs_left.keys, [key]);
    assert_eq!(
        iam.user(&forged)
            .expect("the forged user is kept")
            .keys
            .len(),
        1
    );
    nothing_to_tidy(&ours, &["--delete"]);

    // The other database sees its own orphan (and not the forged one), and deletes it.
    let run = theirs.run(["tidy", "--delete"]).ok();
    assert_eq!(
        tidy_rows(&run),
        [vec![
            "aws".to_string(),
            their_user.clone(),
            "deleted".to_string()
        ]],
        "{run:#?}"
    );
    assert_eq!(iam.user(&their_user), None);
    assert!(iam.user(&forged).is_some());

    iam.delete_user(&forged);
}

#[test]
fn a_user_outside_the_awscreds_path_is_ignored() {
    let env = Env::with_roles(&["td_outside"]);
    let iam = Iam::new();
    let id = db_id(&env);
    // Tagged as ours in every way, but not under /awscreds/.
    let outside: Vec<String> = ["/", "/other/", "/awscredsx/"]
        .iter()
        .map(|path| {
            let name = unique_name("td_outside");
            create_user(
                &iam,
                &name,
                path,
                &[
                    ("awscreds:db", id.as_str()),
                    ("awscreds:lease-id", "aws/creds/td_outside/x"),
                ],
            );
            name
        })
        .collect();

    nothing_to_tidy(&env, &[]);
    nothing_to_tidy(&env, &["--delete"]);
    for name in &outside {
        let user = iam.user(name).expect("left alone");
        assert_eq!(user.keys.len(), 1);
    }

    // The same user under /awscreds/ is found: the path is what made the difference.
    let inside = unique_name("td_outside");
    create_user(&iam, &inside, "/awscreds/", &[("awscreds:db", id.as_str())]);
    let run = env.run(["tidy", "--delete"]).ok();
    assert_eq!(
        tidy_rows(&run),
        [vec![
            "aws".to_string(),
            inside.clone(),
            "deleted".to_string()
        ]],
        "{run:#?}"
    );
    assert_eq!(iam.user(&inside), None);

    for name in &outside {
        assert!(iam.user(name).is_some());
        iam.delete_user(name);
    }
}

#[test]
fn a_mount_without_root_configuration_is_skipped_with_a_warning() {
    let env = Env::with_roles(&["td_skip"]);
    env.run(["mount", "aws", "--path", "bare"]).ok();
    let (id, _) = env.issue("aws/creds/td_skip");
    let lost = env.lose_lease(&id);

    let run = env
        .run(["tidy", "--delete"])
        .ok()
        .warns("bare/config/root is not configured; skipped");
    assert!(
        run.stderr
            .contains("warning: bare/config/root is not configured; skipped"),
        "{run:#?}"
    );
    assert_eq!(
        tidy_rows(&run),
        [vec!["aws".to_string(), lost.clone(), "deleted".to_string()]],
        "the configured mount is still tidied: {run:#?}"
    );
    assert_eq!(Iam::new().user(&lost), None);
}

#[test]
fn tidy_that_cannot_list_users_fails_with_exit_2() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["td_nolist"]);
    let (id, _) = env.issue("aws/creds/td_nolist");
    let lost = env.lose_lease(&id);
    proxy.fault("ListUsers", Fault::Error(403, "AccessDenied"), None);

    let run = env.run(["tidy", "--delete"]).fails(2).stderr_any();
    assert!(run.stdout.is_empty(), "{run:#?}");
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: listing IAM users for aws") && first.contains("AccessDenied"),
        "{run:#?}"
    );
    assert!(run.stderr.lines().count() <= 2, "{run:#?}");
    assert!(Iam::new().user(&lost).is_some(), "nothing deleted");

    proxy.clear("ListUsers");
    env.run(["tidy", "--delete"]).ok().stdout_has(&lost);
    assert_eq!(Iam::new().user(&lost), None);
}

#[test]
fn tidy_delete_that_aws_refuses_reports_it_and_exits_2() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["td_nodelete"]);
    let iam = Iam::new();
    let (id, _) = env.issue("aws/creds/td_nodelete");
    let lost = env.lose_lease(&id);
    proxy.fault("DeleteUser", Fault::Error(403, "AccessDenied"), None);

    let run = env.run(["tidy", "--delete", "--format", "json"]).fails(2);
    let json = run.json();
    assert_eq!(json.as_array().unwrap().len(), 1, "{run:#?}");
    assert_eq!(json[0]["iam_user"], lost.as_str());
    let status = json[0]["status"].as_str().unwrap();
    assert!(
        status.starts_with("delete failed: ") && status.contains("AccessDenied"),
        "{run:#?}"
    );
    assert!(iam.user(&lost).is_some(), "the user is still there");

    let run = env.run(["tidy", "--delete"]).fails(2);
    let rows = tidy_rows(&run);
    assert_eq!(rows.len(), 1, "{run:#?}");
    assert_eq!(rows[0][..2], ["aws".to_string(), lost.clone()]);
    assert!(rows[0][2].starts_with("delete failed: "), "{run:#?}");

    proxy.clear("DeleteUser");
    let run = env.run(["tidy", "--delete"]).ok();
    assert_eq!(
        tidy_rows(&run),
        [vec!["aws".to_string(), lost.clone(), "deleted".to_string()]],
        "{run:#?}"
    );
    assert_eq!(iam.user(&lost), None);
}

#[test]
fn tidy_looks_under_the_path_of_a_role_that_is_gone() {
    let env = Env::configured();
    let iam = Iam::new();
    let policy = env.file("policy.json", SEED_POLICY);
    env.run([
        "write",
        "aws/roles/td_gone",
        &format!("policy=@{policy}"),
        "user_path=/team/x/",
    ])
    .ok();
    let (id, _) = env.issue("aws/creds/td_gone");
    let lost = env.lose_lease(&id);
    assert_eq!(iam.user(&lost).unwrap().path, "/team/x/");
    env.run(["delete", "aws/roles/td_gone"]).ok();

    let run = env
        .run(["tidy"])
        .ok()
        .stderr_is("hint: awscreds tidy --delete deletes them\n");
    assert_eq!(
        tidy_rows(&run),
        [vec![
            "aws".to_string(),
            lost.clone(),
            "no lease".to_string()
        ]],
        "{run:#?}"
    );
    let run = env.run(["tidy", "--delete"]).ok();
    assert_eq!(
        tidy_rows(&run),
        [vec!["aws".to_string(), lost.clone(), "deleted".to_string()]],
        "{run:#?}"
    );
    assert_eq!(iam.user(&lost), None);
    nothing_to_tidy(&env, &[]);
}

/// An IAM emulator of the test's own, for a test that looks at every user of the account
/// (`--all-databases`): the shared one holds the users of every other test.
struct Emulator {
    child: std::process::Child,
    url: String,
}

impl Emulator {
    /// On a free port. The port is freed before moto binds it, and another test's server may
    /// be given it meanwhile: moto then fails to bind and exits, and is started again on
    /// another. Ready once moto itself says it listens (werkzeug's "Running on" line, printed
    /// after its bind), not when something answers on the port.
    fn start() -> Emulator {
        use std::io::BufRead;
        let program = format!("{}/.venv/bin/moto_server", env!("CARGO_MANIFEST_DIR"));
        loop {
            let port = {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                listener.local_addr().unwrap().port()
            };
            let mut child = std::process::Command::new(&program)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("moto_server runs (scripts/with-moto installs it)");
            let (ready, listening) = std::sync::mpsc::channel();
            let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
            std::thread::spawn(move || {
                // Read to the end: moto logs every request there, and a full pipe would stop it.
                for line in stderr.lines().map_while(Result::ok) {
                    if line.contains("Running on") {
                        let _ = ready.send(());
                    }
                }
            });
            let url = format!("http://127.0.0.1:{port}");
            let emulator = Emulator { child, url };
            // The sender goes when moto exits (its stderr closes) without having said it listens.
            if listening
                .recv_timeout(std::time::Duration::from_secs(60))
                .is_ok()
            {
                return emulator;
            }
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The rows of `tidy --expired`'s table (header checked and dropped).
fn expired_rows(run: &Run) -> Vec<Vec<String>> {
    run.rows(&["Mount", "IAM user", "Database", "Expired at", "Status"])
}

#[test]
fn tidy_expired_deletes_users_that_outlived_their_database_after_their_deadline_only() {
    let emulator = Emulator::start();
    let iam = Iam::at(&emulator.url);

    // A cron host's database, with an expired user of its own that no lease knows (below).
    let cron = Env::at(&emulator.url, &["td_cron"]);
    let ci = Env::at(&emulator.url, &["td_ci"]);
    for env in [&cron, &ci] {
        // Time for the steps below before the deadline, on a loaded machine too.
        env.run(["write", "aws/config/lease", "lease=20s", "lease_max=20s"])
            .ok();
    }
    let ci_db = db_id(&ci);
    // Users it must never touch: one without any awscreds tag, one of an awscreds without the
    // deadline tag, one whose deadline is still to come.
    let untagged = unique_name("td_hand");
    create_user(&iam, &untagged, "/awscreds/", &[]);
    let no_deadline = unique_name("td_old");
    create_user(&iam, &no_deadline, "/", &[("awscreds:db", &ci_db)]);
    let future = unique_name("td_future");
    create_user(
        &iam,
        &future,
        "/ci/",
        &[
            ("awscreds:db", &ci_db),
            ("awscreds:expires-at", "2099-01-01T00:00:00Z"),
        ],
    );

    // The cron host's own lost user, then the CI machine's database issues with a short
    // lease_max and dies with its machine.
    let (own_id, _) = cron.issue("aws/creds/td_cron");
    let own = cron.lose_lease(&own_id);
    let (id, key) = ci.issue("aws/creds/td_ci");
    let lease = ci.state().lease(&id).unwrap();
    let user = iam.user(&lease.iam_user).unwrap();
    let deadline = chrono::DateTime::from_timestamp(lease.max_expires_at, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(user.tags.get("awscreds:expires-at"), Some(&deadline));
    assert_eq!(lease.max_expires_at, lease.issued_at + 20);
    drop(ci); // the database is gone, file and all

    // Before the deadline nothing is deleted.
    cron.run(["tidy", "--expired", "--all-databases", "--delete"])
        .ok()
        .stdout_is("No expired IAM users\n");
    cron.run(["tidy", "--expired"])
        .ok()
        .stdout_is("No expired IAM users\n");
    assert_eq!(iam.user(&lease.iam_user).unwrap().keys, [key]);
    assert!(iam.user(&own).is_some());

    // After it, only with --all-databases.
    let wait = lease.max_expires_at + 1 - chrono::Utc::now().timestamp();
    assert!(wait >= 0, "the deadline passed before it was checked");
    std::thread::sleep(std::time::Duration::from_millis(wait as u64 * 1000 + 100));
    let run = cron
        .run(["tidy", "--expired"])
        .ok()
        .stderr_is("hint: awscreds tidy --expired --delete deletes them\n");
    let rows = expired_rows(&run);
    assert_eq!(rows.len(), 1, "{run:#?}");
    assert_eq!(rows[0][1], own, "only its own: {run:#?}");
    assert_eq!(rows[0][4], "expired");

    let run = cron
        .run(["tidy", "--expired", "--all-databases", "-format=json"])
        .ok()
        .stderr_is("hint: awscreds tidy --expired --all-databases --delete deletes them\n");
    let mut found: Vec<serde_json::Value> = run.json().as_array().unwrap().clone();
    found.sort_by_key(|u| u["iam_user"].as_str().unwrap().to_string());
    let mut want = vec![
        serde_json::json!({"mount": "aws", "iam_user": lease.iam_user, "db": ci_db,
            "expires_at": deadline, "status": "expired"}),
        serde_json::json!({"mount": "aws", "iam_user": own, "db": db_id(&cron),
            "expires_at": found.iter().find(|u| u["iam_user"] == own.as_str())
                .map(|u| u["expires_at"].clone()).unwrap(), "status": "expired"}),
    ];
    want.sort_by_key(|u| u["iam_user"].as_str().unwrap().to_string());
    assert_eq!(found, want, "{run:#?}");
    assert!(
        iam.user(&lease.iam_user).is_some(),
        "listing deletes nothing"
    );

    let run = cron
        .run(["tidy", "--expired", "--all-databases", "--delete"])
        .ok();
    let mut deleted: Vec<(String, String)> = expired_rows(&run)
        .into_iter()
        .map(|r| (r[1].clone(), r[4].clone()))
        .collect();
    deleted.sort();
    let mut want = vec![
        (lease.iam_user.clone(), "deleted".to_string()),
        (own.clone(), "deleted".to_string()),
    ];
    want.sort();
    assert_eq!(deleted, want, "{run:#?}");
    assert_eq!(iam.user(&lease.iam_user), None);
    assert_eq!(iam.user(&own), None);
    for name in [&untagged, &no_deadline, &future] {
        assert_eq!(iam.user(name).expect("left alone").keys.len(), 1, "{name}");
    }
    cron.run(["tidy", "--expired", "--all-databases", "--delete"])
        .ok()
        .stdout_is("No expired IAM users\n");
}
