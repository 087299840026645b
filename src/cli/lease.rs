use anyhow::Result;

use super::args::{FormatArgs, OutputArgs, ParallelArgs, parse_duration};
use super::{CliEngine, Context, ExitStatus, print, show, warn, warn_about};
use crate::cloud::CloudError;
use crate::engine::{Error, Undo};
use crate::output::{self, Format, Record};

/// List, inspect, renew and revoke leases
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    List(ListArgs),
    Lookup(LookupArgs),
    Renew(RenewArgs),
    Revoke(RevokeArgs),
}

/// List leases (id, role, IAM user, issued, expires, state, last error)
#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Only leases under this path, e.g. aws/creds/deploy (its leases, not deploy_admin's)
    prefix: Option<String>,
    #[command(flatten)]
    format: FormatArgs,
}

/// Show one lease in full
#[derive(Debug, clap::Args)]
struct LookupArgs {
    /// The lease id, e.g. aws/creds/deploy/7cb8df71-782f-4de1-a9dd-251778e49f58
    id: String,
    #[command(flatten)]
    output: OutputArgs,
}

/// Extend a lease; never past issue time + lease_max
#[derive(Debug, clap::Args)]
struct RenewArgs {
    /// The lease id
    id: String,
    /// The new time to live, from now [default: the mount's lease]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    increment: Option<u64>,
    #[command(flatten)]
    output: OutputArgs,
}

/// Revoke a lease now, or every lease with a prefix
///
/// --force only forgets the leases, without touching AWS: for when the account itself is gone.
/// Their IAM users, if they still exist, keep working until someone deletes them.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["id", "prefix"]))]
struct RevokeArgs {
    /// The lease id
    id: Option<String>,
    /// Revoke every lease under this path, e.g. aws/creds/deploy (every lease of that role)
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<String>,
    /// Remove the lease records without deleting anything at AWS
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    parallel: ParallelArgs,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let (operation, path) = match &args.command {
        Command::List(a) => ("lease list", a.prefix.clone().unwrap_or_default()),
        Command::Lookup(a) => ("lease lookup", a.id.clone()),
        Command::Renew(a) => ("lease renew", a.id.clone()),
        Command::Revoke(a) => (
            "lease revoke",
            a.id.clone()
                .or_else(|| a.prefix.clone())
                .unwrap_or_default(),
        ),
    };
    let engine = ctx
        .engine_after_reaping_for(operation, &path, &serde_json::Map::new())
        .await?;
    match args.command {
        Command::List(args) => {
            let format = args.format.format;
            let leases = engine
                .leases(args.prefix.as_deref().unwrap_or_default())
                .await?;
            if leases.is_empty() && format == Format::Table {
                eprintln!("No leases");
                return Ok(ExitStatus::Success);
            }
            print(|out| output::leases(out, &leases, format))?;
        }
        Command::Lookup(args) => {
            let lease = engine.lease(&args.id).await?;
            let record = Record::lease_detail(&lease, chrono::Utc::now().timestamp());
            show(ctx, &record, &args.output)?;
        }
        Command::Renew(args) => {
            let (info, warning) = engine.renew(&args.id, args.increment).await?;
            if let Some(warning) = warning {
                warn(&warning.to_string());
            }
            show(ctx, &Record::renewed(info), &args.output)?;
        }
        Command::Revoke(args) => return revoke(ctx, &engine, args).await,
    }
    Ok(ExitStatus::Success)
}

async fn revoke(ctx: &Context, engine: &CliEngine, args: RevokeArgs) -> Result<ExitStatus> {
    let left_behind = |users: &[&str]| {
        if !users.is_empty() {
            warn(&format!(
                "--force touched nothing at AWS; these IAM users were NOT deleted and their \
                 access keys still work until someone deletes them: {}",
                users.join(", ")
            ));
        }
    };
    if let Some(id) = args.id {
        let lease = engine.revoke_id(&id, args.force).await?;
        ctx.revoked(std::slice::from_ref(&lease.id));
        if lease.kind.is_sts() {
            // Say it plainly: there is no such thing as revoking STS credentials.
            println!(
                "Success! Forgot lease: {id}; its {} credentials cannot be recalled at AWS and \
                 stay valid until {}",
                lease.kind.as_str(),
                output::timestamp(lease.expires_at)
            );
        } else if args.force {
            left_behind(&[&lease.iam_user]);
            println!("Success! Forgot lease (nothing done at AWS): {id}");
        } else {
            println!("Success! Revoked lease: {id}");
        }
        return Ok(ExitStatus::Success);
    }
    let prefix = args.prefix.expect("clap requires an id or --prefix");
    let (leases, report) = engine
        .revoke_prefix(&prefix, args.force, args.parallel.parallel as usize)
        .await?;
    ctx.revoked(&report.revoked_leases);
    let sts = leases.iter().filter(|l| l.kind.is_sts()).count();
    if sts > 0 {
        warn(&format!(
            "{sts} of these leases are STS credentials, which cannot be recalled at AWS: they \
             stay valid until they expire"
        ));
    }
    if args.force {
        let users: Vec<&str> = leases
            .iter()
            .filter(|l| !l.kind.is_sts())
            .map(|l| l.iam_user.as_str())
            .collect();
        left_behind(&users);
        println!(
            "Success! Forgot any leases with prefix (nothing done at AWS): {prefix} ({} leases)",
            leases.len()
        );
        return Ok(ExitStatus::Success);
    }
    warn_about(&report);
    if let Some(first) = report.failed.first() {
        return Err(Error::Cloud {
            action: format!(
                "could not revoke {} of {} leases with prefix {prefix}",
                report.failed.len(),
                leases.len()
            ),
            cause: CloudError::Other(format!("{}: {}", first.lease_id, first.error)),
            after: Some(Undo::KeptForRetry),
        }
        .into());
    }
    if let Some(first) = report.skipped.first() {
        return Err(Error::input_hint(
            format!(
                "left {} of {} leases with prefix {prefix} alone: {}",
                report.skipped.len(),
                leases.len(),
                first.error
            ),
            "they are still being issued; run the command again in a moment",
        )
        .into());
    }
    println!(
        "Success! Revoked any leases with prefix: {prefix} ({} leases)",
        report.revoked
    );
    Ok(ExitStatus::Success)
}
