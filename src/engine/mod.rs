//! The engine: mounts, their configuration, roles, and the lease lifecycle (issue, revoke, sweep).
//! It sits between the command line and the two things below it, the [`Store`] and the
//! [`Connector`] to AWS, and knows nothing about the terminal. An AWS client is built only when a
//! command is about to call AWS.

mod config;
pub mod help;
mod lease;
mod role;
pub mod routes;
mod sweep;
mod username;

pub use sweep::{Failure, SweepReport};

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::cloud::Connector;
use crate::error::{Error, Result};
use crate::model::{Mount, RootConfig};
use crate::store::{Store, StoreError};
use routes::{Op, Route, Target};

/// The lease attached to a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseInfo {
    pub id: String,
    /// Seconds.
    pub duration: u64,
    pub renewable: bool,
}

/// What a read returns: data, and a lease when the data is a credential.
#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    pub lease: Option<LeaseInfo>,
    pub data: Map<String, Value>,
}

impl Secret {
    fn data(data: Map<String, Value>) -> Self {
        Secret { lease: None, data }
    }
}

/// What a write returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// Stored; nothing to show. Carries the full path.
    Stored(String),
    /// The write produced data to show.
    Secret(Secret),
}

pub struct Engine<S, C: Connector> {
    store: S,
    connector: C,
    /// One AWS client per mount, built on first use within this invocation.
    clouds: RefCell<HashMap<String, Rc<C::Cloud>>>,
    clock: fn() -> i64,
}

fn system_clock() -> i64 {
    chrono::Utc::now().timestamp()
}

impl<S: Store, C: Connector> Engine<S, C> {
    pub fn new(store: S, connector: C) -> Self {
        Engine {
            store,
            connector,
            clouds: RefCell::new(HashMap::new()),
            clock: system_clock,
        }
    }

    /// Replaces the clock (unix seconds), for tests.
    pub fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    fn target(&self, path: &str) -> Result<Target> {
        let mounts = self.store.mounts()?;
        let (mount, rest) = routes::split_mount(&mounts, path)?;
        let route = routes::parse_route(&mount, rest)?;
        Ok(Target { mount, route })
    }

    pub async fn read(&self, path: &str, data: &Map<String, Value>) -> Result<Secret> {
        let target = self.target(path)?;
        routes::check_op(&target, Op::Read)?;
        if let Some(key) = data.keys().next() {
            return Err(Error::input_hint(
                format!("unknown parameter \"{key}\" for {}", target.path()),
                format!("read {} takes no parameters", target.path()),
            ));
        }
        match &target.route {
            Route::ConfigRoot => self.read_root_config(&target),
            Route::ConfigLease => self.read_lease_config(&target),
            Route::Role(name) => self.read_role(&target, name),
            Route::Creds(name) => self.issue(&target, name).await,
            Route::RoleList => unreachable!("check_op refuses read on roles/"),
        }
    }

    pub fn write(&self, path: &str, data: &Map<String, Value>) -> Result<Written> {
        let target = self.target(path)?;
        routes::check_op(&target, Op::Write)?;
        routes::check_params(&target, data)?;
        match &target.route {
            Route::ConfigRoot => self.write_root_config(&target, data)?,
            Route::ConfigLease => self.write_lease_config(&target, data)?,
            Route::Role(name) => self.write_role(&target, name, data)?,
            Route::Creds(_) | Route::RoleList => unreachable!("check_op refuses write here"),
        }
        Ok(Written::Stored(target.path()))
    }

    /// Deletes what is at `path`, if anything; returns the full path.
    pub fn delete(&self, path: &str) -> Result<String> {
        let target = self.target(path)?;
        routes::check_op(&target, Op::Delete)?;
        match &target.route {
            Route::Role(name) => {
                self.store.delete_role(&target.mount, name)?;
            }
            _ => unreachable!("check_op refuses delete here"),
        }
        Ok(target.path())
    }

    /// Lists the keys under `path`; returns the full path and the keys, sorted.
    pub fn list(&self, path: &str) -> Result<(String, Vec<String>)> {
        let target = self.target(path)?;
        routes::check_op(&target, Op::List)?;
        let keys = self.store.role_names(&target.mount)?;
        Ok((target.path(), keys))
    }

    /// Mounts a new instance of backend `kind` (only `aws`) at `path`.
    pub fn mount(&self, kind: &str, path: Option<&str>) -> Result<Mount> {
        if kind != "aws" {
            return Err(Error::input_hint(
                format!("unknown backend type \"{kind}\""),
                "awscreds has one backend: awscreds mount aws [--path NAME]",
            ));
        }
        let path = path.unwrap_or(kind).trim_matches('/');
        check_mount_path(path)?;
        let mount = Mount {
            path: path.to_string(),
            kind: kind.to_string(),
            created_at: self.now(),
        };
        self.store.create_mount(&mount).map_err(|e| match e {
            StoreError::Exists { .. } => Error::input_hint(
                format!("existing mount at '{path}'"),
                format!(
                    "choose another path (awscreds mount aws --path NAME) or remove it first \
                     (awscreds unmount {path})"
                ),
            ),
            other => other.into(),
        })?;
        Ok(mount)
    }

    pub fn mounts(&self) -> Result<Vec<Mount>> {
        Ok(self.store.mounts()?)
    }

    fn mount_named(&self, path: &str) -> Result<Mount> {
        let path = path.trim_matches('/');
        let mounts = self.store.mounts()?;
        let found = mounts.iter().find(|m| m.path == path).cloned();
        found.ok_or_else(|| {
            let names: Vec<String> = mounts.iter().map(|m| format!("{}/", m.path)).collect();
            Error::input_hint(
                format!("no mount at '{path}'"),
                if names.is_empty() {
                    "nothing is mounted".to_string()
                } else {
                    format!("mounts: {}", names.join(", "))
                },
            )
        })
    }

    fn root_config(&self, mount: &str) -> Result<RootConfig> {
        self.store.root_config(mount)?.ok_or_else(|| {
            Error::input_hint(
                format!("{mount}/config/root is not configured"),
                format!(
                    "awscreds write {mount}/config/root access_key=... secret_key=... region=..."
                ),
            )
        })
    }

    /// The AWS client for `mount`, built once per invocation.
    async fn cloud(&self, mount: &str) -> Result<Rc<C::Cloud>> {
        if let Some(cloud) = self.clouds.borrow().get(mount) {
            return Ok(cloud.clone());
        }
        let config = self.root_config(mount)?;
        let cloud = Rc::new(
            self.connector
                .connect(&config)
                .await
                .map_err(|e| Error::cloud(format!("connecting to AWS for {mount}"), e))?,
        );
        self.clouds
            .borrow_mut()
            .insert(mount.to_string(), cloud.clone());
        Ok(cloud)
    }
}

/// Mount paths: segments of letters, digits, `_`, `-`, `.`, joined by `/`; no segment may be a
/// route name, or paths such as `creds/x` would become ambiguous.
fn check_mount_path(path: &str) -> Result<()> {
    let hint = "mount paths are letters, digits, '_', '-' and '.', in segments joined by '/'";
    if path.is_empty() {
        return Err(Error::input_hint("empty mount path", hint));
    }
    for segment in path.split('/') {
        let ok = !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !ok {
            return Err(Error::input_hint(
                format!("invalid mount path '{path}'"),
                hint,
            ));
        }
        if matches!(segment, "config" | "roles" | "creds") {
            return Err(Error::input_hint(
                format!("invalid mount path '{path}': \"{segment}\" is a route name"),
                "choose a path such as aws, prod or team/aws",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::cloud::CloudError;
    use crate::cloud::fake::{FakeConnector, FakeIam};
    use crate::store::SqliteStore;

    const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[]}"#;

    fn engine() -> (Engine<SqliteStore, FakeConnector>, Rc<FakeIam>) {
        let iam = Rc::new(FakeIam::default());
        let engine = Engine::new(
            SqliteStore::in_memory().unwrap(),
            FakeConnector(iam.clone()),
        );
        engine.mount("aws", None).unwrap();
        let mut root = Map::new();
        for (k, v) in [
            ("access_key", "AK"),
            ("secret_key", "SK"),
            ("region", "us-east-1"),
        ] {
            root.insert(k.into(), v.into());
        }
        engine.write("aws/config/root", &root).unwrap();
        let mut role = Map::new();
        role.insert("policy".into(), POLICY.into());
        engine.write("aws/roles/r", &role).unwrap();
        (engine, iam)
    }

    fn leases(engine: &Engine<SqliteStore, FakeConnector>) -> usize {
        let now = engine.now();
        engine.store.claim_mount_leases("aws", now).unwrap().len()
    }

    #[test]
    fn issuing_makes_exactly_three_iam_calls() {
        let (engine, iam) = engine();
        let secret = block(engine.read("creds/r", &Map::new())).unwrap();
        let calls: Vec<String> = iam
            .calls
            .borrow()
            .iter()
            .map(|c| c.split(' ').next().unwrap().to_string())
            .collect();
        assert_eq!(calls, ["CreateUser", "PutUserPolicy", "CreateAccessKey"]);
        let users = iam.users.borrow();
        let (name, user) = users.iter().next().unwrap();
        assert!(name.starts_with("awscreds-r-"));
        assert_eq!(user.policies.get("r").map(String::as_str), Some(POLICY));
        assert_eq!(secret.data["access_key"], user.keys[0].as_str());
        assert_eq!(user.tags[0].1, secret.lease.unwrap().id);
    }

    #[test]
    fn a_failed_step_deletes_the_user_and_the_lease() {
        let (engine, iam) = engine();
        iam.fail(
            "CreateAccessKey",
            CloudError::Api {
                code: "LimitExceeded".into(),
                message: "no".into(),
            },
        );
        let err = block(engine.read("creds/r", &Map::new())).unwrap_err();
        assert_eq!(err.exit_status(), crate::error::ExitStatus::Cloud);
        assert!(iam.users.borrow().is_empty());
        assert_eq!(leases(&engine), 0);
    }

    #[test]
    fn a_failed_rollback_keeps_the_pending_lease() {
        let (engine, iam) = engine();
        let boom = CloudError::Unreachable("down".into());
        iam.fail("CreateAccessKey", boom.clone());
        iam.fail("DeleteUser", boom);
        block(engine.read("creds/r", &Map::new())).unwrap_err();
        assert_eq!(iam.users.borrow().len(), 1);
        let now = engine.now();
        let kept = engine.store.claim_mount_leases("aws", now).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].state, crate::model::LeaseState::Pending);
        assert!(
            kept[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("cleanup pending")
        );
    }

    #[test]
    fn reaping_builds_no_client_when_nothing_is_due() {
        let (engine, iam) = engine();
        block(engine.read("creds/r", &Map::new())).unwrap();
        iam.calls.borrow_mut().clear();
        engine.clouds.borrow_mut().clear();
        assert_eq!(block(engine.reap()).unwrap(), None);
        assert!(engine.clouds.borrow().is_empty());
        assert!(iam.calls.borrow().is_empty());
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        crate::cli::block_on(f)
    }
}
