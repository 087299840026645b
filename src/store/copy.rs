//! Copies one database into another, empty one, either backend to either, through the `Store`
//! trait alone: mounts with their configurations (root secrets stay sealed, as stored), roles,
//! leases, the seal record, the audit key and audit devices, the IAM paths its roles used, and the
//! database id that its IAM users are tagged with (so that `tidy` still knows and finds them).

use super::{Result, Store, StoreError};

/// What was copied.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Copied {
    pub mounts: usize,
    pub roles: usize,
    pub leases: usize,
    pub audit_devices: usize,
}

/// What `to` holds already, if anything (then it is not copied into).
pub async fn contents(store: &dyn Store) -> Result<Option<String>> {
    let mut held = Vec::new();
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mounts = store.mounts().await?.len();
    if mounts > 0 {
        held.push(count(mounts, "mount"));
    }
    let leases = store.leases_with_prefix("").await?.len();
    if leases > 0 {
        held.push(count(leases, "lease"));
    }
    let devices = store.audit_devices().await?.len();
    if devices > 0 {
        held.push(count(devices, "audit device"));
    }
    if store.seal_record().await?.is_some() {
        held.push("a seal".into());
    }
    if store.audit_key().await?.is_some() {
        held.push("an audit key".into());
    }
    Ok((!held.is_empty()).then(|| held.join(", ")))
}

/// Copies everything in `from` into `to`, which must be empty (`contents` says what it holds),
/// in one transaction on `to`: a copy that fails half way leaves it empty, to be tried again.
pub async fn copy(from: &dyn Store, to: &dyn Store) -> Result<Copied> {
    to.begin_batch().await?;
    let copied = match copy_into(from, to).await {
        Ok(copied) => copied,
        Err(e) => {
            to.rollback_batch().await;
            return Err(e);
        }
    };
    if let Err(e) = to.commit_batch().await {
        to.rollback_batch().await;
        return Err(e);
    }
    Ok(copied)
}

async fn copy_into(from: &dyn Store, to: &dyn Store) -> Result<Copied> {
    if let Some(held) = contents(to).await? {
        return Err(StoreError::Exists {
            what: format!("the target database's content ({held})"),
        });
    }
    let mut copied = Copied::default();
    to.set_db_id(&from.db_id().await?).await?;
    let taken = |what: &str| StoreError::Exists {
        what: format!("the target database's {what} (another copy?)"),
    };
    if let Some(record) = from.seal_record().await?
        && !to.create_seal_record(&record).await?
    {
        return Err(taken("seal"));
    }
    if let Some(key) = from.audit_key().await?
        && !to.create_audit_key(&key).await?
    {
        return Err(taken("audit key"));
    }
    for device in from.audit_devices().await? {
        to.add_audit_device(&device).await?;
        copied.audit_devices += 1;
    }
    for mount in from.mounts().await? {
        to.create_mount(&mount).await?;
        if let Some(config) = from.root_config(&mount.path).await? {
            to.set_root_config(&mount.path, &config).await?;
        }
        if let Some(config) = from.lease_config(&mount.path).await? {
            to.set_lease_config(&mount.path, &config).await?;
        }
        for name in from.role_names(&mount.path).await? {
            if let Some(role) = from.role(&mount.path, &name).await? {
                to.put_role(&mount.path, &role).await?;
                copied.roles += 1;
            }
        }
        copied.mounts += 1;
    }
    for path in from.user_paths().await? {
        to.record_user_path(&path).await?;
    }
    for lease in from.leases_with_prefix("").await? {
        to.insert_lease(&lease).await?;
        copied.leases += 1;
    }
    Ok(copied)
}
