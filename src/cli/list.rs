use anyhow::Result;

use super::{Context, print};
use crate::error::{Error, ExitStatus};
use crate::output::{self, Format};

/// List the keys at a path, e.g. the roles of a mount
///
/// Example: `awscreds list aws/roles/`. Like Vault, an empty list is reported as "No value
/// found" with a non-zero exit.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The path to list, e.g. aws/roles/
    path: String,
    /// Output format; Vault's -format=json is accepted too
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let engine = ctx.engine_after_reaping()?;
    let (path, keys) = engine.list(&args.path)?;
    if keys.is_empty() {
        return Err(Error::NotFound(path).into());
    }
    print(|out| output::keys(out, &keys, args.format))?;
    Ok(ExitStatus::Success)
}
