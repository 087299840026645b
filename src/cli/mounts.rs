use anyhow::Result;

use super::{Context, print};
use crate::error::ExitStatus;
use crate::output::{self, Format};

/// List the mounts
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format; Vault's -format=json is accepted too
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let engine = ctx.engine_after_reaping()?;
    let mounts = engine.mounts()?;
    print(|out| output::mounts(out, &mounts, args.format))?;
    Ok(ExitStatus::Success)
}
