use anyhow::Result;

use crate::engine::{help, routes};
use crate::error::{Error, ExitStatus};

/// Show help for a command, or Vault-style help for a path (`awscreds help aws/creds`)
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A command name, a mount (aws) or a path under one (aws/roles/deploy)
    #[arg(value_name = "COMMAND|PATH")]
    topic: Option<String>,
}

pub fn run(args: Args, _ctx: &super::Context) -> Result<ExitStatus> {
    let mut command = super::command();
    let Some(topic) = args.topic else {
        command.print_long_help()?;
        return Ok(ExitStatus::Success);
    };
    if let Some(sub) = command.find_subcommand_mut(&topic) {
        sub.print_long_help()?;
        return Ok(ExitStatus::Success);
    }
    match help::path_help(&topic) {
        Some(text) => {
            print!("{text}");
            Ok(ExitStatus::Success)
        }
        None => Err(Error::input_hint(
            format!("no route \"{}\"", topic.trim_matches('/')),
            routes::routes_hint("MOUNT"),
        )
        .into()),
    }
}
