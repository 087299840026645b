use anyhow::Result;

use super::args::FormatArgs;
use super::{Context, ExitStatus, print};
use crate::output;

/// List the mounts
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    format: FormatArgs,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let engine = ctx
        .engine_after_reaping_for("mounts", "", &serde_json::Map::new())
        .await?;
    let mounts = engine.mounts().await?;
    print(|out| output::mounts(out, &mounts, args.format.format))?;
    Ok(ExitStatus::Success)
}
