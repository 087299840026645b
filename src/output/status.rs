//! `status` (table, JSON, Prometheus text) and `sweep --dry-run` (table, JSON). The Prometheus
//! text is also what `sweep --metrics-file` writes: the same figures, for node_exporter's
//! textfile collector.

use std::fmt::Write as _;
use std::io::Write;

use serde_json::{Value, json};

use super::{Format, Result, columns, json_out, timestamp};
use crate::engine::{DueReason, PlannedAction, RootKey, Status, SweepPlan, SweepRecord};
use crate::params::duration;
use crate::store::{FailingLease, LeaseStats};

/// `status --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StatusFormat {
    #[default]
    Table,
    Json,
    /// Prometheus' text format, as `sweep --metrics-file` writes it
    Prometheus,
}

pub fn status(out: &mut dyn Write, status: &Status, format: StatusFormat) -> Result {
    match format {
        StatusFormat::Json => json_out(out, &status_json(status)),
        StatusFormat::Prometheus => {
            out.write_all(prometheus(status).as_bytes())?;
            Ok(())
        }
        StatusFormat::Table => status_table(out, status),
    }
}

fn cap(n: u64) -> String {
    if n == 0 { "none".into() } else { n.to_string() }
}

fn maybe_time(t: Option<i64>) -> String {
    t.map(timestamp).unwrap_or_else(|| "-".into())
}

/// The key's age, as durations are written (`2h5m`).
fn age(now: i64, since: i64) -> String {
    duration::format((now - since).max(0) as u64)
}

fn status_table(out: &mut dyn Write, s: &Status) -> Result {
    if s.mounts.is_empty() {
        writeln!(out, "No mounts")?;
    } else {
        let rows: Vec<Vec<String>> = s
            .mounts
            .iter()
            .map(|m| {
                let (key, key_age, rotation) = match &m.root_key {
                    RootKey::NotConfigured => ("not configured".into(), "-".into(), "-".into()),
                    RootKey::CredentialChain => ("credential chain".into(), "-".into(), "-".into()),
                    RootKey::Key {
                        access_key,
                        written_at,
                        next_rotation,
                    } => (
                        access_key.clone(),
                        written_at.map_or_else(|| "unknown".into(), |t| age(s.now, t)),
                        next_rotation.map_or_else(|| "not scheduled".into(), timestamp),
                    ),
                };
                let l = &m.leases;
                vec![
                    format!("{}/", m.mount),
                    l.live.to_string(),
                    l.pending.to_string(),
                    l.failing.to_string(),
                    l.expired.to_string(),
                    cap(m.max_leases),
                    key,
                    key_age,
                    rotation,
                ]
            })
            .collect();
        columns(
            out,
            &[
                "Mount",
                "Live",
                "Pending",
                "Failing",
                "Expired",
                "Max leases",
                "Root key",
                "Key age",
                "Next rotation",
            ],
            &rows,
        )?;
        let roles: Vec<Vec<String>> = s
            .mounts
            .iter()
            .flat_map(|m| m.roles.iter())
            .map(|r| {
                let l = &r.leases;
                let name = if r.exists {
                    l.role.clone()
                } else {
                    format!("{} (deleted)", l.role)
                };
                vec![
                    format!("{}/", l.mount),
                    name,
                    l.live.to_string(),
                    l.pending.to_string(),
                    l.failing.to_string(),
                    l.expired.to_string(),
                    cap(r.max_leases),
                    maybe_time(l.next_expiry),
                ]
            })
            .collect();
        if !roles.is_empty() {
            writeln!(out)?;
            columns(
                out,
                &[
                    "Mount",
                    "Role",
                    "Live",
                    "Pending",
                    "Failing",
                    "Expired",
                    "Max leases",
                    "Next expiry",
                ],
                &roles,
            )?;
        }
        let failing: Vec<Vec<String>> = s
            .mounts
            .iter()
            .flat_map(|m| m.roles.iter())
            .filter_map(|r| r.leases.oldest_failing.as_ref())
            .map(|f| {
                vec![
                    f.id.clone(),
                    f.iam_user.clone(),
                    f.attempts.to_string(),
                    timestamp(f.due_at),
                    f.last_error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        if !failing.is_empty() {
            writeln!(out)?;
            writeln!(out, "Oldest failing lease of each role:")?;
            columns(
                out,
                &[
                    "Lease ID",
                    "IAM user",
                    "Attempts",
                    "Next retry",
                    "Last error",
                ],
                &failing,
            )?;
        }
    }
    writeln!(out)?;
    match &s.last_sweep {
        None => writeln!(out, "Last sweep: never")?,
        Some(r) => {
            write!(
                out,
                "Last sweep: {}, took {}: {} revoked, {} failed, {} waiting",
                timestamp(r.finished_at),
                seconds(r.duration_ms),
                r.revoked,
                r.failed,
                r.waiting,
            )?;
            if r.throttled > 0 {
                write!(out, ", {} throttled", r.throttled)?;
            }
            write!(
                out,
                " ({} sweeps recorded: {} revoked, {} failed",
                r.sweeps_total, r.revoked_total, r.failed_total
            )?;
            if r.throttled_total > 0 {
                write!(out, ", {} throttled", r.throttled_total)?;
            }
            writeln!(out, ")")?;
        }
    }
    Ok(())
}

/// Milliseconds as seconds with three decimals (`0.412s`).
fn seconds(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

fn failing_json(f: &FailingLease) -> Value {
    json!({
        "lease_id": f.id,
        "iam_user": f.iam_user,
        "attempts": f.attempts,
        "last_error": f.last_error,
        "issue_time": timestamp(f.issued_at),
        "next_retry": timestamp(f.due_at),
    })
}

fn counts_json(l: &LeaseStats) -> Value {
    json!({
        "live": l.live,
        "pending": l.pending,
        "failing": l.failing,
        "expired": l.expired,
    })
}

fn sweep_json(r: &SweepRecord) -> Value {
    json!({
        "start_time": timestamp(r.started_at),
        "end_time": timestamp(r.finished_at),
        "duration_seconds": r.duration_ms as f64 / 1000.0,
        "revoked": r.revoked,
        "failed": r.failed,
        "waiting": r.waiting,
        "throttled": r.throttled,
        "sweeps_total": r.sweeps_total,
        "revoked_total": r.revoked_total,
        "failed_total": r.failed_total,
        "throttled_total": r.throttled_total,
    })
}

fn status_json(s: &Status) -> Value {
    let mounts: Vec<Value> = s
        .mounts
        .iter()
        .map(|m| {
            let root_key = match &m.root_key {
                RootKey::NotConfigured => json!({"source": "not_configured"}),
                RootKey::CredentialChain => json!({"source": "credential_chain"}),
                RootKey::Key {
                    access_key,
                    written_at,
                    next_rotation,
                } => json!({
                    "source": "access_key",
                    "access_key": access_key,
                    "write_time": written_at.map(timestamp),
                    "age_seconds": written_at.map(|t| (s.now - t).max(0)),
                    "next_rotation": next_rotation.map(timestamp),
                }),
            };
            let roles: Vec<Value> = m
                .roles
                .iter()
                .map(|r| {
                    json!({
                        "role": r.leases.role,
                        "exists": r.exists,
                        "max_leases": r.max_leases,
                        "leases": counts_json(&r.leases),
                        "next_expiry": r.leases.next_expiry.map(timestamp),
                        "oldest_failing": r.leases.oldest_failing.as_ref().map(failing_json),
                    })
                })
                .collect();
            json!({
                "mount": m.mount,
                "max_leases": m.max_leases,
                "leases": counts_json(&m.leases),
                "next_expiry": m.leases.next_expiry.map(timestamp),
                "oldest_failing": m.leases.oldest_failing.as_ref().map(failing_json),
                "root_key": root_key,
                "roles": roles,
            })
        })
        .collect();
    json!({
        "mounts": mounts,
        "last_sweep": s.last_sweep.as_ref().map(sweep_json),
    })
}

/// A label value as Prometheus' text format wants it: `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The figures in Prometheus' text format (version 0.0.4): `# HELP` and `# TYPE` once per
/// metric, then its samples.
pub fn prometheus(s: &Status) -> String {
    let mut text = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: Vec<(String, String)>| {
        if samples.is_empty() {
            return;
        }
        let _ = writeln!(text, "# HELP {name} {help}");
        let _ = writeln!(text, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            if labels.is_empty() {
                let _ = writeln!(text, "{name} {value}");
            } else {
                let _ = writeln!(text, "{name}{{{labels}}} {value}");
            }
        }
    };
    let roles: Vec<(&str, &crate::engine::RoleStatus)> = s
        .mounts
        .iter()
        .flat_map(|m| m.roles.iter().map(move |r| (m.mount.as_str(), r)))
        .collect();
    let role_labels =
        |mount: &str, role: &str| format!("mount=\"{}\",role=\"{}\"", label(mount), label(role));
    let mut samples = Vec::new();
    for (mount, r) in &roles {
        let l = &r.leases;
        for (state, n) in [
            ("live", l.live),
            ("pending", l.pending),
            ("failing", l.failing),
            ("expired", l.expired),
        ] {
            samples.push((
                format!("{},state=\"{state}\"", role_labels(mount, &l.role)),
                n.to_string(),
            ));
        }
    }
    metric(
        "awscreds_leases",
        "gauge",
        "Leases recorded, by mount, role and state. live: every lease record (what max_leases \
         caps); pending, failing (a revocation failed, retried with backoff) and expired (not \
         revoked yet) are among them.",
        samples,
    );
    metric(
        "awscreds_max_leases",
        "gauge",
        "A role's cap on live leases (max_leases), where one is set.",
        roles
            .iter()
            .filter(|(_, r)| r.max_leases > 0)
            .map(|(mount, r)| (role_labels(mount, &r.leases.role), r.max_leases.to_string()))
            .collect(),
    );
    metric(
        "awscreds_mount_max_leases",
        "gauge",
        "A mount's cap on live leases (config/lease max_leases), where one is set.",
        s.mounts
            .iter()
            .filter(|m| m.max_leases > 0)
            .map(|m| {
                (
                    format!("mount=\"{}\"", label(&m.mount)),
                    m.max_leases.to_string(),
                )
            })
            .collect(),
    );
    metric(
        "awscreds_lease_next_expiry_timestamp_seconds",
        "gauge",
        "The earliest expiry of an active lease, by mount and role (unix time; in the past: \
         not revoked yet).",
        roles
            .iter()
            .filter_map(|(mount, r)| {
                let t = r.leases.next_expiry?;
                Some((role_labels(mount, &r.leases.role), t.to_string()))
            })
            .collect(),
    );
    metric(
        "awscreds_oldest_failing_lease_attempts",
        "gauge",
        "Revocation attempts of the oldest failing lease, by mount and role.",
        roles
            .iter()
            .filter_map(|(mount, r)| {
                let f = r.leases.oldest_failing.as_ref()?;
                Some((role_labels(mount, &r.leases.role), f.attempts.to_string()))
            })
            .collect(),
    );
    metric(
        "awscreds_oldest_failing_lease_issue_timestamp_seconds",
        "gauge",
        "When the oldest failing lease was issued, by mount and role (unix time).",
        roles
            .iter()
            .filter_map(|(mount, r)| {
                let f = r.leases.oldest_failing.as_ref()?;
                Some((role_labels(mount, &r.leases.role), f.issued_at.to_string()))
            })
            .collect(),
    );
    let keys: Vec<(&str, Option<i64>, Option<i64>)> = s
        .mounts
        .iter()
        .filter_map(|m| match &m.root_key {
            RootKey::Key {
                written_at,
                next_rotation,
                ..
            } => Some((m.mount.as_str(), *written_at, *next_rotation)),
            _ => None,
        })
        .collect();
    metric(
        "awscreds_root_key_age_seconds",
        "gauge",
        "Seconds since the mount's root access key was written or rotated (absent when \
         unknown).",
        keys.iter()
            .filter_map(|(mount, written, _)| {
                let t = (*written)?;
                Some((
                    format!("mount=\"{}\"", label(mount)),
                    (s.now - t).max(0).to_string(),
                ))
            })
            .collect(),
    );
    metric(
        "awscreds_root_key_next_rotation_timestamp_seconds",
        "gauge",
        "When the mount's root key is next rotated (unix time; absent when not scheduled).",
        keys.iter()
            .filter_map(|(mount, _, next)| {
                Some((format!("mount=\"{}\"", label(mount)), (*next)?.to_string()))
            })
            .collect(),
    );
    if let Some(r) = &s.last_sweep {
        let one = |v: String| vec![(String::new(), v)];
        metric(
            "awscreds_last_sweep_timestamp_seconds",
            "gauge",
            "When the last awscreds sweep ended (unix time).",
            one(r.finished_at.to_string()),
        );
        metric(
            "awscreds_last_sweep_duration_seconds",
            "gauge",
            "How long the last awscreds sweep took.",
            one(format!("{}", r.duration_ms as f64 / 1000.0)),
        );
        metric(
            "awscreds_last_sweep_leases",
            "gauge",
            "What the last awscreds sweep did, by result: revoked, failed (kept, retried), \
             waiting (pending, IAM does not show the user yet).",
            [
                ("revoked", r.revoked),
                ("failed", r.failed),
                ("waiting", r.waiting),
            ]
            .iter()
            .map(|(result, n)| (format!("result=\"{result}\""), n.to_string()))
            .collect(),
        );
        metric(
            "awscreds_last_sweep_throttled_requests",
            "gauge",
            "IAM Throttling answers the last awscreds sweep got (each call was sent again later).",
            one(r.throttled.to_string()),
        );
        metric(
            "awscreds_sweeps_total",
            "counter",
            "awscreds sweep runs recorded in this database.",
            one(r.sweeps_total.to_string()),
        );
        metric(
            "awscreds_sweep_revoked_total",
            "counter",
            "Leases revoked by awscreds sweep runs.",
            one(r.revoked_total.to_string()),
        );
        metric(
            "awscreds_sweep_failed_total",
            "counter",
            "Revocations that failed in awscreds sweep runs (each failing lease once per run).",
            one(r.failed_total.to_string()),
        );
        metric(
            "awscreds_sweep_throttled_total",
            "counter",
            "IAM Throttling answers awscreds sweep runs got.",
            one(r.throttled_total.to_string()),
        );
    }
    text
}

fn reason(r: DueReason) -> &'static str {
    match r {
        DueReason::Expired => "expired",
        DueReason::PendingTimedOut => "pending past timeout",
        DueReason::IssuerGone => "issuer gone",
        DueReason::RetryDue => "retry due",
        DueReason::Due => "due",
    }
}

fn action(a: PlannedAction) -> &'static str {
    match a {
        PlannedAction::DeleteUser => "delete IAM user",
        PlannedAction::Forget => "forget (STS, cannot be recalled)",
    }
}

/// `sweep --dry-run`.
pub fn sweep_plan(out: &mut dyn Write, plan: &SweepPlan, format: Format) -> Result {
    match format {
        Format::Json => {
            let leases: Vec<Value> = plan
                .leases
                .iter()
                .map(|p| {
                    json!({
                        "lease_id": p.lease.id,
                        "mount": p.lease.mount,
                        "role": p.lease.role,
                        "iam_user": p.lease.iam_user,
                        "state": p.lease.state.as_str(),
                        "expire_time": timestamp(p.lease.expires_at),
                        "reason": reason(p.reason),
                        "action": action(p.action),
                        "attempts": p.lease.attempts,
                        "last_error": p.lease.last_error,
                    })
                })
                .collect();
            let rotations: Vec<Value> = plan
                .rotations
                .iter()
                .map(|r| {
                    json!({
                        "mount": r.mount,
                        "access_key": r.access_key,
                        "due_time": timestamp(r.due_at),
                    })
                })
                .collect();
            json_out(out, &json!({"leases": leases, "root_rotations": rotations}))
        }
        Format::Table => {
            if plan.leases.is_empty() && plan.rotations.is_empty() {
                writeln!(out, "Nothing to sweep")?;
                return Ok(());
            }
            if !plan.leases.is_empty() {
                let rows: Vec<Vec<String>> = plan
                    .leases
                    .iter()
                    .map(|p| {
                        let why = match p.lease.attempts {
                            0 => reason(p.reason).to_string(),
                            n => format!("{} ({n} attempts)", reason(p.reason)),
                        };
                        vec![
                            p.lease.id.clone(),
                            p.lease.iam_user.clone(),
                            timestamp(p.lease.expires_at),
                            why,
                            action(p.action).to_string(),
                        ]
                    })
                    .collect();
                columns(
                    out,
                    &["Lease ID", "IAM user", "Expires", "Reason", "Would"],
                    &rows,
                )?;
            }
            if !plan.rotations.is_empty() {
                let rows: Vec<Vec<String>> = plan
                    .rotations
                    .iter()
                    .map(|r| {
                        vec![
                            format!("{}/", r.mount),
                            r.access_key.clone(),
                            timestamp(r.due_at),
                        ]
                    })
                    .collect();
                writeln!(out)?;
                columns(out, &["Mount", "Root key", "Rotation due"], &rows)?;
            }
            writeln!(
                out,
                "Dry run: {} leases and {} root keys would be taken up; nothing was changed",
                plan.leases.len(),
                plan.rotations.len()
            )?;
            Ok(())
        }
    }
}
