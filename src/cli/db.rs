use anyhow::Result;

use super::{Context, ExitStatus};
use crate::engine::Error;
use crate::store::{self, Location};

/// Copy, inspect and move the database
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    Copy(CopyArgs),
}

/// Copy this database into another, empty one (either backend to either)
///
/// Copies the mounts with their configurations (root secret keys stay sealed, as stored), the
/// roles, every lease, the seal record, the audit key and the audit devices, and the database
/// id that its IAM users are tagged with, so that revoking and tidy go on from the copy. The
/// target must be empty (a new SQLite path, or a new PostgreSQL database). The seal's key does
/// not move: with a key file, point AWSCREDS_SEAL_KEY_FILE (or the copy's default place) at it;
/// with KMS, nothing is needed. Stop issuing and sweeping while copying.
#[derive(Debug, clap::Args)]
struct CopyArgs {
    /// The target database: a SQLite path, or a postgres:// URL
    #[arg(long, value_name = "PATH|URL")]
    to: String,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let Command::Copy(args) = args.command;
    let from = store::open(&ctx.location()?).await.map_err(Error::from)?;
    let target = Location::parse(&args.to);
    let shown = match &target {
        Location::Sqlite(path) => path.display().to_string(),
        Location::Url(url) => store::shown_url(url),
    };
    let to = store::open(&target).await.map_err(Error::from)?;
    if let Some(held) = store::contents(&*to).await.map_err(Error::from)? {
        return Err(Error::input_hint(
            format!("database {shown} is not empty: it holds {held}"),
            "copy into a new, empty database",
        )
        .into());
    }
    let copied = store::copy(&*from, &*to).await.map_err(Error::from)?;
    println!(
        "Success! Copied {} mounts, {} roles, {} leases and {} audit devices to {shown}",
        copied.mounts, copied.roles, copied.leases, copied.audit_devices
    );
    Ok(ExitStatus::Success)
}
