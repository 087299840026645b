use anyhow::Result;

use super::args::FormatArgs;
use super::{Context, ExitStatus, print};
use crate::engine::Error;
use crate::output;

/// List the keys at a path, e.g. the roles of a mount
///
/// Example: `awscreds list aws/roles/`. Like Vault, an empty list is reported as "No value
/// found" with a non-zero exit.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The path to list, e.g. aws/roles/
    path: String,
    #[command(flatten)]
    format: FormatArgs,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let engine = ctx
        .engine_after_reaping_for("list", &args.path, &serde_json::Map::new())
        .await?;
    let (path, keys) = engine.list(&args.path).await?;
    if keys.is_empty() {
        return Err(Error::NotFound { path }.into());
    }
    print(|out| output::keys(out, &keys, args.format.format))?;
    Ok(ExitStatus::Success)
}
