use anyhow::Result;

use super::{Context, OutputArgs, block_on, print, stdout_is_tty, warn};
use crate::error::ExitStatus;
use crate::kv;
use crate::output;

/// Read data at a path; reading MOUNT/creds/ROLE issues new credentials
///
/// Examples: `awscreds read creds/deploy`, `awscreds read aws/config/lease`,
/// `awscreds read -field=secret_key creds/deploy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The path to read, e.g. aws/creds/deploy
    path: String,
    /// Parameters as KEY=VALUE, e.g. ttl=15m for STS credentials
    #[arg(value_name = "KEY=VALUE")]
    data: Vec<String>,
    #[command(flatten)]
    output: OutputArgs,
}

pub fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let data = kv::parse(&args.data, &mut std::io::stdin())?;
    let engine = ctx.engine_after_reaping()?;
    if let Some(field) = &args.output.field {
        engine.check_field(&args.path, field)?;
    }
    let secret = block_on(engine.read(&args.path, &data))?;
    for warning in &secret.warnings {
        warn(warning);
    }
    let (format, field) = (args.output.format, args.output.field.as_deref());
    print(|out| output::secret(out, &secret, format, field, stdout_is_tty()))?;
    Ok(ExitStatus::Success)
}
