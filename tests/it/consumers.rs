//! Credentials where programs need them: the env, export, credential_process and ini formats;
//! `--wait` for a new key to work; `exec`, which runs a program with keys that work and takes
//! them back when it ends; and `credential-process`, which the real AWS CLI and boto3 call and
//! which reuses one lease. The real AWS CLI and boto3 (from the test virtualenv) run against the
//! emulator that checks signatures.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::proxy::{Fault, Proxy};
use crate::support::*;

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","sts:*"],"Resource":"*"}]}"#;

/// A program of the test virtualenv (the AWS CLI, python with boto3).
fn venv(program: &str) -> String {
    format!("{}/.venv/bin/{program}", env!("CARGO_MANIFEST_DIR"))
}

/// A mount on the signature-checking emulator with its administrator's keys, and `role`.
fn on_auth_emulator(role: &str) -> Env {
    let env = Env::on_auth_emulator("eu-west-1");
    let policy = env.file("policy.json", POLICY);
    env.run([
        "write",
        &format!("aws/roles/{role}"),
        &format!("policy=@{policy}"),
    ])
    .ok();
    env
}

fn admin_iam() -> Iam {
    let (access, secret) = auth_admin();
    Iam::with_key(&auth_endpoint(), access, secret)
}

fn lines_to_map(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn each_credential_format_holds_what_its_program_reads() {
    let env = Env::with_roles(&["cons_formats"]);
    let vars = lines_to_map(
        &env.run(["read", "aws/creds/cons_formats", "--format", "env"])
            .ok()
            .stdout,
    );
    let keys: Vec<&str> = vars.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "AWSCREDS_LEASE_ID",
            "AWS_ACCESS_KEY_ID",
            "AWS_CREDENTIAL_EXPIRATION",
            "AWS_DEFAULT_REGION",
            "AWS_REGION",
            "AWS_SECRET_ACCESS_KEY"
        ]
    );
    assert_eq!(vars["AWS_REGION"], "us-east-1");
    let lease = env.state().lease(&vars["AWSCREDS_LEASE_ID"]).unwrap();
    assert_eq!(
        lease.access_key_id.as_deref(),
        Some(vars["AWS_ACCESS_KEY_ID"].as_str())
    );

    let export = env
        .run(["read", "aws/creds/cons_formats", "--format", "export"])
        .ok();
    assert!(export.stdout.lines().all(|l| l.starts_with("export AWS")));
    // What sh makes of it is what was meant.
    let script = format!("{}\nprintf %s \"$AWS_SECRET_ACCESS_KEY\"", export.stdout);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert_eq!(out.stdout.len(), 40);

    let process = env
        .run([
            "read",
            "aws/creds/cons_formats",
            "--format",
            "credential_process",
        ])
        .ok()
        .json();
    assert_eq!(process["Version"], 1);
    assert!(process["AccessKeyId"].as_str().unwrap().starts_with("AKIA"));
    assert!(process.get("SessionToken").is_none());
    let expiration = process["Expiration"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(expiration).is_ok());

    let ini = env
        .run([
            "read",
            "aws/creds/cons_formats",
            "--format",
            "ini",
            "--profile-name",
            "ci",
        ])
        .ok();
    assert!(
        ini.stdout
            .starts_with("[ci]\n# awscreds lease aws/creds/cons_formats/")
    );
    assert!(ini.stdout.contains("\naws_access_key_id = AKIA"));

    // Elsewhere these formats are refused before anything happens.
    let before = env.dump();
    env.run(["read", "aws/roles/cons_formats", "--format", "env"])
        .fails(1)
        .one_line_error("aws/roles/cons_formats does not issue credentials")
        .stderr_has("hint: this output is for aws/creds/NAME and aws/sts/NAME");
    env.run([
        "lease",
        "lookup",
        &vars["AWSCREDS_LEASE_ID"],
        "--format",
        "env",
    ])
    .fails(1)
    .one_line_error("--format env prints credentials, which this command does not return");
    assert_eq!(env.dump(), before);
}

#[test]
fn sts_credentials_come_with_their_session_token() {
    let env = Env::configured();
    env.run([
        "write",
        "aws/roles/cons_sts",
        "credential_type=session_token",
    ])
    .ok();
    let vars = lines_to_map(
        &env.run(["read", "aws/sts/cons_sts", "--format", "env"])
            .ok()
            .stdout,
    );
    assert!(!vars["AWS_SESSION_TOKEN"].is_empty());
    let process = env
        .run(["read", "aws/sts/cons_sts", "--format", "credential_process"])
        .ok()
        .json();
    assert!(process["SessionToken"].is_string());
}

#[test]
fn wait_hands_out_a_new_key_as_soon_as_sts_accepts_it() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["cons_wait"]);
    let accepted_at = Instant::now() + Duration::from_secs(3);
    proxy.fault(
        "GetCallerIdentity",
        Fault::RefuseUntil(accepted_at, "InvalidClientTokenId"),
        None,
    );
    let run = env
        .run(["read", "aws/creds/cons_wait", "--wait", "-format=json"])
        .ok();
    let done = Instant::now();
    assert!(
        done >= accepted_at,
        "handed out before STS accepted the key"
    );
    // Soon after: a poll or two later (the wait polls at most every half second), on a machine
    // that may be loaded.
    assert!(
        done - accepted_at < Duration::from_secs(5),
        "took {:?} after the key worked",
        done - accepted_at
    );
    assert!(proxy.count("GetCallerIdentity") >= 2);
    // The wait recorded runs from the first refused check to the accepted one (issuing takes
    // some of the 3 s before the first check).
    let first_refused = proxy.refused_at()[0];
    let id = run.json()["lease_id"].as_str().unwrap().to_string();
    let lookup = env.run(["lease", "lookup", &id]).ok().table();
    let waited: f64 = lookup["key_wait"].trim_end_matches('s').parse().unwrap();
    let least = (accepted_at - first_refused).as_secs_f64() - 0.05;
    assert!(
        waited >= least && waited < 8.0,
        "{waited} s, at least {least}"
    );

    // A key that never works: handed out at the timeout, with a warning.
    proxy.fault(
        "GetCallerIdentity",
        Fault::RefuseUntil(
            Instant::now() + Duration::from_secs(600),
            "InvalidClientTokenId",
        ),
        None,
    );
    let started = Instant::now();
    let run = env
        .run([
            "read",
            "aws/creds/cons_wait",
            "--wait",
            "--wait-timeout",
            "2s",
            "-format=json",
        ])
        .ok()
        .warns("does not work yet after 2s; it may work a little later");
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(run.json()["data"]["access_key"].is_string());
    // Without --wait, read keeps Vault's behaviour: no STS call at all.
    let before = proxy.count("GetCallerIdentity");
    env.issue("aws/creds/cons_wait");
    assert_eq!(proxy.count("GetCallerIdentity"), before);
}

#[test]
fn exec_runs_the_aws_cli_with_keys_that_work_and_revokes_them_at_exit() {
    let env = on_auth_emulator("cons_exec")
        .with_var("AWS_PROFILE", "someone-elses")
        .with_var("AWS_SESSION_TOKEN", "stale");
    let out_file = env.dir.path().join("child-env");
    let run = env
        .run([
            "exec",
            "cons_exec",
            "--",
            "sh",
            "-c",
            &format!(
                "env > {}; {} --endpoint-url {} iam get-user --output json",
                out_file.display(),
                venv("aws"),
                auth_endpoint()
            ),
        ])
        .ok();
    let user: Value = serde_json::from_str(&run.stdout).unwrap();
    let name = user["User"]["UserName"].as_str().unwrap().to_string();
    assert!(name.starts_with("awscreds-cons_exec-"), "{name}");
    let child = lines_to_map(
        &std::fs::read_to_string(&out_file)
            .unwrap()
            .lines()
            .filter(|l| l.contains('=') && l.starts_with("AWS"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    assert!(!child.contains_key("AWS_PROFILE"));
    assert!(!child.contains_key("AWS_SESSION_TOKEN"));
    assert_eq!(child["AWS_REGION"], "eu-west-1");
    assert!(child["AWSCREDS_LEASE_ID"].starts_with("aws/creds/cons_exec/"));
    // Gone when the program ended: the user and the lease.
    assert!(admin_iam().user(&name).is_none());
    assert!(env.leases().is_empty());
}

#[test]
fn exec_passes_exit_statuses_and_signals_through() {
    let env = Env::with_roles(&["cons_status"]);
    let iam = Iam::new();
    env.run([
        "exec",
        "cons_status",
        "--no-wait",
        "--",
        "sh",
        "-c",
        "exit 3",
    ])
    .fails(3);
    env.run([
        "exec",
        "cons_status",
        "--no-wait",
        "--",
        "sh",
        "-c",
        "kill -KILL $$",
    ])
    .fails(137);
    // SIGTERM to awscreds reaches the program, whose status is passed on.
    let mut child = env
        .command([
            "exec",
            "cons_status",
            "--no-wait",
            "--",
            "sh",
            "-c",
            "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.1; done",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 6];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"ready\n");
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(status.code(), Some(42));
    assert_eq!(rest, "got-term\n");
    assert!(iam.users_of_role("cons_status").is_empty());
    assert!(env.leases().is_empty());

    // A program that cannot start: its credentials are taken back, and the shell's codes.
    env.run(["exec", "cons_status", "--no-wait", "--", "/no/such/program"])
        .fails(127)
        .one_line_error("cannot run /no/such/program: command not found");
    assert!(iam.users_of_role("cons_status").is_empty());
    assert!(env.leases().is_empty());

    // Inside another exec: refused unless --nested.
    let nested =
        Env::with_roles(&["cons_nested"]).with_var("AWSCREDS_LEASE_ID", "aws/creds/outer/1");
    nested
        .run(["exec", "cons_nested", "--", "true"])
        .fails(1)
        .one_line_error("awscreds exec inside awscreds exec (lease aws/creds/outer/1)");
    assert!(nested.leases().is_empty());
    nested
        .run(["exec", "cons_nested", "--nested", "--no-wait", "--", "true"])
        .ok();
}

/// ~/.aws/config (HOME is the test's directory) with a profile whose credential_process is
/// awscreds for `role`.
fn aws_config(env: &Env, role: &str) {
    let config = format!(
        "[profile cp]\ncredential_process = {BIN} credential-process {role}\nregion = eu-west-1\n"
    );
    std::fs::create_dir_all(env.dir.path().join(".aws")).unwrap();
    std::fs::write(env.dir.path().join(".aws/config"), config).unwrap();
}

fn aws_caller(env: &Env) -> String {
    let out = env
        .program(
            &venv("aws"),
            [
                "--profile",
                "cp",
                "--endpoint-url",
                &auth_endpoint(),
                "sts",
                "get-caller-identity",
                "--output",
                "json",
            ],
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["Arn"].as_str().unwrap().to_string()
}

#[test]
fn the_aws_cli_and_boto3_run_on_one_reused_lease_through_credential_process() {
    let env = on_auth_emulator("cons_cp");
    aws_config(&env, "cons_cp");
    let iam = admin_iam();
    let arns: Vec<String> = (0..20).map(|_| aws_caller(&env)).collect();
    assert!(arns.iter().all(|a| a == &arns[0]), "{arns:?}");
    assert!(
        arns[0].contains(":user/awscreds/awscreds-cons_cp-"),
        "{}",
        arns[0]
    );
    assert_eq!(env.leases().len(), 1, "20 aws commands made one lease");
    let user = &env.leases()[0].iam_user;
    assert!(iam.user(user).is_some());

    let boto = env
        .program(
            &venv("python"),
            [
                "-c",
                &format!(
                    "import boto3; print(boto3.Session(profile_name='cp').client('sts', \
                 endpoint_url='{}').get_caller_identity()['Arn'])",
                    auth_endpoint()
                ),
            ],
        )
        .output()
        .unwrap();
    assert!(
        boto.status.success(),
        "{}",
        String::from_utf8_lossy(&boto.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&boto.stdout).trim(), arns[0]);

    // The end of a work session: revoked at once, and the next command gets a new user.
    let id = env.leases()[0].id.clone();
    env.run(["credential-process", "cons_cp", "--revoke"])
        .ok()
        .stdout_is(&format!("Success! Revoked lease: {id}\n"));
    assert!(iam.user(user).is_none());
    let next = aws_caller(&env);
    assert_ne!(next, arns[0]);
    // lease revoke of the kept lease takes it out of the cache too.
    let id = env.leases()[0].id.clone();
    env.run(["lease", "revoke", &id]).ok();
    assert_ne!(aws_caller(&env), next);
}

#[test]
fn ten_callers_at_once_with_nothing_kept_make_one_user() {
    let env = Env::with_roles(&["cons_cold"]);
    let iam = Iam::new();
    let children: Vec<_> = (0..10)
        .map(|_| {
            env.command(["credential-process", "cons_cold", "--no-wait"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let keys: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.stderr.is_empty(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            v["AccessKeyId"].as_str().unwrap().to_string()
        })
        .collect();
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
    assert_eq!(iam.users_of_role("cons_cold").len(), 1);
    assert_eq!(env.leases().len(), 1);
    // The kept secret is sealed: not in the database's files in the clear.
    let run = env.run(["credential-process", "cons_cold"]).ok();
    let secret = run.json()["SecretAccessKey"].as_str().unwrap().to_string();
    env.assert_no_secret_in_files(&secret);
}

#[test]
fn exec_renews_the_lease_while_the_program_runs_up_to_lease_max() {
    let env = Env::with_roles(&["cons_renew"]);
    env.run(["write", "aws/config/lease", "lease=6s", "lease_max=8s"])
        .ok();
    let iam = Iam::new();
    // Renewed at 3 s (a third of the lease left, less the second by which its whole-second end
    // may come sooner) to its maximum, 8 s after issue; the program ends at 5 s, inside it.
    let run = env
        .run([
            "exec",
            "cons_renew",
            "--no-wait",
            "--",
            "sh",
            "-c",
            "sleep 5; echo done",
        ])
        .ok()
        .warns("reached its maximum (lease_max)");
    assert_eq!(run.stdout, "done\n");
    assert!(iam.users_of_role("cons_renew").is_empty());
    assert!(env.leases().is_empty());
}

/// The lease runs from its issue, not from the end of the wait for its key: a wait that takes
/// much of the lease is followed by a renewal at once, and the program keeps working keys.
#[test]
fn exec_renews_on_time_after_a_long_wait_for_the_key() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::at(&proxy.url, &["cons_late"]);
    env.run(["write", "aws/config/lease", "lease=6s", "lease_max=1h"])
        .ok();
    // STS refuses the new key for 3.5 s: the lease has at most 2.5 s left when the program
    // starts, less than the 3 s a renewal timed from then would wait.
    proxy.fault(
        "GetCallerIdentity",
        Fault::RefuseUntil(
            Instant::now() + Duration::from_millis(3500),
            "InvalidClientTokenId",
        ),
        None,
    );
    let run = env
        .run(["exec", "cons_late", "--", "sh", "-c", "sleep 4; echo done"])
        .ok();
    assert_eq!(run.stdout, "done\n");
    assert!(Iam::new().users_of_role("cons_late").is_empty());
    assert!(env.leases().is_empty());
}

#[test]
fn exec_of_sts_credentials_closes_the_lease_and_says_they_stay_valid() {
    let env = Env::configured();
    env.run([
        "write",
        "aws/roles/cons_exec_sts",
        "credential_type=session_token",
    ])
    .ok();
    let run = env
        .run([
            "exec",
            "sts/cons_exec_sts",
            "--",
            "sh",
            "-c",
            "test -n \"$AWS_SESSION_TOKEN\"",
        ])
        .ok()
        .stderr_any();
    assert!(
        run.stderr.starts_with("note: lease aws/sts/cons_exec_sts/")
            && run
                .stderr
                .contains("cannot be recalled at AWS and stay valid until"),
        "{run:#?}"
    );
    assert!(env.leases().is_empty());
}
