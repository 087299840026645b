//! One lease at a time: lookup, listing by prefix, and renewal (never past issue time +
//! lease_max). What a lease is lives in `model.rs`; how it ends, in `revoke.rs` and `sweep.rs`.

use super::{Engine, Error, LeaseInfo, Result, Warning};
use crate::cloud::Connector;
use crate::model::{Lease, LeaseState};

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

impl<C: Connector> Engine<C> {
    /// What a user's lease prefix matches, as a plain string prefix: a whole lease id stands for
    /// itself (ids end in a UUID, so it matches only that lease); anything else is a path.
    pub(super) async fn lease_prefix(&self, prefix: &str) -> Result<String> {
        Ok(match self.store.lease(prefix).await? {
            Some(_) => prefix.to_string(),
            None => path_prefix(prefix),
        })
    }

    /// The lease with id `prefix`, or else the leases under the path `prefix`, by id.
    pub async fn leases(&self, prefix: &str) -> Result<Vec<Lease>> {
        let prefix = self.lease_prefix(prefix).await?;
        Ok(self.store.leases_with_prefix(&prefix).await?)
    }

    /// `lease renew ID [--increment]`: moves the expiry to now + increment (default: the mount's
    /// lease), never past issue time + lease_max. Returns the new duration and a warning when it
    /// was capped.
    pub async fn renew(
        &self,
        id: &str,
        increment: Option<u64>,
    ) -> Result<(LeaseInfo, Option<Warning>)> {
        let lease = self.lease(id).await?;
        if lease.kind.is_sts() {
            return Err(Error::input_hint(
                format!("lease {id} is not renewable"),
                "STS credentials cannot be extended; read new ones",
            ));
        }
        if lease.state != LeaseState::Active {
            return Err(Error::LeaseNotActive { id: id.to_string() });
        }
        let now = self.now();
        if lease.expires_at >= lease.max_expires_at {
            return Err(Error::LeaseAtMaximum {
                id: id.to_string(),
                max_expires_at: lease.max_expires_at,
            });
        }
        let increment = match increment {
            Some(secs) => secs,
            None => self.lease_config(&lease.mount).await?.lease,
        };
        let wanted = now + increment as i64;
        let mut warning = None;
        let expires_at = if wanted > lease.max_expires_at {
            warning = Some(Warning::TtlCapped {
                wanted: increment,
                max: (lease.max_expires_at - now).max(0) as u64,
            });
            lease.max_expires_at
        } else {
            wanted
        };
        if !self.store.renew_lease(id, now, expires_at).await? {
            return Err(Error::input_hint(
                format!("lease {id} has expired or is being revoked, and cannot be renewed"),
                "read new credentials instead",
            ));
        }
        let info = LeaseInfo {
            id: id.to_string(),
            duration: (expires_at - now).max(0) as u64,
            renewable: expires_at < lease.max_expires_at,
        };
        Ok((info, warning))
    }

    /// One lease by id, or a clear error.
    pub async fn lease(&self, id: &str) -> Result<Lease> {
        self.store
            .lease(id)
            .await?
            .ok_or_else(|| Error::LeaseNotFound { id: id.to_string() })
    }
}

/// Seconds until a failed revocation is tried again: 30 s doubling per attempt, at most an hour.
pub(super) fn retry_delay(attempts: u32) -> i64 {
    (30i64 << attempts.min(7)).min(3600)
}
