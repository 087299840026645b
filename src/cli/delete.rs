use anyhow::Result;

use super::{Context, ExitStatus};

/// Delete data at a path, e.g. a role
///
/// Deleting a role does not revoke the credentials already issued for it: their leases run their
/// course.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The path to delete, e.g. aws/roles/deploy
    path: String,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let engine = ctx
        .engine_after_reaping_for("delete", &args.path, &serde_json::Map::new())
        .await?;
    let path = engine.delete(&args.path).await?;
    println!("Success! Data deleted (if it existed) at: {path}");
    Ok(ExitStatus::Success)
}
