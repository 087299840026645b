//! The SQLite store's own guarantees: atomic claims, ownership of pending leases, renewal rules,
//! migrations and file modes.

use super::*;
use crate::model::{CredentialType, LeaseState};
use std::path::Path;

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
        key_wait_ms: None,
        cached_secret: None,
        kind: CredentialType::IamUser,
    }
}

fn act(expires_at: i64) -> Activation<'static> {
    Activation {
        access_key_id: "AK",
        attached: &[],
        expires_at,
    }
}

async fn store_with_mount() -> SqliteStore {
    let store = SqliteStore::in_memory().unwrap();
    store
        .create_mount(&Mount {
            path: "aws".into(),
            kind: "aws".into(),
            created_at: 1,
        })
        .await
        .unwrap();
    store
}

#[tokio::test(flavor = "current_thread")]
async fn a_claimed_lease_is_not_claimed_twice() {
    let store = store_with_mount().await;
    store.insert_lease(&lease("a", 10)).await.unwrap();
    store.insert_lease(&lease("b", 20)).await.unwrap();
    store.insert_lease(&lease("c", 99)).await.unwrap();
    assert!(store.any_due(20).await.unwrap());
    let first = store.claim_due(20, 50, 10).await.unwrap();
    assert_eq!(
        first.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(store.claim_due(20, 50, 10).await.unwrap().is_empty());
    assert!(!store.any_due(20).await.unwrap());
    // After the hold runs out, a lease nobody finished is due again.
    assert_eq!(store.claim_due(50, 80, 1).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_mount_with_leases_cannot_be_deleted() {
    let store = store_with_mount().await;
    store.insert_lease(&lease("a", 10)).await.unwrap();
    assert!(store.delete_mount("aws").await.is_err());
    store.delete_lease("a").await.unwrap();
    assert!(store.delete_mount("aws").await.unwrap());
}

#[tokio::test(flavor = "current_thread")]
async fn a_pending_lease_taken_by_a_revocation_cannot_be_activated() {
    let store = store_with_mount().await;
    let mut pending = lease("a", 10);
    pending.owner = Some("token".into());
    store.insert_lease(&pending).await.unwrap();
    assert!(
        !store
            .activate_if_owned("a", Some("other"), &act(99))
            .await
            .unwrap()
    );
    store.take_pending("a").await.unwrap();
    assert!(
        !store
            .activate_if_owned("a", Some("token"), &act(99))
            .await
            .unwrap()
    );
    store.insert_lease(&lease("b", 10)).await.unwrap();
    assert!(store.activate_if_owned("b", None, &act(99)).await.unwrap());
}

#[tokio::test(flavor = "current_thread")]
async fn only_a_live_active_lease_is_renewed() {
    let store = store_with_mount().await;
    store.insert_lease(&lease("a", 10)).await.unwrap();
    store.activate_if_owned("a", None, &act(100)).await.unwrap();
    assert!(store.renew_lease("a", 50, 200).await.unwrap());
    assert!(!store.renew_lease("a", 300, 400).await.unwrap(), "expired");
    store.record_failure("a", "boom", 500).await.unwrap();
    assert!(
        !store.renew_lease("a", 50, 600).await.unwrap(),
        "being retried"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn failures_are_kept_with_their_error() {
    let store = store_with_mount().await;
    store.insert_lease(&lease("a", 10)).await.unwrap();
    store.record_failure("a", "boom", 70).await.unwrap();
    let got = store.lease("a").await.unwrap().unwrap();
    assert_eq!(
        (got.attempts, got.last_error.as_deref(), got.due_at),
        (1, Some("boom"), 70)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn migrations_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/x.db");
    let id = SqliteStore::open(&path).unwrap().db_id().await.unwrap();
    assert_eq!(SqliteStore::open(&path).unwrap().db_id().await.unwrap(), id);
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
}
