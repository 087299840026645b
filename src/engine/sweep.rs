//! Revoking leases in bulk: `sweep` (every due lease), the bounded reaping that other commands do
//! first, and `unmount` (every lease of a mount). A sweep claims the leases it works on atomically,
//! so overlapping sweeps never revoke the same lease twice.

use std::time::Duration;

use super::Engine;
use crate::cloud::Connector;
use crate::error::{Error, Result};
use crate::model::Lease;
use crate::store::Store;

/// How long a sweep holds the leases it claimed before another sweep may take them.
const HOLD: i64 = 120;
/// Leases claimed at a time: small, so that a reap cut short holds few of them.
const BATCH: usize = 20;
/// The most time another command spends reaping before doing what it was asked.
pub const REAP_BUDGET: Duration = Duration::from_secs(3);

/// A lease that could not be revoked; it stays in the database and is retried later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub lease_id: String,
    pub iam_user: String,
    pub error: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub revoked: usize,
    pub failed: Vec<Failure>,
    /// The time budget ran out with due leases left; they are taken up next time.
    pub timed_out: bool,
}

impl<S: Store, C: Connector> Engine<S, C> {
    /// Revokes every lease that is due (expired, or pending past its grace period, or due for a
    /// retry), within `budget` if one is given.
    pub async fn sweep(&self, budget: Option<Duration>) -> Result<SweepReport> {
        let mut report = SweepReport::default();
        match budget {
            None => self.sweep_due(&mut report).await?,
            Some(budget) => {
                let outcome = tokio::time::timeout(budget, self.sweep_due(&mut report)).await;
                match outcome {
                    Ok(result) => result?,
                    Err(_elapsed) => report.timed_out = true,
                }
            }
        }
        Ok(report)
    }

    async fn sweep_due(&self, report: &mut SweepReport) -> Result<()> {
        loop {
            let now = self.now();
            let batch = self.store.claim_due(now, now + HOLD, BATCH)?;
            if batch.is_empty() {
                return Ok(());
            }
            for lease in &batch {
                self.revoke_into(lease, report).await;
            }
        }
    }

    async fn revoke_into(&self, lease: &Lease, report: &mut SweepReport) {
        match self.revoke(lease).await {
            Ok(()) => report.revoked += 1,
            Err(e) => report.failed.push(Failure {
                lease_id: lease.id.clone(),
                iam_user: lease.iam_user.clone(),
                error: e.to_string(),
            }),
        }
    }

    /// What every command but `sweep` does first: revoke due leases, bounded by [`REAP_BUDGET`].
    /// Returns `None` without building an AWS client when nothing is due (one indexed lookup).
    pub async fn reap(&self) -> Result<Option<SweepReport>> {
        if !self.store.any_due(self.now())? {
            return Ok(None);
        }
        self.sweep(Some(REAP_BUDGET)).await.map(Some)
    }

    /// Revokes every lease of the mount at `path`, then removes the mount, its configuration and
    /// roles. If any revocation fails, the mount stays whole; returns how many leases were revoked.
    pub async fn unmount(&self, path: &str) -> Result<usize> {
        let mount = self.mount_named(path)?;
        let now = self.now();
        let leases = self.store.claim_mount_leases(&mount.path, now + HOLD)?;
        // Stop at the first failure: the rest would most likely fail the same way (AWS down,
        // credentials revoked), and the mount must stay whole either way.
        for (done, lease) in leases.iter().enumerate() {
            if let Err(e) = self.revoke(lease).await {
                let action = format!(
                    "unmounting '{}' stopped at lease {} ({done} of {} revoked, nothing removed)",
                    mount.path,
                    lease.id,
                    leases.len()
                );
                let hint = Some(format!(
                    "fix the cause and run awscreds unmount {} again; the lease stays and \
                     awscreds sweep retries it",
                    mount.path
                ));
                return Err(match e {
                    Error::Cloud {
                        action: inner,
                        source,
                        ..
                    } => Error::Cloud {
                        action: format!("{action}: {inner}"),
                        source,
                        hint,
                    },
                    other => Error::Input {
                        message: format!("{action}: {other}"),
                        hint,
                    },
                });
            }
        }
        match self.store.delete_mount(&mount.path) {
            Ok(_) => Ok(leases.len()),
            Err(crate::store::StoreError::InUse { .. }) => Err(Error::input_hint(
                format!(
                    "new leases were issued from '{}' while unmounting",
                    mount.path
                ),
                format!("run awscreds unmount {} again", mount.path),
            )),
            Err(e) => Err(e.into()),
        }
    }
}
