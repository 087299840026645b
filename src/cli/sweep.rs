use std::io::IsTerminal;

use anyhow::Result;

use super::args::{ParallelArgs, parse_duration};
use super::{Context, ExitStatus, print, warn_about};
use crate::engine::{PENDING_TIMEOUT, SweepOptions};
use crate::output;

/// Revoke every expired lease, e.g. from cron
///
/// Also cleans up after issuing processes that died half way: their pending leases are taken
/// up at once when the process is known to be gone, and in any case after --pending-timeout.
/// Prints a one-line summary. Leases that cannot be revoked are kept, with their error, and
/// retried by later runs with backoff; the exit status is then 2. Also rotates the root key of
/// each mount whose rotation_period has run out (config/root), and finishes or undoes a root key
/// rotation that was cut short; a rotation that fails keeps the key in use, exits 2 and is tried
/// again by the next sweep.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    parallel: ParallelArgs,
    /// Clean up a pending lease after this long even if its issuer may still be running;
    /// 0s forces it (a user that IAM does not show is then taken as gone)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pending_timeout: u64,
}

// The default of --pending-timeout above is written out for clap; keep it the engine's.
const _: () = assert!(
    PENDING_TIMEOUT == 300,
    "--pending-timeout's default says 5m"
);

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let engine = ctx
        .engine_for(
            "sweep",
            "",
            &serde_json::Map::from_iter([("pending_timeout".into(), args.pending_timeout.into())]),
        )
        .await?;
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
    let report = engine.sweep(&options, &progress).await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = report?;
    ctx.revoked(&report.revoked_leases);
    warn_about(&report);
    print(|out| output::sweep_summary(out, &report))?;
    // Root keys whose rotation_period ran out, and rotations that were cut short.
    let rotations = engine.rotate_roots_if_due().await?;
    let rotation_failed = super::report_rotations(&rotations)?;
    Ok(if report.failed.is_empty() && !rotation_failed {
        ExitStatus::Success
    } else {
        ExitStatus::Cloud
    })
}
