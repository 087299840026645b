use std::path::PathBuf;

use anyhow::Result;

use super::args::FormatArgs;
use super::{Context, ExitStatus, print};
use crate::model::Wrapping;
use crate::output;

/// Show or change how the database's secrets are sealed
///
/// Every secret awscreds stores (the root secret keys) is encrypted (AES-256-GCM) under one data
/// key per database, which is itself stored only wrapped: by a key file (the default,
/// <database>.key, or AWSCREDS_SEAL_KEY_FILE) or by AWS KMS. Losing the key file loses the sealed
/// secrets: back it up.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    Status(StatusArgs),
    Rotate(RotateArgs),
    Kms(KmsArgs),
    File(FileArgs),
}

/// How the data key is wrapped, by which key, and how many secrets are sealed (no secret)
#[derive(Debug, clap::Args)]
struct StatusArgs {
    #[command(flatten)]
    format: FormatArgs,
}

/// Make a new data key and re-encrypt every secret under it, in one transaction
#[derive(Debug, clap::Args)]
struct RotateArgs {}

/// Wrap the data key with AWS KMS (envelope encryption), reached with this machine's standard
/// AWS configuration (AWS_ENDPOINT_URL_KMS, AWS_REGION, the credential chain)
#[derive(Debug, clap::Args)]
struct KmsArgs {
    /// The KMS key: id, ARN or alias (alias/awscreds)
    #[arg(value_name = "KEY_ID")]
    key_id: String,
}

/// Wrap the data key with a key file (made, 0600, if it does not exist)
#[derive(Debug, clap::Args)]
struct FileArgs {
    /// The key file [default: AWSCREDS_SEAL_KEY_FILE, else <database>.key]
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let (operation, data) = match &args.command {
        Command::Status(_) => ("seal status", serde_json::Map::new()),
        Command::Rotate(_) => ("seal rotate", serde_json::Map::new()),
        Command::Kms(a) => (
            "seal kms",
            serde_json::Map::from_iter([("key_id".into(), a.key_id.clone().into())]),
        ),
        Command::File(a) => (
            "seal file",
            serde_json::Map::from_iter(
                a.path
                    .iter()
                    .map(|p| ("path".to_string(), p.display().to_string().into())),
            ),
        ),
    };
    let engine = ctx.engine_for(operation, "", &data).await?;
    match args.command {
        Command::Status(args) => {
            let status = engine.seal_status().await?;
            print(|out| output::seal_status(out, &status, args.format.format))?;
        }
        Command::Rotate(_) => {
            let count = engine.seal_rotate().await?;
            println!("Success! Rotated the data key; re-sealed {count} secrets");
        }
        Command::Kms(args) => {
            engine
                .seal_wrap(Wrapping::Kms {
                    key_id: args.key_id.clone(),
                })
                .await?;
            println!("Success! Sealed with KMS key {}", args.key_id);
        }
        Command::File(args) => {
            let path = args.path.map(|p| absolute(&p).display().to_string());
            engine.seal_wrap(Wrapping::File { path }).await?;
            let status = engine.seal_status().await?;
            println!("Success! Sealed with key file {}", status.key);
        }
    }
    Ok(ExitStatus::Success)
}

/// A path as the seal records it: absolute, so that it means the same from any directory.
fn absolute(path: &std::path::Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
