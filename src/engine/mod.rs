//! The engine: mounts, their configuration, roles, and the lease lifecycle (issue, renew,
//! revoke, sweep). It sits between the command line and the two things below it, the [`Store`]
//! and the [`Connector`] to AWS; it returns domain values and typed errors, and knows nothing of
//! the terminal, output formats or command lines. An AWS client is built only when a command is
//! about to call AWS.
//!
//! Files by noun: `mounts.rs`, `root.rs` (config/root, config/lease), `rotation.rs`
//! (rotate-root, on schedule and crash-safe), `roles.rs`,
//! and the lease lifecycle: `issue.rs` (every IAM call of issuing, in order), `sts.rs`,
//! `keywait.rs` (waiting for a new key to work), `teardown.rs` (deleting an IAM user),
//! `revoke.rs`, `sweep.rs`, `leases.rs` (lookup, renew), `cache.rs` (leases kept for
//! credential-process), `caps.rs` (max_leases); `monitor.rs` (`status`, the sweep's record),
//! `plan.rs` (`sweep --dry-run`); `seal.rs` (the data key), `audit.rs` (audit devices),
//! `tidy.rs`.

mod audit;
mod cache;
mod caps;
mod error;
mod issue;
mod keywait;
mod leases;
mod monitor;
mod mounts;
mod pace;
mod plan;
mod policy;
mod revoke;
mod roles;
mod root;
mod rotation;
pub mod routes;
mod seal;
mod sts;
mod sweep;
mod teardown;
pub mod template;
mod tidy;

pub use error::{Error, Result, Undo};
pub use issue::{PENDING_TIMEOUT, TAG_DB, TAG_EXPIRES, TAG_LEASE};
pub use keywait::KeyWait;
pub use monitor::{FailedRevocation, MountStatus, RoleStatus, RootKey, Status, SweepRecord};
pub use plan::{DueReason, PlannedAction, PlannedLease, PlannedRotation, SweepPlan};
pub use roles::DEFAULT_USER_PATH;
pub use rotation::{RootRotation, Rotation};
pub use seal::{KeyFileDefault, SealSettings, SealStatus};
pub use sweep::{DEFAULT_PARALLEL, Failure, SweepOptions, SweepReport};
pub use tidy::{ExpiredUser, Orphan, TidyReport};

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::cloud::Connector;
use crate::model::{Credential, CredentialType, LeaseConfig, Role, RootConfig, RootConfigView};
use crate::store::Store;
use routes::{Op, Route, Target};

/// The lease attached to a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseInfo {
    pub id: String,
    /// Seconds.
    pub duration: u64,
    pub renewable: bool,
}

/// Something the user should know about a result that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A TTL beyond the maximum was capped (Vault's words).
    TtlCapped { wanted: u64, max: u64 },
    /// rotate-root stored the new key but could not delete the old one.
    OldRootKeyKept { access_key: String, error: String },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::params::duration::format;
        match self {
            Warning::TtlCapped { wanted, max } => write!(
                f,
                "TTL of \"{}\" exceeded the effective max_ttl of \"{}\"; TTL value is capped \
                 accordingly",
                format(*wanted),
                format(*max)
            ),
            Warning::OldRootKeyKept { access_key, error } => write!(
                f,
                "the new key is stored, but the old key {access_key} could not be deleted: \
                 {error}; the next awscreds sweep deletes it"
            ),
        }
    }
}

/// New credentials and the lease that takes them back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub lease: LeaseInfo,
    pub kind: CredentialType,
    pub credential: Credential,
    /// The mount's region (config/root's, else the environment's, else us-east-1), for programs
    /// that are handed the credential.
    pub region: String,
    pub warnings: Vec<Warning>,
}

/// What a read returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    RootConfig(RootConfigView),
    LeaseConfig(LeaseConfig),
    Role(Role),
    Issued(Issued),
}

/// What a write returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Stored; nothing to show. Carries the full path.
    Stored(String),
    Issued(Issued),
    /// `config/rotate-root`: the new access key id.
    Rotated {
        access_key: String,
        warnings: Vec<Warning>,
    },
}

pub struct Engine<C: Connector> {
    store: Box<dyn Store>,
    connector: C,
    /// One AWS client per mount, built on first use within this invocation.
    clouds: RefCell<HashMap<String, Rc<C::Cloud>>>,
    /// Whether those clients retry throttled calls themselves (not while a sweep paces them).
    sdk_retries_throttles: std::cell::Cell<bool>,
    seal: SealSettings,
    /// The data key, once a secret was needed (see `seal.rs`).
    data_key: RefCell<Option<crate::seal::SecretKey>>,
    /// The store's named locks this process holds (until it ends).
    held_locks: RefCell<std::collections::HashSet<String>>,
}

impl<C: Connector> Engine<C> {
    pub fn new(store: Box<dyn Store>, connector: C) -> Self {
        Engine {
            store,
            connector,
            clouds: RefCell::new(HashMap::new()),
            sdk_retries_throttles: std::cell::Cell::new(true),
            seal: SealSettings::default(),
            data_key: RefCell::new(None),
            held_locks: RefCell::new(Default::default()),
        }
    }

    /// Where the key file that seals this database's secrets is.
    pub fn with_seal(mut self, settings: SealSettings) -> Self {
        self.seal = settings;
        self
    }

    /// What every command does once, before anything else: seal the secrets that an earlier
    /// version stored in the clear.
    pub async fn prepare(&self) -> Result<()> {
        self.seal_legacy_secrets().await
    }

    /// Unix seconds.
    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }

    async fn target(&self, path: &str) -> Result<Target> {
        let mounts = self.store.mounts().await?;
        let (mount, rest) = routes::split_mount(&mounts, path)?;
        let route = routes::parse_route(&mount, rest)?;
        Ok(Target { mount, route })
    }

    pub async fn read(&self, path: &str, data: &Map<String, Value>) -> Result<Read> {
        let target = self.target(path).await?;
        routes::check_op(&target, Op::Read)?;
        routes::check_params(&target, Op::Read, data)?;
        match &target.route {
            Route::ConfigRoot => self.read_root_config(&target).await.map(Read::RootConfig),
            Route::ConfigLease => Ok(Read::LeaseConfig(self.lease_config(&target.mount).await?)),
            Route::Role(name) => self.read_role(&target, name).await.map(Read::Role),
            Route::Creds(name) | Route::Sts(name) => {
                self.issue(&target, name, data).await.map(Read::Issued)
            }
            Route::RoleList | Route::ConfigRotateRoot => {
                unreachable!("check_op refuses read here")
            }
        }
    }

    pub async fn write(&self, path: &str, data: &Map<String, Value>) -> Result<Written> {
        let target = self.target(path).await?;
        routes::check_op(&target, Op::Write)?;
        routes::check_params(&target, Op::Write, data)?;
        let takes_data = !target.route.spec().fields.is_empty();
        let issues = matches!(target.route, Route::Creds(_) | Route::Sts(_));
        if data.is_empty() && takes_data && !issues {
            return Err(Error::NothingToWrite {
                path: target.path(),
            });
        }
        match &target.route {
            Route::ConfigRoot => self.write_root_config(&target, data).await?,
            Route::ConfigLease => self.write_lease_config(&target, data).await?,
            Route::Role(name) => self.write_role(&target, name, data).await?,
            Route::Creds(name) | Route::Sts(name) => {
                return Ok(Written::Issued(self.issue(&target, name, data).await?));
            }
            Route::ConfigRotateRoot => return self.rotate_root(&target).await,
            Route::RoleList => unreachable!("check_op refuses write here"),
        }
        Ok(Written::Stored(target.path()))
    }

    /// Deletes what is at `path`, if anything; returns the full path.
    pub async fn delete(&self, path: &str) -> Result<String> {
        let target = self.target(path).await?;
        routes::check_op(&target, Op::Delete)?;
        match &target.route {
            Route::Role(name) => {
                self.store.delete_role(&target.mount, name).await?;
            }
            _ => unreachable!("check_op refuses delete here"),
        }
        Ok(target.path())
    }

    /// Lists the keys under `path`; returns the full path and the keys, sorted.
    pub async fn list(&self, path: &str) -> Result<(String, Vec<String>)> {
        let target = self.target(path).await?;
        routes::check_op(&target, Op::List)?;
        let keys = self.store.role_names(&target.mount).await?;
        Ok((target.path(), keys))
    }

    /// Refuses a credential output format (env, credential_process, ...) for a path that does not
    /// issue credentials, before anything happens.
    pub async fn check_issues(&self, path: &str) -> Result<()> {
        self.issuing_target(path).await.map(drop)
    }

    /// The target of `path`, if it issues credentials.
    async fn issuing_target(&self, path: &str) -> Result<Target> {
        let target = self.target(path).await?;
        if matches!(target.route, Route::Creds(_) | Route::Sts(_)) {
            return Ok(target);
        }
        Err(Error::input_hint(
            format!("{} does not issue credentials", target.path()),
            format!(
                "this output is for {}/creds/NAME and {}/sts/NAME",
                target.mount, target.mount
            ),
        ))
    }

    /// Refuses a `--field` that a read of `path` would not return, before the read has effects
    /// (issuing credentials that nobody would see).
    pub async fn check_field(&self, path: &str, field: &str) -> Result<()> {
        let target = self.target(path).await?;
        let mut outputs = target.route.spec().outputs.to_vec();
        if let Route::Creds(name) | Route::Sts(name) = &target.route {
            // What the role's credential type returns; an unknown role fails later, as it should.
            if let Some(role) = self.store.role(&target.mount, name).await? {
                outputs.retain(|f| issue::returns(role.credential_type, f));
            }
        }
        if outputs.is_empty() || outputs.contains(&field) {
            return Ok(());
        }
        Err(Error::input_hint(
            format!("Field \"{field}\" not present in secret"),
            format!("fields: {}", outputs.join(", ")),
        ))
    }

    async fn root_config(&self, mount: &str) -> Result<RootConfig> {
        self.store
            .root_config(mount)
            .await?
            .ok_or_else(|| Error::NotConfigured {
                mount: mount.to_string(),
            })
    }

    /// The AWS client for `mount`, built once per invocation. A root key rotation that was cut
    /// short is settled first (`rotation.rs`).
    async fn cloud(&self, mount: &str) -> Result<Rc<C::Cloud>> {
        if let Some(cloud) = self.clouds.borrow().get(mount) {
            return Ok(cloud.clone());
        }
        let config = self.root_config(mount).await?;
        let noted = config.rotation.is_some();
        let secret = if config.has_keys() {
            self.root_secret(mount, &config).await?
        } else {
            Default::default()
        };
        let cloud = Rc::new(
            self.connector
                .connect(&config, &secret)
                .await
                .map_err(|e| Error::cloud(format!("connecting to AWS for {mount}"), e))?,
        );
        crate::cloud::Cloud::retry_throttling(&*cloud, self.sdk_retries_throttles.get());
        self.clouds
            .borrow_mut()
            .insert(mount.to_string(), cloud.clone());
        if noted {
            self.settle_quietly(mount, &cloud).await;
        }
        Ok(cloud)
    }

    /// A client built before a change of `mount`'s root configuration must not be used after it.
    fn forget_cloud(&self, mount: &str) {
        self.clouds.borrow_mut().remove(mount);
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
