//! Monitoring: `status` (from the database alone, no AWS call), `sweep --metrics-file` (the same
//! figures for node_exporter, written atomically), a failing revocation named on stderr with
//! exit 2, and `sweep --dry-run` (what a sweep would do, with no AWS call and nothing changed).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::proxy::{Fault, Proxy};
use crate::support::*;

/// The samples of a Prometheus text file: `name{labels}` -> value; checks that every metric
/// has its `# HELP` and `# TYPE` lines before its samples.
fn samples(text: &str) -> BTreeMap<String, String> {
    let mut described = std::collections::BTreeSet::new();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            described.insert(rest.split(' ').next().unwrap().to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(described.contains(name), "TYPE before HELP: {line}");
            assert!(["gauge", "counter"].contains(&kind), "{line}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let name = series.split('{').next().unwrap();
        assert!(described.contains(name), "a sample without HELP: {line}");
        value.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
        out.insert(series.to_string(), value.to_string());
    }
    out
}

fn leases_metric(mount: &str, role: &str, state: &str) -> String {
    format!("awscreds_leases{{mount=\"{mount}\",role=\"{role}\",state=\"{state}\"}}")
}

#[test]
fn status_and_the_metrics_file_agree_with_lease_list() {
    let env = Env::with_roles(&["mon_a", "mon_b", "mon_idle"]);
    env.run(["write", "aws/roles/mon_a", "max_leases=3"]).ok();
    env.run(["write", "aws/config/lease", "max_leases=10"]).ok();
    env.issue("aws/creds/mon_a");
    env.issue("aws/creds/mon_a");
    env.issue("aws/creds/mon_b");
    let metrics = env.dir.path().join("textfile").join("awscreds.prom");
    std::fs::create_dir_all(metrics.parent().unwrap()).unwrap();
    env.run(["sweep", "--metrics-file", metrics.to_str().unwrap()])
        .ok()
        .stdout_is("Swept expired leases: 0 revoked, 0 failed\n");
    // Written atomically: no temporary file is left beside it.
    let files: Vec<_> = std::fs::read_dir(metrics.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, ["awscreds.prom"]);
    let text = std::fs::read_to_string(&metrics).unwrap();
    let got = samples(&text);

    let listed = env.run(["lease", "list", "-format=json"]).ok().json();
    let listed = listed.as_array().unwrap();
    let status = env.run(["status", "--format", "json"]).ok().json();
    let mount = &status["mounts"][0];
    assert_eq!(mount["mount"], "aws");
    assert_eq!(mount["max_leases"], 10);
    assert_eq!(mount["leases"]["live"], listed.len());
    let roles = mount["roles"].as_array().unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r["role"].as_str().unwrap()).collect();
    assert_eq!(names, ["mon_a", "mon_b", "mon_idle"]);
    for role in roles {
        let name = role["role"].as_str().unwrap();
        let of_role = listed.iter().filter(|l| l["role"] == name).count();
        assert_eq!(role["leases"]["live"], of_role, "{name}");
        assert_eq!(role["leases"]["pending"], 0);
        assert_eq!(role["leases"]["failing"], 0);
        assert_eq!(
            got[&leases_metric("aws", name, "live")],
            of_role.to_string(),
            "{text}"
        );
        assert_eq!(got[&leases_metric("aws", name, "failing")], "0");
    }
    assert_eq!(roles[0]["max_leases"], 3);
    assert_eq!(
        got["awscreds_max_leases{mount=\"aws\",role=\"mon_a\"}"],
        "3"
    );
    assert_eq!(got["awscreds_mount_max_leases{mount=\"aws\"}"], "10");
    assert!(roles[0]["next_expiry"].is_string());
    assert_eq!(roles[2]["next_expiry"], serde_json::Value::Null);
    // The root key was written by this test a moment ago.
    assert_eq!(mount["root_key"]["access_key"], SEED_ACCESS_KEY);
    assert!(mount["root_key"]["age_seconds"].as_i64().unwrap() < 600);
    assert!(got.contains_key("awscreds_root_key_age_seconds{mount=\"aws\"}"));
    // The sweep left its record.
    let sweep = &status["last_sweep"];
    assert_eq!(
        (sweep["revoked"].as_u64(), sweep["failed"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(sweep["sweeps_total"], 1);
    assert_eq!(got["awscreds_sweeps_total"], "1");
    assert_eq!(got["awscreds_sweep_revoked_total"], "0");
    assert!(got.contains_key("awscreds_last_sweep_timestamp_seconds"));
    // status --format prometheus prints the same figures.
    let printed = env.run(["status", "--format", "prometheus"]).ok();
    let again = samples(&printed.stdout);
    for (series, value) in &got {
        if !series.starts_with("awscreds_root_key_age") {
            assert_eq!(again.get(series), Some(value), "{series}");
        }
    }

    // A second sweep replaces the file and adds to the counters.
    env.run(["lease", "revoke", "--prefix", "aws/creds/mon_b"])
        .ok();
    env.run(["write", "aws/config/lease", "lease=1s", "lease_max=1h"])
        .ok();
    env.issue("aws/creds/mon_b");
    std::thread::sleep(Duration::from_millis(2100));
    env.run(["sweep", "--metrics-file", metrics.to_str().unwrap()])
        .ok()
        .stdout_is("Swept expired leases: 1 revoked, 0 failed\n");
    let got = samples(&std::fs::read_to_string(&metrics).unwrap());
    assert_eq!(got["awscreds_sweeps_total"], "2");
    assert_eq!(got["awscreds_sweep_revoked_total"], "1");
    assert_eq!(got["awscreds_last_sweep_leases{result=\"revoked\"}"], "1");
    assert_eq!(got[&leases_metric("aws", "mon_b", "live")], "0");
    env.run(["lease", "revoke", "--prefix", "aws/"]).ok();
    assert!(Iam::new().users_of_role("mon_a").is_empty());
    assert!(Iam::new().users_of_role("mon_b").is_empty());
}

#[test]
fn a_failing_revocation_exits_2_is_named_on_stderr_and_status_shows_it() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["mon_fail"]);
    env.run(["write", "aws/config/lease", "lease=1s", "lease_max=1h"])
        .ok();
    let (id, _) = env.issue("aws/creds/mon_fail");
    let user = env.leases()[0].iam_user.clone();
    proxy.fault("DeleteUser", Fault::Error(403, "AccessDenied"), None);
    std::thread::sleep(Duration::from_millis(2100));

    let metrics = env.dir.path().join("awscreds.prom");
    let run = env
        .run(["sweep", "--metrics-file", metrics.to_str().unwrap()])
        .fails(2)
        .stdout_is("Swept expired leases: 0 revoked, 1 failed\n")
        .stderr_any();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{run:#?}");
    let prefix = format!("error: could not revoke lease {id} (IAM user {user}, attempt 1): ");
    assert!(lines[0].starts_with(&prefix), "{run:#?}");
    assert!(lines[0].contains("AccessDenied"), "{run:#?}");
    assert!(lines[0].contains("; kept, retried from "), "{run:#?}");
    assert!(lines[1].starts_with("hint: awscreds status"), "{run:#?}");

    // status reads the database alone: no AWS call, even with a lease that is due.
    let calls = proxy.seen().len();
    let status = env.run(["status", "-format=json"]).ok().json();
    assert_eq!(proxy.seen().len(), calls, "{:?}", proxy.seen());
    let role = &status["mounts"][0]["roles"][0];
    assert_eq!(role["leases"]["failing"], 1);
    assert_eq!(role["leases"]["live"], 1);
    assert_eq!(role["leases"]["expired"], 1);
    let oldest = &role["oldest_failing"];
    assert_eq!(oldest["lease_id"], id.as_str());
    assert_eq!(oldest["iam_user"], user.as_str());
    assert_eq!(oldest["attempts"], 1);
    assert!(
        oldest["last_error"]
            .as_str()
            .unwrap()
            .contains("AccessDenied")
    );
    assert_eq!(status["last_sweep"]["failed"], 1);
    let table = env.run(["status"]).ok();
    assert!(
        table.stdout.contains("Oldest failing lease of each role:"),
        "{table:#?}"
    );
    assert!(table.stdout.contains(&id), "{table:#?}");

    let got = samples(&std::fs::read_to_string(&metrics).unwrap());
    assert_eq!(got[&leases_metric("aws", "mon_fail", "failing")], "1");
    assert_eq!(
        got["awscreds_oldest_failing_lease_attempts{mount=\"aws\",role=\"mon_fail\"}"],
        "1"
    );
    assert_eq!(got["awscreds_sweep_failed_total"], "1");
    assert_eq!(got["awscreds_last_sweep_leases{result=\"failed\"}"], "1");
    // IAM still holds the user, which the lease still names.
    assert_eq!(Iam::new().users_of_role("mon_fail").len(), 1);

    proxy.clear("DeleteUser");
    env.run(["lease", "revoke", &id]).ok();
    assert!(Iam::new().users_of_role("mon_fail").is_empty());
}

#[test]
fn status_of_an_empty_database_and_of_a_mount_without_root_keys() {
    let env = Env::new();
    env.run(["status"])
        .ok()
        .stdout_is("No mounts\n\nLast sweep: never\n");
    env.run(["mount", "aws"]).ok();
    let status = env.run(["status", "-format=json"]).ok().json();
    assert_eq!(status["mounts"][0]["root_key"]["source"], "not_configured");
    assert_eq!(status["last_sweep"], serde_json::Value::Null);
    env.run(["write", "aws/config/root", "region=us-east-1"])
        .ok();
    let status = env.run(["status", "-format=json"]).ok().json();
    assert_eq!(
        status["mounts"][0]["root_key"]["source"],
        "credential_chain"
    );
    // Nothing to report: the Prometheus text is empty rather than made up.
    env.run(["status", "--format", "prometheus"])
        .ok()
        .stdout_is("");
}

/// The state a dry run must leave as it found it: everything stored, and the sweep record.
fn everything(env: &Env) -> String {
    let state = env.state();
    let record = state.run(state.store().meta_value("last_sweep")).unwrap();
    format!("{}\nlast sweep: {record:?}", env.dump())
}

#[test]
fn a_dry_run_lists_what_is_due_and_why_calls_no_aws_and_changes_nothing() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["mon_dry", "mon_dry_dead"]);
    let (expired, _) = env.issue("aws/creds/mon_dry");
    // An issuer killed before CreateUser reached IAM: its lease is pending, its issuer gone.
    proxy.fault("CreateUser", Fault::Hang, Some(1));
    let mut child = env.spawn(&["read", "aws/creds/mon_dry_dead"]);
    proxy.wait_seen("CreateUser", 2);
    child.kill().unwrap();
    child.wait().unwrap();
    let dead = env
        .leases()
        .into_iter()
        .find(|l| l.state == "pending")
        .expect("the killed issuer's lease")
        .id;
    // The first lease expired a minute ago (moved, rather than waited for: any command that
    // ran meanwhile would have reaped it).
    let past = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 60;
    env.state().change_lease(&expired, |l| {
        l.expires_at = past;
        l.due_at = past;
    });

    let before = everything(&env);
    let calls = proxy.seen().len();
    let plan = env
        .run(["sweep", "--dry-run", "--format", "json"])
        .ok()
        .json();
    let table = env.run(["sweep", "--dry-run"]).ok();
    assert_eq!(proxy.seen().len(), calls, "an AWS call: {:?}", proxy.seen());
    assert_eq!(everything(&env), before, "a dry run changed something");

    let leases = plan["leases"].as_array().unwrap();
    let reasons: BTreeMap<&str, (&str, &str)> = leases
        .iter()
        .map(|l| {
            (
                l["lease_id"].as_str().unwrap(),
                (l["reason"].as_str().unwrap(), l["action"].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        BTreeMap::from([
            (expired.as_str(), ("expired", "delete IAM user")),
            (dead.as_str(), ("issuer gone", "delete IAM user")),
        ])
    );
    assert_eq!(plan["root_rotations"], serde_json::json!([]));
    assert!(table.stdout.contains(&expired), "{table:#?}");
    assert!(
        table.stdout.ends_with(
            "Dry run: 2 leases and 0 root keys would be taken up; nothing was changed\n"
        ),
        "{table:#?}"
    );

    // The real sweep does what the dry run said (the pending user never existed: forced).
    env.run(["sweep", "--pending-timeout", "0s"])
        .ok()
        .stdout_is("Swept expired leases: 2 revoked, 0 failed\n");
    assert!(env.leases().is_empty());
    assert!(Iam::new().users_of_role("mon_dry").is_empty());
    assert!(Iam::new().users_of_role("mon_dry_dead").is_empty());
    env.run(["sweep", "--dry-run"])
        .ok()
        .stdout_is("Nothing to sweep\n");
    // --format belongs to --dry-run, and --metrics-file to a real sweep.
    env.run(["sweep", "--format", "json"])
        .fails(1)
        .stderr_has("--dry-run");
    env.run(["sweep", "--dry-run", "--metrics-file", "x.prom"])
        .fails(1)
        .stderr_has("cannot be used with");
}
