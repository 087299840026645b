use anyhow::Result;

use super::args::{WaitArgs, parse_duration};
use super::{Context, ExitStatus, print, wait_for_key};
use crate::engine::Error;
use crate::output::{Record, credentials};

/// Print credentials as the AWS CLI and SDKs' credential_process wants them, reusing a lease
///
/// For ~/.aws/config: `credential_process = awscreds credential-process deploy`. The AWS CLI
/// runs it for every command; it hands out the same credentials (kept sealed in the database)
/// while more than --window of their lease is left, then renews the lease (same keys) if it
/// can, and only then issues new ones. Nothing but the JSON goes to standard output; errors are
/// one line on standard error.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The credentials: ROLE (aws/creds/ROLE), creds/ROLE, MOUNT/creds/ROLE or sts/ROLE
    path: String,
    /// Parameters as KEY=VALUE, as for read
    #[arg(value_name = "KEY=VALUE")]
    data: Vec<String>,
    /// Hand out new credentials when less than this is left (botocore refreshes 15 minutes
    /// before Expiration)
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    window: u64,
    /// Revoke the kept lease(s) of PATH now (the end of a work session) and print nothing else
    #[arg(long)]
    revoke: bool,
    #[command(flatten)]
    wait: WaitArgs,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let path = super::exec::credentials_path(&args.path);
    let data = crate::params::kv::parse(&args.data, &mut std::io::stdin()).map_err(Error::from)?;
    let engine = ctx
        .engine_after_reaping_for("credential-process", &path, &data)
        .await?;
    if args.revoke {
        let prefix = engine.cache_prefix(&path).await?;
        for lease in engine.kept_leases(&prefix).await? {
            let lease = engine.revoke_id(&lease.id, false).await?;
            ctx.revoked(std::slice::from_ref(&lease.id));
            println!("Success! Revoked lease: {}", lease.id);
        }
        return Ok(ExitStatus::Success);
    }
    let (issued, new) = engine.reuse_or_issue(&path, args.window, &data).await?;
    if new {
        wait_for_key(&engine, &issued, &args.wait, true).await?;
    }
    ctx.respond(&Record::issued(&issued));
    print(|out| credentials::credential_process(out, &issued))?;
    Ok(ExitStatus::Success)
}
