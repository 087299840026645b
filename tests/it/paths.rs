//! Each path's success cases: config/root, config/lease, roles/NAME, roles/, creds/NAME.

use std::collections::BTreeMap;

use crate::support::*;

#[test]
fn config_root_reads_back_without_the_secret() {
    let env = Env::configured();
    let run = env.run(["read", "aws/config/root"]).ok();
    let table = run.table();
    assert_eq!(table["access_key"], SEED_ACCESS_KEY);
    assert_eq!(table["region"], "us-east-1");
    assert_eq!(table["iam_endpoint"], endpoint());
    assert_eq!(table["sts_endpoint"], endpoint());
    assert_eq!(table["profile"], "n/a");
    assert_eq!(table["max_retries"], "-1");
    assert!(!table.contains_key("secret_key"));
    let json = env
        .run(["read", "aws/config/root", "-format=json"])
        .ok()
        .json();
    assert_eq!(json["data"]["access_key"], SEED_ACCESS_KEY);
    assert_eq!(json["lease_id"], "");
    assert_eq!(json["lease_duration"], 0);
    assert_eq!(json["renewable"], false);
    assert!(json["data"].get("secret_key").is_none());
}

#[test]
fn config_root_parameters_come_from_stdin_and_json() {
    let env = Env::new();
    env.run(["mount", "aws"]).ok();
    // KEY=- reads one value from standard input (the trailing newline is dropped).
    env.run_with_stdin(
        [
            "write",
            "config/root",
            "access_key=AKIASTDIN",
            "secret_key=-",
            "region=eu-west-1",
        ],
        "from-stdin\n",
    )
    .ok();
    assert_eq!(
        env.run(["read", "config/root"]).ok().table()["access_key"],
        "AKIASTDIN"
    );

    // A lone "-" is a JSON object of parameters.
    env.run_with_stdin(
        ["write", "aws/config/root", "-"],
        r#"{"access_key": "AKIAJSON", "secret_key": "s", "region": "us-west-2"}"#,
    )
    .ok();
    let table = env.run(["read", "aws/config/root"]).ok().table();
    assert_eq!(table["access_key"], "AKIAJSON");
    assert_eq!(table["region"], "us-west-2");
}

#[test]
fn config_lease_defaults_and_changes_what_creds_get() {
    let env = Env::configured();
    let defaults = env.run(["read", "aws/config/lease"]).ok().table();
    assert_eq!(defaults["lease"], "1h");
    assert_eq!(defaults["lease_max"], "24h");

    env.run(["write", "aws/config/lease", "lease=30m", "lease_max=7200"])
        .ok()
        .stdout_is("Success! Data written to: aws/config/lease\n");
    let table = env.run(["read", "aws/config/lease"]).ok().table();
    assert_eq!(
        (table["lease"].as_str(), table["lease_max"].as_str()),
        ("30m", "2h")
    );

    env.role("aws/roles/pth_lease");
    let run = env
        .run(["read", "aws/creds/pth_lease", "-format=json"])
        .ok();
    assert_eq!(run.json()["lease_duration"], 1800);
    assert_eq!(run.json()["renewable"], true);
    assert_eq!(Iam::new().users_of_role("pth_lease").len(), 1);
}

#[test]
fn roles_are_written_read_listed_and_deleted() {
    let env = Env::configured();
    let policy = env.file("p.json", SEED_POLICY);
    env.run(["write", "roles/pth_b", &format!("policy=@{policy}")])
        .ok();
    env.run_with_stdin(["write", "aws/roles/pth_a", "policy=-"], SEED_POLICY)
        .ok()
        .stdout_is("Success! Data written to: aws/roles/pth_a\n");

    // Every field of the role, empty ones included; the seed's policy= made an iam_user role,
    // and policy is the seed's name for policy_document.
    let read = env.run(["read", "aws/roles/pth_a"]).ok();
    let table = read.table();
    let want: BTreeMap<String, String> = [
        ("credential_type", "iam_user"),
        ("policy_document", SEED_POLICY_COMPACT),
        ("policy", SEED_POLICY_COMPACT),
        ("policy_arns", "[]"),
        ("iam_groups", "[]"),
        ("iam_tags", "{}"),
        ("user_path", "n/a"),
        ("permissions_boundary_arn", "n/a"),
        ("role_arns", "[]"),
        ("default_sts_ttl", "0"),
        ("max_sts_ttl", "0"),
        ("session_tags", "{}"),
        ("external_id", "n/a"),
        ("mfa_serial_number", "n/a"),
        ("max_leases", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(table, want, "{read:#?}");
    let json = env
        .run(["read", "aws/roles/pth_a", "-format=json"])
        .ok()
        .json();
    assert_eq!(
        json["data"],
        serde_json::json!({
            "credential_type": "iam_user",
            "policy_document": SEED_POLICY_COMPACT,
            "policy": SEED_POLICY_COMPACT,
            "policy_arns": [],
            "iam_groups": [],
            "iam_tags": {},
            "user_path": "",
            "permissions_boundary_arn": "",
            "role_arns": [],
            "default_sts_ttl": 0,
            "max_sts_ttl": 0,
            "session_tags": {},
            "external_id": "",
            "mfa_serial_number": "",
            "max_leases": 0,
        })
    );
    assert_eq!(json["lease_id"], "");
    env.run(["read", "aws/roles/pth_a", "-field=policy"])
        .ok()
        .stdout_is(SEED_POLICY_COMPACT);

    env.run(["list", "aws/roles/"])
        .ok()
        .stdout_is("Keys\n----\npth_a\npth_b\n");
    env.run(["list", "roles", "-format=json"]).ok();
    let listed = env.run(["list", "roles", "--format", "json"]).ok().json();
    assert_eq!(listed, serde_json::json!(["pth_a", "pth_b"]));

    // Overwrite, then delete.
    let other = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}"#;
    env.run(["write", "aws/roles/pth_a", &format!("policy={other}")])
        .ok();
    let other_compact =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;
    for field in ["-field=policy", "-field=policy_document"] {
        env.run(["read", "aws/roles/pth_a", field])
            .ok()
            .stdout_is(other_compact);
    }
    env.run(["delete", "aws/roles/pth_a"])
        .ok()
        .stdout_is("Success! Data deleted (if it existed) at: aws/roles/pth_a\n");
    env.run(["read", "aws/roles/pth_a"])
        .fails(1)
        .stderr_has("No value found at aws/roles/pth_a");
    env.run(["list", "aws/roles"])
        .ok()
        .stdout_is("Keys\n----\npth_b\n");
    // Deleting what is not there is not an error, as in Vault.
    env.run(["delete", "aws/roles/pth_a"]).ok();
}

#[test]
fn creds_field_prints_one_value_for_scripts() {
    let env = Env::configured();
    env.role("aws/roles/pth_field");
    let key = env
        .run(["read", "-field=access_key", "aws/creds/pth_field"])
        .ok()
        .stdout
        .clone();
    assert!(key.starts_with("AKIA") && !key.ends_with('\n'), "{key:?}");
    let users = Iam::new().users_of_role("pth_field");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].keys, [key]);
}
