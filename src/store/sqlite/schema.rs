//! Opening a SQLite database: the file and its directory made private before SQLite writes
//! anything, WAL (kept between processes) and a busy timeout, and the numbered migrations applied
//! in one transaction.

use std::cell::RefCell;
use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, TransactionBehavior};

use super::SqliteStore;
use super::owner::OwnerLocks;
use crate::store::{Result, StoreError};

/// Applied in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_lease_owner.sql"),
    include_str!("migrations/0003_lease_attached.sql"),
    include_str!("migrations/0004_lease_kind.sql"),
    include_str!("migrations/0005_audit_devices.sql"),
    include_str!("migrations/0006_lease_key_wait.sql"),
    include_str!("migrations/0007_lease_cached_secret.sql"),
    include_str!("migrations/0008_lease_counts.sql"),
    include_str!("migrations/0009_user_paths.sql"),
];

const BUSY_TIMEOUT: Duration = Duration::from_secs(15);
/// Pages (4 KiB) in the WAL after which a commit checkpoints it: about 20 issues' worth.
const WAL_AUTOCHECKPOINT: i64 = 200;

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`. A new directory is made 0700 and a new
    /// file 0600 before SQLite writes anything to it: the file holds root credentials.
    pub fn open(path: &Path) -> Result<Self> {
        let fail = |reason: String| StoreError::Open {
            location: path.display().to_string(),
            reason,
        };
        if let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| fail(e.to_string()))?;
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| fail(e.to_string()))?;
        let conn = Connection::open(path).map_err(|e| fail(e.to_string()))?;
        let mut store = Self::setup(conn).map_err(|e| match e {
            StoreError::Backend(reason) => fail(reason),
            other => other,
        })?;
        let mut locks = path.to_path_buf().into_os_string();
        locks.push("-locks");
        store.owners = Some(OwnerLocks::new(locks));
        Ok(store)
    }

    /// An in-memory database, for tests.
    pub fn in_memory() -> Result<Self> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Every commit is synced (FULL: the WAL, and on a process's first sync its directory),
        // so that a power cut loses no root key, seal or pending lease (the row written before
        // CreateUser). The writes on a lease that may be lost without harm say so
        // (`SqliteStore::relaxed` in mod.rs) and are only written to the WAL.
        conn.pragma_update(None, "synchronous", "FULL")?;
        // The WAL stays when the last connection closes, instead of being checkpointed into the
        // database and deleted by every command (two fsyncs, a file created and deleted: more
        // than half of an issue's own time). Checkpoints happen as writes reach
        // `wal_autocheckpoint` pages, kept small so that the next process to open the database,
        // which rebuilds the WAL's index by reading it, reads little.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // Deleted and overwritten content is zeroed, so that no secret in the clear outlives
        // its row (see `compact`).
        conn.pragma_update(None, "secure_delete", true)?;
        let version = schema_version(&conn)?;
        if version < MIGRATIONS.len() {
            // Re-read inside a write transaction: another process may have migrated meanwhile.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let version = schema_version(&tx)?;
            for sql in &MIGRATIONS[version.min(MIGRATIONS.len())..] {
                tx.execute_batch(sql)?;
            }
            tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
            tx.commit()?;
        } else if version > MIGRATIONS.len() {
            return Err(StoreError::Corrupt {
                what: "schema".into(),
                reason: format!(
                    "version {version} is newer than this awscreds knows ({}); upgrade awscreds",
                    MIGRATIONS.len()
                ),
            });
        }
        Ok(SqliteStore {
            conn,
            owners: None,
            owner: RefCell::new(None),
            held: RefCell::new(Vec::new()),
        })
    }
}

fn schema_version(conn: &Connection) -> Result<usize> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    Ok(usize::try_from(version).unwrap_or(0))
}
