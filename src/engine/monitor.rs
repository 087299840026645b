//! Monitoring: `status` (per mount and role, the leases counted by the database, the oldest
//! failing lease, the root key's age, the last sweep) and the record that every `sweep` leaves
//! (`Store::meta_value("last_sweep")`, a small JSON). Nothing here calls AWS or builds a client,
//! and nothing loads leases one by one: the store keeps them counted per role.

use serde::{Deserialize, Serialize};

use super::sweep::{Progress, SweepOptions, SweepReport};
use super::{Engine, Result};
use crate::cloud::Connector;
use crate::store::{LeaseStats, StoreError};

/// The meta key of the last sweep's record.
const LAST_SWEEP: &str = "last_sweep";

/// What the last `sweep` did, and sums over every sweep this database recorded (counters for
/// Prometheus). Times are unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SweepRecord {
    pub started_at: i64,
    pub finished_at: i64,
    pub duration_ms: u64,
    pub revoked: u64,
    pub failed: u64,
    pub waiting: u64,
    /// IAM's `Throttling` answers, each call sent again later (the rate limit was reached).
    pub throttled: u64,
    pub sweeps_total: u64,
    pub revoked_total: u64,
    pub failed_total: u64,
    pub throttled_total: u64,
}

/// A lease that a sweep could not revoke, with what the database now records of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRevocation {
    pub lease_id: String,
    pub iam_user: String,
    pub error: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// When a sweep tries it again; `None` if the lease is gone meanwhile.
    pub retry_at: Option<i64>,
}

/// Where a mount's root credentials come from, and how old its key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootKey {
    NotConfigured,
    /// The AWS credential chain: not awscreds' key, no age to tell.
    CredentialChain,
    Key {
        access_key: String,
        /// When it was written or rotated; `None` when an earlier version wrote it.
        written_at: Option<i64>,
        /// When scheduled rotation makes a new one; `None`: not scheduled.
        next_rotation: Option<i64>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleStatus {
    /// Whether the role still exists (leases outlive a deleted role).
    pub exists: bool,
    /// The role's `max_leases`; 0: no cap.
    pub max_leases: u64,
    pub leases: LeaseStats,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountStatus {
    pub mount: String,
    /// The mount's `max_leases`; 0: no cap.
    pub max_leases: u64,
    /// Sums over the mount's roles (`role` empty, `oldest_failing` the oldest of all).
    pub leases: LeaseStats,
    pub root_key: RootKey,
    /// By role name; the roles without leases too.
    pub roles: Vec<RoleStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// When the figures were taken (unix seconds), for ages.
    pub now: i64,
    pub mounts: Vec<MountStatus>,
    pub last_sweep: Option<SweepRecord>,
}

impl<C: Connector> Engine<C> {
    /// Everything `status` shows, from the database alone.
    pub async fn status(&self) -> Result<Status> {
        let now = self.now();
        let stats = self.store.lease_stats(now).await?;
        let mut mounts = Vec::new();
        for mount in self.store.mounts().await? {
            let lease_config = self.lease_config(&mount.path).await?;
            let root_key = match self.store.root_config(&mount.path).await? {
                None => RootKey::NotConfigured,
                Some(config) if !config.has_keys() => RootKey::CredentialChain,
                Some(config) => RootKey::Key {
                    access_key: config.access_key.clone(),
                    written_at: config.key_since,
                    next_rotation: config.next_rotation(),
                },
            };
            let mut roles = Vec::new();
            for name in self.store.role_names(&mount.path).await? {
                let role = self.store.role(&mount.path, &name).await?;
                let leases = stats
                    .iter()
                    .find(|s| s.mount == mount.path && s.role == name)
                    .cloned()
                    .unwrap_or_else(|| LeaseStats {
                        mount: mount.path.clone(),
                        role: name.clone(),
                        ..LeaseStats::default()
                    });
                roles.push(RoleStatus {
                    exists: true,
                    max_leases: role.map_or(0, |r| r.max_leases),
                    leases,
                });
            }
            // Leases of roles deleted since.
            for s in stats.iter().filter(|s| s.mount == mount.path) {
                if !roles.iter().any(|r| r.leases.role == s.role) {
                    roles.push(RoleStatus {
                        exists: false,
                        max_leases: 0,
                        leases: s.clone(),
                    });
                }
            }
            roles.sort_by(|a, b| a.leases.role.cmp(&b.leases.role));
            let mut total = LeaseStats {
                mount: mount.path.clone(),
                ..LeaseStats::default()
            };
            for r in &roles {
                let s = &r.leases;
                total.live += s.live;
                total.pending += s.pending;
                total.failing += s.failing;
                total.expired += s.expired;
                total.next_expiry = match (total.next_expiry, s.next_expiry) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                if let Some(f) = &s.oldest_failing
                    && total
                        .oldest_failing
                        .as_ref()
                        .is_none_or(|o| (f.issued_at, &f.id) < (o.issued_at, &o.id))
                {
                    total.oldest_failing = Some(f.clone());
                }
            }
            mounts.push(MountStatus {
                mount: mount.path,
                max_leases: lease_config.max_leases,
                leases: total,
                root_key,
                roles,
            });
        }
        Ok(Status {
            now,
            mounts,
            last_sweep: self.last_sweep().await?,
        })
    }

    /// The record the last `sweep` left; `None` before the first.
    pub async fn last_sweep(&self) -> Result<Option<SweepRecord>> {
        let Some(text) = self.store.meta_value(LAST_SWEEP).await? else {
            return Ok(None);
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            StoreError::Corrupt {
                what: "record of the last sweep".into(),
                reason: e.to_string(),
            }
            .into()
        })
    }

    /// `sweep`: [`Engine::sweep`], then its record for `status` and the metrics, and what the
    /// database now says of each lease it could not revoke.
    pub async fn sweep_recorded(
        &self,
        options: &SweepOptions,
        progress: Progress<'_>,
    ) -> Result<(SweepReport, Vec<FailedRevocation>)> {
        let started_at = self.now();
        let clock = std::time::Instant::now();
        let report = self.sweep(options, progress).await?;
        let duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        // A damaged record starts the sums again rather than stop the sweep's.
        let previous = self.last_sweep().await.ok().flatten().unwrap_or_default();
        let (revoked, failed) = (report.revoked as u64, report.failed.len() as u64);
        let record = SweepRecord {
            started_at,
            finished_at: self.now(),
            duration_ms,
            revoked,
            failed,
            waiting: report.waiting as u64,
            throttled: report.throttled,
            sweeps_total: previous.sweeps_total + 1,
            revoked_total: previous.revoked_total + revoked,
            failed_total: previous.failed_total + failed,
            throttled_total: previous.throttled_total + report.throttled,
        };
        let text = serde_json::to_string(&record).expect("plain data serializes");
        self.store.set_meta_value(LAST_SWEEP, &text).await?;
        let mut failures = Vec::new();
        for f in &report.failed {
            let lease = self.store.lease(&f.lease_id).await?;
            failures.push(FailedRevocation {
                lease_id: f.lease_id.clone(),
                iam_user: f.iam_user.clone(),
                error: f.error.clone(),
                attempts: lease.as_ref().map_or(1, |l| l.attempts),
                retry_at: lease.map(|l| l.due_at),
            });
        }
        Ok((report, failures))
    }
}
