//! Revoking due leases in bulk: `sweep` (every due lease) and the bounded reaping that other
//! commands do first. Leases are claimed atomically before they are worked on, so overlapping
//! sweeps never revoke the same lease twice, and a sweep revokes several at once (bounded).

use std::cell::RefCell;
use std::time::Duration;

use futures_util::StreamExt;

use super::leases::retry_delay;
use super::revoke::Revoked;
use super::{Engine, PENDING_TIMEOUT, Result};
use crate::cloud::Connector;
use crate::model::Lease;

/// How long a sweep holds the leases it claimed before another sweep may take them.
pub(super) const HOLD: i64 = 120;
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
    /// The ids of the leases revoked (for the audit log).
    pub revoked_leases: Vec<String>,
    /// Pending leases whose user IAM does not show yet (eventual consistency): kept for later.
    pub waiting: usize,
    pub failed: Vec<Failure>,
    /// Leases left alone, not tried: being issued by a running process.
    pub skipped: Vec<Failure>,
    /// The time budget ran out with due leases left; they are taken up next time.
    pub timed_out: bool,
}

/// Progress callbacks: `(done, total)`.
pub type Progress<'a> = &'a dyn Fn(u64, u64);

impl<C: Connector> Engine<C> {
    /// Revokes every lease that is due: expired, pending past its timeout or orphaned by a dead
    /// issuer, or due for a retry.
    pub async fn sweep(
        &self,
        options: &SweepOptions,
        progress: Progress<'_>,
    ) -> Result<SweepReport> {
        let report = RefCell::new(SweepReport::default());
        let deadline = options.budget.map(|b| tokio::time::Instant::now() + b);
        self.settle_pending(options.pending_timeout).await?;
        if options.budget.is_none() {
            self.store.forget_dead_issuers().await;
        }
        let parallel = options.parallel.max(1);
        let total = self.store.count_due(self.now()).await?;
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
            let batch = self.store.claim_due(now, now + HOLD, limit).await?;
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
                .record_failure(&lease.id, error, self.now() + retry_delay(0))
                .await;
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
    async fn settle_pending(&self, pending_timeout: i64) -> Result<()> {
        let now = self.now();
        for lease in self.store.pending_leases().await? {
            if lease.due_at <= now {
                continue;
            }
            let timed_out = now >= lease.issued_at + pending_timeout;
            if timed_out || self.issuer_gone(&lease).await {
                self.store.make_due(&lease.id, now).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn revoke_into(
        &self,
        lease: &Lease,
        pending_timeout: i64,
        report: &RefCell<SweepReport>,
    ) {
        let outcome = self.revoke_lease(lease, pending_timeout).await;
        let mut report = report.borrow_mut();
        match outcome {
            Ok(Revoked::Done) => {
                report.revoked += 1;
                report.revoked_leases.push(lease.id.clone());
            }
            Ok(Revoked::Waiting) => report.waiting += 1,
            Err(e) => report.failed.push(Failure {
                lease_id: lease.id.clone(),
                iam_user: lease.iam_user.clone(),
                error: e.chain(),
            }),
        }
    }

    /// What every command but `sweep` does first: revoke due leases, bounded by [`REAP_BUDGET`].
    /// Returns `None` without building an AWS client when nothing is due (one indexed lookup,
    /// plus one on the few pending leases).
    pub async fn reap(&self) -> Result<Option<SweepReport>> {
        self.settle_pending(PENDING_TIMEOUT).await?;
        if !self.store.any_due(self.now()).await? {
            return Ok(None);
        }
        let options = SweepOptions {
            budget: Some(REAP_BUDGET),
            ..SweepOptions::default()
        };
        self.sweep(&options, &|_, _| {}).await.map(Some)
    }
}
