//! Persistent state behind one async trait: mounts, their configuration, roles, leases, and the
//! liveness of issuing processes. The store knows nothing of AWS; the engine decides what a lease
//! means and when it is due. Each backend keeps its own migrations and its own means of telling
//! a live issuer from a dead one; the backend is chosen by the `--db` value ([`open`]).

mod copy;
mod postgres;
#[cfg(test)]
mod proptests;
mod sqlite;

pub use copy::{Copied, contents, copy};
pub use postgres::{PGPASSWORD, PostgresStore, closed};
pub use sqlite::SqliteStore;

use std::path::PathBuf;

use crate::model::{
    Attachment, AuditDevice, Lease, LeaseConfig, Mount, Role, RootConfig, SealRecord,
};
use crate::params::one_line;

/// Backend-neutral: what went wrong, never which driver said so.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} already exists")]
    Exists { what: String },
    /// Still referenced by other rows (a mount that has leases).
    #[error("{what} is still in use")]
    InUse { what: String },
    /// The database cannot be opened or created.
    #[error("database {location}: {reason}")]
    Open { location: String, reason: String },
    /// The database (or its driver) failed.
    #[error("database: {0}")]
    Backend(String),
    #[error("database holds an unreadable {what}: {reason}")]
    Corrupt { what: String, reason: String },
    /// The database names a scheme that no backend handles.
    #[error("unsupported database \"{location}\"")]
    Unsupported { location: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What an issuer records when it hands a credential out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation<'a> {
    pub access_key_id: &'a str,
    pub attached: &'a [(Attachment, String)],
    pub expires_at: i64,
}

/// Which cap refused a lease ([`Store::insert_lease_capped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapScope {
    /// The role's `max_leases`.
    Role,
    /// The mount's `max_leases` (`config/lease`).
    Mount,
}

/// A cap that refused a lease; nothing was recorded. `count` is how many live leases there were
/// (at least `cap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapReached {
    pub scope: CapScope,
    pub cap: u64,
    pub count: u64,
}

/// The leases of one role of one mount, counted by the database ([`Store::lease_stats`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaseStats {
    pub mount: String,
    pub role: String,
    /// Every lease record: what the caps count.
    pub live: u64,
    /// Being issued, or left by an issuer that died (a sweep settles them).
    pub pending: u64,
    /// Whose revocation (or creation) failed at least once: retried with backoff.
    pub failing: u64,
    /// Active leases past their expiry, not revoked yet.
    pub expired: u64,
    /// The earliest expiry of an active lease (may be past, see `expired`).
    pub next_expiry: Option<i64>,
    /// The failing lease issued first.
    pub oldest_failing: Option<FailingLease>,
}

/// A lease whose revocation keeps failing, as [`LeaseStats`] names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingLease {
    pub id: String,
    pub iam_user: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub issued_at: i64,
    /// When a sweep tries it again.
    pub due_at: i64,
}

/// Sorts stats by mount and role, bytewise (as SQLite's keys compare), whatever the database's
/// collation.
pub(crate) fn sorted(mut stats: Vec<LeaseStats>) -> Vec<LeaseStats> {
    stats.sort_by(|a, b| (&a.mount, &a.role).cmp(&(&b.mount, &b.role)));
    stats
}

/// Sealed bytes as the text that a `meta` value holds (both backends keep meta as text).
pub(crate) fn bytes_to_text(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The sealed bytes a `meta` value holds; `what` names it if it is damaged.
pub(crate) fn text_to_bytes(text: &str, what: &str) -> Result<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| StoreError::Corrupt {
            what: what.into(),
            reason: e.to_string(),
        })
}

/// Where the state lives, from `--db` / `AWSCREDS_DB`: a path, or `sqlite:PATH`. A value of the
/// form `scheme://...` names another backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Url(String),
}

impl Location {
    pub fn parse(value: &str) -> Location {
        if let Some(path) = value.strip_prefix("sqlite://") {
            return Location::Sqlite(PathBuf::from(path));
        }
        if let Some(path) = value.strip_prefix("sqlite:") {
            return Location::Sqlite(PathBuf::from(path));
        }
        match value.split_once("://") {
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                Location::Url(value.to_string())
            }
            _ => Location::Sqlite(PathBuf::from(value)),
        }
    }
}

/// A URL as messages may show it: never its password (which may hold an '@' too), on one line.
pub fn shown_url(url: &str) -> String {
    let shown = match url.rsplit_once('@') {
        Some((_, host)) => format!("{}://...@{host}", url.split("://").next().unwrap_or("")),
        None => url.to_string(),
    };
    one_line(&shown)
}

/// Whether a `--db` URL names the PostgreSQL backend.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens the store at `location`, creating and migrating it as needed.
pub async fn open(location: &Location) -> Result<Box<dyn Store>> {
    match location {
        Location::Sqlite(path) => Ok(Box::new(SqliteStore::open(path)?)),
        Location::Url(url) if is_postgres(url) => {
            Ok(Box::new(PostgresStore::open(url, &shown_url(url)).await?))
        }
        Location::Url(url) => Err(StoreError::Unsupported {
            location: shown_url(url),
        }),
    }
}

/// Every method says what it means; none leaks how a backend does it. Times are unix seconds.
/// A lease is *held* while a sweep has claimed it (its `due_at` moved past now) and *backing off*
/// after a failed revocation; both end when `due_at` comes round again.
#[async_trait::async_trait(?Send)]
pub trait Store {
    /// A random id made when the database was created; tags every IAM user it issues.
    async fn db_id(&self) -> Result<String>;
    /// Takes the id of the database this one is a copy of (`db copy`), so that the IAM users
    /// that one issued are still known as this one's.
    async fn set_db_id(&self, id: &str) -> Result<()>;
    /// A small named value of the database's own (`meta`), such as a record of the last sweep.
    async fn meta_value(&self, key: &str) -> Result<Option<String>>;
    /// Sets (or replaces) a named value; see [`Store::meta_value`].
    async fn set_meta_value(&self, key: &str, value: &str) -> Result<()>;

    async fn create_mount(&self, mount: &Mount) -> Result<()>;
    async fn mounts(&self) -> Result<Vec<Mount>>;
    /// Removes the mount with its configuration and roles. Fails with `InUse` while it still has
    /// leases.
    async fn delete_mount(&self, path: &str) -> Result<bool>;

    async fn root_config(&self, mount: &str) -> Result<Option<RootConfig>>;
    async fn set_root_config(&self, mount: &str, config: &RootConfig) -> Result<()>;
    async fn lease_config(&self, mount: &str) -> Result<Option<LeaseConfig>>;
    async fn set_lease_config(&self, mount: &str, config: &LeaseConfig) -> Result<()>;

    async fn role(&self, mount: &str, name: &str) -> Result<Option<Role>>;
    async fn put_role(&self, mount: &str, role: &Role) -> Result<()>;
    async fn delete_role(&self, mount: &str, name: &str) -> Result<bool>;
    async fn role_names(&self, mount: &str) -> Result<Vec<String>>;
    /// Records an IAM path that a role of this database uses (kept forever, whatever becomes of
    /// the role), so that `tidy` looks under it; recording one again changes nothing.
    async fn record_user_path(&self, path: &str) -> Result<()>;
    /// Every IAM path recorded by [`Store::record_user_path`], sorted.
    async fn user_paths(&self) -> Result<Vec<String>>;

    /// Records a lease (pending before the first IAM call, or an STS lease once issued).
    async fn insert_lease(&self, lease: &Lease) -> Result<()>;
    /// Records a lease unless its role (same mount and role name) already has `role_cap` live
    /// leases or its mount `mount_cap` (0: no cap); a live lease is any lease record, whatever
    /// its state. Counting and inserting are one atomic step, so that issuers at once never
    /// overshoot a cap. `Some` (and nothing recorded) when a cap refused it, the role's first.
    async fn insert_lease_capped(
        &self,
        lease: &Lease,
        role_cap: u64,
        mount_cap: u64,
    ) -> Result<Option<CapReached>>;
    /// How many leases `mount` holds; of `role` only, when given (kept counted: no lease is
    /// read).
    async fn count_leases(&self, mount: &str, role: Option<&str>) -> Result<u64>;
    /// The leases counted per mount and role by the database (never loaded one by one, and kept
    /// counted as they change, so that this takes milliseconds on 100,000 leases), with `now`
    /// deciding which are expired; sorted by mount and role; roles without leases left out.
    async fn lease_stats(&self, now: i64) -> Result<Vec<LeaseStats>>;
    /// The leases due at `now`, earliest first, without claiming them: what a sweep would
    /// take (`sweep --dry-run`).
    async fn due_leases(&self, now: i64) -> Result<Vec<Lease>>;
    /// Marks a pending lease as handed out, due for revocation at `expires_at`, if it is still
    /// pending and still owned by `owner` (the issuer's token); false when the lease is gone or a
    /// revocation took it ([`Store::take_pending`]).
    async fn activate_if_owned(
        &self,
        id: &str,
        owner: Option<&str>,
        activation: &Activation<'_>,
    ) -> Result<bool>;
    async fn lease(&self, id: &str) -> Result<Option<Lease>>;
    async fn delete_lease(&self, id: &str) -> Result<()>;
    /// Takes a pending lease away from its issuer for cleanup: from now on
    /// [`Store::activate_if_owned`] refuses it, whoever asks.
    async fn take_pending(&self, id: &str) -> Result<()>;
    /// Gives back a claim that was not worked on: the lease is next due at `due_at`.
    async fn release_claim(&self, id: &str, due_at: i64) -> Result<()>;
    /// Keeps a lease's credential secret, sealed, for reuse (credential-process).
    async fn set_cached_secret(&self, id: &str, sealed: &[u8]) -> Result<()>;
    /// Takes the lock named `name`, waiting while another process holds it, and holds it until
    /// the store is dropped (the process ends, however it ends).
    async fn hold_lock(&self, name: &str) -> Result<()>;
    /// Lets go of the lock named `name` before the store is dropped, if this store holds it.
    async fn release_lock(&self, name: &str) -> Result<()>;
    /// Records how long the lease's new access key took to work at AWS.
    async fn set_key_wait(&self, id: &str, waited_ms: u64) -> Result<()>;
    /// Keeps a lease whose revocation failed, with the error, one more attempt, and when to retry.
    async fn record_failure(&self, id: &str, error: &str, retry_at: i64) -> Result<()>;

    /// Whether any lease is due at `now`: one indexed lookup, so that commands can skip reaping
    /// (and building an AWS client) when there is nothing to do.
    async fn any_due(&self, now: i64) -> Result<bool>;
    /// How many leases are due (for progress reporting).
    async fn count_due(&self, now: i64) -> Result<u64>;
    /// Atomically claims up to `limit` due leases, earliest first, holding them until
    /// `hold_until` so that no concurrent sweep takes them too.
    async fn claim_due(&self, now: i64, hold_until: i64, limit: usize) -> Result<Vec<Lease>>;
    /// Atomically claims every lease whose id starts with `prefix` (a plain string prefix),
    /// due or not, by id.
    async fn claim_prefix(&self, prefix: &str, hold_until: i64) -> Result<Vec<Lease>>;
    /// The leases whose id starts with `prefix` (a plain string prefix, not a pattern), by id.
    async fn leases_with_prefix(&self, prefix: &str) -> Result<Vec<Lease>>;
    /// Every pending lease (there are few: issuing is in progress, or its issuer died).
    async fn pending_leases(&self) -> Result<Vec<Lease>>;
    /// Makes a pending lease due now (its issuer is known to be gone), unless it is due already
    /// or is no longer pending: its issuer may have activated it and exited since it was read
    /// as pending, and an active lease keeps its expiry.
    async fn make_due(&self, id: &str, now: i64) -> Result<()>;
    /// Moves the expiry of an active lease that has not expired at `now` and is neither held nor
    /// backing off; false otherwise.
    async fn renew_lease(&self, id: &str, now: i64, expires_at: i64) -> Result<bool>;
    /// Whether some lease names this IAM user (indexed).
    async fn has_user(&self, iam_user: &str) -> Result<bool>;

    /// How the data key that seals this database's secrets is wrapped; `None` before the first
    /// secret is sealed.
    async fn seal_record(&self) -> Result<Option<SealRecord>>;
    /// Records the first seal; false (and nothing changed) when another process was first.
    async fn create_seal_record(&self, record: &SealRecord) -> Result<bool>;
    /// Changes the seal, the root configurations and the audit key sealed under it, in one
    /// transaction: after a crash, either all are the old or all are the new.
    async fn replace_seal(
        &self,
        record: &SealRecord,
        configs: &[(String, RootConfig)],
        audit_key: Option<&[u8]>,
    ) -> Result<()>;
    /// The audit key (sealed), which HMACs the values in audit logs; `None` before the first.
    async fn audit_key(&self) -> Result<Option<Vec<u8>>>;
    /// Records the first audit key; false (and nothing changed) when another process was first.
    async fn create_audit_key(&self, sealed: &[u8]) -> Result<bool>;
    async fn audit_devices(&self) -> Result<Vec<AuditDevice>>;
    /// Fails with `Exists` when a device has that path.
    async fn add_audit_device(&self, device: &AuditDevice) -> Result<()>;
    async fn remove_audit_device(&self, path: &str) -> Result<bool>;
    /// Makes the writes that follow, until [`Store::commit_batch`], one transaction, so that a
    /// `db copy` that fails half way leaves its target as empty as it was. Only plain writes may
    /// come between: no method that runs a transaction of its own.
    async fn begin_batch(&self) -> Result<()>;
    async fn commit_batch(&self) -> Result<()>;
    /// Undoes the batch begun (best effort: a connection that is gone has undone it already).
    async fn rollback_batch(&self);
    /// Rewrites the storage so that nothing deleted or overwritten (a secret in the clear, say)
    /// remains readable in its files.
    async fn compact(&self) -> Result<()>;

    /// This process's issuer token, taken on first use and held until the store is dropped or
    /// the process dies, however it dies. `None`: this store cannot tell live issuers from dead
    /// ones (pending leases then wait for their timeout).
    async fn issuer_token(&self) -> Result<Option<String>>;
    /// Whether the process that took `token` is certainly gone. Any doubt answers false.
    async fn issuer_gone(&self, token: &str) -> bool;
    /// Forgets what dead issuers left behind that names no lease (best effort).
    async fn forget_dead_issuers(&self);
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn refusal(url: &str) -> String {
        match open(&Location::Url(url.to_string())).await {
            Ok(_) => panic!("{url} opened"),
            Err(e) => e.to_string(),
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn url_refusals_hide_passwords_on_one_line() {
        // Reproduces what proptest found: "0://:@@0" showed its password "@", "a://\n" two lines.
        assert_eq!(
            refusal("0://:@@0").await,
            "unsupported database \"0://...@0\""
        );
        assert_eq!(
            refusal("pg://me@corp.example:s3cret@db:5432/x").await,
            "unsupported database \"pg://...@db:5432/x\""
        );
        assert_eq!(refusal("a://\n").await, "unsupported database \"a://\\n\"");
    }
}
