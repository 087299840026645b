//! Revoking due leases in bulk: `sweep` (every due lease) and the bounded reaping that other
//! commands do first. Leases are claimed atomically before they are worked on, so overlapping
//! sweeps never revoke the same lease twice, and a sweep revokes several at once (bounded).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;

use super::leases::retry_delay;
use super::pace::Pacer;
use super::plan::DueReason;
use super::revoke::{Revocation, Revoked};
use super::{Engine, PENDING_TIMEOUT, Result};
use crate::cloud::Connector;
use crate::model::Lease;

/// How long a sweep holds the leases it claimed before another sweep may take them.
pub(super) const HOLD: i64 = 120;
/// The most time another command spends reaping before doing what it was asked.
pub const REAP_BUDGET: Duration = Duration::from_secs(3);
/// How long past the budget reaping waits for a DeleteUser already sent (see `revoke_within`).
const SEE_THROUGH: Duration = Duration::from_secs(10);
/// How long a sweep keeps sending a throttled call again before it counts the revocation as
/// failed: well within [`HOLD`], so that the claim outlives the revocation.
const THROTTLED_AT_MOST: Duration = Duration::from_secs(HOLD as u64 / 2);
/// Revocations in flight at once, by default: the ceiling; fewer calls a second while IAM
/// throttles (`pace.rs`).
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
    /// Throttling answers from IAM, each sent again later in the same sweep.
    pub throttled: u64,
}

/// Gives the AWS clients back their own retries of throttled calls when a sweep ends, however
/// it ends: the command may issue after reaping.
struct SdkThrottleRetries<'a, C: Connector>(&'a Engine<C>);

impl<C: Connector> Drop for SdkThrottleRetries<'_, C> {
    fn drop(&mut self) {
        self.0.retry_throttling(true);
    }
}

/// Progress callbacks: `(done, total)`.
pub type Progress<'a> = &'a dyn Fn(u64, u64);

impl<C: Connector> Engine<C> {
    /// Revokes every lease that is due: expired, pending past its timeout or orphaned by a dead
    /// issuer, or due for a retry.
    ///
    /// Workers are kept fed: a new revocation starts as soon as one ends, from a small queue of
    /// claimed leases that is claimed again (`options.parallel` at a time) whenever it runs dry,
    /// so no worker waits for the slowest lease of a batch, and at most `parallel` leases are
    /// ever held in memory or claimed but not yet worked on.
    pub async fn sweep(
        &self,
        options: &SweepOptions,
        progress: Progress<'_>,
    ) -> Result<SweepReport> {
        let report = RefCell::new(SweepReport::default());
        let deadline = options.budget.map(|b| Instant::now() + b);
        self.settle_pending(options.pending_timeout, options.budget.is_none())
            .await?;
        if options.budget.is_none() {
            self.store.forget_dead_issuers().await;
        }
        let parallel = options.parallel.max(1);
        let total = self.store.count_due(self.now()).await?;
        let done = Cell::new(0u64);
        progress(0, total);
        let pacer = Pacer::new();
        let _retries = SdkThrottleRetries(self);
        self.retry_throttling(false);
        let claim_error = RefCell::new(None);
        let queue: VecDeque<(Lease, Instant)> = VecDeque::new();
        let leases = futures_util::stream::unfold(queue, |mut queue| {
            let (report, claim_error) = (&report, &claim_error);
            async move {
                loop {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        // Claimed but not started: nothing was sent, so give them back.
                        let mut left = !queue.is_empty();
                        for (lease, _) in queue.drain(..) {
                            let _ = self.store.release_claim(&lease.id, self.now()).await;
                        }
                        left = left || self.store.any_due(self.now()).await.unwrap_or(true);
                        if left {
                            report.borrow_mut().timed_out = true;
                        }
                        return None;
                    }
                    if let Some(next) = queue.pop_front() {
                        return Some((next, queue));
                    }
                    let now = self.now();
                    match self.store.claim_due(now, now + HOLD, parallel).await {
                        Ok(batch) if batch.is_empty() => return None,
                        Ok(batch) => {
                            let claimed = Instant::now();
                            queue.extend(batch.into_iter().map(|lease| (lease, claimed)));
                        }
                        Err(e) => {
                            *claim_error.borrow_mut() = Some(e);
                            return None;
                        }
                    }
                }
            }
        });
        leases
            .for_each_concurrent(parallel, |(lease, claimed)| {
                let (done, report, pacer) = (&done, &report, &pacer);
                async move {
                    let revocation = Revocation {
                        pacer: Some(pacer),
                        give_up_at: claimed + THROTTLED_AT_MOST,
                        deleting: None,
                    };
                    self.revoke_within(
                        &lease,
                        options.pending_timeout,
                        deadline,
                        revocation,
                        report,
                    )
                    .await;
                    done.set(done.get() + 1);
                    // Leases that fell due during the sweep are swept too.
                    progress(done.get(), total.max(done.get()));
                }
            })
            .await;
        if let Some(e) = claim_error.into_inner() {
            return Err(e.into());
        }
        let mut report = report.into_inner();
        report.throttled = pacer.throttles();
        Ok(report)
    }

    /// Whether the AWS clients of this invocation retry throttled calls themselves (see
    /// [`crate::cloud::Cloud::retry_throttling`]).
    fn retry_throttling(&self, retry: bool) {
        self.sdk_retries_throttles.set(retry);
        for cloud in self.clouds.borrow().values() {
            crate::cloud::Cloud::retry_throttling(&**cloud, retry);
        }
    }

    /// Revokes one lease into the report; on a budget, past `deadline`, gives up on it unless
    /// its DeleteUser was sent already.
    ///
    /// Seen through rather than abandoned: a DeleteUser in flight may still be carried out by
    /// IAM after we stop waiting, and a later sweep cannot tell that from a DeleteUser that never
    /// arrived, so it would send it again (issue 10: DeleteUser twice for one user). Waiting for
    /// the answer costs one call's time, once, and the lease is settled for good; keeping the
    /// claim instead would only move the repeat later. The wait is bounded by [`SEE_THROUGH`];
    /// past that the claim is kept for [`HOLD`], long after this process dropped the request.
    /// Steps before DeleteUser (DeleteAccessKey, DeleteUserPolicy) are safe to repeat (a repeat
    /// finds nothing and goes on), so a revocation that had not reached DeleteUser is dropped at
    /// the deadline and backed off like a failure.
    async fn revoke_within(
        &self,
        lease: &Lease,
        pending_timeout: i64,
        deadline: Option<Instant>,
        revocation: Revocation<'_>,
        report: &RefCell<SweepReport>,
    ) {
        let deleting = Cell::new(false);
        let work = self.revoke_into(lease, pending_timeout, revocation.with(&deleting), report);
        let Some(deadline) = deadline else {
            return work.await;
        };
        let mut work = std::pin::pin!(work);
        if tokio::time::timeout_at(deadline, &mut work).await.is_ok() {
            return;
        }
        if deleting.get()
            && tokio::time::timeout_at(deadline + SEE_THROUGH, &mut work)
                .await
                .is_ok()
        {
            return;
        }
        // Cut short by the budget, not refused by AWS, but backed off all the same: AWS that is
        // unreachable or slow now would otherwise cost every command its whole budget.
        let error = "AWS did not answer within the time allowed";
        let now = self.now();
        let mut retry_at = now + retry_delay(lease.attempts);
        if deleting.get() {
            retry_at = retry_at.max(now + HOLD);
        }
        let _ = self.store.record_failure(&lease.id, error, retry_at).await;
        let mut report = report.borrow_mut();
        report.timed_out = true;
        report.failed.push(Failure {
            lease_id: lease.id.clone(),
            iam_user: lease.iam_user.clone(),
            error: error.into(),
        });
    }

    /// Makes due the pending leases whose issuer is certainly gone (its lock died with it) or
    /// whose pending timeout has passed.
    ///
    /// A lease that a revocation took already is backing off after it failed: its `due_at` is
    /// its retry time, which reaping keeps (`retry_taken` false), so that a lease AWS cannot be
    /// reached for costs the reaping budget once per backoff, not on every command. `sweep`
    /// tries those again at once (`retry_taken`), as it always has.
    async fn settle_pending(&self, pending_timeout: i64, retry_taken: bool) -> Result<()> {
        let now = self.now();
        for lease in self.store.pending_leases().await? {
            if lease.due_at <= now || (lease.taken() && !retry_taken) {
                continue;
            }
            if self
                .pending_reason(&lease, now, pending_timeout)
                .await
                .is_some()
            {
                self.store.make_due(&lease.id, now).await?;
            }
        }
        Ok(())
    }

    /// Why a sweep takes up a pending lease now (`settle_pending`; `sweep --dry-run` says it):
    /// its pending timeout has passed, or its issuer is gone. `None` while its issuer is at work.
    pub(super) async fn pending_reason(
        &self,
        lease: &Lease,
        now: i64,
        pending_timeout: i64,
    ) -> Option<DueReason> {
        if now >= lease.issued_at + pending_timeout {
            Some(DueReason::PendingTimedOut)
        } else if self.issuer_gone(lease).await {
            Some(DueReason::IssuerGone)
        } else {
            None
        }
    }

    pub(super) async fn revoke_into(
        &self,
        lease: &Lease,
        pending_timeout: i64,
        revocation: Revocation<'_>,
        report: &RefCell<SweepReport>,
    ) {
        let outcome = self.revoke_lease(lease, pending_timeout, revocation).await;
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
        self.settle_pending(PENDING_TIMEOUT, false).await?;
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
