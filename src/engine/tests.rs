//! Unit tests of the engine's logic on the in-memory IAM fake and an in-memory store. Every
//! feature here is also tested end to end against the emulator (tests/it).

use std::rc::Rc;

use super::*;
use crate::cloud::fake::{FakeConnector, FakeIam};
use crate::cloud::{Attachment, CloudError};
use crate::model::Lease;
use crate::store::SqliteStore;

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[]}"#;

type TestEngine = Engine<FakeConnector>;

/// An engine on an in-memory store whose seal key file lives in `dir`.
async fn engine() -> (TestEngine, Rc<FakeIam>, tempfile::TempDir) {
    let iam = Rc::new(FakeIam::default());
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(
        Box::new(SqliteStore::in_memory().unwrap()),
        FakeConnector(iam.clone()),
    )
    .with_seal(SealSettings {
        key_file: None,
        default: KeyFileDefault::InDir(dir.path().to_path_buf()),
    });
    engine.mount("aws", None).await.unwrap();
    let mut root = Map::new();
    for (k, v) in [
        ("access_key", "AK"),
        ("secret_key", "SK"),
        ("region", "us-east-1"),
    ] {
        root.insert(k.into(), v.into());
    }
    engine.write("aws/config/root", &root).await.unwrap();
    let mut role = Map::new();
    role.insert("policy".into(), POLICY.into());
    engine.write("aws/roles/r", &role).await.unwrap();
    (engine, iam, dir)
}

async fn leases(engine: &TestEngine) -> Vec<Lease> {
    engine.store.leases_with_prefix("").await.unwrap()
}

async fn issue(engine: &TestEngine) -> Issued {
    match engine.read("creds/r", &Map::new()).await.unwrap() {
        Read::Issued(issued) => issued,
        other => panic!("{other:?}"),
    }
}

fn api(code: &str) -> CloudError {
    CloudError::Refused {
        code: code.into(),
        message: "no".into(),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn issuing_makes_exactly_three_iam_calls() {
    let (engine, iam, _dir) = engine().await;
    let secret = issue(&engine).await;
    assert_eq!(
        iam.operations(),
        ["CreateUser", "PutUserPolicy", "CreateAccessKey"]
    );
    let users = iam.users.borrow();
    let (name, user) = users.iter().next().unwrap();
    assert!(name.starts_with("awscreds-r-"));
    assert_eq!(user.ids(Attachment::InlinePolicy), ["r"]);
    assert_eq!(
        secret.credential.access_key_id,
        user.ids(Attachment::AccessKey)[0].as_str()
    );
    assert_eq!(user.tags[0].1, secret.lease.id);
    assert_eq!(user.path, "/awscreds/");
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_step_deletes_the_user_and_the_lease() {
    let (engine, iam, _dir) = engine().await;
    iam.fail("CreateAccessKey", api("LimitExceeded"));
    let err = engine.read("creds/r", &Map::new()).await.unwrap_err();
    assert!(err.is_cloud());
    assert!(iam.users.borrow().is_empty());
    assert!(leases(&engine).await.is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_retried_create_user_that_had_succeeded_is_ours() {
    let (engine, iam, _dir) = engine().await;
    iam.create_user_answer_lost.set(true);
    issue(&engine).await;
    assert_eq!(iam.users.borrow().len(), 1);
    assert_eq!(
        leases(&engine).await[0].state,
        crate::model::LeaseState::Active
    );
}

#[tokio::test(flavor = "current_thread")]
async fn somebody_elses_user_of_the_same_name_is_never_adopted() {
    let (engine, iam, _dir) = engine().await;
    // The fake refuses without creating: the user of that name is not tagged as ours.
    iam.fail("CreateUser", CloudError::AlreadyExists("exists".into()));
    let err = engine.read("creds/r", &Map::new()).await.unwrap_err();
    assert!(err.to_string().starts_with("creating IAM user"), "{err}");
    assert!(leases(&engine).await.is_empty());
    assert!(!iam.operations().contains(&"PutUserPolicy".to_string()));
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_rollback_keeps_the_pending_lease() {
    let (engine, iam, _dir) = engine().await;
    let boom = CloudError::Unreachable {
        endpoint: "http://iam".into(),
        reason: "down".into(),
        attempts: crate::cloud::Attempts(5),
    };
    iam.fail("CreateAccessKey", boom.clone());
    iam.fail("DeleteUser", boom);
    engine.read("creds/r", &Map::new()).await.unwrap_err();
    assert_eq!(iam.users.borrow().len(), 1);
    let kept = leases(&engine).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].state, crate::model::LeaseState::Pending);
    assert!(
        kept[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("cleanup pending")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn revoking_removes_what_others_attached_only_when_iam_insists() {
    let (engine, iam, _dir) = engine().await;
    issue(&engine).await;
    let lease = leases(&engine).await.remove(0);
    iam.calls.borrow_mut().clear();
    engine
        .revoke_lease(&lease, 300, super::revoke::Revocation::once())
        .await
        .unwrap();
    // What issuing attached is known: removed without listing, three calls in all.
    assert_eq!(
        iam.operations(),
        ["DeleteAccessKey", "DeleteUserPolicy", "DeleteUser"]
    );

    issue(&engine).await;
    let lease = leases(&engine).await.remove(0);
    for kind in Attachment::OTHERS {
        iam.attach(&lease.iam_user, kind, "someone-elses");
    }
    iam.users
        .borrow_mut()
        .get_mut(&lease.iam_user)
        .unwrap()
        .login_profile = true;
    engine
        .revoke_lease(&lease, 300, super::revoke::Revocation::once())
        .await
        .unwrap();
    assert!(iam.users.borrow().is_empty());
    assert!(leases(&engine).await.is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_revocation_is_kept_with_backoff() {
    let (engine, iam, _dir) = engine().await;
    issue(&engine).await;
    let lease = leases(&engine).await.remove(0);
    iam.fail("DeleteUser", api("ServiceFailure"));
    engine
        .revoke_lease(&lease, 300, super::revoke::Revocation::once())
        .await
        .unwrap_err();
    let kept = leases(&engine).await.remove(0);
    assert_eq!(kept.attempts, 1);
    assert!(kept.due_at >= engine.now() + 30);
    assert!(kept.last_error.unwrap().contains("ServiceFailure"));
}

#[tokio::test(flavor = "current_thread")]
async fn reaping_builds_no_client_when_nothing_is_due() {
    let (engine, iam, _dir) = engine().await;
    issue(&engine).await;
    iam.calls.borrow_mut().clear();
    engine.clouds.borrow_mut().clear();
    assert_eq!((engine.reap().await).unwrap(), None);
    assert!(engine.clouds.borrow().is_empty());
    assert!(iam.calls.borrow().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn renewal_is_capped_at_lease_max() {
    let (engine, _iam, _dir) = engine().await;
    let mut lease_config = Map::new();
    lease_config.insert("lease".into(), "1h".into());
    lease_config.insert("lease_max".into(), "2h".into());
    engine
        .write("aws/config/lease", &lease_config)
        .await
        .unwrap();
    let id = issue(&engine).await.lease.id;
    let (info, warning) = engine.renew(&id, Some(1800)).await.unwrap();
    assert_eq!((info.duration, warning), (1800, None));
    let (info, warning) = engine.renew(&id, Some(3 * 3600)).await.unwrap();
    assert!(info.duration <= 7200 && !info.renewable);
    assert!(warning.unwrap().to_string().contains("capped"));
    let err = engine.renew(&id, None).await.unwrap_err();
    assert!(err.to_string().contains("already at its maximum"), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_field_creds_do_not_return_is_refused_before_issuing() {
    let (engine, iam, _dir) = engine().await;
    engine.check_field("creds/r", "secret_key").await.unwrap();
    let err = engine.check_field("creds/r", "nope").await.unwrap_err();
    assert_eq!(err.to_string(), "Field \"nope\" not present in secret");
    assert!(iam.calls.borrow().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn group_policies_are_merged_into_sts_requests() {
    let (engine, iam, _dir) = engine().await;
    let mut role = Map::new();
    role.insert("credential_type".into(), "federation_token".into());
    role.insert("policy_document".into(), POLICY.into());
    role.insert("iam_groups".into(), "g1,g2".into());
    engine.write("aws/roles/fed", &role).await.unwrap();
    let Read::Issued(secret) = engine.read("creds/fed", &Map::new()).await.unwrap() else {
        panic!("credentials");
    };
    assert!(!secret.lease.renewable);
    let requests = iam.sts_requests.borrow();
    let (policy, arns) = &requests[0];
    let policy: Value = serde_json::from_str(policy.as_deref().unwrap()).unwrap();
    let sids: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    assert_eq!(sids, ["g1", "g2"]);
    assert_eq!(arns.len(), 2);
}
