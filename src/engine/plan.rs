//! `sweep --dry-run`: what a sweep would do now, from the database alone. It calls no AWS API,
//! builds no client and changes nothing (no claim, no settling of pending leases): it reads the
//! due leases and the pending ones, and tells why each would be taken up.

use super::{Engine, Result};
use crate::cloud::Connector;
use crate::model::{Lease, LeaseState, RootConfig};

/// Why a sweep would take a lease up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueReason {
    /// Active and past its expiry.
    Expired,
    /// Pending for longer than the pending timeout (its issuer may be alive, or not).
    PendingTimedOut,
    /// Pending, and the process that was issuing it is gone.
    IssuerGone,
    /// A failed revocation (or creation) whose backoff has passed.
    RetryDue,
    /// Due for another reason (a sweep that held it ended before it was done).
    Due,
}

/// What a sweep would do with a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlannedAction {
    /// Delete its IAM user, then the lease (a pending one: if IAM shows the user; else it
    /// waits out IAM's eventual consistency).
    DeleteUser,
    /// Forget the lease: STS credentials cannot be recalled, and expire by themselves.
    Forget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedLease {
    pub lease: Lease,
    pub reason: DueReason,
    pub action: PlannedAction,
}

/// A root key whose scheduled rotation is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRotation {
    pub mount: String,
    pub access_key: String,
    pub due_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SweepPlan {
    pub now: i64,
    pub leases: Vec<PlannedLease>,
    pub rotations: Vec<PlannedRotation>,
}

/// When the root key of `config` became due for rotation, if it is: its `rotation_period` ran
/// out, or a rotation was cut short (a sweep settles it first; due since it began).
fn rotation_due(config: &RootConfig, now: i64) -> Option<i64> {
    if let Some(intent) = &config.rotation {
        return Some(intent.started_at.min(now));
    }
    config.next_rotation().filter(|at| *at <= now)
}

impl<C: Connector> Engine<C> {
    /// What `sweep --pending-timeout pending_timeout` would do now.
    pub async fn sweep_plan(&self, pending_timeout: i64) -> Result<SweepPlan> {
        let now = self.now();
        let mut leases = Vec::new();
        for lease in self.store.due_leases(now).await? {
            let reason = if lease.attempts > 0 {
                DueReason::RetryDue
            } else if lease.state == LeaseState::Pending {
                if self.issuer_gone(&lease).await {
                    DueReason::IssuerGone
                } else {
                    DueReason::PendingTimedOut
                }
            } else if lease.expires_at <= now {
                DueReason::Expired
            } else {
                DueReason::Due
            };
            leases.push(planned(lease, reason));
        }
        // Pending leases that a sweep would make due first (what `settle_pending` does).
        let mut pending = self.store.pending_leases().await?;
        pending.sort_by(|a, b| a.id.cmp(&b.id));
        for lease in pending {
            if lease.due_at <= now {
                continue; // listed above
            }
            let Some(reason) = self.pending_reason(&lease, now, pending_timeout).await else {
                continue; // its issuer is at work
            };
            leases.push(planned(lease, reason));
        }
        let mut rotations = Vec::new();
        for mount in self.store.mounts().await? {
            if let Some(config) = self.store.root_config(&mount.path).await?
                && let Some(due_at) = rotation_due(&config, now)
            {
                rotations.push(PlannedRotation {
                    mount: mount.path,
                    access_key: config.access_key,
                    due_at,
                });
            }
        }
        Ok(SweepPlan {
            now,
            leases,
            rotations,
        })
    }
}

fn planned(lease: Lease, reason: DueReason) -> PlannedLease {
    let action = if lease.kind.is_sts() {
        PlannedAction::Forget
    } else {
        PlannedAction::DeleteUser
    };
    PlannedLease {
        lease,
        reason,
        action,
    }
}
