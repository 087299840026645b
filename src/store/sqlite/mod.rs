//! The SQLite store: one file, WAL journal so that a cron sweep and interactive runs overlap, a busy
//! timeout instead of "database is locked", and numbered migrations embedded in the binary.
//! Issuer liveness is a directory of lock files beside the database (`owner.rs`).

mod owner;
mod rows;
mod schema;

use rows::{LEASE_COLUMNS, lease_from_row, prefix_end, to_json};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use std::cell::RefCell;

use owner::{OwnerGuard, OwnerLocks};

use super::{
    Activation, CapReached, CapScope, FailingLease, LeaseStats, Result, Store, StoreError,
};
use crate::model::{AuditDevice, Lease, LeaseConfig, Mount, Role, RootConfig, SealRecord};

/// What `take_pending` writes as a pending lease's owner: no issuer's token is ever this, so the
/// issuer can no longer activate it.
const TAKEN: &str = crate::model::Lease::TAKEN;

pub struct SqliteStore {
    conn: Connection,
    /// Where issuing processes hold their liveness locks; `None` (in memory): no locks.
    owners: Option<OwnerLocks>,
    /// This process's own lock, taken on its first issue and held until it exits.
    owner: RefCell<Option<OwnerGuard>>,
    /// Named locks held until the store is dropped (`hold_lock`).
    held: RefCell<Vec<(String, std::fs::File)>>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl SqliteStore {
    fn json_column<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        key: &[&dyn rusqlite::ToSql],
        what: &str,
    ) -> Result<Option<T>> {
        let text: Option<Option<String>> =
            self.conn.query_row(sql, key, |r| r.get(0)).optional()?;
        match text.flatten() {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| StoreError::Corrupt {
                    what: what.to_string(),
                    reason: e.to_string(),
                }),
        }
    }

    fn set_mount_column(&self, mount: &str, column: &str, value: String) -> Result<()> {
        let sql = format!("UPDATE mounts SET {column} = ?1 WHERE path = ?2");
        self.conn.execute(&sql, params![value, mount])?;
        Ok(())
    }
}

/// Commits are synced to disk (synchronous=FULL) but while one of these lives, when they are
/// only written to the WAL (NORMAL): for the writes on a lease that a power cut may lose
/// without harm. A lost activation leaves the lease pending, and a sweep deletes its user; a
/// lost deletion, claim, failure or renewal leaves a lease that a sweep takes up again, whose
/// user it then finds gone or deletes. Everything else (the pending row written before
/// CreateUser above all, root keys, seals, roles) is durable when its call returns.
struct Relaxed<'a>(&'a Connection);

impl Drop for Relaxed<'_> {
    fn drop(&mut self) {
        let _ = self.0.pragma_update(None, "synchronous", "FULL");
    }
}

impl SqliteStore {
    fn relaxed(&self) -> Result<Relaxed<'_>> {
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(Relaxed(&self.conn))
    }
}

#[async_trait::async_trait(?Send)]
impl Store for SqliteStore {
    async fn db_id(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'db_id'", [], |r| {
                r.get(0)
            })?)
    }

    async fn set_db_id(&self, id: &str) -> Result<()> {
        self.conn
            .execute("UPDATE meta SET value = ?1 WHERE key = 'db_id'", [id])?;
        Ok(())
    }

    async fn meta_value(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    async fn set_meta_value(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    async fn create_mount(&self, mount: &Mount) -> Result<()> {
        let inserted = self.conn.execute(
            "INSERT INTO mounts (path, kind, created_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (path) DO NOTHING",
            params![mount.path, mount.kind, mount.created_at],
        )?;
        if inserted == 0 {
            return Err(StoreError::Exists {
                what: format!("a mount at '{}'", mount.path),
            });
        }
        Ok(())
    }

    async fn mounts(&self) -> Result<Vec<Mount>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path, kind, created_at FROM mounts ORDER BY path")?;
        let rows = stmt.query_map([], |r| {
            Ok(Mount {
                path: r.get(0)?,
                kind: r.get(1)?,
                created_at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    async fn delete_mount(&self, path: &str) -> Result<bool> {
        match self
            .conn
            .execute("DELETE FROM mounts WHERE path = ?1", [path])
        {
            Ok(n) => Ok(n > 0),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                Err(StoreError::InUse {
                    what: format!("the mount at '{path}'"),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn root_config(&self, mount: &str) -> Result<Option<RootConfig>> {
        self.json_column(
            "SELECT root_config FROM mounts WHERE path = ?1",
            &[&mount],
            "root configuration",
        )
    }

    async fn set_root_config(&self, mount: &str, config: &RootConfig) -> Result<()> {
        self.set_mount_column(mount, "root_config", to_json(config))
    }

    async fn lease_config(&self, mount: &str) -> Result<Option<LeaseConfig>> {
        self.json_column(
            "SELECT lease_config FROM mounts WHERE path = ?1",
            &[&mount],
            "lease configuration",
        )
    }

    async fn set_lease_config(&self, mount: &str, config: &LeaseConfig) -> Result<()> {
        self.set_mount_column(mount, "lease_config", to_json(config))
    }

    async fn role(&self, mount: &str, name: &str) -> Result<Option<Role>> {
        self.json_column(
            "SELECT definition FROM roles WHERE mount = ?1 AND name = ?2",
            &[&mount, &name],
            "role",
        )
    }

    async fn put_role(&self, mount: &str, role: &Role) -> Result<()> {
        self.conn.execute(
            "INSERT INTO roles (mount, name, definition) VALUES (?1, ?2, ?3) \
             ON CONFLICT (mount, name) DO UPDATE SET definition = excluded.definition",
            params![mount, role.name, to_json(role)],
        )?;
        Ok(())
    }

    async fn delete_role(&self, mount: &str, name: &str) -> Result<bool> {
        Ok(self.conn.execute(
            "DELETE FROM roles WHERE mount = ?1 AND name = ?2",
            [mount, name],
        )? > 0)
    }

    async fn role_names(&self, mount: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name FROM roles WHERE mount = ?1 ORDER BY name")?;
        let rows = stmt.query_map([mount], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    async fn record_user_path(&self, path: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO user_paths (path) VALUES (?1) ON CONFLICT (path) DO NOTHING",
            [path],
        )?;
        Ok(())
    }

    async fn user_paths(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path FROM user_paths ORDER BY path")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    async fn insert_lease(&self, l: &Lease) -> Result<()> {
        insert_lease_row(&self.conn, l)
    }

    async fn insert_lease_capped(
        &self,
        l: &Lease,
        role_cap: u64,
        mount_cap: u64,
    ) -> Result<Option<CapReached>> {
        if role_cap == 0 && mount_cap == 0 {
            insert_lease_row(&self.conn, l)?;
            return Ok(None);
        }
        // IMMEDIATE: the write lock is taken before counting, so that no other issuer counts
        // (or inserts) until this one has committed.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        for (scope, cap, role) in [
            (CapScope::Role, role_cap, Some(l.role.as_str())),
            (CapScope::Mount, mount_cap, None),
        ] {
            if cap == 0 {
                continue;
            }
            let count = count_leases(&tx, &l.mount, role)?;
            if count >= cap {
                return Ok(Some(CapReached { scope, cap, count }));
            }
        }
        insert_lease_row(&tx, l)?;
        tx.commit()?;
        Ok(None)
    }

    async fn count_leases(&self, mount: &str, role: Option<&str>) -> Result<u64> {
        count_leases(&self.conn, mount, role)
    }

    async fn lease_stats(&self, now: i64) -> Result<Vec<LeaseStats>> {
        let mut stmt = self.conn.prepare_cached(STATS)?;
        let rows = stmt.query_map([now], |r| {
            Ok(LeaseStats {
                mount: r.get(0)?,
                role: r.get(1)?,
                live: r.get::<_, i64>(2)? as u64,
                pending: r.get::<_, i64>(3)? as u64,
                failing: r.get::<_, i64>(4)? as u64,
                expired: r.get::<_, i64>(5)? as u64,
                next_expiry: r.get(6)?,
                oldest_failing: None,
            })
        })?;
        let mut stats: Vec<LeaseStats> = rows.collect::<rusqlite::Result<_>>()?;
        let mut stmt = self.conn.prepare_cached(OLDEST_FAILING)?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                FailingLease {
                    id: r.get(2)?,
                    iam_user: r.get(3)?,
                    attempts: r.get(4)?,
                    last_error: r.get(5)?,
                    issued_at: r.get(6)?,
                    due_at: r.get(7)?,
                },
            ))
        })?;
        for row in rows {
            let (mount, role, failing) = row?;
            if let Some(s) = stats
                .iter_mut()
                .find(|s| s.mount == mount && s.role == role)
            {
                s.oldest_failing = Some(failing);
            }
        }
        Ok(super::sorted(stats))
    }

    async fn due_leases(&self, now: i64) -> Result<Vec<Lease>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {LEASE_COLUMNS} FROM leases WHERE due_at <= ?1 ORDER BY due_at, id"
        ))?;
        let rows = stmt.query_map([now], lease_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    async fn activate_if_owned(
        &self,
        id: &str,
        owner: Option<&str>,
        a: &Activation<'_>,
    ) -> Result<bool> {
        let _relaxed = self.relaxed()?;
        let changed = self.conn.execute(
            "UPDATE leases SET state = 'active', access_key_id = ?2, expires_at = ?3, \
             due_at = ?3, owner = NULL, attached = ?4 \
             WHERE id = ?1 AND state = 'pending' AND owner IS ?5",
            params![
                id,
                a.access_key_id,
                a.expires_at,
                to_json(&a.attached),
                owner
            ],
        )?;
        Ok(changed == 1)
    }

    async fn lease(&self, id: &str) -> Result<Option<Lease>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {LEASE_COLUMNS} FROM leases WHERE id = ?1"),
                [id],
                lease_from_row,
            )
            .optional()?)
    }

    async fn delete_lease(&self, id: &str) -> Result<()> {
        let _relaxed = self.relaxed()?;
        self.conn
            .execute("DELETE FROM leases WHERE id = ?1", [id])?;
        Ok(())
    }

    async fn take_pending(&self, id: &str) -> Result<()> {
        let _relaxed = self.relaxed()?;
        self.conn.execute(
            "UPDATE leases SET owner = ?2 WHERE id = ?1 AND state = 'pending'",
            [id, TAKEN],
        )?;
        Ok(())
    }

    async fn release_claim(&self, id: &str, due_at: i64) -> Result<()> {
        let _relaxed = self.relaxed()?;
        self.conn.execute(
            "UPDATE leases SET due_at = ?2 WHERE id = ?1",
            params![id, due_at],
        )?;
        Ok(())
    }

    async fn record_failure(&self, id: &str, error: &str, retry_at: i64) -> Result<()> {
        let _relaxed = self.relaxed()?;
        self.conn.execute(
            "UPDATE leases SET attempts = attempts + 1, last_error = ?2, due_at = ?3 \
             WHERE id = ?1",
            params![id, error, retry_at],
        )?;
        Ok(())
    }

    async fn set_key_wait(&self, id: &str, waited_ms: u64) -> Result<()> {
        let _relaxed = self.relaxed()?;
        self.conn.execute(
            "UPDATE leases SET key_wait_ms = ?2 WHERE id = ?1",
            params![id, waited_ms as i64],
        )?;
        Ok(())
    }

    async fn set_cached_secret(&self, id: &str, sealed: &[u8]) -> Result<()> {
        let _relaxed = self.relaxed()?;
        self.conn.execute(
            "UPDATE leases SET cached_secret = ?2 WHERE id = ?1",
            params![id, sealed],
        )?;
        Ok(())
    }

    async fn hold_lock(&self, name: &str) -> Result<()> {
        let Some(locks) = &self.owners else {
            return Ok(());
        };
        let file = locks.hold_named(name).map_err(|e| {
            StoreError::Backend(format!(
                "cannot take a lock in {}: {e}",
                locks.dir().display()
            ))
        })?;
        self.held.borrow_mut().push((name.to_string(), file));
        Ok(())
    }

    async fn release_lock(&self, name: &str) -> Result<()> {
        // Closing the file releases its lock.
        self.held.borrow_mut().retain(|(held, _)| held != name);
        Ok(())
    }

    async fn any_due(&self, now: i64) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM leases WHERE due_at <= ?1 LIMIT 1")?
            .exists([now])?)
    }

    async fn claim_due(&self, now: i64, hold_until: i64, limit: usize) -> Result<Vec<Lease>> {
        let _relaxed = self.relaxed()?;
        // One statement, so the take is atomic under SQLite's write lock.
        let mut stmt = self.conn.prepare_cached(&format!(
            "UPDATE leases SET due_at = ?2 WHERE id IN \
             (SELECT id FROM leases WHERE due_at <= ?1 ORDER BY due_at LIMIT ?3) \
             RETURNING {LEASE_COLUMNS}"
        ))?;
        let rows = stmt.query_map(params![now, hold_until, limit as i64], lease_from_row)?;
        let mut leases: Vec<Lease> = rows.collect::<rusqlite::Result<_>>()?;
        leases.sort_by(|a, b| (a.expires_at, &a.id).cmp(&(b.expires_at, &b.id)));
        Ok(leases)
    }

    async fn leases_with_prefix(&self, prefix: &str) -> Result<Vec<Lease>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {LEASE_COLUMNS} FROM leases WHERE id >= ?1 AND id < ?2 ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![prefix, prefix_end(prefix)], lease_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    async fn pending_leases(&self) -> Result<Vec<Lease>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {LEASE_COLUMNS} FROM leases WHERE state = 'pending'"
        ))?;
        let rows = stmt.query_map([], lease_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    async fn make_due(&self, id: &str, now: i64) -> Result<()> {
        let _relaxed = self.relaxed()?;
        self.conn.execute(
            "UPDATE leases SET due_at = ?2 WHERE id = ?1 AND due_at > ?2 AND state = 'pending'",
            params![id, now],
        )?;
        Ok(())
    }

    async fn renew_lease(&self, id: &str, now: i64, expires_at: i64) -> Result<bool> {
        let _relaxed = self.relaxed()?;
        // due_at = expires_at: neither held by a sweep nor backing off after a failure.
        Ok(self.conn.execute(
            "UPDATE leases SET expires_at = ?3, due_at = ?3 WHERE id = ?1 AND state = 'active' \
             AND expires_at > ?2 AND due_at = expires_at",
            params![id, now, expires_at],
        )? > 0)
    }

    async fn claim_prefix(&self, prefix: &str, hold_until: i64) -> Result<Vec<Lease>> {
        let _relaxed = self.relaxed()?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "UPDATE leases SET due_at = ?3 WHERE id >= ?1 AND id < ?2 RETURNING {LEASE_COLUMNS}"
        ))?;
        let rows = stmt.query_map(
            params![prefix, prefix_end(prefix), hold_until],
            lease_from_row,
        )?;
        let mut leases: Vec<Lease> = rows.collect::<rusqlite::Result<_>>()?;
        leases.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(leases)
    }

    async fn has_user(&self, iam_user: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM leases WHERE iam_user = ?1")?
            .exists([iam_user])?)
    }

    async fn count_due(&self, now: i64) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM leases WHERE due_at <= ?1",
            [now],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    async fn seal_record(&self) -> Result<Option<SealRecord>> {
        self.json_column(
            "SELECT value FROM meta WHERE key = 'seal'",
            &[],
            "seal record",
        )
    }

    async fn create_seal_record(&self, record: &SealRecord) -> Result<bool> {
        Ok(self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('seal', ?1) ON CONFLICT (key) DO NOTHING",
            [to_json(record)],
        )? == 1)
    }

    async fn replace_seal(
        &self,
        record: &SealRecord,
        configs: &[(String, RootConfig)],
        audit_key: Option<&[u8]>,
    ) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('seal', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [to_json(record)],
        )?;
        if let Some(key) = audit_key {
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'audit_key'",
                [super::bytes_to_text(key)],
            )?;
        }
        for (mount, config) in configs {
            tx.execute(
                "UPDATE mounts SET root_config = ?1 WHERE path = ?2",
                params![to_json(config), mount],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    async fn audit_key(&self) -> Result<Option<Vec<u8>>> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'audit_key'", [], |r| {
                r.get(0)
            })
            .optional()?;
        text.map(|t| super::text_to_bytes(&t, "audit key"))
            .transpose()
    }

    async fn create_audit_key(&self, sealed: &[u8]) -> Result<bool> {
        Ok(self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('audit_key', ?1) ON CONFLICT (key) DO NOTHING",
            [super::bytes_to_text(sealed)],
        )? == 1)
    }

    async fn audit_devices(&self) -> Result<Vec<AuditDevice>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, kind, options, created_at FROM audit_devices ORDER BY path",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut devices = Vec::new();
        for row in rows {
            let (path, kind, options, created_at) = row?;
            let options = serde_json::from_str(&options).map_err(|e| StoreError::Corrupt {
                what: format!("audit device {path}"),
                reason: e.to_string(),
            })?;
            devices.push(AuditDevice {
                path,
                kind,
                options,
                created_at,
            });
        }
        Ok(devices)
    }

    async fn add_audit_device(&self, device: &AuditDevice) -> Result<()> {
        let inserted = self.conn.execute(
            "INSERT INTO audit_devices (path, kind, options, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (path) DO NOTHING",
            params![
                device.path,
                device.kind,
                to_json(&device.options),
                device.created_at
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::Exists {
                what: format!("an audit device at '{}'", device.path),
            });
        }
        Ok(())
    }

    async fn remove_audit_device(&self, path: &str) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM audit_devices WHERE path = ?1", [path])?
            > 0)
    }

    async fn begin_batch(&self) -> Result<()> {
        // IMMEDIATE: the write lock from the start, so that no other writer comes between the
        // check that the database is empty and the copy.
        Ok(self.conn.execute_batch("BEGIN IMMEDIATE")?)
    }

    async fn commit_batch(&self) -> Result<()> {
        Ok(self.conn.execute_batch("COMMIT")?)
    }

    async fn rollback_batch(&self) {
        let _ = self.conn.execute_batch("ROLLBACK");
    }

    async fn compact(&self) -> Result<()> {
        // Pages still in the WAL go back to the main file first, then VACUUM rebuilds it (with
        // secure_delete, freed pages are zeroed too), then the WAL is emptied.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        self.conn.execute_batch("VACUUM")?;
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    async fn issuer_token(&self) -> Result<Option<String>> {
        let Some(locks) = &self.owners else {
            return Ok(None);
        };
        let mut owner = self.owner.borrow_mut();
        if owner.is_none() {
            let guard = locks.acquire().map_err(|e| {
                StoreError::Backend(format!(
                    "cannot take a lock in {}: {e}",
                    locks.dir().display()
                ))
            })?;
            *owner = Some(guard);
        }
        Ok(owner.as_ref().map(|g| g.token().to_string()))
    }

    async fn issuer_gone(&self, token: &str) -> bool {
        self.owners.as_ref().is_some_and(|l| l.is_gone(token))
    }

    async fn forget_dead_issuers(&self) {
        if let Some(locks) = &self.owners {
            locks.remove_stale();
        }
    }
}

/// The counts the triggers keep, and per role what changes with time: the expired leases and the
/// next expiry (each a range of the index `leases_role`).
const STATS: &str = "SELECT c.mount, c.role, c.live, c.pending, c.failing, \
     (SELECT count(*) FROM leases l WHERE l.mount = c.mount AND l.role = c.role \
      AND l.state = 'active' AND l.expires_at <= ?1), \
     (SELECT min(l.expires_at) FROM leases l WHERE l.mount = c.mount AND l.role = c.role \
      AND l.state = 'active') \
     FROM lease_counts c WHERE c.live > 0";

/// The first failing lease (by issue time, then id) of each mount and role.
const OLDEST_FAILING: &str = "SELECT mount, role, id, iam_user, attempts, last_error, issued_at, \
     due_at FROM (SELECT mount, role, id, iam_user, attempts, last_error, issued_at, due_at, \
     row_number() OVER (PARTITION BY mount, role ORDER BY issued_at, id) AS n \
     FROM leases WHERE attempts > 0) AS f WHERE n = 1";

fn insert_lease_row(conn: &Connection, l: &Lease) -> Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO leases ({LEASE_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
        ),
        params![
            l.id,
            l.mount,
            l.role,
            l.iam_user,
            l.access_key_id,
            l.state.as_str(),
            l.issued_at,
            l.expires_at,
            l.max_expires_at,
            l.due_at,
            l.attempts,
            l.last_error,
            l.owner,
            l.attached.as_ref().map(to_json),
            l.kind.as_str(),
            l.key_wait_ms.map(|ms| ms as i64),
            l.cached_secret
        ],
    )?;
    Ok(())
}

/// What the triggers of `lease_counts` keep: no lease is counted here.
fn count_leases(conn: &Connection, mount: &str, role: Option<&str>) -> Result<u64> {
    let count: i64 = match role {
        Some(role) => conn
            .prepare_cached("SELECT live FROM lease_counts WHERE mount = ?1 AND role = ?2")?
            .query_row([mount, role], |r| r.get(0))
            .optional()?
            .unwrap_or(0),
        None => conn
            .prepare_cached("SELECT coalesce(sum(live), 0) FROM lease_counts WHERE mount = ?1")?
            .query_row([mount], |r| r.get(0))?,
    };
    Ok(count.max(0) as u64)
}

#[cfg(test)]
mod tests;
