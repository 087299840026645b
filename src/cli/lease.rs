use anyhow::Result;

use super::{Context, block_on, print, stdout_is_tty, warn, warn_about};
use crate::cloud::CloudError;
use crate::duration;
use crate::engine::{DEFAULT_PARALLEL, Secret};
use crate::error::{Error, ExitStatus};
use crate::output::{self, Format};

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
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Show one lease in full
#[derive(Debug, clap::Args)]
struct LookupArgs {
    /// The lease id, e.g. aws/creds/deploy/7cb8df71-782f-4de1-a9dd-251778e49f58
    id: String,
    #[command(flatten)]
    output: super::OutputArgs,
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
    output: super::OutputArgs,
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
    /// Revocations in flight at once (with --prefix)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PARALLEL as u64,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    parallel: u64,
}

fn parse_duration(text: &str) -> Result<u64, String> {
    duration::parse(text).map_err(|e| e.to_string())
}

pub fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let engine = ctx.engine_after_reaping()?;
    match args.command {
        Command::List(args) => {
            let leases = engine.leases(args.prefix.as_deref().unwrap_or_default())?;
            if leases.is_empty() && args.format == Format::Table {
                eprintln!("No leases");
                return Ok(ExitStatus::Success);
            }
            print(|out| output::leases(out, &leases, args.format))?;
        }
        Command::Lookup(args) => {
            let lease = engine.lease(&args.id)?;
            let secret = output::lease_detail(&lease, chrono::Utc::now().timestamp());
            show(&secret, &args.output)?;
        }
        Command::Renew(args) => {
            let (info, warning) = engine.renew(&args.id, args.increment)?;
            if let Some(warning) = warning {
                warn(&warning);
            }
            let secret = Secret {
                lease: Some(info),
                ..Secret::default()
            };
            show(&secret, &args.output)?;
        }
        Command::Revoke(args) => return revoke(&engine, args),
    }
    Ok(ExitStatus::Success)
}

fn show(secret: &Secret, output_args: &super::OutputArgs) -> Result<()> {
    let (format, field) = (output_args.format, output_args.field.as_deref());
    print(|out| output::secret(out, secret, format, field, stdout_is_tty()))
}

fn revoke(engine: &super::CliEngine, args: RevokeArgs) -> Result<ExitStatus> {
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
        let lease = block_on(engine.revoke_id(&id, args.force))?;
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
    let (leases, report) =
        block_on(engine.revoke_prefix(&prefix, args.force, args.parallel as usize))?;
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
            hint: Some(
                "they are kept and retried by awscreds sweep; awscreds lease list shows their \
                 errors"
                    .into(),
            ),
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
