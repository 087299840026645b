//! Rotating a mount's root key: `config/rotate-root`, and on schedule (`rotation_period`) by
//! `sweep`. The sequence is Vault's (CreateAccessKey, store the new key, DeleteAccessKey of the
//! old one with the old credentials), made crash-safe as issuing is: the intent is recorded in the
//! root configuration before CreateAccessKey, and the new key is stored together with the note
//! that the old one is to be deleted. Whatever instant a rotation stops at (an error, kill -9),
//! the next command that calls AWS for the mount (or the next sweep) finishes it (deletes the old
//! key once the new one is stored) or undoes it (deletes a key that was made but never stored).
//! Rotations of one mount, writes of its configuration and those settlements take turns under
//! one lock.

use super::routes::Target;
use super::{Engine, Error, PENDING_TIMEOUT, Result, Warning, Written};
use crate::cloud::{Attachment, Cloud, CloudError, Connector};
use crate::model::RotationIntent;

/// What a sweep did about one mount's root key.
#[derive(Debug)]
pub struct RootRotation {
    pub mount: String,
    /// What was done; on an error the key in use is kept (and still works), and the next sweep
    /// tries again.
    pub outcome: Result<Rotation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// A new root key, made because the old one was due.
    Rotated {
        access_key: String,
        warnings: Vec<Warning>,
    },
    /// A rotation that was cut short after the new key was stored: the old key is now deleted.
    Finished { access_key: String },
    /// A rotation cut short before the new key was stored: a key it made is deleted again, and
    /// the old one stays.
    Undone { access_key: String },
}

impl<C: Connector> Engine<C> {
    /// Takes the lock under which `mount`'s root key is rotated (and its configuration written),
    /// waiting while another process holds it; held until this process ends, and taken at most
    /// once by it.
    pub(super) async fn hold_rotation_lock(&self, mount: &str) -> Result<()> {
        let name = format!("rotate-root:{mount}");
        if self.held_locks.borrow().contains(&name) {
            return Ok(());
        }
        self.store.hold_lock(&name).await?;
        self.held_locks.borrow_mut().insert(name);
        Ok(())
    }

    /// Lets go of the lock of [`Engine::hold_rotation_lock`].
    pub(super) async fn release_rotation_lock(&self, mount: &str) -> Result<()> {
        let name = format!("rotate-root:{mount}");
        if self.held_locks.borrow_mut().remove(&name) {
            self.store.release_lock(&name).await?;
        }
        Ok(())
    }

    /// What every command that builds `mount`'s AWS client does when its configuration notes a
    /// rotation: settles it if it was cut short (after waiting for one in progress elsewhere to
    /// end), then lets go of the lock. Failures are left for later (a sweep reports them). A
    /// process that holds the lock already is a rotation, which settles for itself.
    pub(super) async fn settle_quietly(&self, mount: &str, cloud: &C::Cloud) {
        let name = format!("rotate-root:{mount}");
        if self.held_locks.borrow().contains(&name) {
            return;
        }
        if self.hold_rotation_lock(mount).await.is_ok() {
            let _ = self.settle_rotation(mount, cloud).await;
            let _ = self.release_rotation_lock(mount).await;
        }
    }

    /// `write MOUNT/config/rotate-root`: a new access key for the root IAM user, stored, then the
    /// old one deleted with the old credentials. Returns the new access key id.
    pub(super) async fn rotate_root(&self, target: &Target) -> Result<Written> {
        let mount = target.mount.as_str();
        self.check_rotatable(mount).await?;
        self.hold_rotation_lock(mount).await?;
        let Some(Rotation::Rotated {
            access_key,
            warnings,
        }) = self.rotate(mount, false).await?
        else {
            unreachable!("an unscheduled rotation always rotates or fails")
        };
        Ok(Written::Rotated {
            access_key,
            warnings,
        })
    }

    async fn check_rotatable(&self, mount: &str) -> Result<()> {
        if !self.root_config(mount).await?.has_keys() {
            return Err(Error::input_hint(
                format!("{mount}/config/root has no access key to rotate"),
                "the root credentials come from the AWS credential chain, which is not \
                 awscreds' to rotate",
            ));
        }
        Ok(())
    }

    /// For `sweep`: rotates the root key of every mount whose `rotation_period` has run out, and
    /// settles the rotations that were cut short. Mounts with nothing to do cost one lookup
    /// each and no AWS client.
    pub async fn rotate_roots_if_due(&self) -> Result<Vec<RootRotation>> {
        let mut done = Vec::new();
        for mount in self.store.mounts().await? {
            let mount = mount.path;
            let Some(config) = self.store.root_config(&mount).await? else {
                continue;
            };
            let due = config.next_rotation().is_some_and(|at| at <= self.now());
            if !due && config.rotation.is_none() {
                continue;
            }
            let outcome = async {
                self.hold_rotation_lock(&mount).await?;
                if due {
                    self.rotate(&mount, true).await
                } else {
                    let cloud = self.cloud(&mount).await?;
                    self.settle_rotation(&mount, &*cloud).await
                }
            }
            .await;
            match outcome {
                Ok(None) => {}
                Ok(Some(rotation)) => done.push(RootRotation {
                    mount,
                    outcome: Ok(rotation),
                }),
                Err(e) => done.push(RootRotation {
                    mount,
                    outcome: Err(e),
                }),
            }
        }
        Ok(done)
    }

    /// The mounts whose root key a sweep would rotate now (no AWS call).
    pub async fn rotations_due(&self) -> Result<Vec<String>> {
        let mut due = Vec::new();
        for mount in self.store.mounts().await? {
            if let Some(config) = self.store.root_config(&mount.path).await?
                && (config.next_rotation().is_some_and(|at| at <= self.now())
                    || config.rotation.is_some())
            {
                due.push(mount.path);
            }
        }
        Ok(due)
    }

    /// With the rotation lock held: settles what an earlier rotation left, then rotates (when
    /// `only_if_due`, only if the key is still due: another sweep may have just rotated it).
    async fn rotate(&self, mount: &str, only_if_due: bool) -> Result<Option<Rotation>> {
        let cloud = self.cloud(mount).await?;
        let settled = self.settle_rotation(mount, &*cloud).await?;
        let mut config = self.root_config(mount).await?;
        let due = config.next_rotation().is_some_and(|at| at <= self.now());
        if only_if_due && !due {
            return Ok(settled);
        }
        self.check_rotatable(mount).await?;
        let fail = |action: String, e: CloudError| Error::cloud(action, e);
        let user = cloud
            .caller_user_name()
            .await
            .map_err(|e| fail("finding the IAM user of the root credentials".into(), e))?;
        let keys = cloud
            .list(&user, Attachment::AccessKey)
            .await
            .map_err(|e| fail(format!("listing the access keys of {user}"), e))?;
        if keys.len() >= 2 {
            return Err(Error::input_hint(
                format!("IAM user {user} already has two access keys, IAM's limit"),
                format!(
                    "delete the one that is not {} first, then rotate again",
                    config.access_key
                ),
            ));
        }
        let old_key = config.access_key.clone();
        // The intent first: from here on a crash leaves a note that says what to clean up.
        config.rotation = Some(RotationIntent {
            user: user.clone(),
            old_key: old_key.clone(),
            keys_before: keys,
            new_key: None,
            started_at: self.now(),
        });
        self.store.set_root_config(mount, &config).await?;

        let new = match cloud.create_access_key(&user).await {
            Ok(new) => new,
            Err(e) => {
                if e.proves_nothing_done() {
                    self.clear_rotation(mount).await?;
                } else {
                    // An attempt that timed out may have made a key: deleted now if IAM shows
                    // it, else by a later command (the note stays).
                    let _ = self.settle_rotation(mount, &*cloud).await;
                }
                return Err(fail(format!("creating an access key for {user}"), e));
            }
        };
        let undo = async |e: Error| {
            // Not stored: the new key must not outlive this command.
            let _ = self.settle_rotation(mount, &*cloud).await;
            e
        };
        let sealed = match self.seal_root_secret(mount, &new.secret_access_key).await {
            Ok(sealed) => sealed,
            Err(e) => return Err(undo(e).await),
        };
        // The new key and the note that the old one is to be deleted, in one write.
        let mut stored = self.root_config(mount).await?;
        let now = self.now();
        stored.access_key = new.access_key_id.clone();
        stored.sealed_secret_key = sealed;
        stored.legacy_secret_key.clear();
        stored.key_since = Some(now);
        stored.last_rotated = Some(now);
        stored.rotation = config.rotation.map(|r| RotationIntent {
            new_key: Some(new.access_key_id.clone()),
            ..r
        });
        if let Err(e) = self.store.set_root_config(mount, &stored).await {
            return Err(undo(e.into()).await);
        }
        self.forget_cloud(mount);
        // With the old credentials: the new key may not work everywhere yet (eventual
        // consistency).
        let mut warnings = Vec::new();
        match cloud.remove(&user, Attachment::AccessKey, &old_key).await {
            Ok(()) | Err(CloudError::NoSuchEntity(_)) => self.clear_rotation(mount).await?,
            // The note stays: the next command that calls AWS deletes it.
            Err(e) => warnings.push(Warning::OldRootKeyKept {
                access_key: old_key,
                error: e.to_string(),
            }),
        }
        Ok(Some(Rotation::Rotated {
            access_key: new.access_key_id,
            warnings,
        }))
    }

    /// Finishes or undoes the rotation that `mount`'s configuration notes, if any (the rotation
    /// lock must be held, so that it is not one in progress). `cloud` is the mount's client for
    /// the key now stored.
    async fn settle_rotation(&self, mount: &str, cloud: &C::Cloud) -> Result<Option<Rotation>> {
        let config = self.root_config(mount).await?;
        let Some(intent) = config.rotation.clone() else {
            return Ok(None);
        };
        let user = &intent.user;
        let remove = async |key: &str| match cloud.remove(user, Attachment::AccessKey, key).await {
            Ok(()) | Err(CloudError::NoSuchEntity(_)) => Ok(()),
            Err(e) => Err(Error::cloud(
                format!("deleting access key {key} of {user}, left by an interrupted rotation"),
                e,
            )),
        };
        let outcome = match &intent.new_key {
            Some(new) => {
                // The new key was stored: the old one goes, unless it is the one in use again.
                if intent.old_key != config.access_key {
                    remove(&intent.old_key).await?;
                }
                Some(Rotation::Finished {
                    access_key: new.clone(),
                })
            }
            None => {
                // Any key made since the note, other than the one in use, was never stored.
                let keys = cloud
                    .list(user, Attachment::AccessKey)
                    .await
                    .map_err(|e| Error::cloud(format!("listing the access keys of {user}"), e))?;
                let mut removed = false;
                for key in keys {
                    if !intent.keys_before.contains(&key) && key != config.access_key {
                        remove(&key).await?;
                        removed = true;
                    }
                }
                // IAM may not list a key made moments ago: the note stays for IAM's eventual
                // consistency window, so that later commands look again.
                if self.now() < intent.started_at + PENDING_TIMEOUT {
                    return Ok(removed.then(|| Rotation::Undone {
                        access_key: config.access_key.clone(),
                    }));
                }
                Some(Rotation::Undone {
                    access_key: config.access_key.clone(),
                })
            }
        };
        self.clear_rotation(mount).await?;
        Ok(outcome)
    }

    async fn clear_rotation(&self, mount: &str) -> Result<()> {
        let mut config = self.root_config(mount).await?;
        if config.rotation.take().is_some() {
            self.store.set_root_config(mount, &config).await?;
        }
        Ok(())
    }
}
