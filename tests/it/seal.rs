//! Secrets sealed at rest: the root secret key never reaches the database's files in the clear;
//! the data key is wrapped by a key file beside the database or by KMS (the emulator's); a
//! database of an earlier version is sealed on open; a wrong or missing key is a clear error
//! that changes nothing, while commands that need no secret still work.

use std::os::unix::fs::PermissionsExt;

use crate::support::*;

/// Where the key file is by default: beside a SQLite file; for a database that is not a file,
/// in the user's data directory, named by the database's id.
fn key_file(env: &Env) -> std::path::PathBuf {
    if postgres() {
        return env
            .dir
            .path()
            .join(".local/share/awscreds")
            .join(format!("{}.key", env.state().db_id()));
    }
    let mut path = env.db.clone().into_os_string();
    path.push(".key");
    path.into()
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A mount on the signature-checking emulator, whose root keys are its administrator's: a
/// credential issued there proves that the root secret was unsealed right.
fn on_auth_emulator(role: &str) -> (Env, String) {
    let env = Env::on_auth_emulator("us-east-1");
    env.role(&format!("aws/roles/{role}"));
    (env, auth_admin().1.clone())
}

/// Issuing works only if the root secret came out of the seal intact.
#[track_caller]
fn issue_on_auth_emulator(env: &Env, role: &str) {
    let (_, access_key) = env.issue(&format!("aws/creds/{role}"));
    assert!(access_key.starts_with("AKIA"), "{access_key}");
}

#[test]
fn the_root_secret_is_sealed_under_a_key_file_beside_the_database() {
    let (env, secret) = on_auth_emulator("seal_file");
    let key = key_file(&env);
    assert_eq!(mode(&key), 0o600);
    assert_eq!(std::fs::metadata(&key).unwrap().len(), 32);
    let stored = env.state().root_config("aws").unwrap();
    assert!(!stored.sealed_secret_key.is_empty());
    env.assert_no_secret_in_files(&secret);
    issue_on_auth_emulator(&env, "seal_file");
    let status = env.run(["seal", "status"]).ok().table();
    assert_eq!(status["wrapping"], "file");
    assert_eq!(status["key"], key.display().to_string());
    assert_eq!(status["secrets"], "1");
    // Nothing in the clear in what is printed either.
    let run = env.run(["seal", "status", "-format=json"]).ok();
    assert_eq!(run.json()["wrapping"], "file");
    assert!(!run.stdout.contains(&secret));
}

#[test]
fn a_database_of_an_earlier_version_is_sealed_on_open_and_no_clear_text_remains() {
    if sqlite_only("it builds an earlier version's SQLite file") {
        return;
    }
    let (env, secret) = on_auth_emulator("seal_legacy");
    // Rewrite the database as an earlier version left it: the secret in the clear in the root
    // configuration's JSON, no seal, no key file. (SQL here, and only here: it is that version's
    // SQLite file that is being made.)
    let config = env.state().root_config("aws").unwrap();
    let mut legacy = serde_json::to_value(&config).unwrap();
    legacy.as_object_mut().unwrap().remove("sealed_secret_key");
    legacy["secret_key"] = secret.clone().into();
    {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        conn.execute(
            "UPDATE mounts SET root_config = ?1 WHERE path = 'aws'",
            [legacy.to_string()],
        )
        .unwrap();
        conn.execute("DELETE FROM meta WHERE key = 'seal'", [])
            .unwrap();
    }
    std::fs::remove_file(key_file(&env)).unwrap();
    let raw = std::fs::read(&env.db).unwrap();
    assert!(
        raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the fixture must hold the secret in the clear"
    );

    // Any command opens it, and seals.
    env.run(["list", "aws/roles/"]).ok();
    env.assert_no_secret_in_files(&secret);
    assert_eq!(mode(&key_file(&env)), 0o600);
    let stored = env.state().root_config("aws").unwrap();
    assert!(stored.legacy_secret_key.is_empty() && !stored.sealed_secret_key.is_empty());
    assert_eq!(env.run(["seal", "status"]).ok().table()["secrets"], "1");
    // The secret survived the move.
    issue_on_auth_emulator(&env, "seal_legacy");
}

#[test]
fn a_missing_or_wrong_key_file_is_a_clear_error_that_changes_nothing() {
    let env = Env::with_roles(&["seal_missing"]);
    let iam = Iam::new();
    let key = key_file(&env);
    std::fs::rename(&key, env.dir.path().join("saved.key")).unwrap();
    let before = env.dump();
    env.run(["read", "aws/creds/seal_missing"])
        .fails(1)
        .one_line_error(&format!("seal key file {} does not exist", key.display()));
    assert_eq!(env.dump(), before);
    assert!(iam.users_of_role("seal_missing").is_empty());
    // Commands that need no secret still work.
    env.run(["read", "aws/roles/seal_missing"]).ok();
    env.run(["list", "aws/roles/"]).ok();
    env.run(["read", "aws/config/root"]).ok();

    // Another key: refused as not this database's, and not replaced.
    let other = Env::new().with_var("AWSCREDS_SEAL_KEY_FILE", &key.display().to_string());
    other.run(["mount", "aws"]).ok();
    other
        .run([
            "write",
            "aws/config/root",
            "access_key=AKIAOTHER",
            "secret_key=other",
        ])
        .ok();
    env.run(["read", "aws/creds/seal_missing"])
        .fails(1)
        .one_line_error(&format!(
            "seal key file {} does not unseal this database",
            key.display()
        ));
    assert_eq!(env.dump(), before);

    // The right key back: everything works again.
    std::fs::rename(env.dir.path().join("saved.key"), &key).unwrap();
    env.issue("aws/creds/seal_missing");
    assert_eq!(iam.users_of_role("seal_missing").len(), 1);
}

#[test]
fn a_key_file_that_others_can_read_is_refused_with_the_chmod_that_fixes_it() {
    let env = Env::with_roles(&["seal_open"]);
    let key = key_file(&env);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.run(["read", "aws/creds/seal_open"])
        .fails(1)
        .one_line_error(&format!(
            "seal key file {} can be read by others (mode 644)",
            key.display()
        ))
        .stderr_has(&format!("hint: chmod 600 {}", key.display()));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.issue("aws/creds/seal_open");
}

#[test]
fn a_database_that_others_can_read_gets_a_warning_naming_the_fix() {
    if sqlite_only("the modes of the database's file") {
        return;
    }
    let env = Env::with_roles(&["seal_dbmode"]);
    std::fs::set_permissions(&env.db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let dir = env.db.parent().unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = env.run(["list", "aws/roles/"]).ok().stderr_any();
    assert_eq!(
        run.stderr,
        format!(
            "warning: database {db} can be read by others; fix: chmod 600 {db}\n\
             warning: the directory of database {db} can be read by others; fix: chmod 700 {dir}\n",
            db = env.db.display(),
            dir = dir.display()
        )
    );
    std::fs::set_permissions(&env.db, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    env.run(["list", "aws/roles/"]).ok();
}

#[test]
fn rotate_reseals_every_secret_in_one_go_and_loses_none() {
    let (env, secret) = on_auth_emulator("seal_rotate");
    env.configure("second");
    let before = env.state();
    let (aws, second) = (
        before.root_config("aws").unwrap().sealed_secret_key,
        before.root_config("second").unwrap().sealed_secret_key,
    );
    drop(before);
    env.run(["seal", "rotate"])
        .ok()
        .stdout_is("Success! Rotated the data key; re-sealed 2 secrets\n");
    let after = env.state();
    assert_ne!(after.root_config("aws").unwrap().sealed_secret_key, aws);
    assert_ne!(
        after.root_config("second").unwrap().sealed_secret_key,
        second
    );
    drop(after);
    env.assert_no_secret_in_files(&secret);
    env.assert_no_secret_in_files(SEED_SECRET_KEY);
    issue_on_auth_emulator(&env, "seal_rotate");
    env.role("second/roles/seal_rotate2");
    env.issue("second/creds/seal_rotate2");
}

/// Makes a KMS key on the emulator; returns its id.
pub fn kms_key() -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "AKIATESTKMS000000000",
            "kms-secret",
            None,
            None,
            "tests",
        ))
        .endpoint_url(endpoint())
        .build();
    let client = aws_sdk_kms::Client::from_conf(config);
    rt.block_on(async { client.create_key().send().await.unwrap() })
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string()
}

/// The machine's AWS configuration that KMS is reached with (never a mount's root keys).
pub fn with_kms(env: Env) -> Env {
    env.with_var("AWS_ENDPOINT_URL_KMS", &endpoint())
        .with_var("AWS_ACCESS_KEY_ID", "AKIATESTKMS000000000")
        .with_var("AWS_SECRET_ACCESS_KEY", "kms-secret")
        .with_var("AWS_REGION", "us-east-1")
}

#[test]
fn kms_wraps_the_data_key_so_that_no_key_file_is_needed() {
    let env = with_kms(Env::with_roles(&["seal_kms"]));
    let key_id = kms_key();
    env.run(["seal", "kms", &key_id])
        .ok()
        .stdout_is(&format!("Success! Sealed with KMS key {key_id}\n"));
    let status = env.run(["seal", "status"]).ok().table();
    assert_eq!(
        (status["wrapping"].as_str(), status["key"].as_str()),
        ("kms", key_id.as_str())
    );
    std::fs::remove_file(key_file(&env)).unwrap();
    env.issue("aws/creds/seal_kms");
    env.run(["seal", "rotate"]).ok();
    env.issue("aws/creds/seal_kms");
    env.assert_no_secret_in_files(SEED_SECRET_KEY);

    // Back to a key file, made anew.
    env.run(["seal", "file"]).ok().stdout_is(&format!(
        "Success! Sealed with key file {}\n",
        key_file(&env).display()
    ));
    assert_eq!(mode(&key_file(&env)), 0o600);
    let mut plain = env;
    plain.vars.clear();
    plain.issue("aws/creds/seal_kms");
    assert_eq!(
        plain.run(["seal", "status"]).ok().table()["wrapping"],
        "file"
    );
}

#[test]
fn an_unknown_kms_key_is_a_clear_error_that_changes_nothing() {
    let env = with_kms(Env::with_roles(&["seal_kms_bad"]));
    let before = env.dump();
    let run = env
        .run(["seal", "kms", "no-such-key"])
        .fails(2)
        .stderr_any();
    let line = run.stderr.lines().next().unwrap();
    assert!(
        line.starts_with("error: sealing with KMS key no-such-key: NotFoundException"),
        "{run:#?}"
    );
    assert_eq!(env.dump(), before);
    assert_eq!(env.run(["seal", "status"]).ok().table()["wrapping"], "file");
}
