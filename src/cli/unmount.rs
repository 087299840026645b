use anyhow::Result;

use super::{Context, ExitStatus};

/// Revoke every lease of a mount, then remove it with its configuration and roles
///
/// If any lease cannot be revoked, nothing is removed and the command fails: the mount's root
/// credentials are still needed to take those credentials back.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The mount's path, e.g. aws
    #[arg(value_name = "PATH")]
    path: String,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let engine = ctx
        .engine_after_reaping_for("unmount", &args.path, &serde_json::Map::new())
        .await?;
    let revoked = engine.unmount(&args.path).await?;
    let path = args.path.trim_matches('/');
    println!("Successfully unmounted '{path}' ({revoked} leases revoked)");
    Ok(ExitStatus::Success)
}
