use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::args::{ParallelArgs, parse_duration};
use super::{Context, ExitStatus, print};
use crate::engine::{FailedRevocation, PENDING_TIMEOUT, RootRotation, Rotation, SweepOptions};
use crate::output::{self, Format};

/// Revoke every expired lease, e.g. from cron
///
/// Also cleans up after issuing processes that died half way: their pending leases are taken
/// up at once when the process is known to be gone, and in any case after --pending-timeout.
/// Prints a one-line summary. Leases that cannot be revoked are kept, with their error, and
/// retried by later runs with backoff; each is named on stderr (lease, IAM user, attempts,
/// error) and the exit status is then 2. Every run is recorded for awscreds status. Also
/// rotates the root key of each mount whose rotation_period has run out (config/root), and
/// finishes or undoes a root key rotation that was cut short; a rotation that fails keeps the
/// key in use, exits 2 and is tried again by the next sweep.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    parallel: ParallelArgs,
    /// Clean up a pending lease after this long even if its issuer may still be running;
    /// 0s forces it (a user that IAM does not show is then taken as gone)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pending_timeout: u64,
    /// After the sweep, write the figures of awscreds status in Prometheus' text format to PATH
    /// (atomically: a temporary file beside it, then renamed), for node_exporter's textfile
    /// collector
    #[arg(long, value_name = "PATH")]
    metrics_file: Option<PathBuf>,
    /// Only list what a sweep would do (the leases due and why, root rotations due): no AWS
    /// call, nothing changed
    #[arg(long, conflicts_with = "metrics_file")]
    dry_run: bool,
    /// Output format of --dry-run
    #[arg(long, value_enum, default_value_t = Format::Table, requires = "dry_run")]
    format: Format,
}

// The default of --pending-timeout above is written out for clap; keep it the engine's.
const _: () = assert!(
    PENDING_TIMEOUT == 300,
    "--pending-timeout's default says 5m"
);

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let mut audited =
        serde_json::Map::from_iter([("pending_timeout".into(), args.pending_timeout.into())]);
    if args.dry_run {
        audited.insert("dry_run".into(), true.into());
    }
    let engine = ctx.engine_for("sweep", "", &audited).await?;
    if args.dry_run {
        let plan = engine.sweep_plan(args.pending_timeout as i64).await?;
        print(|out| output::sweep_plan(out, &plan, args.format))?;
        return Ok(ExitStatus::Success);
    }
    let options = SweepOptions {
        pending_timeout: args.pending_timeout as i64,
        parallel: args.parallel.parallel as usize,
        budget: None,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("revoking {bar:30} {pos}/{len} leases")
                .expect("a valid template"),
        );
        bar
    });
    let progress = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let swept = engine.sweep_recorded(&options, &progress).await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let (report, failures) = swept?;
    ctx.revoked(&report.revoked_leases);
    name_failures(&failures);
    print(|out| output::sweep_summary(out, &report))?;
    // Root keys whose rotation_period ran out, and rotations that were cut short.
    let rotations = engine.rotate_roots_if_due().await?;
    audit_rotations(ctx, &rotations);
    let rotation_failed = super::report_rotations(&rotations)?;
    if let Some(path) = &args.metrics_file {
        let status = engine.status().await?;
        write_atomically(path, output::prometheus(&status).as_bytes())
            .with_context(|| format!("cannot write the metrics file {}", path.display()))?;
    }
    Ok(if report.failed.is_empty() && !rotation_failed {
        ExitStatus::Success
    } else {
        ExitStatus::Cloud
    })
}

/// The root keys the sweep rotated, finished or undid, and the rotations that failed, in its
/// audit entry, by mount: the access key id now in use, the one deleted again, or the error
/// (hashed, as every value is; `audit hash` finds a key id).
fn audit_rotations(ctx: &Context, rotations: &[RootRotation]) {
    let mut entries: [(&str, serde_json::Map<String, serde_json::Value>); 3] = [
        ("root_keys_rotated", Default::default()),
        ("root_rotations_undone", Default::default()),
        ("root_rotations_failed", Default::default()),
    ];
    for rotation in rotations {
        let (at, value) = match &rotation.outcome {
            Ok(Rotation::Rotated { access_key, .. } | Rotation::Finished { access_key }) => {
                (0, access_key.clone())
            }
            Ok(Rotation::Undone { access_key }) => (1, access_key.clone()),
            Err(e) => (2, e.chain()),
        };
        entries[at].1.insert(rotation.mount.clone(), value.into());
    }
    for (key, map) in entries {
        if !map.is_empty() {
            ctx.respond_with(key, map.into());
        }
    }
}

/// Each lease the sweep could not revoke, on stderr, so that cron's mail tells somebody.
fn name_failures(failures: &[FailedRevocation]) {
    use std::io::Write;
    if failures.is_empty() {
        return;
    }
    let mut stderr = std::io::stderr().lock();
    for f in failures {
        let retry = f
            .retry_at
            .map(|t| format!("; kept, retried from {}", output::timestamp(t)))
            .unwrap_or_default();
        let _ = writeln!(
            stderr,
            "error: could not revoke lease {} (IAM user {}, attempt {}): {}{retry}",
            f.lease_id, f.iam_user, f.attempts, f.error
        );
    }
    let _ = writeln!(
        stderr,
        "hint: awscreds status shows the failing leases; awscreds lease lookup ID shows one"
    );
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new, never half of one: a
/// temporary file in the same directory (not ending in .prom, so that node_exporter skips it),
/// then a rename over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("no file name"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}
