use anyhow::Result;

use super::{Context, ExitStatus, print};
use crate::output::{self, StatusFormat};

/// Leases per mount and role, failing revocations, the root keys' age, the last sweep
///
/// From the database alone: no AWS call, no reaping. For each mount and role: live leases
/// (every lease record, what max_leases caps), pending, failing (a revocation failed and is
/// retried with backoff) and expired ones, the next expiry, and the oldest failing lease with
/// its error and attempts; the age of each mount's root key; and what the last sweep did.
/// --format prometheus prints what sweep --metrics-file writes.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format
    #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
    format: StatusFormat,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let engine = ctx
        .engine_for("status", "", &serde_json::Map::new())
        .await?;
    let status = engine.status().await?;
    print(|out| output::status(out, &status, args.format))?;
    Ok(ExitStatus::Success)
}
