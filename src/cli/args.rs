//! The arguments that several subcommands share, declared once.

use crate::engine::DEFAULT_PARALLEL;
use crate::output::Format;
use crate::params::duration;

/// `--format`, for every command that prints data.
#[derive(Debug, Clone, clap::Args)]
pub struct FormatArgs {
    /// Output format; Vault's -format=json is accepted too
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// How `read`, `write` and the lease commands print what they return.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    /// Print only this field's value (no trailing newline when not on a terminal), for scripts;
    /// Vault's -field=NAME is accepted too
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,
}

/// `--parallel`, for the commands that revoke many leases.
#[derive(Debug, Clone, clap::Args)]
pub struct ParallelArgs {
    /// Revocations in flight at once
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PARALLEL as u64,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    pub parallel: u64,
}

/// Parses a duration argument (`90s`, `30m`, `1h`) into seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    duration::parse(text).map_err(|e| e.to_string())
}
