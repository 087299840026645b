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
pub mod template;
mod tidy;

pub use lease::{PENDING_TIMEOUT, Revoked, TAG_DB, TAG_LEASE};
pub use role::DEFAULT_USER_PATH;
pub use sweep::{DEFAULT_PARALLEL, Failure, SweepOptions, SweepReport};
pub use tidy::{Orphan, TidyReport};

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::cloud::Connector;
use crate::error::{Error, Result};
use crate::model::{Mount, RootConfig};
use crate::owner::{OwnerGuard, OwnerLocks};
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

/// What a read returns: data, a lease when the data is a credential, and warnings for stderr.
#[derive(Clone, PartialEq, Default)]
pub struct Secret {
    pub lease: Option<LeaseInfo>,
    pub data: Map<String, Value>,
    pub warnings: Vec<String>,
}

/// The data may hold secret keys and session tokens: `{:?}` shows only which fields there are.
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("lease", &self.lease)
            .field("data", &self.data.keys().collect::<Vec<_>>())
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl Secret {
    fn data(data: Map<String, Value>) -> Self {
        Secret {
            data,
            ..Secret::default()
        }
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
    /// Where issuing processes hold their liveness locks; `None` (in-memory tests): no locks,
    /// and pending leases wait for their timeout.
    owners: Option<OwnerLocks>,
    /// This process's own lock, taken on its first issue and held until it exits.
    owner: RefCell<Option<OwnerGuard>>,
}

impl<S: Store, C: Connector> Engine<S, C> {
    pub fn new(store: S, connector: C) -> Self {
        Engine {
            store,
            connector,
            clouds: RefCell::new(HashMap::new()),
            owners: None,
            owner: RefCell::new(None),
        }
    }

    /// Keeps issuing processes' liveness locks in `locks`.
    pub fn with_owner_locks(mut self, locks: OwnerLocks) -> Self {
        self.owners = Some(locks);
        self
    }

    /// The token of this process's owner lock, taken on first use.
    fn owner_token(&self) -> Result<Option<String>> {
        let Some(locks) = &self.owners else {
            return Ok(None);
        };
        let mut owner = self.owner.borrow_mut();
        if owner.is_none() {
            let guard = locks.acquire().map_err(|e| {
                Error::input(format!(
                    "cannot take a lock in {}: {e}",
                    locks.dir().display()
                ))
            })?;
            *owner = Some(guard);
        }
        Ok(owner.as_ref().map(|g| g.token().to_string()))
    }

    /// Unix seconds.
    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
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
        routes::check_params(&target, Op::Read, data)?;
        match &target.route {
            Route::ConfigRoot => self.read_root_config(&target),
            Route::ConfigLease => self.read_lease_config(&target),
            Route::Role(name) => self.read_role(&target, name),
            Route::Creds(name) | Route::Sts(name) => self.issue(&target, name, data).await,
            Route::RoleList | Route::ConfigRotateRoot => {
                unreachable!("check_op refuses read here")
            }
        }
    }

    pub async fn write(&self, path: &str, data: &Map<String, Value>) -> Result<Written> {
        let target = self.target(path)?;
        routes::check_op(&target, Op::Write)?;
        routes::check_params(&target, Op::Write, data)?;
        let takes_data = !target.route.spec().fields.is_empty();
        let issues = matches!(target.route, Route::Creds(_) | Route::Sts(_));
        if data.is_empty() && takes_data && !issues {
            return Err(Error::input_hint(
                format!("nothing to write to {}", target.path()),
                format!(
                    "give parameters as KEY=VALUE; awscreds help {} lists them",
                    target.path()
                ),
            ));
        }
        match &target.route {
            Route::ConfigRoot => self.write_root_config(&target, data)?,
            Route::ConfigLease => self.write_lease_config(&target, data)?,
            Route::Role(name) => self.write_role(&target, name, data)?,
            Route::Creds(name) | Route::Sts(name) => {
                return Ok(Written::Secret(self.issue(&target, name, data).await?));
            }
            Route::ConfigRotateRoot => {
                return Ok(Written::Secret(self.rotate_root(&target).await?));
            }
            Route::RoleList => unreachable!("check_op refuses write here"),
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

    /// The lease with id `prefix`, or else the leases under the path `prefix`, by id.
    pub fn leases(&self, prefix: &str) -> Result<Vec<crate::model::Lease>> {
        Ok(self.store.leases_with_prefix(&self.lease_prefix(prefix)?)?)
    }

    /// Refuses a `--field` that a read of `path` would not return, before the read has effects
    /// (issuing credentials that nobody would see).
    pub fn check_field(&self, path: &str, field: &str) -> Result<()> {
        let target = self.target(path)?;
        let mut outputs = target.route.spec().outputs.to_vec();
        if let Route::Creds(name) | Route::Sts(name) = &target.route {
            // What the role's credential type returns; an unknown role fails later, as it should.
            if let Some(role) = self.store.role(&target.mount, name)? {
                outputs.retain(|f| lease::returns(role.credential_type, f));
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
        if routes::ROUTE_HEADS.contains(&segment) {
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
    use crate::cloud::fake::{FakeConnector, FakeIam};
    use crate::cloud::{Attachment, CloudError};
    use crate::model::Lease;
    use crate::store::SqliteStore;

    const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[]}"#;

    type TestEngine = Engine<SqliteStore, FakeConnector>;

    fn engine() -> (TestEngine, Rc<FakeIam>) {
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
        block(engine.write("aws/config/root", &root)).unwrap();
        let mut role = Map::new();
        role.insert("policy".into(), POLICY.into());
        block(engine.write("aws/roles/r", &role)).unwrap();
        (engine, iam)
    }

    fn leases(engine: &TestEngine) -> Vec<Lease> {
        engine.store.leases_with_prefix("").unwrap()
    }

    fn issue(engine: &TestEngine) -> Secret {
        block(engine.read("creds/r", &Map::new())).unwrap()
    }

    fn api(code: &str) -> CloudError {
        CloudError::Api {
            code: code.into(),
            message: "no".into(),
        }
    }

    #[test]
    fn issuing_makes_exactly_three_iam_calls() {
        let (engine, iam) = engine();
        let secret = issue(&engine);
        assert_eq!(
            iam.operations(),
            ["CreateUser", "PutUserPolicy", "CreateAccessKey"]
        );
        let users = iam.users.borrow();
        let (name, user) = users.iter().next().unwrap();
        assert!(name.starts_with("awscreds-r-"));
        assert_eq!(user.ids(Attachment::InlinePolicy), ["r"]);
        assert_eq!(
            secret.data["access_key"],
            user.ids(Attachment::AccessKey)[0].as_str()
        );
        assert_eq!(user.tags[0].1, secret.lease.unwrap().id);
        assert_eq!(user.path, "/awscreds/");
    }

    #[test]
    fn a_failed_step_deletes_the_user_and_the_lease() {
        let (engine, iam) = engine();
        iam.fail("CreateAccessKey", api("LimitExceeded"));
        let err = block(engine.read("creds/r", &Map::new())).unwrap_err();
        assert_eq!(err.exit_status(), crate::error::ExitStatus::Cloud);
        assert!(iam.users.borrow().is_empty());
        assert!(leases(&engine).is_empty());
    }

    #[test]
    fn a_retried_create_user_that_had_succeeded_is_ours() {
        let (engine, iam) = engine();
        iam.create_user_answer_lost.set(true);
        issue(&engine);
        assert_eq!(iam.users.borrow().len(), 1);
        assert_eq!(leases(&engine)[0].state, crate::model::LeaseState::Active);
    }

    #[test]
    fn somebody_elses_user_of_the_same_name_is_never_adopted() {
        let (engine, iam) = engine();
        // The fake refuses without creating: the user of that name is not tagged as ours.
        iam.fail("CreateUser", api("EntityAlreadyExists"));
        let err = block(engine.read("creds/r", &Map::new())).unwrap_err();
        assert!(err.to_string().starts_with("creating IAM user"), "{err}");
        assert!(leases(&engine).is_empty());
        assert!(!iam.operations().contains(&"PutUserPolicy".to_string()));
    }

    #[test]
    fn a_failed_rollback_keeps_the_pending_lease() {
        let (engine, iam) = engine();
        let boom = CloudError::Unreachable("down".into());
        iam.fail("CreateAccessKey", boom.clone());
        iam.fail("DeleteUser", boom);
        block(engine.read("creds/r", &Map::new())).unwrap_err();
        assert_eq!(iam.users.borrow().len(), 1);
        let kept = leases(&engine);
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
    fn revoking_removes_what_others_attached_only_when_iam_insists() {
        let (engine, iam) = engine();
        issue(&engine);
        let lease = leases(&engine).remove(0);
        iam.calls.borrow_mut().clear();
        block(engine.revoke_lease(&lease, 300)).unwrap();
        // What issuing attached is known: removed without listing, three calls in all.
        assert_eq!(
            iam.operations(),
            ["DeleteAccessKey", "DeleteUserPolicy", "DeleteUser"]
        );

        issue(&engine);
        let lease = leases(&engine).remove(0);
        for kind in Attachment::OTHERS {
            iam.attach(&lease.iam_user, kind, "someone-elses");
        }
        iam.users
            .borrow_mut()
            .get_mut(&lease.iam_user)
            .unwrap()
            .login_profile = true;
        block(engine.revoke_lease(&lease, 300)).unwrap();
        assert!(iam.users.borrow().is_empty());
        assert!(leases(&engine).is_empty());
    }

    #[test]
    fn a_failed_revocation_is_kept_with_backoff() {
        let (engine, iam) = engine();
        issue(&engine);
        let lease = leases(&engine).remove(0);
        iam.fail("DeleteUser", api("ServiceFailure"));
        block(engine.revoke_lease(&lease, 300)).unwrap_err();
        let kept = leases(&engine).remove(0);
        assert_eq!(kept.attempts, 1);
        assert!(kept.due_at >= engine.now() + 30);
        assert!(kept.last_error.unwrap().contains("ServiceFailure"));
    }

    #[test]
    fn reaping_builds_no_client_when_nothing_is_due() {
        let (engine, iam) = engine();
        issue(&engine);
        iam.calls.borrow_mut().clear();
        engine.clouds.borrow_mut().clear();
        assert_eq!(block(engine.reap()).unwrap(), None);
        assert!(engine.clouds.borrow().is_empty());
        assert!(iam.calls.borrow().is_empty());
    }

    #[test]
    fn renewal_is_capped_at_lease_max() {
        let (engine, _iam) = engine();
        let mut lease_config = Map::new();
        lease_config.insert("lease".into(), "1h".into());
        lease_config.insert("lease_max".into(), "2h".into());
        block(engine.write("aws/config/lease", &lease_config)).unwrap();
        let id = issue(&engine).lease.unwrap().id;
        let (info, warning) = engine.renew(&id, Some(1800)).unwrap();
        assert_eq!((info.duration, warning), (1800, None));
        let (info, warning) = engine.renew(&id, Some(3 * 3600)).unwrap();
        assert!(info.duration <= 7200 && !info.renewable);
        assert!(warning.unwrap().contains("capped"));
        let err = engine.renew(&id, None).unwrap_err();
        assert!(err.to_string().contains("already at its maximum"), "{err}");
    }

    #[test]
    fn a_field_creds_do_not_return_is_refused_before_issuing() {
        let (engine, iam) = engine();
        engine.check_field("creds/r", "secret_key").unwrap();
        let err = engine.check_field("creds/r", "nope").unwrap_err();
        assert_eq!(err.to_string(), "Field \"nope\" not present in secret");
        assert!(iam.calls.borrow().is_empty());
    }

    #[test]
    fn group_policies_are_merged_into_sts_requests() {
        let (engine, iam) = engine();
        let mut role = Map::new();
        role.insert("credential_type".into(), "federation_token".into());
        role.insert("policy_document".into(), POLICY.into());
        role.insert("iam_groups".into(), "g1,g2".into());
        block(engine.write("aws/roles/fed", &role)).unwrap();
        let secret = block(engine.read("creds/fed", &Map::new())).unwrap();
        assert!(!secret.lease.unwrap().renewable);
        let requests = iam.sts_requests.borrow();
        let (policy, arns) = &requests[0];
        let policy: Value = serde_json::from_str(policy.as_deref().unwrap()).unwrap();
        let sids: Vec<&str> = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["Sid"].as_str())
            .collect();
        assert_eq!(sids, ["g1", "g2"]);
        assert_eq!(arns.len(), 2);
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        crate::cli::block_on(f)
    }
}
