use anyhow::Result;

use super::{Context, block_on, print, warn_about};
use crate::error::ExitStatus;
use crate::output;

/// Revoke every expired lease, e.g. from cron
///
/// Prints a one-line summary. Leases that cannot be revoked are kept, with their error, and
/// retried by later runs; the exit status is then 2.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, ctx: &Context) -> Result<ExitStatus> {
    let engine = ctx.engine()?;
    let report = block_on(engine.sweep(None))?;
    warn_about(&report);
    print(|out| output::sweep_summary(out, &report))?;
    Ok(if report.failed.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Cloud
    })
}
