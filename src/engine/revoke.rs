//! Taking leases back: one lease (the step every revocation goes through), `lease revoke ID`
//! and `lease revoke --prefix P`. A lease is claimed before it is worked on, so overlapping
//! revocations never revoke it twice.

use std::cell::{Cell, RefCell};

use futures_util::StreamExt;
use tokio::time::Instant;

use super::leases::retry_delay;
use super::pace::{Paced, Pacer};
use super::sweep::{Failure, HOLD, SweepReport};
use super::teardown::{Deleted, delete_iam_user};
use super::{Engine, Error, PENDING_TIMEOUT, Result};
use crate::cloud::Connector;
use crate::model::{Lease, LeaseState};
use crate::params::duration;

/// How a revocation makes its IAM calls.
#[derive(Clone, Copy)]
pub(super) struct Revocation<'a> {
    /// A sweep's pacer, shared by its revocations; `None`: a pacer of this revocation's own.
    pub pacer: Option<&'a Pacer>,
    /// A throttled call is sent again until then (the AWS client's own retries aside).
    pub give_up_at: Instant,
    /// Set when DeleteUser is sent.
    pub deleting: Option<&'a Cell<bool>>,
}

impl<'a> Revocation<'a> {
    /// One revocation on its own (`lease revoke`, unmount): a throttle that outlasts the AWS
    /// client's own retries is an error at once.
    pub fn once() -> Revocation<'static> {
        Revocation {
            pacer: None,
            give_up_at: Instant::now(),
            deleting: None,
        }
    }

    pub fn with(self, deleting: &'a Cell<bool>) -> Revocation<'a> {
        Revocation {
            deleting: Some(deleting),
            ..self
        }
    }
}

/// How a revocation ended, short of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Revoked {
    /// The IAM user is gone and the lease with it.
    Done,
    /// A pending lease whose user IAM does not show yet: kept, and looked at again later.
    Waiting,
}

impl<C: Connector> Engine<C> {
    /// Takes a lease back: deletes its IAM user and then the lease row. On failure the lease is
    /// kept, with the error and a later retry time. A pending lease younger than
    /// `pending_timeout` whose user IAM does not show is kept too (`Waiting`).
    pub(super) async fn revoke_lease(
        &self,
        lease: &Lease,
        pending_timeout: i64,
        revocation: Revocation<'_>,
    ) -> Result<Revoked> {
        if lease.kind.is_sts() {
            // STS credentials cannot be recalled: they stay valid until they expire. Revoking
            // the lease only forgets it, which needs no AWS client.
            self.store.delete_lease(&lease.id).await?;
            return Ok(Revoked::Done);
        }
        if lease.state == LeaseState::Pending {
            // From now on the issuer cannot activate it: it will undo instead of handing out
            // credentials whose user this revocation deletes.
            self.store.take_pending(&lease.id).await?;
        }
        let own_pacer;
        let pacer = match revocation.pacer {
            Some(pacer) => pacer,
            None => {
                own_pacer = Pacer::new();
                &own_pacer
            }
        };
        let own_deleting = Cell::new(false);
        let result = match self.cloud(&lease.mount).await {
            Ok(cloud) => {
                let paced = Paced {
                    cloud: &*cloud,
                    pacer,
                    give_up_at: revocation.give_up_at,
                    deleting: revocation.deleting.unwrap_or(&own_deleting),
                };
                delete_iam_user(&paced, &lease.iam_user, lease.attached.as_deref())
                    .await
                    .map_err(|e| Error::cloud(format!("deleting IAM user {}", lease.iam_user), e))
            }
            Err(e) => Err(e),
        };
        let now = self.now();
        match result {
            Ok(Deleted::AlreadyGone)
                if lease.state == LeaseState::Pending
                    && now < lease.issued_at + pending_timeout =>
            {
                let why = format!(
                    "IAM does not show user {} (yet); retried until {} after issue",
                    lease.iam_user,
                    duration::format(pending_timeout as u64)
                );
                let retry_at = (now + retry_delay(0)).min(lease.issued_at + pending_timeout);
                self.store.record_failure(&lease.id, &why, retry_at).await?;
                Ok(Revoked::Waiting)
            }
            Ok(_) => {
                self.store.delete_lease(&lease.id).await?;
                Ok(Revoked::Done)
            }
            Err(err) => {
                let retry_at = now + retry_delay(lease.attempts);
                self.store
                    .record_failure(&lease.id, &err.chain(), retry_at)
                    .await?;
                Err(err)
            }
        }
    }

    /// `lease revoke ID`: revokes one lease now. With `force`, only forgets it, touching nothing
    /// at AWS; returns the lease so that the caller can say what was left behind.
    pub async fn revoke_id(&self, id: &str, force: bool) -> Result<Lease> {
        let lease = self.lease(id).await?;
        if force {
            self.store.delete_lease(id).await?;
            return Ok(lease);
        }
        self.refuse_if_issuing(&lease).await?;
        match self
            .revoke_lease(&lease, PENDING_TIMEOUT, Revocation::once())
            .await?
        {
            Revoked::Done => Ok(lease),
            Revoked::Waiting => Err(Error::PendingUserNotVisible {
                id: id.to_string(),
                iam_user: lease.iam_user.clone(),
            }),
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
            .claim_prefix(&self.lease_prefix(prefix).await?, now + HOLD)
            .await?;
        if force {
            for lease in &leases {
                self.store.delete_lease(&lease.id).await?;
            }
            let report = SweepReport {
                revoked: leases.len(),
                revoked_leases: leases.iter().map(|l| l.id.clone()).collect(),
                ..SweepReport::default()
            };
            return Ok((leases, report));
        }
        let report = RefCell::new(SweepReport::default());
        futures_util::stream::iter(&leases)
            .for_each_concurrent(parallel.max(1), |lease| {
                let report = &report;
                async move {
                    if let Err(e) = self.refuse_if_issuing(lease).await {
                        // Left to its issuer: give the claim back.
                        let _ = self.store.release_claim(&lease.id, lease.due_at).await;
                        report.borrow_mut().skipped.push(Failure {
                            lease_id: lease.id.clone(),
                            iam_user: lease.iam_user.clone(),
                            error: e.to_string(),
                        });
                        return;
                    }
                    self.revoke_into(lease, PENDING_TIMEOUT, Revocation::once(), report)
                        .await;
                }
            })
            .await;
        Ok((leases, report.into_inner()))
    }

    /// A pending lease whose issuer is still running must be left to it.
    pub(super) async fn refuse_if_issuing(&self, lease: &Lease) -> Result<()> {
        let young = self.now() < lease.issued_at + PENDING_TIMEOUT;
        if lease.state == LeaseState::Pending && young && !self.issuer_gone(lease).await {
            return Err(Error::input_hint(
                format!("lease {} is being issued by a running awscreds", lease.id),
                "try again in a moment",
            ));
        }
        Ok(())
    }

    /// Whether the issuer of a pending lease is certainly gone.
    pub(super) async fn issuer_gone(&self, lease: &Lease) -> bool {
        match &lease.owner {
            Some(token) => self.store.issuer_gone(token).await,
            None => false,
        }
    }
}
