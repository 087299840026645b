//! awscreds' state as the tests see it: read and changed through awscreds' own `Store` trait,
//! never with SQL, so that the suite runs unchanged against any backend.

#![allow(dead_code)]

use awscreds::model::Lease;
use awscreds::store::{self, Location, Store};

/// The store behind a `--db` value, opened for one look.
pub struct State {
    rt: tokio::runtime::Runtime,
    store: Box<dyn Store>,
}

impl State {
    /// `None` when the database does not exist yet (nothing was ever written).
    pub fn open(db: &str) -> Option<State> {
        let location = Location::parse(db);
        if let Location::Sqlite(path) = &location
            && !path.exists()
        {
            return None;
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store = rt.block_on(store::open(&location)).unwrap();
        Some(State { rt, store })
    }

    pub fn run<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// Every lease, by id.
    pub fn leases(&self) -> Vec<Lease> {
        self.run(self.store.leases_with_prefix("")).unwrap()
    }

    pub fn lease(&self, id: &str) -> Option<Lease> {
        self.run(self.store.lease(id)).unwrap()
    }

    /// The database's id, which tags every IAM user it issues.
    pub fn db_id(&self) -> String {
        self.run(self.store.db_id()).unwrap()
    }

    /// Removes a lease behind awscreds' back (as a database restored from an old backup would
    /// lose it).
    pub fn delete_lease(&self, id: &str) {
        assert!(self.lease(id).is_some(), "no lease {id}");
        self.run(self.store.delete_lease(id)).unwrap();
    }

    /// Rewrites a lease behind awscreds' back (to move its times, say).
    pub fn change_lease(&self, id: &str, change: impl FnOnce(&mut Lease)) {
        let mut lease = self.lease(id).unwrap_or_else(|| panic!("no lease {id}"));
        change(&mut lease);
        self.run(async {
            self.store.delete_lease(id).await?;
            self.store.insert_lease(&lease).await
        })
        .unwrap();
    }

    /// A mount's root configuration as stored (its secret key sealed).
    pub fn root_config(&self, mount: &str) -> Option<awscreds::model::RootConfig> {
        self.run(self.store.root_config(mount)).unwrap()
    }

    /// Everything stored, one line per thing, to check that a failed command changed nothing.
    pub fn dump(&self) -> String {
        self.run(async {
            let mut out = String::new();
            for mount in self.store.mounts().await.unwrap() {
                out.push_str(&format!("mount: {mount:?}\n"));
                let root = self.store.root_config(&mount.path).await.unwrap();
                let root = root.map(|c| serde_json::to_string(&c).unwrap());
                out.push_str(&format!("  root: {root:?}\n"));
                let lease = self.store.lease_config(&mount.path).await.unwrap();
                out.push_str(&format!("  lease config: {lease:?}\n"));
                for name in self.store.role_names(&mount.path).await.unwrap() {
                    let role = self.store.role(&mount.path, &name).await.unwrap();
                    out.push_str(&format!("  role: {role:?}\n"));
                }
            }
            for lease in self.store.leases_with_prefix("").await.unwrap() {
                out.push_str(&format!("lease: {lease:?}\n"));
            }
            for path in self.store.user_paths().await.unwrap() {
                out.push_str(&format!("user path: {path}\n"));
            }
            out
        })
    }
}
