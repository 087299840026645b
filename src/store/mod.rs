//! Persistent state behind a trait: mounts, their configuration, roles and leases. The store knows
//! nothing of AWS; the engine decides what a lease means and when it is due.

mod sqlite;

pub use sqlite::SqliteStore;

use crate::model::{Attachment, Lease, LeaseConfig, Mount, Role, RootConfig};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} already exists")]
    Exists { what: String },
    /// Still referenced by other rows (a mount that has leases).
    #[error("{what} is still in use")]
    InUse { what: String },
    #[error("database {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database holds an unreadable {what}: {reason}")]
    Corrupt { what: String, reason: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub trait Store {
    /// A random id made when the database was created; tags every IAM user it issues.
    fn db_id(&self) -> Result<String>;

    fn create_mount(&self, mount: &Mount) -> Result<()>;
    fn mounts(&self) -> Result<Vec<Mount>>;
    /// Removes the mount with its configuration and roles. Fails while it still has leases.
    fn delete_mount(&self, path: &str) -> Result<bool>;

    fn root_config(&self, mount: &str) -> Result<Option<RootConfig>>;
    fn set_root_config(&self, mount: &str, config: &RootConfig) -> Result<()>;
    fn lease_config(&self, mount: &str) -> Result<Option<LeaseConfig>>;
    fn set_lease_config(&self, mount: &str, config: &LeaseConfig) -> Result<()>;

    fn role(&self, mount: &str, name: &str) -> Result<Option<Role>>;
    fn put_role(&self, mount: &str, role: &Role) -> Result<()>;
    fn delete_role(&self, mount: &str, name: &str) -> Result<bool>;
    fn role_names(&self, mount: &str) -> Result<Vec<String>>;

    fn insert_lease(&self, lease: &Lease) -> Result<()>;
    /// Marks a pending lease as handed out, due for revocation at `expires_at`; false when the
    /// lease is gone or was taken by a revocation (see `take_pending`). Only the issuer holding
    /// `owner` can activate it.
    fn activate_lease(
        &self,
        id: &str,
        owner: Option<&str>,
        access_key_id: &str,
        attached: &[(Attachment, String)],
        expires_at: i64,
    ) -> Result<bool>;
    fn lease(&self, id: &str) -> Result<Option<Lease>>;
    fn delete_lease(&self, id: &str) -> Result<()>;
    /// Takes a pending lease away from its issuer, which then can no longer activate it.
    fn take_pending(&self, id: &str) -> Result<()>;
    /// Sets when a lease is next due (gives back a claim that was not worked on).
    fn set_due(&self, id: &str, due_at: i64) -> Result<()>;
    /// Keeps a lease whose revocation failed, with the error, one more attempt, and when to retry.
    fn record_failure(&self, id: &str, error: &str, retry_at: i64) -> Result<()>;

    /// Whether any lease is due at `now`: one indexed lookup, so that commands can skip reaping
    /// (and building an AWS client) when there is nothing to do.
    fn any_due(&self, now: i64) -> Result<bool>;
    /// Atomically takes up to `limit` due leases, earliest first, and holds them until `hold_until`
    /// so that a concurrent sweep does not take them too.
    fn claim_due(&self, now: i64, hold_until: i64, limit: usize) -> Result<Vec<Lease>>;
    /// The leases whose id starts with `prefix` (a plain string prefix, not a pattern), by id.
    fn leases_with_prefix(&self, prefix: &str) -> Result<Vec<Lease>>;
    /// Every pending lease (there are few: issuing is in progress, or its issuer died).
    fn pending_leases(&self) -> Result<Vec<Lease>>;
    /// Makes a lease due now (its issuer is known to be gone).
    fn make_due(&self, id: &str, now: i64) -> Result<()>;
    /// Moves the expiry of an active lease that has not expired at `now` and is not being
    /// revoked or retried; false otherwise.
    fn renew_lease(&self, id: &str, now: i64, expires_at: i64) -> Result<bool>;
    /// Atomically takes every lease whose id starts with `prefix`, due or not.
    fn claim_prefix(&self, prefix: &str, hold_until: i64) -> Result<Vec<Lease>>;
    /// Whether some lease names this IAM user (indexed).
    fn has_user(&self, iam_user: &str) -> Result<bool>;
    /// How many leases are due (for progress reporting).
    fn count_due(&self, now: i64) -> Result<u64>;
}
