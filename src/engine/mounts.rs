//! Mounts: independent instances of the AWS backend, each with its own root credentials, lease
//! settings, roles and leases. Unmounting revokes every lease of the mount first.

use super::revoke::Revoked;
use super::{Engine, Error, Result, routes};
use crate::cloud::Connector;
use crate::model::Mount;
use crate::params::one_line;
use crate::store::StoreError;

impl<C: Connector> Engine<C> {
    /// Mounts a new instance of backend `kind` (only `aws`) at `path`.
    pub async fn mount(&self, kind: &str, path: Option<&str>) -> Result<Mount> {
        if kind != "aws" {
            return Err(Error::UnknownBackend {
                kind: kind.to_string(),
            });
        }
        let path = path.unwrap_or(kind).trim_matches('/');
        check_mount_path(path)?;
        let mount = Mount {
            path: path.to_string(),
            kind: kind.to_string(),
            created_at: self.now(),
        };
        self.store.create_mount(&mount).await.map_err(|e| match e {
            StoreError::Exists { .. } => Error::MountExists {
                path: path.to_string(),
            },
            other => other.into(),
        })?;
        Ok(mount)
    }

    pub async fn mounts(&self) -> Result<Vec<Mount>> {
        Ok(self.store.mounts().await?)
    }

    async fn mount_named(&self, path: &str) -> Result<Mount> {
        let path = path.trim_matches('/');
        let mounts = self.store.mounts().await?;
        let found = mounts.iter().find(|m| m.path == path).cloned();
        found.ok_or_else(|| {
            let names: Vec<String> = mounts.iter().map(|m| format!("{}/", m.path)).collect();
            Error::input_hint(
                format!("no mount at '{}'", one_line(path)),
                if names.is_empty() {
                    "nothing is mounted".to_string()
                } else {
                    format!("mounts: {}", names.join(", "))
                },
            )
        })
    }

    /// Revokes every lease of the mount at `path`, then removes the mount, its configuration and
    /// roles. It stops at the first lease it cannot revoke and then removes nothing; returns how
    /// many leases were revoked.
    pub async fn unmount(&self, path: &str) -> Result<usize> {
        let mount = self.mount_named(path).await?;
        let now = self.now();
        // Its credentials of both kinds; not "{mount}/", which would also take the leases of a
        // mount nested under it (team/aws under team).
        let mut leases = Vec::new();
        for route in ["creds", "sts"] {
            let prefix = format!("{}/{route}/", mount.path);
            leases.extend(
                self.store
                    .claim_prefix(&prefix, now + super::sweep::HOLD)
                    .await?,
            );
        }
        // Stop at the first failure: the rest would most likely fail the same way (AWS down,
        // credentials revoked), and the mount must stay whole either way.
        for (done, lease) in leases.iter().enumerate() {
            let outcome = match self.refuse_if_issuing(lease).await {
                Ok(()) => {
                    self.revoke_lease(
                        lease,
                        super::PENDING_TIMEOUT,
                        super::revoke::Revocation::once(),
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            let cause = match outcome {
                Ok(Revoked::Done) => continue,
                Ok(Revoked::Waiting) => Error::input(format!(
                    "IAM does not show user {} of pending lease {} yet",
                    lease.iam_user, lease.id
                )),
                Err(e) => e,
            };
            // The leases not reached keep their expiry: give their claims back.
            for untouched in &leases[done + 1..] {
                self.store
                    .release_claim(&untouched.id, untouched.due_at)
                    .await?;
            }
            return Err(Error::UnmountStopped {
                mount: mount.path.clone(),
                lease_id: lease.id.clone(),
                done,
                total: leases.len(),
                cause: Box::new(cause),
            });
        }
        match self.store.delete_mount(&mount.path).await {
            Ok(_) => Ok(leases.len()),
            Err(StoreError::InUse { .. }) => Err(Error::IssuedWhileUnmounting {
                mount: mount.path.clone(),
            }),
            Err(e) => Err(e.into()),
        }
    }
}

/// Mount paths: segments of letters, digits, `_`, `-`, `.`, joined by `/`; no segment may be a
/// route name, or paths such as `creds/x` would become ambiguous.
fn check_mount_path(path: &str) -> Result<()> {
    let hint = "mount paths are letters, digits, '_', '-' and '.', in segments joined by '/'";
    if path.is_empty() {
        return Err(Error::input_hint("empty mount path", hint));
    }
    for segment in path.split('/') {
        let ok = !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !ok {
            return Err(Error::input_hint(
                format!("invalid mount path '{}'", one_line(path)),
                hint,
            ));
        }
        if routes::is_route_head(segment) {
            return Err(Error::input_hint(
                format!("invalid mount path '{path}': \"{segment}\" is a route name"),
                "choose a path such as aws, prod or team/aws",
            ));
        }
    }
    Ok(())
}
