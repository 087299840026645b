//! The arguments that several subcommands share, declared once.

use crate::engine::DEFAULT_PARALLEL;
use crate::output::{Format, ReadFormat};
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
    /// Output format; Vault's -format=json is accepted too. env, export, credential_process
    /// and ini print credentials as programs take them (creds/ and sts/ paths only)
    #[arg(long, value_enum, default_value_t = ReadFormat::Table)]
    pub format: ReadFormat,
    /// The profile name of --format ini [default: the role's name]
    #[arg(long, value_name = "NAME")]
    pub profile_name: Option<String>,
    /// Print only this field's value (no trailing newline when not on a terminal), for scripts;
    /// Vault's -field=NAME is accepted too
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,
}

/// `--parallel`, for the commands that revoke many leases.
#[derive(Debug, Clone, clap::Args)]
pub struct ParallelArgs {
    /// The most revocations in flight at once (a sweep makes fewer calls a second while IAM
    /// throttles)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PARALLEL as u64,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    pub parallel: u64,
}

/// Parses a duration argument (`90s`, `30m`, `1h`) into seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    duration::parse(text).map_err(|e| e.to_string())
}

/// `--wait` / `--no-wait` / `--wait-timeout`: whether to hand out a new IAM access key only once
/// STS accepts it.
#[derive(Debug, Clone, clap::Args)]
pub struct WaitArgs {
    /// Wait until a new IAM access key works (GetCallerIdentity with it succeeds) before
    /// handing it out [default: off for read and write, on for exec and credential-process]
    #[arg(long, overrides_with = "no_wait")]
    pub wait: bool,
    /// Hand out a new key at once, even if it does not work yet
    #[arg(long, overrides_with = "wait")]
    pub no_wait: bool,
    /// The longest wait; then the key is handed out with a warning (it may work a little later)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub wait_timeout: u64,
}

impl WaitArgs {
    /// Whether to wait, given the command's default.
    pub fn wanted(&self, default: bool) -> bool {
        if self.wait {
            true
        } else if self.no_wait {
            false
        } else {
            default
        }
    }
}
