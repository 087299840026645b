use anyhow::Result;

use super::ExitStatus;
use crate::engine::Error;
use crate::output::help;

/// Show help for a command, or Vault-style help for a path (`awscreds help aws/creds`)
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A command name, a mount (aws) or a path under one (aws/roles/deploy)
    #[arg(value_name = "COMMAND|PATH")]
    topic: Option<String>,
}

pub fn run(args: Args) -> Result<ExitStatus> {
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
        None => Err(Error::NoRoute {
            path: crate::params::one_line(topic.trim_matches('/')),
            mount: "MOUNT".into(),
        }
        .into()),
    }
}
