use std::io::IsTerminal;

use anyhow::Result;
use serde_json::Value;

use super::args::OutputArgs;
use super::{Context, ExitStatus, show, show_issued, warn};
use crate::engine::{Error, Warning, Written};
use crate::output::Record;
use crate::params::kv;

/// Write data to a path
///
/// VALUE may be @FILE (the file's contents) or - (standard input); a lone - or @FILE.json
/// argument supplies a JSON object of parameters. On a terminal, a missing secret_key is
/// prompted for without echo.
/// Example: `awscreds write roles/deploy policy=@policy.json`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The path to write, e.g. aws/roles/deploy
    path: String,
    /// Parameters as KEY=VALUE, KEY=@FILE or KEY=-
    #[arg(value_name = "KEY=VALUE")]
    data: Vec<String>,
    #[command(flatten)]
    output: OutputArgs,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let mut data = kv::parse(&args.data, &mut std::io::stdin()).map_err(Error::from)?;
    let engine = ctx
        .engine_after_reaping_for("write", &args.path, &data)
        .await?;
    if let Some(field) = &args.output.field {
        engine.check_field(&args.path, field).await?;
    }
    if args.output.format.record().is_none() {
        engine.check_issues(&args.path).await?;
    }
    let written = loop {
        match engine.write(&args.path, &data).await {
            Err(Error::MissingParam {
                param,
                secret: true,
                ..
            }) if can_prompt() && !data.contains_key(param) => {
                let value = dialoguer::Password::new()
                    .with_prompt(param)
                    .interact()
                    .map_err(|e| Error::input(format!("cannot read {param}: {e}")))?;
                data.insert(param.to_string(), Value::String(value));
            }
            other => break other?,
        }
    };
    let warn_all = |warnings: &[Warning]| {
        for warning in warnings {
            warn(&warning.to_string());
        }
    };
    match written {
        Written::Stored(path) => println!("Success! Data written to: {path}"),
        Written::Issued(issued) => {
            warn_all(&issued.warnings);
            show_issued(ctx, &issued, &args.output)?;
        }
        Written::Rotated {
            access_key,
            warnings,
        } => {
            warn_all(&warnings);
            show(ctx, &Record::rotated(&access_key), &args.output)?;
        }
    }
    Ok(ExitStatus::Success)
}

/// Prompts appear only when a person is there to answer them.
fn can_prompt() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}
