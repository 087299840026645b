//! The chain catches what a person without the key might do to a log.

use super::*;

fn log(key: &SecretKey, n: usize) -> Vec<String> {
    let mut prev = String::new();
    (0..n)
        .map(|i| {
            let (line, hmac) = chain::seal_entry(key, json!({"type": "request", "n": i}), &prev);
            prev = hmac;
            line
        })
        .collect()
}

fn check(key: &SecretKey, lines: &[String]) -> Result<Verified, VerifyError> {
    verify(lines.concat().as_bytes(), key)
}

#[test]
fn an_untouched_log_verifies() {
    let key = SecretKey::generate().unwrap();
    assert_eq!(check(&key, &log(&key, 5)), Ok(Verified { entries: 5 }));
    assert_eq!(check(&key, &[]), Ok(Verified { entries: 0 }));
}

#[test]
fn a_changed_removed_or_inserted_entry_is_found() {
    let key = SecretKey::generate().unwrap();
    let lines = log(&key, 5);

    let mut changed = lines.clone();
    changed[2] = changed[2].replace("\"n\":2", "\"n\":9");
    assert_eq!(
        check(&key, &changed),
        Err(VerifyError::Changed { entry: 3 })
    );

    let mut removed = lines.clone();
    removed.remove(1);
    assert_eq!(
        check(&key, &removed),
        Err(VerifyError::Removed { entry: 2 })
    );
    // The first entry gone: the new first one names a predecessor.
    assert_eq!(
        check(&key, &lines[1..]),
        Err(VerifyError::Removed { entry: 1 })
    );

    let other = SecretKey::generate().unwrap();
    let forged = log(&other, 1).remove(0);
    let mut inserted = lines.clone();
    inserted.insert(3, forged);
    assert_eq!(
        check(&key, &inserted),
        Err(VerifyError::Changed { entry: 4 })
    );

    let mut garbage = lines;
    garbage.insert(0, "not json\n".into());
    assert_eq!(
        check(&key, &garbage),
        Err(VerifyError::NotAnEntry { entry: 1 })
    );
}

#[test]
fn every_string_is_hashed_and_the_hash_is_the_one_audit_hash_prints() {
    let key = SecretKey::generate().unwrap();
    let value = json!({"access_key": "AKIA1", "n": 3, "list": ["a"], "nested": {"k": "v"}});
    let got = hashed(&key, &value);
    assert_eq!(got["access_key"], hash(&key, "AKIA1"));
    assert_eq!(got["n"], 3);
    assert_eq!(got["list"][0], hash(&key, "a"));
    assert_eq!(got["nested"]["k"], hash(&key, "v"));
    assert!(hash(&key, "AKIA1").starts_with("hmac-sha256:"));
    assert_eq!(hash(&key, "AKIA1").len(), "hmac-sha256:".len() + 64);
}

#[test]
fn appends_chain_across_writers_to_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let key = SecretKey::generate().unwrap();
    let device = Device {
        path: "file/".into(),
        file_path: path.display().to_string(),
    };
    let request = Request {
        id: "1".into(),
        operation: "read".into(),
        path: "aws/creds/x".into(),
        mount: Some("aws".into()),
        data: Map::new(),
    };
    for _ in 0..3 {
        // A new auditor each time, as a new process would be.
        let auditor = Auditor::new(vec![device.clone()], key.clone());
        auditor.request(&request).unwrap();
        auditor
            .response(&request, &Response::default(), None)
            .unwrap();
    }
    let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    assert_eq!(verify(file, &key), Ok(Verified { entries: 6 }));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}
