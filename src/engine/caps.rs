//! Lease caps: `max_leases` on a role and on a mount's `config/lease`. A lease counts from the
//! moment issuing records it until its record is gone (pending, active, expired but not revoked
//! yet, failing revocation: each still holds an IAM user or a valid STS credential), so that a
//! cap bounds what exists at AWS, not only what was handed out. Issuing refuses before any AWS
//! call; the count and the insert are one atomic step in the store, so that parallel issuers
//! cannot overshoot.

use serde_json::{Map, Value};

use super::{Engine, Error, Result};
use crate::cloud::Connector;
use crate::model::{Lease, Role};
use crate::params;
use crate::store::{CapReached, CapScope};

/// The `max_leases` parameter, if given: a count, 0 or empty for no cap.
pub(super) fn max_leases(data: &Map<String, Value>) -> Result<Option<u64>> {
    let Some(text) = params::string(data, "max_leases")? else {
        return Ok(None);
    };
    if text.trim().is_empty() {
        return Ok(Some(0));
    }
    text.trim().parse::<u64>().map(Some).map_err(|_| {
        Error::input_hint(
            format!("invalid max_leases \"{text}\""),
            "the most live leases at once, a whole number; 0 for no cap",
        )
    })
}

impl<C: Connector> Engine<C> {
    /// Refuses at once when a cap is reached already (before an STS call, whose lease can only
    /// be recorded afterwards); [`Engine::record_capped`] decides, atomically. `mount_cap` is the
    /// mount's `config/lease` `max_leases`, which the caller has read already.
    pub(super) async fn check_caps(
        &self,
        path: &str,
        mount: &str,
        role: &Role,
        mount_cap: u64,
    ) -> Result<()> {
        for (scope, cap, role_name) in [
            (CapScope::Role, role.max_leases, Some(role.name.as_str())),
            (CapScope::Mount, mount_cap, None),
        ] {
            if cap == 0 {
                continue;
            }
            let count = self.store.count_leases(mount, role_name).await?;
            if count >= cap {
                return Err(cap_error(
                    path,
                    mount,
                    &role.name,
                    CapReached { scope, cap, count },
                ));
            }
        }
        Ok(())
    }

    /// Records `lease` unless a cap refuses it; `path` is where it was issued (`MOUNT/creds/X`).
    pub(super) async fn record_capped(
        &self,
        path: &str,
        lease: &Lease,
        role: &Role,
        mount_cap: u64,
    ) -> Result<()> {
        match self
            .store
            .insert_lease_capped(lease, role.max_leases, mount_cap)
            .await?
        {
            None => Ok(()),
            Some(reached) => Err(cap_error(path, &lease.mount, &role.name, reached)),
        }
    }
}

fn cap_error(path: &str, mount: &str, role: &str, reached: CapReached) -> Error {
    Error::LeaseCapReached {
        mount: mount.to_string(),
        role: role.to_string(),
        path: path.to_string(),
        scope: reached.scope,
        cap: reached.cap,
        count: reached.count,
    }
}
