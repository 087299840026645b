//! The PostgreSQL store, for a team: several hosts share one database of mounts, roles and
//! leases. Claims lock rows with `FOR UPDATE SKIP LOCKED`, so two sweeps never take the same lease
//! nor wait for each other. An issuer's liveness is a session-level advisory lock keyed by its
//! token, held by its own connection: the server drops it when the connection ends, however the
//! process died, so a sweep on any host can tell at once that a pending lease's issuer is gone.

mod connect;

use std::cell::RefCell;
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row};

use super::{
    Activation, CapReached, CapScope, FailingLease, LeaseStats, Result, Store, StoreError,
};
use crate::model::{
    AuditDevice, CredentialType, Lease, LeaseConfig, LeaseState, Mount, Role, RootConfig,
    SealRecord,
};
use connect::{MigrateError, describe};

pub use connect::PGPASSWORD;

/// What `take_pending` writes as a pending lease's owner: no issuer's token is ever this.
const TAKEN: &str = crate::model::Lease::TAKEN;

/// How often a statement is tried again after a serialization failure or a deadlock.
const RETRIES: u32 = 5;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The parameters with their PostgreSQL types, so that a statement is parsed, bound and run in
/// one round trip (`query_typed`) instead of being prepared first (two): most commands make a
/// handful of statements on a connection of their own, and the round trips were most of a
/// `read roles/x`. Each value's type is the first of those awscreds binds that it encodes as.
fn typed<'a>(params: Params<'a>) -> Vec<(&'a (dyn ToSql + Sync), Type)> {
    const TYPES: [Type; 5] = [Type::INT8, Type::TEXT, Type::BYTEA, Type::BOOL, Type::INT4];
    let mut scratch = bytes::BytesMut::new();
    params
        .iter()
        .map(|&value| {
            let ty = TYPES
                .iter()
                .find(|ty| {
                    scratch.clear();
                    value.to_sql_checked(ty, &mut scratch).is_ok()
                })
                .cloned()
                // Not one of those: let the server infer it from the statement.
                .unwrap_or(Type::UNKNOWN);
            (value, ty)
        })
        .collect()
}

pub struct PostgresStore {
    /// `None` only while being dropped.
    client: Option<Client>,
    /// This process's issuer token, once taken (its advisory lock is held by `client`).
    token: RefCell<Option<String>>,
    /// Inside a batch (`begin_batch`): a failed statement has ended the transaction, so it is
    /// not tried again.
    in_batch: std::cell::Cell<bool>,
}

/// Serializes `db copy`s into one database (`pg_advisory_xact_lock`), so that two copies cannot
/// both find it empty.
const COPY_LOCK: i64 = 0x6177_7363_636f_7079; // "awsccopy"

thread_local! {
    /// Stores of issuers being dropped: their locks are released before the process exits.
    static CLOSING: RefCell<Vec<tokio::task::JoinHandle<()>>> = const { RefCell::new(Vec::new()) };
}

/// An issuer's lock would go with its connection anyway, but the server notices a closed
/// connection a moment later; a sweep started right after this process exits must already see
/// it gone, as it would a SQLite issuer's lock file. So a dropped issuer's store unlocks first.
impl Drop for PostgresStore {
    fn drop(&mut self) {
        if self.token.get_mut().is_none() {
            return;
        }
        // Outside a runtime (a store dropped after its runtime's block_on), the connection's
        // end releases the lock.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Some(client) = self.client.take() else {
            return;
        };
        let task = runtime.spawn(async move {
            let _ = client
                .batch_execute("SELECT pg_advisory_unlock_all()")
                .await;
        });
        CLOSING.with(|c| c.borrow_mut().push(task));
    }
}

/// Waits (briefly) until the issuers' stores dropped on this thread have released their locks.
pub async fn closed() {
    let tasks = CLOSING.with(|c| std::mem::take(&mut *c.borrow_mut()));
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
}

fn backend(e: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(describe(&e))
}

fn retryable(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serializes")
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

/// The smallest string above every string that starts with `prefix` (keys compare bytewise).
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// The advisory lock key of an issuer token.
fn lock_key(token: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token.as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

const LEASE_COLUMNS: &str = "id, mount, role, iam_user, access_key_id, state, issued_at, \
     expires_at, max_expires_at, due_at, attempts, last_error, owner, attached, kind, \
     key_wait_ms, cached_secret";

fn lease_from_row(row: &Row) -> Result<Lease> {
    let corrupt = |reason: String| StoreError::Corrupt {
        what: "lease".into(),
        reason,
    };
    let state: String = row.get(5);
    let kind: String = row.get(14);
    let attempts: i64 = row.get(10);
    Ok(Lease {
        id: row.get(0),
        mount: row.get(1),
        role: row.get(2),
        iam_user: row.get(3),
        access_key_id: row.get(4),
        state: LeaseState::parse(&state)
            .ok_or_else(|| corrupt(format!("unknown lease state {state:?}")))?,
        issued_at: row.get(6),
        expires_at: row.get(7),
        max_expires_at: row.get(8),
        due_at: row.get(9),
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        last_error: row.get(11),
        owner: row.get(12),
        attached: match row.get::<_, Option<String>>(13) {
            None => None,
            Some(text) => Some(from_json(&text, "lease")?),
        },
        kind: CredentialType::parse(&kind)
            .ok_or_else(|| corrupt(format!("unknown lease kind {kind:?}")))?,
        key_wait_ms: row.get::<_, Option<i64>>(15).map(|ms| ms.max(0) as u64),
        cached_secret: row.get(16),
    })
}

fn leases(rows: Vec<Row>) -> Result<Vec<Lease>> {
    rows.iter().map(lease_from_row).collect()
}

impl PostgresStore {
    /// Connects to the database at `url` (a `postgres://` or `postgresql://` URL) and brings its
    /// schema up to date. `shown` is the URL as errors may show it (without its password).
    pub async fn open(url: &str, shown: &str) -> Result<Self> {
        let fail = |reason: String| StoreError::Open {
            location: shown.to_string(),
            reason,
        };
        let mut client = connect::connect(url).await.map_err(fail)?;
        let mut tries = 0;
        loop {
            match connect::migrate(&mut client).await {
                Ok(()) => break,
                Err(MigrateError::Newer(version)) => {
                    return Err(StoreError::Corrupt {
                        what: "schema".into(),
                        reason: format!(
                            "version {version} is newer than this awscreds knows ({}); \
                             upgrade awscreds",
                            connect::known_version()
                        ),
                    });
                }
                // Two hosts creating the schema table at once: the loser tries again.
                Err(MigrateError::Driver(_)) if tries < RETRIES => tries += 1,
                Err(MigrateError::Driver(reason)) => return Err(fail(reason)),
            }
        }
        Ok(PostgresStore {
            client: Some(client),
            token: RefCell::new(None),
            in_batch: std::cell::Cell::new(false),
        })
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("an open store has its client")
    }

    async fn try_exec(&self, sql: &str, params: Params<'_>) -> Result<u64, tokio_postgres::Error> {
        let mut tries = 0;
        loop {
            match self.client().execute_typed(sql, &typed(params)).await {
                Err(e) if retryable(&e) && tries < RETRIES && !self.in_batch.get() => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(10 << tries)).await;
                }
                other => return other,
            }
        }
    }

    async fn exec(&self, sql: &str, params: Params<'_>) -> Result<u64> {
        self.try_exec(sql, params).await.map_err(backend)
    }

    async fn rows(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let mut tries = 0;
        loop {
            match self.client().query_typed(sql, &typed(params)).await {
                Err(e) if retryable(&e) && tries < RETRIES && !self.in_batch.get() => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(10 << tries)).await;
                }
                other => return other.map_err(backend),
            }
        }
    }

    async fn text(&self, sql: &str, params: Params<'_>) -> Result<Option<String>> {
        Ok(self
            .rows(sql, params)
            .await?
            .first()
            .and_then(|r| r.get::<_, Option<String>>(0)))
    }

    async fn json_column<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        params: Params<'_>,
        what: &str,
    ) -> Result<Option<T>> {
        match self.text(sql, params).await? {
            None => Ok(None),
            Some(text) => from_json(&text, what).map(Some),
        }
    }

    /// Inserts a lease; `retry`: try again after a serialization failure (never inside a
    /// transaction, which such a failure has ended).
    async fn insert_row(&self, l: &Lease, retry: bool) -> Result<()> {
        let attempts = i64::from(l.attempts);
        let attached = l.attached.as_ref().map(to_json);
        let key_wait_ms = l.key_wait_ms.map(|ms| ms as i64);
        let sql = format!(
            "INSERT INTO leases ({LEASE_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        );
        let params: Params<'_> = &[
            &l.id,
            &l.mount,
            &l.role,
            &l.iam_user,
            &l.access_key_id,
            &l.state.as_str(),
            &l.issued_at,
            &l.expires_at,
            &l.max_expires_at,
            &l.due_at,
            &attempts,
            &l.last_error,
            &l.owner,
            &attached,
            &l.kind.as_str(),
            &key_wait_ms,
            &l.cached_secret,
        ];
        let inserted = if retry {
            self.try_exec(&sql, params).await
        } else {
            self.client().execute(&sql, params).await
        };
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Err(StoreError::Exists {
                what: format!("a lease {}", l.id),
            }),
            Err(e) => Err(backend(e)),
        }
    }

    async fn set_mount_column(&self, mount: &str, column: &str, value: String) -> Result<()> {
        let sql = format!("UPDATE mounts SET {column} = $1 WHERE path = $2");
        self.exec(&sql, &[&value, &mount]).await?;
        Ok(())
    }
}

#[async_trait::async_trait(?Send)]
impl Store for PostgresStore {
    async fn db_id(&self) -> Result<String> {
        self.text("SELECT value FROM meta WHERE key = 'db_id'", &[])
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                what: "database id".into(),
                reason: "missing".into(),
            })
    }

    async fn set_db_id(&self, id: &str) -> Result<()> {
        self.exec("UPDATE meta SET value = $1 WHERE key = 'db_id'", &[&id])
            .await?;
        Ok(())
    }

    async fn meta_value(&self, key: &str) -> Result<Option<String>> {
        self.text("SELECT value FROM meta WHERE key = $1", &[&key])
            .await
    }

    async fn set_meta_value(&self, key: &str, value: &str) -> Result<()> {
        self.exec(
            "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .await?;
        Ok(())
    }

    async fn create_mount(&self, mount: &Mount) -> Result<()> {
        let inserted = self
            .exec(
                "INSERT INTO mounts (path, kind, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (path) DO NOTHING",
                &[&mount.path, &mount.kind, &mount.created_at],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::Exists {
                what: format!("a mount at '{}'", mount.path),
            });
        }
        Ok(())
    }

    async fn mounts(&self) -> Result<Vec<Mount>> {
        let rows = self
            .rows(
                "SELECT path, kind, created_at FROM mounts ORDER BY path",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Mount {
                path: r.get(0),
                kind: r.get(1),
                created_at: r.get(2),
            })
            .collect())
    }

    async fn delete_mount(&self, path: &str) -> Result<bool> {
        match self
            .try_exec("DELETE FROM mounts WHERE path = $1", &[&path])
            .await
        {
            Ok(n) => Ok(n > 0),
            Err(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => {
                Err(StoreError::InUse {
                    what: format!("the mount at '{path}'"),
                })
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn root_config(&self, mount: &str) -> Result<Option<RootConfig>> {
        self.json_column(
            "SELECT root_config FROM mounts WHERE path = $1",
            &[&mount],
            "root configuration",
        )
        .await
    }

    async fn set_root_config(&self, mount: &str, config: &RootConfig) -> Result<()> {
        self.set_mount_column(mount, "root_config", to_json(config))
            .await
    }

    async fn lease_config(&self, mount: &str) -> Result<Option<LeaseConfig>> {
        self.json_column(
            "SELECT lease_config FROM mounts WHERE path = $1",
            &[&mount],
            "lease configuration",
        )
        .await
    }

    async fn set_lease_config(&self, mount: &str, config: &LeaseConfig) -> Result<()> {
        self.set_mount_column(mount, "lease_config", to_json(config))
            .await
    }

    async fn role(&self, mount: &str, name: &str) -> Result<Option<Role>> {
        self.json_column(
            "SELECT definition FROM roles WHERE mount = $1 AND name = $2",
            &[&mount, &name],
            "role",
        )
        .await
    }

    async fn put_role(&self, mount: &str, role: &Role) -> Result<()> {
        self.exec(
            "INSERT INTO roles (mount, name, definition) VALUES ($1, $2, $3) \
             ON CONFLICT (mount, name) DO UPDATE SET definition = excluded.definition",
            &[&mount, &role.name, &to_json(role)],
        )
        .await?;
        Ok(())
    }

    async fn delete_role(&self, mount: &str, name: &str) -> Result<bool> {
        Ok(self
            .exec(
                "DELETE FROM roles WHERE mount = $1 AND name = $2",
                &[&mount, &name],
            )
            .await?
            > 0)
    }

    async fn role_names(&self, mount: &str) -> Result<Vec<String>> {
        let rows = self
            .rows(
                "SELECT name FROM roles WHERE mount = $1 ORDER BY name",
                &[&mount],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn record_user_path(&self, path: &str) -> Result<()> {
        self.exec(
            "INSERT INTO user_paths (path) VALUES ($1) ON CONFLICT (path) DO NOTHING",
            &[&path],
        )
        .await?;
        Ok(())
    }

    async fn user_paths(&self) -> Result<Vec<String>> {
        let rows = self
            .rows("SELECT path FROM user_paths ORDER BY path", &[])
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn insert_lease(&self, l: &Lease) -> Result<()> {
        self.insert_row(l, true).await
    }

    async fn insert_lease_capped(
        &self,
        l: &Lease,
        role_cap: u64,
        mount_cap: u64,
    ) -> Result<Option<CapReached>> {
        if role_cap == 0 && mount_cap == 0 {
            return self.insert_lease(l).await.map(|()| None);
        }
        // One transaction on the one connection; the caps' advisory locks (mount first, then
        // role, always in that order) are held until it ends, so that the next issuer counts
        // only after this one's insert is committed (READ COMMITTED sees it then).
        self.client()
            .batch_execute("BEGIN")
            .await
            .map_err(backend)?;
        let result = async {
            if mount_cap > 0 {
                self.client()
                    .execute(
                        "SELECT pg_advisory_xact_lock($1)",
                        &[&lock_key(&format!("cap:{}", l.mount))],
                    )
                    .await
                    .map_err(backend)?;
            }
            if role_cap > 0 {
                self.client()
                    .execute(
                        "SELECT pg_advisory_xact_lock($1)",
                        &[&lock_key(&format!("cap:{}\n{}", l.mount, l.role))],
                    )
                    .await
                    .map_err(backend)?;
            }
            for (scope, cap, role) in [
                (CapScope::Role, role_cap, Some(l.role.as_str())),
                (CapScope::Mount, mount_cap, None),
            ] {
                if cap == 0 {
                    continue;
                }
                let count = self.count_leases(&l.mount, role).await?;
                if count >= cap {
                    return Ok(Some(CapReached { scope, cap, count }));
                }
            }
            self.insert_row(l, false).await?;
            Ok(None)
        }
        .await;
        let end = if matches!(result, Ok(None)) {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        match self.client().batch_execute(end).await {
            Err(e) if result.is_ok() => Err(backend(e)),
            _ => result,
        }
    }

    async fn count_leases(&self, mount: &str, role: Option<&str>) -> Result<u64> {
        // What the trigger of `lease_counts` keeps: no lease is counted here.
        let rows = match role {
            Some(role) => {
                self.rows(
                    "SELECT live FROM lease_counts WHERE mount = $1 AND role = $2",
                    &[&mount, &role],
                )
                .await?
            }
            None => {
                self.rows(
                    "SELECT coalesce(sum(live), 0)::bigint FROM lease_counts WHERE mount = $1",
                    &[&mount],
                )
                .await?
            }
        };
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0)).max(0) as u64)
    }

    async fn lease_stats(&self, now: i64) -> Result<Vec<LeaseStats>> {
        let rows = self
            .rows(
                // The counts the trigger keeps, and per role what changes with time (each a
                // range of the index leases_role).
                "SELECT c.mount, c.role, c.live, c.pending, c.failing, \
                 (SELECT count(*) FROM leases l WHERE l.mount = c.mount AND l.role = c.role \
                  AND l.state = 'active' AND l.expires_at <= $1), \
                 (SELECT min(l.expires_at) FROM leases l WHERE l.mount = c.mount \
                  AND l.role = c.role AND l.state = 'active') \
                 FROM lease_counts c WHERE c.live > 0",
                &[&now],
            )
            .await?;
        let mut stats: Vec<LeaseStats> = rows
            .iter()
            .map(|r| LeaseStats {
                mount: r.get(0),
                role: r.get(1),
                live: r.get::<_, i64>(2) as u64,
                pending: r.get::<_, i64>(3) as u64,
                failing: r.get::<_, i64>(4) as u64,
                expired: r.get::<_, i64>(5) as u64,
                next_expiry: r.get(6),
                oldest_failing: None,
            })
            .collect();
        let rows = self
            .rows(
                "SELECT mount, role, id, iam_user, attempts, last_error, issued_at, due_at \
                 FROM (SELECT mount, role, id, iam_user, attempts, last_error, issued_at, \
                 due_at, row_number() OVER (PARTITION BY mount, role ORDER BY issued_at, id) \
                 AS n FROM leases WHERE attempts > 0) AS f WHERE n = 1",
                &[],
            )
            .await?;
        for r in &rows {
            let (mount, role): (String, String) = (r.get(0), r.get(1));
            if let Some(s) = stats
                .iter_mut()
                .find(|s| s.mount == mount && s.role == role)
            {
                s.oldest_failing = Some(FailingLease {
                    id: r.get(2),
                    iam_user: r.get(3),
                    attempts: u32::try_from(r.get::<_, i64>(4)).unwrap_or(u32::MAX),
                    last_error: r.get(5),
                    issued_at: r.get(6),
                    due_at: r.get(7),
                });
            }
        }
        Ok(super::sorted(stats))
    }

    async fn due_leases(&self, now: i64) -> Result<Vec<Lease>> {
        let rows = self
            .rows(
                &format!(
                    "SELECT {LEASE_COLUMNS} FROM leases WHERE due_at <= $1 ORDER BY due_at, id"
                ),
                &[&now],
            )
            .await?;
        leases(rows)
    }

    async fn activate_if_owned(
        &self,
        id: &str,
        owner: Option<&str>,
        a: &Activation<'_>,
    ) -> Result<bool> {
        let changed = self
            .exec(
                "UPDATE leases SET state = 'active', access_key_id = $2, expires_at = $3, \
                 due_at = $3, owner = NULL, attached = $4 \
                 WHERE id = $1 AND state = 'pending' AND owner IS NOT DISTINCT FROM $5",
                &[
                    &id,
                    &a.access_key_id,
                    &a.expires_at,
                    &to_json(&a.attached),
                    &owner,
                ],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn lease(&self, id: &str) -> Result<Option<Lease>> {
        let rows = self
            .rows(
                &format!("SELECT {LEASE_COLUMNS} FROM leases WHERE id = $1"),
                &[&id],
            )
            .await?;
        rows.first().map(lease_from_row).transpose()
    }

    async fn delete_lease(&self, id: &str) -> Result<()> {
        self.exec("DELETE FROM leases WHERE id = $1", &[&id])
            .await?;
        Ok(())
    }

    async fn take_pending(&self, id: &str) -> Result<()> {
        self.exec(
            "UPDATE leases SET owner = $2 WHERE id = $1 AND state = 'pending'",
            &[&id, &TAKEN],
        )
        .await?;
        Ok(())
    }

    async fn release_claim(&self, id: &str, due_at: i64) -> Result<()> {
        self.exec(
            "UPDATE leases SET due_at = $2 WHERE id = $1",
            &[&id, &due_at],
        )
        .await?;
        Ok(())
    }

    async fn set_key_wait(&self, id: &str, waited_ms: u64) -> Result<()> {
        let waited_ms = waited_ms as i64;
        self.exec(
            "UPDATE leases SET key_wait_ms = $2 WHERE id = $1",
            &[&id, &waited_ms],
        )
        .await?;
        Ok(())
    }

    async fn set_cached_secret(&self, id: &str, sealed: &[u8]) -> Result<()> {
        self.exec(
            "UPDATE leases SET cached_secret = $2 WHERE id = $1",
            &[&id, &sealed],
        )
        .await?;
        Ok(())
    }

    async fn hold_lock(&self, name: &str) -> Result<()> {
        // A session lock: held by this connection until it closes, as the process ends.
        let key = lock_key(&format!("named:{name}"));
        self.exec("SELECT pg_advisory_lock($1)", &[&key]).await?;
        Ok(())
    }

    async fn release_lock(&self, name: &str) -> Result<()> {
        let key = lock_key(&format!("named:{name}"));
        // Once for each time it was taken (a session lock counts).
        while self
            .rows("SELECT pg_advisory_unlock($1)", &[&key])
            .await?
            .first()
            .is_some_and(|r| r.get::<_, bool>(0))
        {}
        Ok(())
    }

    async fn record_failure(&self, id: &str, error: &str, retry_at: i64) -> Result<()> {
        self.exec(
            "UPDATE leases SET attempts = attempts + 1, last_error = $2, due_at = $3 \
             WHERE id = $1",
            &[&id, &error, &retry_at],
        )
        .await?;
        Ok(())
    }

    async fn any_due(&self, now: i64) -> Result<bool> {
        Ok(!self
            .rows("SELECT 1 FROM leases WHERE due_at <= $1 LIMIT 1", &[&now])
            .await?
            .is_empty())
    }

    async fn count_due(&self, now: i64) -> Result<u64> {
        let rows = self
            .rows("SELECT count(*) FROM leases WHERE due_at <= $1", &[&now])
            .await?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0)) as u64)
    }

    async fn claim_due(&self, now: i64, hold_until: i64, limit: usize) -> Result<Vec<Lease>> {
        // Rows another sweep has locked are skipped, not waited for; a row it has just moved is
        // re-checked against `due_at` (READ COMMITTED) and so not taken twice.
        let limit = limit as i64;
        let rows = self
            .rows(
                &format!(
                    "UPDATE leases SET due_at = $2 WHERE id IN \
                     (SELECT id FROM leases WHERE due_at <= $1 ORDER BY due_at LIMIT $3 \
                      FOR UPDATE SKIP LOCKED) \
                     AND due_at <= $1 RETURNING {LEASE_COLUMNS}"
                ),
                &[&now, &hold_until, &limit],
            )
            .await?;
        let mut leases = leases(rows)?;
        leases.sort_by(|a, b| (a.expires_at, &a.id).cmp(&(b.expires_at, &b.id)));
        Ok(leases)
    }

    async fn claim_prefix(&self, prefix: &str, hold_until: i64) -> Result<Vec<Lease>> {
        let rows = self
            .rows(
                &format!(
                    "UPDATE leases SET due_at = $3 WHERE id >= $1 AND id < $2 \
                     RETURNING {LEASE_COLUMNS}"
                ),
                &[&prefix, &prefix_end(prefix), &hold_until],
            )
            .await?;
        let mut leases = leases(rows)?;
        leases.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(leases)
    }

    async fn leases_with_prefix(&self, prefix: &str) -> Result<Vec<Lease>> {
        let rows = self
            .rows(
                &format!(
                    "SELECT {LEASE_COLUMNS} FROM leases WHERE id >= $1 AND id < $2 ORDER BY id"
                ),
                &[&prefix, &prefix_end(prefix)],
            )
            .await?;
        leases(rows)
    }

    async fn pending_leases(&self) -> Result<Vec<Lease>> {
        let rows = self
            .rows(
                &format!("SELECT {LEASE_COLUMNS} FROM leases WHERE state = 'pending'"),
                &[],
            )
            .await?;
        leases(rows)
    }

    async fn make_due(&self, id: &str, now: i64) -> Result<()> {
        self.exec(
            "UPDATE leases SET due_at = $2 WHERE id = $1 AND due_at > $2 AND state = 'pending'",
            &[&id, &now],
        )
        .await?;
        Ok(())
    }

    async fn renew_lease(&self, id: &str, now: i64, expires_at: i64) -> Result<bool> {
        // due_at = expires_at: neither held by a sweep nor backing off after a failure.
        Ok(self
            .exec(
                "UPDATE leases SET expires_at = $3, due_at = $3 WHERE id = $1 \
                 AND state = 'active' AND expires_at > $2 AND due_at = expires_at",
                &[&id, &now, &expires_at],
            )
            .await?
            > 0)
    }

    async fn has_user(&self, iam_user: &str) -> Result<bool> {
        Ok(!self
            .rows(
                "SELECT 1 FROM leases WHERE iam_user = $1 LIMIT 1",
                &[&iam_user],
            )
            .await?
            .is_empty())
    }

    async fn seal_record(&self) -> Result<Option<SealRecord>> {
        self.json_column(
            "SELECT value FROM meta WHERE key = 'seal'",
            &[],
            "seal record",
        )
        .await
    }

    async fn create_seal_record(&self, record: &SealRecord) -> Result<bool> {
        Ok(self
            .exec(
                "INSERT INTO meta (key, value) VALUES ('seal', $1) ON CONFLICT (key) DO NOTHING",
                &[&to_json(record)],
            )
            .await?
            == 1)
    }

    async fn replace_seal(
        &self,
        record: &SealRecord,
        configs: &[(String, RootConfig)],
        audit_key: Option<&[u8]>,
    ) -> Result<()> {
        // One transaction on the one connection (statements on it run in order).
        self.client()
            .batch_execute("BEGIN")
            .await
            .map_err(backend)?;
        let result = async {
            self.client()
                .execute(
                    "INSERT INTO meta (key, value) VALUES ('seal', $1) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&to_json(record)],
                )
                .await?;
            if let Some(key) = audit_key {
                self.client()
                    .execute(
                        "UPDATE meta SET value = $1 WHERE key = 'audit_key'",
                        &[&super::bytes_to_text(key)],
                    )
                    .await?;
            }
            for (mount, config) in configs {
                self.client()
                    .execute(
                        "UPDATE mounts SET root_config = $1 WHERE path = $2",
                        &[&to_json(config), mount],
                    )
                    .await?;
            }
            self.client().batch_execute("COMMIT").await
        }
        .await;
        if let Err(e) = result {
            let _ = self.client().batch_execute("ROLLBACK").await;
            return Err(backend(e));
        }
        Ok(())
    }

    async fn audit_key(&self) -> Result<Option<Vec<u8>>> {
        let text = self
            .text("SELECT value FROM meta WHERE key = 'audit_key'", &[])
            .await?;
        text.map(|t| super::text_to_bytes(&t, "audit key"))
            .transpose()
    }

    async fn create_audit_key(&self, sealed: &[u8]) -> Result<bool> {
        Ok(self
            .exec(
                "INSERT INTO meta (key, value) VALUES ('audit_key', $1) \
                 ON CONFLICT (key) DO NOTHING",
                &[&super::bytes_to_text(sealed)],
            )
            .await?
            == 1)
    }

    async fn audit_devices(&self) -> Result<Vec<AuditDevice>> {
        let rows = self
            .rows(
                "SELECT path, kind, options, created_at FROM audit_devices ORDER BY path",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let path: String = r.get(0);
                let options: String = r.get(2);
                Ok(AuditDevice {
                    options: from_json(&options, &format!("audit device {path}"))?,
                    kind: r.get(1),
                    created_at: r.get(3),
                    path,
                })
            })
            .collect()
    }

    async fn add_audit_device(&self, device: &AuditDevice) -> Result<()> {
        let inserted = self
            .exec(
                "INSERT INTO audit_devices (path, kind, options, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (path) DO NOTHING",
                &[
                    &device.path,
                    &device.kind,
                    &to_json(&device.options),
                    &device.created_at,
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::Exists {
                what: format!("an audit device at '{}'", device.path),
            });
        }
        Ok(())
    }

    async fn remove_audit_device(&self, path: &str) -> Result<bool> {
        Ok(self
            .exec("DELETE FROM audit_devices WHERE path = $1", &[&path])
            .await?
            > 0)
    }

    async fn begin_batch(&self) -> Result<()> {
        self.client()
            .batch_execute(&format!("BEGIN; SELECT pg_advisory_xact_lock({COPY_LOCK})"))
            .await
            .map_err(backend)?;
        self.in_batch.set(true);
        Ok(())
    }

    async fn commit_batch(&self) -> Result<()> {
        self.in_batch.set(false);
        self.client().batch_execute("COMMIT").await.map_err(backend)
    }

    async fn rollback_batch(&self) {
        self.in_batch.set(false);
        let _ = self.client().batch_execute("ROLLBACK").await;
    }

    async fn compact(&self) -> Result<()> {
        // Rewrites the tables that held secrets, so that no dead row version keeps one.
        self.client()
            .batch_execute("VACUUM FULL mounts; VACUUM FULL meta")
            .await
            .map_err(backend)
    }

    async fn issuer_token(&self) -> Result<Option<String>> {
        if let Some(token) = self.token.borrow().as_ref() {
            return Ok(Some(token.clone()));
        }
        // A session-level lock, held by this connection until it ends, however the process
        // ends. A token whose key is taken already (never, but cheap to rule out) is not used.
        for _ in 0..3 {
            let token = uuid::Uuid::new_v4().simple().to_string();
            let rows = self
                .rows("SELECT pg_try_advisory_lock($1)", &[&lock_key(&token)])
                .await?;
            if rows.first().is_some_and(|r| r.get::<_, bool>(0)) {
                *self.token.borrow_mut() = Some(token.clone());
                return Ok(Some(token));
            }
        }
        Err(StoreError::Backend(
            "cannot take an issuer's advisory lock".into(),
        ))
    }

    async fn issuer_gone(&self, token: &str) -> bool {
        // Looks in pg_locks rather than trying the lock: a session may take its own lock again,
        // so trying would call the issuing process itself dead. A bigint key shows as
        // classid (high half), objid (low half), objsubid 1.
        let key = lock_key(token) as u64;
        let high = (key >> 32) as i64;
        let low = (key & 0xffff_ffff) as i64;
        match self
            .rows(
                "SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1)",
                &[&high, &low],
            )
            .await
        {
            Ok(rows) => rows.first().is_some_and(|r| r.get::<_, bool>(0)),
            Err(_) => false,
        }
    }

    async fn forget_dead_issuers(&self) {
        // Nothing is left behind: a dead issuer's lock went with its connection.
    }
}
