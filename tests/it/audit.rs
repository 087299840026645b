//! Audit devices: Vault's `audit enable file file_path=PATH` / `list` / `disable`; a request and
//! a response entry for every command that reads or changes state, every string HMAC'd; a chain
//! that `audit verify` checks; and a device that cannot be written stops commands before AWS.

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::support::*;

fn log_path(env: &Env) -> String {
    env.dir.path().join("audit.log").display().to_string()
}

pub fn enable(env: &Env) -> String {
    let path = log_path(env);
    env.run(["audit", "enable", "file", &format!("file_path={path}")])
        .ok()
        .stdout_is("Success! Enabled the file audit device at: file/\n");
    path
}

pub fn entries(path: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn hash(env: &Env, value: &str) -> String {
    env.run(["audit", "hash", value])
        .ok()
        .stdout
        .trim_end()
        .to_string()
}

#[test]
fn devices_are_enabled_listed_and_disabled_as_in_vault() {
    let env = Env::configured();
    env.run(["audit", "list"])
        .ok()
        .stderr_is("No audit devices are enabled.\n");
    let path = enable(&env);
    assert_eq!(mode(&path), 0o600);
    let rows = env
        .run(["audit", "list"])
        .ok()
        .rows(&["Path", "Type", "Options"]);
    assert_eq!(
        rows,
        [vec![
            "file/".to_string(),
            "file".into(),
            format!("file_path={path}")
        ]]
    );
    let json = env.run(["audit", "list", "-format=json"]).ok().json();
    assert_eq!(json["file/"]["options"]["file_path"], path.as_str());
    env.run(["audit", "enable", "file", &format!("file_path={path}")])
        .fails(1)
        .one_line_error("an audit device is already enabled at 'file'");
    env.run(["audit", "enable", "syslog"])
        .fails(1)
        .one_line_error("unknown audit device type \"syslog\"");
    env.run(["audit", "enable", "--path", "second", "file"])
        .fails(1)
        .one_line_error("missing required option \"file_path\" for a file audit device");
    env.run(["audit", "disable", "file"])
        .ok()
        .stdout_is("Success! Disabled audit device (if it was enabled) at: file/\n");
    env.run(["audit", "list"])
        .ok()
        .stderr_is("No audit devices are enabled.\n");
}

fn mode(path: &str) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn every_issue_and_revoke_is_recorded_with_hmacd_values_and_no_secret() {
    let env = Env::with_roles(&["aud_issue"]);
    let path = enable(&env);
    let run = env
        .run(["read", "aws/creds/aud_issue", "-format=json"])
        .ok();
    let issued = run.json();
    let lease_id = issued["lease_id"].as_str().unwrap().to_string();
    let access_key = issued["data"]["access_key"].as_str().unwrap().to_string();
    let secret_key = issued["data"]["secret_key"].as_str().unwrap().to_string();
    env.run(["lease", "revoke", &lease_id])
        .ok()
        .stdout_is(&format!("Success! Revoked lease: {lease_id}\n"));

    let log = entries(&path);
    let read: Vec<&Value> = log
        .iter()
        .filter(|e| e["request"]["operation"] == "read")
        .collect();
    assert_eq!(read.len(), 2, "{log:#?}");
    assert_eq!(read[0]["type"], "request");
    assert_eq!(read[0]["request"]["path"], "aws/creds/aud_issue");
    assert_eq!(read[0]["request"]["mount"], "aws");
    assert!(read[0]["request"]["client"]["host"].is_string());
    let response = read[1];
    assert_eq!(response["type"], "response");
    assert_eq!(response["request"]["id"], read[0]["request"]["id"]);
    assert_eq!(
        response["response"]["secret"]["lease_id"],
        lease_id.as_str()
    );
    assert_eq!(
        response["response"]["data"]["access_key"],
        hash(&env, &access_key).as_str()
    );
    assert!(
        response["response"]["data"]["secret_key"]
            .as_str()
            .unwrap()
            .starts_with("hmac-sha256:")
    );
    let revoke = log
        .iter()
        .find(|e| e["type"] == "response" && e["request"]["operation"] == "lease revoke")
        .unwrap();
    assert_eq!(revoke["response"]["revoked_leases"][0], lease_id.as_str());

    // A known access key id can be found with grep and its hash.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&hash(&env, &access_key)));
    for secret in [secret_key.as_str(), SEED_SECRET_KEY, access_key.as_str()] {
        assert!(
            !text.contains(secret),
            "{secret} in the clear in the audit log"
        );
    }
    env.assert_no_secret_in_files(&secret_key);
}

#[test]
fn sweeps_record_the_leases_they_revoke() {
    let env = Env::with_roles(&["aud_sweep"]);
    env.run(["write", "aws/config/lease", "lease=1s", "lease_max=1h"])
        .ok();
    let (lease_id, _) = env.issue("aws/creds/aud_sweep");
    let path = enable(&env);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 1 revoked, 0 failed\n");
    let sweep = entries(&path)
        .into_iter()
        .find(|e| e["type"] == "response" && e["request"]["operation"] == "sweep")
        .unwrap();
    assert_eq!(sweep["response"]["revoked_leases"][0], lease_id.as_str());
}

#[test]
fn verify_finds_the_first_entry_changed_removed_or_inserted() {
    let env = Env::with_roles(&["aud_verify"]);
    let path = enable(&env);
    env.issue("aws/creds/aud_verify");
    env.run(["list", "aws/roles/"]).ok();
    let lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(lines.len(), 4);
    env.run(["audit", "verify", &path])
        .ok()
        .stdout_is("ok 4 entries\n");
    // The audit key is sealed like the root key, and a new data key keeps it (and the log good).
    assert_eq!(env.run(["seal", "status"]).ok().table()["secrets"], "2");
    env.run(["seal", "rotate"])
        .ok()
        .stdout_is("Success! Rotated the data key; re-sealed 2 secrets\n");
    let verified = env.run(["audit", "verify", &path]).ok();
    assert_eq!(verified.stdout, "ok 8 entries\n");
    let lines: Vec<String> = lines.into_iter().take(4).collect();

    let tampered = env.dir.path().join("tampered.log").display().to_string();
    let check = |lines: &[String], message: &str| {
        std::fs::write(&tampered, lines.concat()).unwrap();
        env.run(["audit", "verify", &tampered])
            .fails(1)
            .one_line_error(&format!("{tampered}: {message}"));
    };
    let mut changed = lines.clone();
    changed[1] = changed[1].replace("\"type\":\"response\"", "\"type\":\"request\"");
    check(
        &changed,
        "entry 2 was changed, or inserted: its HMAC does not match",
    );
    let mut removed = lines.clone();
    removed.remove(2);
    check(
        &removed,
        "entry 3 does not follow the entry before it: an entry was removed or inserted there",
    );
    let mut inserted = lines.clone();
    inserted.insert(1, lines[0].clone());
    check(
        &inserted,
        "entry 2 does not follow the entry before it: an entry was removed or inserted there",
    );
    let mut forged = lines;
    forged.insert(
        2,
        "{\"type\":\"request\",\"prev\":\"\",\"hmac\":\"00\"}\n".into(),
    );
    check(
        &forged,
        "entry 3 was changed, or inserted: its HMAC does not match",
    );
}

#[test]
fn a_device_that_cannot_be_written_stops_issuing_before_aws() {
    let env = Env::with_roles(&["aud_closed"]);
    let iam = Iam::new();
    let path = enable(&env);
    // The log's place becomes a directory: nothing can be appended to it.
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let before = env.dump();
    let run = env
        .run(["read", "aws/creds/aud_closed"])
        .fails(1)
        .stderr_any();
    let first = run.stderr.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "error: cannot write audit device file/ ({path}): "
        )),
        "{run:#?}"
    );
    assert!(first.ends_with("; nothing was done"), "{run:#?}");
    assert!(run.stderr.contains("hint: "), "{run:#?}");
    assert!(iam.users_of_role("aud_closed").is_empty());
    assert_eq!(env.dump(), before);
    // Fixed: issuing works again.
    std::fs::remove_dir(&path).unwrap();
    env.issue("aws/creds/aud_closed");
    assert_eq!(iam.users_of_role("aud_closed").len(), 1);
}

#[test]
fn stdout_as_the_file_path_writes_the_entries_there() {
    let env = Env::with_roles(&["aud_stdout"]);
    env.run(["audit", "enable", "file", "file_path=stdout"])
        .ok();
    let run = env.run(["list", "aws/roles/"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    let request: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(request["type"], "request");
    assert_eq!(request["request"]["operation"], "list");
    assert_eq!(&lines[1..3], ["Keys", "----"]);
    assert!(lines.iter().any(|l| l.contains("\"type\":\"response\"")));
}
