//! Revoking leases in bulk: `sweep` (every due lease), the bounded reaping that other commands do
//! first, `lease revoke` by id or prefix, and `unmount` (every lease of a mount). Leases are
//! claimed atomically before they are worked on, so overlapping sweeps never revoke the same
//! lease twice, and a sweep revokes several at once (bounded).

use std::cell::RefCell;
use std::time::Duration;

use futures_util::StreamExt;

use super::Engine;
use super::lease::{PENDING_TIMEOUT, Revoked, retry_delay};
use crate::cloud::Connector;
use crate::error::{Error, Result};
use crate::model::{Lease, LeaseState};
use crate::store::Store;

/// How long a sweep holds the leases it claimed before another sweep may take them.
const HOLD: i64 = 120;
/// The most time another command spends reaping before doing what it was asked.
pub const REAP_BUDGET: Duration = Duration::from_secs(3);
/// Revocations in flight at once, by default. IAM's own rate limits are the ceiling; more than
/// this mostly buys throttling.
pub const DEFAULT_PARALLEL: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepOptions {
    /// Seconds after which a pending lease is cleaned up even if its issuer may be alive.
    pub pending_timeout: i64,
    /// Revocations in flight at once (at least 1).
    pub parallel: usize,
    /// Give up after this long: leases still in hand are recorded as failed, with the reason,
    /// and retried later.
    pub budget: Option<Duration>,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            pending_timeout: PENDING_TIMEOUT,
            parallel: DEFAULT_PARALLEL,
            budget: None,
        }
    }
}

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
    /// Pending leases whose user IAM does not show yet (eventual consistency): kept for later.
    pub waiting: usize,
    pub failed: Vec<Failure>,
    /// Leases left alone, not tried: being issued by a running process.
    pub skipped: Vec<Failure>,
    /// The time budget ran out with due leases left; they are taken up next time.
    pub timed_out: bool,
}

/// Lease prefixes are paths, as in Vault: `aws/creds/deploy` means `aws/creds/deploy/...`, never
/// `aws/creds/deploy_admin/...`.
fn path_prefix(prefix: &str) -> String {
    let prefix = prefix.trim_start_matches('/');
    if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/")
    }
}

impl<S: Store, C: Connector> Engine<S, C> {
    /// What a user's lease prefix matches, as a plain string prefix: a whole lease id stands for
    /// itself (ids end in a UUID, so it matches only that lease); anything else is a path.
    pub(super) fn lease_prefix(&self, prefix: &str) -> Result<String> {
        Ok(match self.store.lease(prefix)? {
            Some(_) => prefix.to_string(),
            None => path_prefix(prefix),
        })
    }
}

/// Progress callbacks: `(done, total)`.
pub type Progress<'a> = &'a dyn Fn(u64, u64);

impl<S: Store, C: Connector> Engine<S, C> {
    /// Revokes every lease that is due: expired, pending past its timeout or orphaned by a dead
    /// issuer, or due for a retry.
    pub async fn sweep(
        &self,
        options: &SweepOptions,
        progress: Progress<'_>,
    ) -> Result<SweepReport> {
        let report = RefCell::new(SweepReport::default());
        let deadline = options.budget.map(|b| tokio::time::Instant::now() + b);
        self.settle_pending(options.pending_timeout)?;
        if let (Some(locks), None) = (&self.owners, options.budget) {
            locks.remove_stale();
        }
        let parallel = options.parallel.max(1);
        let total = self.store.count_due(self.now())?;
        let done = std::cell::Cell::new(0u64);
        progress(0, total);
        loop {
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                report.borrow_mut().timed_out = true;
                break;
            }
            let now = self.now();
            // On a budget, claim no more than can be worked on at once: a lease claimed but not
            // reached would wait out the hold.
            let limit = if deadline.is_some() {
                parallel
            } else {
                (parallel * 4).max(20)
            };
            let batch = self.store.claim_due(now, now + HOLD, limit)?;
            if batch.is_empty() {
                break;
            }
            futures_util::stream::iter(&batch)
                .for_each_concurrent(parallel, |lease| {
                    let (done, report) = (&done, &report);
                    async move {
                        self.revoke_within(lease, options.pending_timeout, deadline, report)
                            .await;
                        done.set(done.get() + 1);
                        // Leases that fell due during the sweep are swept too.
                        progress(done.get(), total.max(done.get()));
                    }
                })
                .await;
        }
        Ok(report.into_inner())
    }

    /// Revokes one lease into the report; past `deadline` it gives up on it, recording why.
    async fn revoke_within(
        &self,
        lease: &Lease,
        pending_timeout: i64,
        deadline: Option<tokio::time::Instant>,
        report: &RefCell<SweepReport>,
    ) {
        let Some(deadline) = deadline else {
            return self.revoke_into(lease, pending_timeout, report).await;
        };
        let work = self.revoke_into(lease, pending_timeout, report);
        if tokio::time::timeout_at(deadline, work).await.is_err() {
            // Cut short by the budget, not refused by AWS: retried soon, without the backoff
            // that real failures get, so that expired credentials are not left valid longer.
            let error = "AWS did not answer within the time allowed; left for awscreds sweep";
            let _ = self
                .store
                .record_failure(&lease.id, error, self.now() + retry_delay(0));
            let mut report = report.borrow_mut();
            report.timed_out = true;
            report.failed.push(Failure {
                lease_id: lease.id.clone(),
                iam_user: lease.iam_user.clone(),
                error: error.into(),
            });
        }
    }

    /// Makes due the pending leases whose issuer is certainly gone (its lock died with it) or
    /// whose pending timeout has passed.
    fn settle_pending(&self, pending_timeout: i64) -> Result<()> {
        let now = self.now();
        for lease in self.store.pending_leases()? {
            if lease.due_at <= now {
                continue;
            }
            let timed_out = now >= lease.issued_at + pending_timeout;
            if timed_out || self.issuer_gone(&lease) {
                self.store.make_due(&lease.id, now)?;
            }
        }
        Ok(())
    }

    fn issuer_gone(&self, lease: &Lease) -> bool {
        match (&self.owners, &lease.owner) {
            (Some(locks), Some(token)) => locks.is_gone(token),
            _ => false,
        }
    }

    async fn revoke_into(
        &self,
        lease: &Lease,
        pending_timeout: i64,
        report: &RefCell<SweepReport>,
    ) {
        let outcome = self.revoke_lease(lease, pending_timeout).await;
        let mut report = report.borrow_mut();
        match outcome {
            Ok(Revoked::Done) => report.revoked += 1,
            Ok(Revoked::Waiting) => report.waiting += 1,
            Err(e) => report.failed.push(Failure {
                lease_id: lease.id.clone(),
                iam_user: lease.iam_user.clone(),
                error: e.to_string(),
            }),
        }
    }

    /// What every command but `sweep` does first: revoke due leases, bounded by [`REAP_BUDGET`].
    /// Returns `None` without building an AWS client when nothing is due (one indexed lookup,
    /// plus one on the few pending leases).
    pub async fn reap(&self) -> Result<Option<SweepReport>> {
        self.settle_pending(PENDING_TIMEOUT)?;
        if !self.store.any_due(self.now())? {
            return Ok(None);
        }
        let options = SweepOptions {
            budget: Some(REAP_BUDGET),
            ..SweepOptions::default()
        };
        self.sweep(&options, &|_, _| {}).await.map(Some)
    }

    /// `lease revoke ID`: revokes one lease now. With `force`, only forgets it, touching nothing
    /// at AWS; returns the lease so that the caller can say what was left behind.
    pub async fn revoke_id(&self, id: &str, force: bool) -> Result<Lease> {
        let lease = self.lease(id)?;
        if force {
            self.store.delete_lease(id)?;
            return Ok(lease);
        }
        self.refuse_if_issuing(&lease)?;
        match self.revoke_lease(&lease, PENDING_TIMEOUT).await? {
            Revoked::Done => Ok(lease),
            Revoked::Waiting => Err(Error::input_hint(
                format!(
                    "lease {id} is pending and IAM does not show its user {} yet",
                    lease.iam_user
                ),
                "the lease is kept; awscreds sweep settles it",
            )),
        }
    }

    /// `lease revoke --prefix P`: revokes every lease under the path `prefix` (with
    /// `force`, forgets them without touching AWS). Returns the leases handled and the report.
    pub async fn revoke_prefix(
        &self,
        prefix: &str,
        force: bool,
        parallel: usize,
    ) -> Result<(Vec<Lease>, SweepReport)> {
        let now = self.now();
        let leases = self
            .store
            .claim_prefix(&self.lease_prefix(prefix)?, now + HOLD)?;
        let report = RefCell::new(SweepReport::default());
        if force {
            for lease in &leases {
                self.store.delete_lease(&lease.id)?;
            }
            report.borrow_mut().revoked = leases.len();
            return Ok((leases, report.into_inner()));
        }
        futures_util::stream::iter(&leases)
            .for_each_concurrent(parallel.max(1), |lease| {
                let report = &report;
                async move {
                    if let Err(e) = self.refuse_if_issuing(lease) {
                        // Left to its issuer: give the claim back.
                        let _ = self.store.set_due(&lease.id, lease.due_at);
                        report.borrow_mut().skipped.push(Failure {
                            lease_id: lease.id.clone(),
                            iam_user: lease.iam_user.clone(),
                            error: e.to_string(),
                        });
                        return;
                    }
                    self.revoke_into(lease, PENDING_TIMEOUT, report).await;
                }
            })
            .await;
        Ok((leases, report.into_inner()))
    }

    /// A pending lease whose issuer is still running must be left to it.
    fn refuse_if_issuing(&self, lease: &Lease) -> Result<()> {
        let young = self.now() < lease.issued_at + PENDING_TIMEOUT;
        if lease.state == LeaseState::Pending && young && !self.issuer_gone(lease) {
            return Err(Error::input_hint(
                format!("lease {} is being issued by a running awscreds", lease.id),
                "try again in a moment",
            ));
        }
        Ok(())
    }

    /// Revokes every lease of the mount at `path`, then removes the mount, its configuration and
    /// roles. It stops at the first lease it cannot revoke and then removes nothing; returns how
    /// many leases were revoked.
    pub async fn unmount(&self, path: &str) -> Result<usize> {
        let mount = self.mount_named(path)?;
        let now = self.now();
        // Its credentials of both kinds; not "{mount}/", which would also take the leases of a
        // mount nested under it (team/aws under team).
        let mut leases = Vec::new();
        for route in ["creds", "sts"] {
            let prefix = format!("{}/{route}/", mount.path);
            leases.extend(self.store.claim_prefix(&prefix, now + HOLD)?);
        }
        // Stop at the first failure: the rest would most likely fail the same way (AWS down,
        // credentials revoked), and the mount must stay whole either way.
        for (done, lease) in leases.iter().enumerate() {
            let outcome = match self.refuse_if_issuing(lease) {
                Ok(()) => self.revoke_lease(lease, PENDING_TIMEOUT).await,
                Err(e) => Err(e),
            };
            let e = match outcome {
                Ok(Revoked::Done) => continue,
                Ok(Revoked::Waiting) => Error::input(format!(
                    "IAM does not show user {} of pending lease {} yet",
                    lease.iam_user, lease.id
                )),
                Err(e) => e,
            };
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
            // The leases not reached keep their expiry: give their claims back.
            for untouched in &leases[done + 1..] {
                self.store.set_due(&untouched.id, untouched.due_at)?;
            }
            return Err(match e {
                Error::Cloud {
                    action: inner,
                    cause,
                    ..
                } => Error::Cloud {
                    action: format!("{action}: {inner}"),
                    cause,
                    hint,
                },
                other => Error::Input {
                    message: format!("{action}: {other}"),
                    hint,
                },
            });
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
