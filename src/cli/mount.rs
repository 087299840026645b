use anyhow::Result;

use super::{Context, ExitStatus};

/// Mount a new instance of the AWS backend
///
/// Each mount is independent: its own root credentials, lease settings, roles and leases (one per
/// AWS account, say). Paths under it start with its name: NAME/config/root, NAME/creds/ROLE.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The backend type; only "aws" exists
    #[arg(value_name = "TYPE")]
    kind: String,
    /// Where to mount it [default: the type, "aws"]
    #[arg(long, value_name = "NAME")]
    path: Option<String>,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let engine = ctx
        .engine_after_reaping_for(
            "mount",
            args.path.as_deref().unwrap_or(&args.kind),
            &serde_json::Map::from_iter([("type".into(), args.kind.clone().into())]),
        )
        .await?;
    let mount = engine.mount(&args.kind, args.path.as_deref()).await?;
    println!("Successfully mounted '{}' at '{}'!", mount.kind, mount.path);
    Ok(ExitStatus::Success)
}
