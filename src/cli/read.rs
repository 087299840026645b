use anyhow::Result;

use super::args::{OutputArgs, WaitArgs};
use super::{Context, ExitStatus, show, show_issued, wait_for_key, warn};
use crate::output::Record;
use crate::params::kv;

/// Read data at a path; reading MOUNT/creds/ROLE issues new credentials
///
/// Examples: `awscreds read creds/deploy`, `awscreds read aws/config/lease`,
/// `awscreds read -field=secret_key creds/deploy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The path to read, e.g. aws/creds/deploy
    path: String,
    /// Parameters as KEY=VALUE, e.g. ttl=15m for STS credentials
    #[arg(value_name = "KEY=VALUE")]
    data: Vec<String>,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    wait: WaitArgs,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let data = kv::parse(&args.data, &mut std::io::stdin()).map_err(crate::engine::Error::from)?;
    let engine = ctx
        .engine_after_reaping_for("read", &args.path, &data)
        .await?;
    if let Some(field) = &args.output.field {
        engine.check_field(&args.path, field).await?;
    }
    if args.output.format.record().is_none() {
        engine.check_issues(&args.path).await?;
    }
    let read = engine.read(&args.path, &data).await?;
    if let crate::engine::Read::Issued(issued) = &read {
        for warning in &issued.warnings {
            warn(&warning.to_string());
        }
        wait_for_key(&engine, issued, &args.wait, false).await?;
        show_issued(ctx, issued, &args.output)?;
        return Ok(ExitStatus::Success);
    }
    show(ctx, &Record::read(&read), &args.output)?;
    Ok(ExitStatus::Success)
}
