//! The lease lifecycle: issuing an IAM-user credential and taking it back.
//!
//! Invariant: a lease row exists from before the first IAM call until the IAM user is confirmed
//! gone. Issuing records a `pending` lease first (due for cleanup after [`PENDING_GRACE`]), then
//! calls CreateUser -> PutUserPolicy -> CreateAccessKey, then activates the lease. If a step fails
//! the command deletes what it created; if the process dies, a later sweep finds the pending row.

use serde_json::{Map, Value};

use super::routes::Target;
use super::{Engine, LeaseInfo, Secret, username};
use crate::cloud::{AccessKey, Cloud, CloudError, Connector, NewUser};
use crate::error::{Error, Result};
use crate::model::{Lease, LeaseState, Role};
use crate::store::Store;

/// How long a pending lease is left alone before a sweep cleans it up. Also IAM's eventual
/// consistency window: until then, a user that IAM says does not exist may still appear (Vault
/// uses the same five minutes before trusting NoSuchEntity in its rollbacks).
pub const PENDING_GRACE: i64 = 300;
/// The IAM path of every user awscreds creates.
pub const IAM_PATH: &str = "/awscreds/";
pub const TAG_LEASE: &str = "awscreds:lease-id";
pub const TAG_DB: &str = "awscreds:db";

/// What deleting an IAM user found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Deleted {
    /// We deleted it.
    Now,
    /// IAM says it does not exist.
    AlreadyGone,
}

impl<S: Store, C: Connector> Engine<S, C> {
    /// `read MOUNT/creds/NAME`: a new IAM user with the role's policy and an access key.
    pub(super) async fn issue(&self, target: &Target, role_name: &str) -> Result<Secret> {
        let mount = target.mount.as_str();
        let role = self.store.role(mount, role_name)?.ok_or_else(|| {
            Error::input_hint(
                format!("Role \"{role_name}\" not found"),
                format!(
                    "create it first: awscreds write {mount}/roles/{role_name} policy=@policy.json"
                ),
            )
        })?;
        let lease_config = self.lease_config(mount)?;
        let cloud = self.cloud(mount).await?;
        let db_id = self.store.db_id()?;

        let now = self.now();
        let mut lease = Lease {
            id: format!("{}/{}", target.path(), uuid::Uuid::new_v4()),
            mount: mount.to_string(),
            role: role.name.clone(),
            iam_user: username::generate(&role.name, now),
            access_key_id: None,
            state: LeaseState::Pending,
            issued_at: now,
            expires_at: now + PENDING_GRACE,
            max_expires_at: now + lease_config.lease_max as i64,
            due_at: now + PENDING_GRACE,
            attempts: 0,
            last_error: None,
        };
        self.store.insert_lease(&lease)?;

        let tags = [
            (TAG_LEASE.to_string(), lease.id.clone()),
            (TAG_DB.to_string(), db_id),
        ];
        let new_user = NewUser {
            name: &lease.iam_user,
            path: IAM_PATH,
            tags: &tags,
        };
        if let Err(e) = cloud.create_user(&new_user).await {
            return Err(self.creation_failed(&lease, e).await);
        }
        let key = match self.finish_user(&*cloud, &lease.iam_user, &role).await {
            Ok(key) => key,
            Err(e) => {
                let action = format!("setting up IAM user {}", lease.iam_user);
                let hint = self
                    .undo(&*cloud, &lease, &format!("{action}: {e}"))
                    .await?;
                return Err(Error::Cloud {
                    action,
                    source: e,
                    hint: Some(hint),
                });
            }
        };
        lease.expires_at = self.now() + lease_config.lease as i64;
        if let Err(e) = self
            .store
            .activate_lease(&lease.id, &key.access_key_id, lease.expires_at)
        {
            // The credential was never handed out: take it back rather than leave it pending.
            let _ = self
                .undo(&*cloud, &lease, "recording the lease failed")
                .await;
            return Err(e.into());
        }

        let mut data = Map::new();
        data.insert("access_key".into(), Value::String(key.access_key_id));
        data.insert("secret_key".into(), Value::String(key.secret_access_key));
        Ok(Secret {
            lease: Some(LeaseInfo {
                id: lease.id,
                duration: lease_config.lease,
                renewable: true,
            }),
            data,
        })
    }

    async fn finish_user(
        &self,
        cloud: &C::Cloud,
        user: &str,
        role: &Role,
    ) -> std::result::Result<AccessKey, CloudError> {
        cloud
            .put_user_policy(user, &role.name, &role.policy)
            .await?;
        cloud.create_access_key(user).await
    }

    /// CreateUser failed. A definite refusal created nothing, so the lease row goes; an error that
    /// leaves it unknown whether the user exists (a timeout, a dropped connection) keeps the row
    /// pending for the sweep to settle.
    async fn creation_failed(&self, lease: &Lease, error: CloudError) -> Error {
        let action = format!("creating IAM user {}", lease.iam_user);
        let definite = matches!(error, CloudError::Api { .. } | CloudError::Throttled(_));
        let kept = if definite {
            self.store.delete_lease(&lease.id).err()
        } else {
            self.store
                .record_failure(&lease.id, &format!("{action}: {error}"), lease.due_at)
                .err()
        };
        let mut err = Error::cloud(action, error);
        if let (Error::Cloud { hint, .. }, false) = (&mut err, definite) {
            *hint = Some(format!(
                "if the user was created, awscreds sweep removes it after {} minutes",
                PENDING_GRACE / 60
            ));
        }
        if let Some(store_error) = kept {
            return Error::Store(store_error);
        }
        err
    }

    /// A step after CreateUser failed: delete what was created and the lease with it. If that
    /// fails too, the pending lease stays, marked with `why`, and a later sweep retries. Returns a
    /// hint that tells the user which of the two happened.
    async fn undo(&self, cloud: &C::Cloud, lease: &Lease, why: &str) -> Result<String> {
        match delete_iam_user(cloud, &lease.iam_user).await {
            Ok(Deleted::Now) => {
                self.store.delete_lease(&lease.id)?;
                Ok("the IAM user was deleted again; nothing was left behind".into())
            }
            // Just created, so "does not exist" is IAM's eventual consistency: keep the lease.
            Ok(Deleted::AlreadyGone) | Err(_) => {
                self.store.record_failure(
                    &lease.id,
                    &format!("{why}; cleanup pending"),
                    lease.due_at,
                )?;
                Ok(format!(
                    "could not delete the IAM user yet; awscreds sweep removes it within {} minutes",
                    PENDING_GRACE / 60
                ))
            }
        }
    }

    /// Takes a lease back: deletes its IAM user (keys, policies, user) and then the lease row.
    /// On failure the lease is kept, with the error and a later retry time.
    pub(super) async fn revoke(&self, lease: &Lease) -> Result<()> {
        let result = match self.cloud(&lease.mount).await {
            Ok(cloud) => delete_iam_user(&*cloud, &lease.iam_user)
                .await
                .map_err(|e| Error::cloud(format!("deleting IAM user {}", lease.iam_user), e)),
            Err(e) => Err(e),
        };
        let now = self.now();
        let err = match result {
            // A pending lease younger than the grace period may name a user that IAM does not
            // show yet; only after it is "does not exist" trusted.
            Ok(Deleted::AlreadyGone)
                if lease.state == LeaseState::Pending && now < lease.issued_at + PENDING_GRACE =>
            {
                Error::input(format!(
                    "IAM does not show user {} yet (eventual consistency); will retry",
                    lease.iam_user
                ))
            }
            Ok(_) => return Ok(self.store.delete_lease(&lease.id)?),
            Err(e) => e,
        };
        self.store.record_failure(
            &lease.id,
            &err.to_string(),
            now + retry_delay(lease.attempts),
        )?;
        Err(err)
    }
}

/// Seconds until a failed revocation is tried again: 30 s doubling per attempt, at most an hour.
fn retry_delay(attempts: u32) -> i64 {
    (30i64 << attempts.min(7)).min(3600)
}

/// Deletes an IAM user and what IAM requires gone first: its access keys and inline policies.
/// "No such entity" for anything along the way means someone already deleted it.
pub(super) async fn delete_iam_user<T: Cloud + ?Sized>(
    cloud: &T,
    user: &str,
) -> std::result::Result<Deleted, CloudError> {
    let gone_ok = |r: std::result::Result<(), CloudError>| match r {
        Err(CloudError::NoSuchEntity(_)) => Ok(()),
        other => other,
    };
    let keys = match cloud.list_access_keys(user).await {
        Err(CloudError::NoSuchEntity(_)) => return Ok(Deleted::AlreadyGone),
        other => other?,
    };
    for key in &keys {
        gone_ok(cloud.delete_access_key(user, key).await)?;
    }
    for policy in &cloud.list_user_policies(user).await? {
        gone_ok(cloud.delete_user_policy(user, policy).await)?;
    }
    match cloud.delete_user(user).await {
        Err(CloudError::NoSuchEntity(_)) => Ok(Deleted::AlreadyGone),
        other => other.map(|()| Deleted::Now),
    }
}
