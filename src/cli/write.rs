use std::io::IsTerminal;

use anyhow::Result;
use serde_json::Value;

use super::{Context, OutputArgs, block_on, print, stdout_is_tty, warn};
use crate::engine::Written;
use crate::error::{Error, ExitStatus};
use crate::kv;
use crate::output;

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

pub fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let mut data = kv::parse(&args.data, &mut std::io::stdin())?;
    let engine = ctx.engine_after_reaping()?;
    if let Some(field) = &args.output.field {
        engine.check_field(&args.path, field)?;
    }
    let written = loop {
        match block_on(engine.write(&args.path, &data)) {
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
    match written {
        Written::Stored(path) => println!("Success! Data written to: {path}"),
        Written::Secret(secret) => {
            for warning in &secret.warnings {
                warn(warning);
            }
            let (format, field) = (args.output.format, args.output.field.as_deref());
            print(|out| output::secret(out, &secret, format, field, stdout_is_tty()))?;
        }
    }
    Ok(ExitStatus::Success)
}

/// Prompts appear only when a person is there to answer them.
fn can_prompt() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}
