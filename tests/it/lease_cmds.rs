//! `awscreds lease list|lookup|renew|revoke`: what they print and exit with, and what they do to
//! the database and to IAM.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::proxy::{Fault, Proxy};
use crate::support::*;

/// The times of a lease as the database holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Times {
    issued: i64,
    expires: i64,
    max_expires: i64,
    due: i64,
}

fn times(env: &Env, id: &str) -> Times {
    let lease = env.state().lease(id).expect("the lease exists");
    Times {
        issued: lease.issued_at,
        expires: lease.expires_at,
        max_expires: lease.max_expires_at,
        due: lease.due_at,
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Unix seconds as awscreds prints them (RFC 3339, UTC, whole seconds).
fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn lease_row(env: &Env, id: &str) -> LeaseRow {
    env.leases()
        .into_iter()
        .find(|l| l.id == id)
        .unwrap_or_else(|| panic!("no lease {id}"))
}

/// The data rows of `lease list` (header checked and dropped).
fn list_rows(run: &Run) -> Vec<Vec<String>> {
    run.rows(&[
        "Lease ID",
        "Role",
        "IAM user",
        "Issued",
        "Expires",
        "State",
        "Last error",
    ])
}

/// Renews `id` with `args` and checks that the expiry moved to now + `ttl` (in the database and
/// in what renew printed); returns the run.
#[track_caller]
fn renewed_to(env: &Env, id: &str, args: &[&str], ttl: i64) -> Run {
    let before = now();
    let mut cmd = vec!["lease", "renew", id];
    cmd.extend_from_slice(args);
    let run = env.run(&cmd).ok();
    let after = now();
    assert!(run.stderr.is_empty(), "{run:#?}");
    assert_eq!(
        run.table_keys(),
        ["lease_id", "lease_duration", "lease_renewable"]
    );
    let table = run.table();
    assert_eq!(table["lease_id"], id);
    let duration: i64 = table["lease_duration"].parse().unwrap();
    assert!(
        (ttl - 1..=ttl).contains(&duration),
        "lease_duration {duration}, want {ttl}: {run:#?}"
    );
    assert_eq!(table["lease_renewable"], "true");
    let t = times(env, id);
    assert!(
        (before + ttl..=after + ttl).contains(&t.expires),
        "expires_at {} not within now + {ttl} ({before}..{after}): {t:?}",
        t.expires
    );
    assert_eq!(t.due, t.expires, "revocation is due at the new expiry");
    run
}

// ---------------------------------------------------------------------------------------------
// lease list

#[test]
fn list_shows_every_lease_and_filters_by_prefix() {
    let env = Env::with_roles(&["lc_list_a", "lc_list_b"]);
    let (a1, _) = env.issue("aws/creds/lc_list_a");
    let (a2, _) = env.issue("aws/creds/lc_list_a");
    let (b1, _) = env.issue("aws/creds/lc_list_b");

    let run = env.run(["lease", "list"]).ok();
    assert!(run.stderr.is_empty(), "{run:#?}");
    let rows = list_rows(&run);
    let mut want_ids = vec![a1.clone(), a2.clone(), b1.clone()];
    want_ids.sort();
    let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, want_ids, "every lease, by id: {run:#?}");
    for row in &rows {
        let lease = lease_row(&env, &row[0]);
        let t = times(&env, &row[0]);
        let role = if row[0] == b1 {
            "lc_list_b"
        } else {
            "lc_list_a"
        };
        assert_eq!(
            row[1..],
            [
                role.to_string(),
                lease.iam_user.clone(),
                rfc3339(t.issued),
                rfc3339(t.expires),
                "active".to_string(),
            ],
            "no last error, so six cells: {run:#?}"
        );
    }

    // By prefix: only that role's leases.
    let run = env.run(["lease", "list", "aws/creds/lc_list_a"]).ok();
    let ids: Vec<String> = list_rows(&run).into_iter().map(|r| r[0].clone()).collect();
    let mut want = vec![a1.clone(), a2.clone()];
    want.sort();
    assert_eq!(ids, want, "{run:#?}");

    let run = env.run(["lease", "list", "aws/creds/lc_list_b/"]).ok();
    let ids: Vec<String> = list_rows(&run).into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, [b1.as_str()], "{run:#?}");

    // A whole lease id is a prefix too.
    let run = env.run(["lease", "list", &a2]).ok();
    let ids: Vec<String> = list_rows(&run).into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, [a2.as_str()], "{run:#?}");

    // A prefix that matches nothing is the empty list.
    env.run(["lease", "list", "aws/creds/lc_list_none"])
        .ok()
        .stdout_is("")
        .stderr_has("No leases");

    // Listing changed nothing.
    assert_eq!(env.leases().len(), 3);
}

#[test]
fn list_as_json_has_each_leases_fields() {
    let env = Env::with_roles(&["lc_listjson"]);
    let (id1, _) = env.issue("aws/creds/lc_listjson");
    let (id2, _) = env.issue("aws/creds/lc_listjson");

    let run = env.run(["lease", "list", "--format", "json"]).ok();
    assert!(run.stderr.is_empty(), "{run:#?}");
    let list = run.json();
    let list = list.as_array().expect("a JSON array");
    let mut want = vec![id1, id2];
    want.sort();
    assert_eq!(list.len(), 2, "{run:#?}");
    for (item, id) in list.iter().zip(&want) {
        let lease = lease_row(&env, id);
        let t = times(&env, id);
        assert_eq!(
            *item,
            serde_json::json!({
                "lease_id": id,
                "role": "lc_listjson",
                "iam_user": lease.iam_user,
                "issue_time": rfc3339(t.issued),
                "expire_time": rfc3339(t.expires),
                "state": "active",
                "attempts": 0,
                "last_error": null,
            }),
            "{run:#?}"
        );
    }

    // Vault's spelling, and a prefix.
    let run = env
        .run(["lease", "list", "aws/creds/lc_listjson/", "-format=json"])
        .ok();
    assert_eq!(run.json().as_array().unwrap().len(), 2, "{run:#?}");
    let run = env
        .run([
            "lease",
            "list",
            "aws/creds/lc_listjson_no",
            "--format",
            "json",
        ])
        .ok()
        .stdout_is("[]\n");
    assert!(run.stderr.is_empty(), "{run:#?}");
}

#[test]
fn list_without_leases_says_so_on_stderr() {
    let env = Env::configured();
    env.run(["lease", "list"])
        .ok()
        .stdout_is("")
        .stderr_is("No leases\n");

    let run = env.run(["lease", "list", "--format", "json"]).ok();
    assert_eq!(run.json(), serde_json::json!([]), "{run:#?}");
    assert!(run.stderr.is_empty(), "{run:#?}");

    // A database with nothing in it at all, not even a mount.
    let fresh = Env::new();
    fresh
        .run(["lease", "list"])
        .ok()
        .stdout_is("")
        .stderr_is("No leases\n");
}

// ---------------------------------------------------------------------------------------------
// lease lookup

#[test]
fn lookup_shows_what_the_database_holds_and_read_printed() {
    let env = Env::with_roles(&["lc_lookup"]);
    let iam = Iam::new();
    let read = env.run(["read", "aws/creds/lc_lookup"]).ok().table();
    let id = read["lease_id"].clone();
    let lease = lease_row(&env, &id);
    let t = times(&env, &id);
    assert_eq!(
        lease.access_key_id.as_deref(),
        Some(read["access_key"].as_str())
    );

    let before = now();
    let run = env.run(["lease", "lookup", &id]).ok();
    assert!(run.stderr.is_empty(), "{run:#?}");
    let keys: BTreeSet<String> = run.table_keys().into_iter().collect();
    let want_keys: BTreeSet<String> = [
        "id",
        "mount",
        "role",
        "credential_type",
        "iam_user",
        "access_key",
        "state",
        "issue_time",
        "expire_time",
        "max_expire_time",
        "ttl",
        "renewable",
        "attempts",
        "last_error",
        "key_wait",
    ]
    .map(String::from)
    .into();
    assert_eq!(keys, want_keys, "{run:#?}");
    let table = run.table();
    assert_eq!(table["id"], id);
    assert_eq!(table["mount"], "aws");
    assert_eq!(table["role"], "lc_lookup");
    assert_eq!(table["credential_type"], "iam_user");
    assert_eq!(table["iam_user"], lease.iam_user);
    assert_eq!(table["access_key"], read["access_key"]);
    assert_eq!(table["state"], "active");
    assert_eq!(table["issue_time"], rfc3339(t.issued));
    assert_eq!(table["expire_time"], rfc3339(t.expires));
    // The mount's defaults: lease 1h, lease_max 24h.
    assert_eq!(table["max_expire_time"], rfc3339(t.issued + 24 * 3600));
    assert!((t.expires - t.issued - 3600).abs() <= 5, "{t:?}");
    let ttl: i64 = table["ttl"].parse().unwrap();
    let lease_duration: i64 = read["lease_duration"].parse().unwrap();
    assert_eq!(lease_duration, 3600);
    assert!(
        ttl <= t.expires - before && ttl >= t.expires - now() && ttl <= 3600 && ttl > 3500,
        "ttl {ttl}: {t:?}"
    );
    assert_eq!(table["renewable"], "true");
    assert_eq!(table["attempts"], "0");
    assert_eq!(table["last_error"], "n/a");

    // The IAM user it names exists and holds exactly the key that read printed.
    let user = iam.user(&table["iam_user"]).expect("the lease's IAM user");
    assert_eq!(user.keys, [read["access_key"].clone()]);
    assert_eq!(user.tags.get("awscreds:lease-id"), Some(&id));

    // One field, for scripts: the value alone, no newline (stdout is not a terminal).
    env.run(["lease", "lookup", &id, "-field=iam_user"])
        .ok()
        .stdout_is(&lease.iam_user);
    env.run(["lease", "lookup", &id, "--field", "access_key"])
        .ok()
        .stdout_is(&read["access_key"]);

    // JSON: the lease's fields are the data; a lookup is not itself a lease.
    let json = env
        .run(["lease", "lookup", &id, "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["lease_id"], "");
    assert_eq!(json["lease_duration"], 0);
    assert_eq!(json["renewable"], false);
    let data = &json["data"];
    assert_eq!(data["id"], id.as_str());
    assert_eq!(data["credential_type"], "iam_user");
    assert_eq!(data["iam_user"], lease.iam_user.as_str());
    assert_eq!(data["access_key"], read["access_key"].as_str());
    assert_eq!(data["expire_time"], rfc3339(t.expires).as_str());
    assert_eq!(data["renewable"], true);
    assert_eq!(data["attempts"], 0);
    assert!(data["ttl"].as_i64().unwrap() > 3500, "{json:#}");

    // Looking up changed nothing.
    assert_eq!(times(&env, &id), t);
}

#[test]
fn lookup_of_an_unknown_lease_is_a_one_line_error() {
    let env = Env::with_roles(&["lc_lookup_unknown"]);
    env.issue("aws/creds/lc_lookup_unknown");
    let before = env.dump();
    let missing = "aws/creds/lc_lookup_unknown/00000000-0000-4000-8000-000000000000";
    env.run(["lease", "lookup", missing])
        .fails(1)
        .one_line_error(&format!("lease not found: {missing}"))
        .stderr_has("hint: awscreds lease list shows the leases");
    assert_eq!(env.dump(), before);

    // An unknown field of a known lease is refused the same way.
    let (id, _) = env.issue("aws/creds/lc_lookup_unknown");
    let before = env.dump();
    env.run(["lease", "lookup", &id, "-field=secret_key"])
        .fails(1)
        .one_line_error("Field \"secret_key\" not present in secret");
    assert_eq!(env.dump(), before);
}

// ---------------------------------------------------------------------------------------------
// lease renew

#[test]
fn renew_defaults_to_the_mounts_lease_and_takes_an_increment() {
    let env = Env::with_roles(&["lc_renew"]);
    env.run(["write", "aws/config/lease", "lease=10m", "lease_max=2h"])
        .ok();
    let (id, _) = env.issue("aws/creds/lc_renew");
    let issued = times(&env, &id);
    assert_eq!(issued.max_expires, issued.issued + 7200);

    // An explicit increment counts from now, so it may shorten the lease too.
    renewed_to(&env, &id, &["--increment", "1m"], 60);
    renewed_to(&env, &id, &["--increment", "90s"], 90);
    renewed_to(&env, &id, &["--increment", "1800"], 1800);
    renewed_to(&env, &id, &["--increment=1h30m"], 5400);
    // Without one: the mount's lease.
    renewed_to(&env, &id, &[], 600);

    // Renewing moved only the expiry; the lease's maximum did not move.
    let t = times(&env, &id);
    assert_eq!(
        (t.issued, t.max_expires),
        (issued.issued, issued.max_expires)
    );
    let lookup = env.run(["lease", "lookup", &id]).ok().table();
    assert_eq!(lookup["expire_time"], rfc3339(t.expires));
    assert_eq!(lookup["renewable"], "true");

    // JSON, Vault's shape.
    let json = env
        .run([
            "lease",
            "renew",
            &id,
            "--increment",
            "2m",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(json["lease_id"], id.as_str());
    assert!((119..=120).contains(&json["lease_duration"].as_i64().unwrap()));
    assert_eq!(json["renewable"], true);

    // The IAM user is untouched by renewals.
    let lease = lease_row(&env, &id);
    let user = Iam::new().user(&lease.iam_user).expect("still there");
    assert_eq!(user.keys, [lease.access_key_id.unwrap()]);
}

#[test]
fn renew_past_lease_max_is_capped_with_a_warning_then_refused() {
    let env = Env::with_roles(&["lc_renew_cap"]);
    env.run(["write", "aws/config/lease", "lease=10m", "lease_max=1h"])
        .ok();
    let (id, _) = env.issue("aws/creds/lc_renew_cap");
    let t = times(&env, &id);
    assert_eq!(t.max_expires, t.issued + 3600);

    let before = now();
    let run = env
        .run(["lease", "renew", &id, "--increment", "2h"])
        .ok()
        .warns("capped");
    let after = now();
    let warning: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(warning.len(), 1, "one warning line: {run:#?}");
    assert!(
        warning[0].starts_with("warning: ") && warning[0].contains("capped"),
        "{run:#?}"
    );
    assert!(
        warning[0].contains("\"2h\""),
        "names the increment: {run:#?}"
    );
    let table = run.table();
    assert_eq!(table["lease_id"], id);
    let duration: i64 = table["lease_duration"].parse().unwrap();
    assert!(
        (t.max_expires - after..=t.max_expires - before).contains(&duration),
        "lease_duration {duration} is what is left until the maximum: {run:#?}"
    );
    assert_eq!(table["lease_renewable"], "false");

    let capped = times(&env, &id);
    assert_eq!(
        capped.expires, t.max_expires,
        "capped at issue time + lease_max"
    );
    assert_eq!(capped.due, t.max_expires);
    let lookup = env.run(["lease", "lookup", &id]).ok().table();
    assert_eq!(lookup["expire_time"], lookup["max_expire_time"]);
    assert_eq!(lookup["renewable"], "false");

    // At its maximum: refused, with or without an increment, and nothing changes.
    let db = env.dump();
    for args in [
        vec!["lease", "renew", id.as_str()],
        vec!["lease", "renew", id.as_str(), "--increment", "1m"],
    ] {
        env.run(&args)
            .fails(1)
            .one_line_error(&format!(
                "lease {id} is already at its maximum and cannot be renewed"
            ))
            .stderr_has("hint: ");
        assert_eq!(env.dump(), db);
    }
    assert!(Iam::new().user(&lease_row(&env, &id).iam_user).is_some());
}

#[test]
fn renew_that_would_overshoot_by_default_is_capped_too() {
    // lease=40m, lease_max=1h: the first default renewal fits, the second one would not.
    let env = Env::with_roles(&["lc_renew_default_cap"]);
    env.run(["write", "aws/config/lease", "lease=40m", "lease_max=1h"])
        .ok();
    let (id, _) = env.issue("aws/creds/lc_renew_default_cap");
    let t = times(&env, &id);
    // Bring the issue time back by half an hour, as if the lease had run that long.
    env.state().change_lease(&id, |l| {
        l.issued_at -= 1800;
        l.expires_at -= 1800;
        l.max_expires_at -= 1800;
        l.due_at -= 1800;
    });
    let max = t.max_expires - 1800;

    env.run(["lease", "renew", &id])
        .ok()
        .stderr_has("warning: ")
        .stderr_has("capped");
    assert_eq!(times(&env, &id).expires, max);
}

#[test]
fn renew_of_an_unknown_lease_or_a_bad_increment_is_refused() {
    let env = Env::with_roles(&["lc_renew_bad"]);
    let (id, _) = env.issue("aws/creds/lc_renew_bad");
    let db = env.dump();
    let missing = "aws/creds/lc_renew_bad/00000000-0000-4000-8000-000000000000";
    env.run(["lease", "renew", missing])
        .fails(1)
        .one_line_error(&format!("lease not found: {missing}"));
    env.run(["lease", "renew", &id, "--increment", "1d"])
        .fails(1)
        .stderr_has("invalid duration \"1d\"");
    assert_eq!(env.dump(), db);
}

// ---------------------------------------------------------------------------------------------
// lease revoke

#[test]
fn revoke_by_id_deletes_the_iam_user_and_the_lease() {
    let env = Env::with_roles(&["lc_revoke_id"]);
    let iam = Iam::new();
    let (gone, gone_key) = env.issue("aws/creds/lc_revoke_id");
    let (kept, kept_key) = env.issue("aws/creds/lc_revoke_id");
    let gone_user = lease_row(&env, &gone).iam_user;
    let kept_row = lease_row(&env, &kept);
    assert_eq!(iam.user(&gone_user).unwrap().keys, [gone_key]);

    let run = env
        .run(["lease", "revoke", &gone])
        .ok()
        .stdout_is(&format!("Success! Revoked lease: {gone}\n"));
    assert!(run.stderr.is_empty(), "{run:#?}");

    assert_eq!(
        iam.user(&gone_user),
        None,
        "the IAM user and its key are gone"
    );
    let after = iam.users_of_role("lc_revoke_id");
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(after[0].name, kept_row.iam_user);
    assert_eq!(after[0].keys, [kept_key]);
    assert_eq!(env.leases(), [kept_row], "only the other lease is left");

    // Revoked means gone: a second revocation and a lookup find nothing.
    env.run(["lease", "revoke", &gone])
        .fails(1)
        .one_line_error(&format!("lease not found: {gone}"));
    env.run(["lease", "lookup", &gone])
        .fails(1)
        .one_line_error(&format!("lease not found: {gone}"));
}

#[test]
fn revoke_by_prefix_takes_one_roles_leases_and_spares_another_roles() {
    let env = Env::with_roles(&["lc_rp_go", "lc_rp_stay"]);
    let iam = Iam::new();
    env.issue("aws/creds/lc_rp_go");
    env.issue("aws/creds/lc_rp_go");
    env.issue("aws/creds/lc_rp_go");
    let (stay, _) = env.issue("aws/creds/lc_rp_stay");
    let stay_row = lease_row(&env, &stay);
    let stay_users = iam.users_of_role("lc_rp_stay");
    assert_eq!(iam.users_of_role("lc_rp_go").len(), 3);
    let stay_times = times(&env, &stay);

    let run = env
        .run([
            "lease",
            "revoke",
            "--prefix",
            "aws/creds/lc_rp_go",
            "--parallel",
            "2",
        ])
        .ok()
        .stdout_is("Success! Revoked any leases with prefix: aws/creds/lc_rp_go (3 leases)\n");
    assert!(run.stderr.is_empty(), "{run:#?}");

    assert!(iam.users_of_role("lc_rp_go").is_empty());
    assert_eq!(iam.users_of_role("lc_rp_stay"), stay_users);
    assert_eq!(env.leases(), [stay_row]);
    assert_eq!(
        times(&env, &stay),
        stay_times,
        "the other role's lease untouched"
    );

    // Nothing left under the prefix: success, zero leases, nothing changed.
    let db = env.dump();
    env.run(["lease", "revoke", "--prefix", "aws/creds/lc_rp_go/"])
        .ok()
        .stdout_is("Success! Revoked any leases with prefix: aws/creds/lc_rp_go/ (0 leases)\n");
    assert_eq!(env.dump(), db);
    assert_eq!(iam.users_of_role("lc_rp_stay"), stay_users);
}

#[test]
fn revoke_by_prefix_spares_a_role_whose_name_extends_it() {
    // Vault adds the trailing slash to a prefix that is not a lease id: `aws/creds/dev` means the
    // role dev, never the role dev_admin. The README says the same: "`aws/creds/deploy`: every
    // lease of that role".
    let env = Env::with_roles(&["lc_ext", "lc_ext_admin"]);
    let iam = Iam::new();
    env.issue("aws/creds/lc_ext");
    let (admin, _) = env.issue("aws/creds/lc_ext_admin");
    let admin_row = lease_row(&env, &admin);
    let admin_users = iam.users_of_role("lc_ext_admin");

    let run = env
        .run(["lease", "revoke", "--prefix", "aws/creds/lc_ext"])
        .ok();
    assert_eq!(
        env.leases(),
        [admin_row],
        "the lease of lc_ext_admin was revoked too: {run:#?}"
    );
    assert_eq!(iam.users_of_role("lc_ext_admin"), admin_users);
    assert!(iam.users_of_role("lc_ext").is_empty());
    run.stdout_is("Success! Revoked any leases with prefix: aws/creds/lc_ext (1 leases)\n");
}

#[test]
fn revoke_of_an_unknown_lease_changes_nothing() {
    let env = Env::with_roles(&["lc_revoke_unknown"]);
    let iam = Iam::new();
    env.issue("aws/creds/lc_revoke_unknown");
    let (db, users) = (env.dump(), iam.users_of_role("lc_revoke_unknown"));
    let missing = "aws/creds/lc_revoke_unknown/00000000-0000-4000-8000-000000000000";
    env.run(["lease", "revoke", missing])
        .fails(1)
        .one_line_error(&format!("lease not found: {missing}"));
    env.run(["lease", "revoke", "--force", missing])
        .fails(1)
        .one_line_error(&format!("lease not found: {missing}"));
    assert_eq!(env.dump(), db);
    assert_eq!(iam.users_of_role("lc_revoke_unknown"), users);
    assert_eq!(users.len(), 1);
}

#[test]
fn revoke_needs_an_id_or_a_prefix_and_a_sane_parallelism() {
    let env = Env::with_roles(&["lc_revoke_args"]);
    env.issue("aws/creds/lc_revoke_args");
    let db = env.dump();
    for args in [
        vec!["lease", "revoke"],
        vec!["lease", "revoke", "--force"],
        vec![
            "lease",
            "revoke",
            "--prefix",
            "aws/creds/lc_revoke_args",
            "--parallel",
            "0",
        ],
        vec![
            "lease",
            "revoke",
            "--prefix",
            "aws/creds/lc_revoke_args",
            "--parallel",
            "65",
        ],
    ] {
        let run = env.run(&args).fails(1).stderr_any();
        assert!(run.stdout.is_empty(), "{run:#?}");
        assert!(run.stderr.starts_with("error: "), "{run:#?}");
    }
    assert_eq!(env.dump(), db);
    assert_eq!(Iam::new().users_of_role("lc_revoke_args").len(), 1);
}

#[test]
fn revoke_force_forgets_the_lease_and_names_the_iam_user_left_behind() {
    let env = Env::with_roles(&["lc_force"]);
    let iam = Iam::new();
    let (id, key) = env.issue("aws/creds/lc_force");
    let (other, _) = env.issue("aws/creds/lc_force");
    let user = lease_row(&env, &id).iam_user;
    let other_row = lease_row(&env, &other);

    let run = env
        .run(["lease", "revoke", &id, "--force"])
        .ok()
        .stdout_is(&format!(
            "Success! Forgot lease (nothing done at AWS): {id}\n"
        ))
        .warns("NOT deleted");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{run:#?}");
    assert!(lines[0].starts_with("warning: "), "{run:#?}");
    assert!(lines[0].contains("NOT deleted"), "{run:#?}");
    assert!(lines[0].contains(&user), "names the user: {run:#?}");
    assert!(!lines[0].contains(&other_row.iam_user), "{run:#?}");

    assert_eq!(env.leases(), [other_row], "the lease record is gone");
    let left = iam.user(&user).expect("the IAM user was left at AWS");
    assert_eq!(left.keys, [key], "and its key still works");

    // The user is now exactly what tidy exists for; clean up with it.
    env.run(["tidy", "--delete"]).ok().stdout_has(&user);
    assert_eq!(iam.user(&user), None);
    assert_eq!(iam.users_of_role("lc_force").len(), 1);
}

#[test]
fn revoke_force_by_prefix_names_every_user_left_behind() {
    let env = Env::with_roles(&["lc_force_pfx", "lc_force_pfx_no"]);
    let iam = Iam::new();
    env.issue("aws/creds/lc_force_pfx");
    env.issue("aws/creds/lc_force_pfx");
    let (kept, _) = env.issue("aws/creds/lc_force_pfx_no");
    let kept_row = lease_row(&env, &kept);
    let users: Vec<String> = env
        .leases()
        .into_iter()
        .filter(|l| l.id != kept)
        .map(|l| l.iam_user)
        .collect();
    assert_eq!(users.len(), 2);

    let run = env
        .run([
            "lease",
            "revoke",
            "--prefix",
            "aws/creds/lc_force_pfx/",
            "--force",
        ])
        .ok()
        .stdout_is(
            "Success! Forgot any leases with prefix (nothing done at AWS): \
             aws/creds/lc_force_pfx/ (2 leases)\n",
        )
        .warns("NOT deleted");
    assert!(run.stderr.starts_with("warning: "), "{run:#?}");
    assert!(run.stderr.contains("NOT deleted"), "{run:#?}");
    for user in &users {
        assert!(run.stderr.contains(user.as_str()), "names {user}: {run:#?}");
        assert!(iam.user(user).is_some(), "{user} was left at AWS");
    }
    assert_eq!(env.leases(), [kept_row]);
    assert_eq!(iam.users_of_role("lc_force_pfx").len(), 2);

    // Clean up: tidy finds exactly the two users left behind.
    let run = env.run(["tidy", "--delete", "--format", "json"]).ok();
    let mut found: Vec<String> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["iam_user"].as_str().unwrap().to_string())
        .collect();
    found.sort();
    let mut want = users.clone();
    want.sort();
    assert_eq!(found, want, "{run:#?}");
    assert!(iam.users_of_role("lc_force_pfx").is_empty());
    assert_eq!(iam.users_of_role("lc_force_pfx_no").len(), 1);
}

#[test]
fn revoke_of_a_user_deleted_behind_our_back_just_forgets_the_lease() {
    let env = Env::with_roles(&["lc_revoke_gone"]);
    let iam = Iam::new();
    let (id, _) = env.issue("aws/creds/lc_revoke_gone");
    iam.delete_user(&lease_row(&env, &id).iam_user);
    env.run(["lease", "revoke", &id])
        .ok()
        .stdout_is(&format!("Success! Revoked lease: {id}\n"));
    assert!(env.leases().is_empty());
}

#[test]
fn revoke_that_aws_refuses_keeps_the_lease_with_its_error() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["lc_revoke_denied"]);
    let iam = Iam::new();
    let (id, _) = env.issue("aws/creds/lc_revoke_denied");
    let user = lease_row(&env, &id).iam_user;
    proxy.fault("DeleteUser", Fault::Error(403, "AccessDenied"), None);

    let run = env.run(["lease", "revoke", &id]).fails(2).stderr_any();
    assert!(run.stdout.is_empty(), "{run:#?}");
    assert!(
        run.stderr
            .starts_with(&format!("error: deleting IAM user {user}")),
        "{run:#?}"
    );
    assert!(run.stderr.contains("AccessDenied"), "{run:#?}");
    assert!(run.stderr.lines().count() <= 2, "{run:#?}");

    // Kept, with its error, and the failure shows in list and lookup.
    let lease = lease_row(&env, &id);
    assert_eq!((lease.state.as_str(), lease.attempts), ("active", 1));
    let error = lease.last_error.clone().unwrap();
    assert!(error.contains("AccessDenied"), "{lease:?}");
    assert!(iam.user(&user).is_some(), "the user is still there");
    let row = &list_rows(&env.run(["lease", "list"]).ok())[0];
    assert_eq!(row[0], id);
    assert_eq!(row[5], "active (failed 1x)");
    assert_eq!(row[6], error);
    let json = env.run(["lease", "list", "--format", "json"]).ok().json();
    assert_eq!(json[0]["attempts"], 1);
    assert_eq!(json[0]["last_error"], error.as_str());
    let lookup = env.run(["lease", "lookup", &id]).ok().table();
    assert_eq!(lookup["attempts"], "1");
    assert_eq!(lookup["last_error"], error);

    // Once AWS lets it, the revocation goes through.
    proxy.clear("DeleteUser");
    env.run(["lease", "revoke", &id])
        .ok()
        .stdout_is(&format!("Success! Revoked lease: {id}\n"));
    assert_eq!(iam.user(&user), None);
    assert!(env.leases().is_empty());
}

#[test]
fn revoke_by_prefix_that_aws_refuses_exits_2_and_keeps_the_leases() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["lc_rp_denied"]);
    let iam = Iam::new();
    env.issue("aws/creds/lc_rp_denied");
    env.issue("aws/creds/lc_rp_denied");
    proxy.fault("DeleteUser", Fault::Error(403, "AccessDenied"), None);

    // Its stderr, warnings and an error, is checked below.
    let run = env
        .run(["lease", "revoke", "--prefix", "aws/creds/lc_rp_denied"])
        .stderr_any();
    // Whatever the exit, the leases are kept with their errors and the users are still there.
    let leases = env.leases();
    assert_eq!(leases.len(), 2, "{run:#?}");
    for lease in &leases {
        assert_eq!(lease.attempts, 1, "{lease:?}");
        assert!(
            lease
                .last_error
                .as_deref()
                .unwrap()
                .contains("AccessDenied")
        );
        assert!(
            run.stderr.contains(&format!(
                "warning: could not revoke lease {} (IAM user {})",
                lease.id, lease.iam_user
            )),
            "{run:#?}"
        );
    }
    assert_eq!(iam.users_of_role("lc_rp_denied").len(), 2);
    assert!(
        run.stderr
            .contains("error: could not revoke 2 of 2 leases with prefix aws/creds/lc_rp_denied"),
        "{run:#?}"
    );
    assert!(run.stdout.is_empty(), "{run:#?}");
    run.fails(2);

    proxy.clear("DeleteUser");
    env.run(["lease", "revoke", "--prefix", "aws/creds/lc_rp_denied"])
        .ok()
        .stdout_is("Success! Revoked any leases with prefix: aws/creds/lc_rp_denied (2 leases)\n");
    assert!(iam.users_of_role("lc_rp_denied").is_empty());
    assert!(env.leases().is_empty());
}

#[test]
fn a_lease_never_starts_past_its_maximum() {
    // lease = lease_max: credentials that cannot be renewed. A slow CreateAccessKey must not
    // stretch them past issue time + lease_max, which renew itself never goes beyond.
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["lc_at_max"]);
    env.run(["write", "aws/config/lease", "lease=1h", "lease_max=1h"])
        .ok();
    proxy.fault(
        "CreateAccessKey",
        Fault::Delay(Duration::from_millis(2500)),
        Some(1),
    );
    let (id, _) = env.issue("aws/creds/lc_at_max");
    let t = times(&env, &id);
    let lookup = env.run(["lease", "lookup", &id]).ok().table();
    assert!(
        t.expires <= t.max_expires,
        "expires {} is past the maximum {} by {}s: {lookup:?}",
        t.expires,
        t.max_expires,
        t.expires - t.max_expires
    );
    assert_eq!(lookup["expire_time"], lookup["max_expire_time"]);
}
