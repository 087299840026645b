use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::PathBuf;

use anyhow::Result;
use serde_json::Value;

use super::args::FormatArgs;
use super::{Context, ExitStatus, print};
use crate::engine::Error;
use crate::output;
use crate::params::kv;

/// Enable, list and disable audit devices; hash a value; verify a log
///
/// With a device enabled, every command that reads or changes state appends a request and a
/// response entry (JSON lines, Vault's shape) to it; every string value in them is
/// HMAC-SHA256'd with the database's audit key, and every entry carries the HMAC of the one
/// before it, so that `audit verify` finds a changed, removed or inserted entry. A device that
/// cannot be written stops such commands before they act.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    Enable(EnableArgs),
    List(ListArgs),
    Disable(DisableArgs),
    Hash(HashArgs),
    Verify(VerifyArgs),
}

/// Enable an audit device, e.g. `awscreds audit enable file file_path=/var/log/awscreds.log`
#[derive(Debug, clap::Args)]
struct EnableArgs {
    /// The device type; only "file" exists
    #[arg(value_name = "TYPE")]
    kind: String,
    /// Options as KEY=VALUE: file_path=PATH, or file_path=stdout
    #[arg(value_name = "KEY=VALUE")]
    options: Vec<String>,
    /// Where to enable it [default: the type, "file"]
    #[arg(long, value_name = "NAME")]
    path: Option<String>,
}

/// List the enabled audit devices
#[derive(Debug, clap::Args)]
struct ListArgs {
    #[command(flatten)]
    format: FormatArgs,
}

/// Disable an audit device (its file stays)
#[derive(Debug, clap::Args)]
struct DisableArgs {
    /// The device's path, e.g. file
    #[arg(value_name = "PATH")]
    path: String,
}

/// Print the HMAC of a value as the audit logs show it, to grep for a known value
#[derive(Debug, clap::Args)]
struct HashArgs {
    /// The value, e.g. an access key id
    value: String,
}

/// Check an audit log: prints "ok N entries", or names the first entry changed, removed or
/// inserted and exits 1
#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// The log file
    path: PathBuf,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    match args.command {
        Command::Enable(args) => {
            let data = kv::parse(&args.options, &mut std::io::stdin()).map_err(Error::from)?;
            let mut options = BTreeMap::new();
            for (key, value) in &data {
                let Value::String(value) = value else {
                    return Err(
                        Error::input(format!("option \"{key}\" was given more than once")).into(),
                    );
                };
                options.insert(key.clone(), value.clone());
            }
            let path = args.path.clone().unwrap_or_else(|| args.kind.clone());
            let engine = ctx.engine_for("audit enable", &path, &data).await?;
            let device = engine
                .enable_audit(&args.kind, args.path.as_deref(), options)
                .await?;
            println!(
                "Success! Enabled the {} audit device at: {}/",
                device.kind, device.path
            );
        }
        Command::List(args) => {
            let engine = ctx
                .engine_for("audit list", "", &serde_json::Map::new())
                .await?;
            let devices = engine.audit_devices().await?;
            if devices.is_empty() && args.format.format == output::Format::Table {
                eprintln!("No audit devices are enabled.");
                return Ok(ExitStatus::Success);
            }
            print(|out| output::audit_devices(out, &devices, args.format.format))?;
        }
        Command::Disable(args) => {
            let engine = ctx
                .engine_for("audit disable", &args.path, &serde_json::Map::new())
                .await?;
            engine.disable_audit(&args.path).await?;
            println!(
                "Success! Disabled audit device (if it was enabled) at: {}/",
                args.path.trim_matches('/')
            );
        }
        Command::Hash(args) => {
            let engine = ctx.engine().await?;
            println!("{}", engine.audit_hash(&args.value).await?);
        }
        Command::Verify(args) => {
            let engine = ctx.engine().await?;
            let file = std::fs::File::open(&args.path).map_err(|e| {
                Error::input(format!(
                    "cannot open audit log {}: {e}",
                    args.path.display()
                ))
            })?;
            match engine.audit_verify(BufReader::new(file)).await? {
                Ok(verified) => println!("ok {} entries", verified.entries),
                Err(e) => {
                    return Err(Error::input_hint(
                        format!("{}: {e}", args.path.display()),
                        "entries before it check out; keep the file as evidence",
                    )
                    .into());
                }
            }
        }
    }
    Ok(ExitStatus::Success)
}
