//! The command line: clap definitions, one file per subcommand, and the one place that turns an
//! error into a message and an exit status. Subcommands only unpack arguments and call the engine.

mod delete;
mod help;
mod lease;
mod list;
mod mount;
mod mounts;
mod read;
mod sweep;
mod tidy;
mod unmount;
mod write;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use crate::cloud::AwsConnector;
use crate::engine::{Engine, SweepReport};
use crate::env::EnvVars;
use crate::error::{Error, ExitStatus};
use crate::output::{self, Format, OutputError};
use crate::owner::OwnerLocks;
use crate::store::SqliteStore;

/// Short-lived AWS credentials, handed out and taken back, without a server.
///
/// awscreds does what Vault's AWS secrets engine does, from one binary and a local SQLite file:
/// define a role with an IAM policy, read credentials for it (a fresh IAM user with an access
/// key and a lease), and the user is deleted when the lease expires.
#[derive(Debug, Parser)]
#[command(
    name = "awscreds",
    version,
    disable_help_subcommand = true,
    max_term_width = 100
)]
#[command(
    after_help = "Paths: MOUNT/config/root, MOUNT/config/lease, MOUNT/roles/, \
MOUNT/roles/NAME, MOUNT/creds/NAME. A path that starts with no mount name is taken relative to \
the mount \"aws\". Run `awscreds help aws` for the backend's path help."
)]
pub struct Cli {
    /// The SQLite database holding mounts, roles and leases
    /// [default: awscreds/awscreds.db under the user's data directory]
    #[arg(long, global = true, env = EnvVars::AWSCREDS_DB, value_name = "PATH")]
    pub db: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Mount(mount::Args),
    Mounts(mounts::Args),
    Unmount(unmount::Args),
    Read(read::Args),
    Write(write::Args),
    Delete(delete::Args),
    List(list::Args),
    Sweep(sweep::Args),
    Lease(lease::Args),
    Tidy(tidy::Args),
    Help(help::Args),
}

/// How `read`, `write` and `list` print what they return.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Output format; Vault's -format=json is accepted too
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print only this field's value (no trailing newline when not on a terminal), for scripts;
    /// Vault's -field=NAME is accepted too
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,
}

/// The clap definition, for completions, the man page and their staleness test.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs awscreds with `args` (program name first) and returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitStatus {
    let cli = match Cli::try_parse_from(vault_flags(args)) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitStatus::Failure
            } else {
                ExitStatus::Success
            };
        }
    };
    match run(cli) {
        Ok(status) => status,
        Err(e) => report(&e),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let ctx = Context { db: cli.db };
    match cli.command {
        Command::Help(args) => help::run(args, &ctx),
        Command::Mount(args) => mount::run(args, &ctx),
        Command::Mounts(args) => mounts::run(args, &ctx),
        Command::Unmount(args) => unmount::run(args, &ctx),
        Command::Read(args) => read::run(args, &ctx),
        Command::Write(args) => write::run(args, &ctx),
        Command::Delete(args) => delete::run(args, &ctx),
        Command::List(args) => list::run(args, &ctx),
        Command::Sweep(args) => sweep::run(args, &ctx),
        Command::Lease(args) => lease::run(args, &ctx),
        Command::Tidy(args) => tidy::run(args, &ctx),
    }
}

/// Vault spells its flags with one dash (`-format=json`, `-field=NAME`); clap wants two.
fn vault_flags(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut seen_separator = false;
    args.into_iter()
        .map(|arg| {
            if seen_separator {
                return arg;
            }
            if arg == "--" {
                seen_separator = true;
                return arg;
            }
            match arg.to_str() {
                Some(s)
                    if ["-format", "-field"]
                        .iter()
                        .any(|f| s == *f || s.starts_with(&format!("{f}="))) =>
                {
                    OsString::from(format!("-{s}"))
                }
                _ => arg,
            }
        })
        .collect()
}

/// Prints an error as one line (plus an optional `hint:` line) and picks the exit status.
fn report(e: &anyhow::Error) -> ExitStatus {
    if is_broken_pipe(e) {
        return ExitStatus::Success;
    }
    let known = e.chain().find_map(|c| c.downcast_ref::<Error>());
    // One line: the error and its causes, each cause once (many errors already carry their
    // cause's text in their own message).
    let mut line = String::new();
    for cause in e.chain().map(|c| c.to_string()) {
        if !line.contains(&cause) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&cause);
        }
    }
    let mut stderr = io::stderr().lock();
    match known {
        // Vault prints this one plainly.
        Some(Error::NotFound(_)) => {
            let _ = writeln!(stderr, "{line}");
        }
        _ => {
            let _ = writeln!(stderr, "error: {line}");
        }
    }
    if let Some(hint) = known.and_then(Error::hint) {
        let _ = writeln!(stderr, "hint: {hint}");
    }
    known.map_or(ExitStatus::Failure, Error::exit_status)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// What every subcommand shares: where the database is, and how to reach the engine.
pub struct Context {
    db: Option<PathBuf>,
}

pub type CliEngine = Engine<SqliteStore, AwsConnector>;

impl Context {
    fn db_path(&self) -> anyhow::Result<PathBuf> {
        if let Some(path) = &self.db {
            return Ok(path.clone());
        }
        let dir = dirs::data_dir().ok_or_else(|| {
            Error::input_hint(
                "cannot find the user's data directory",
                format!("name a database with --db PATH or {}", EnvVars::AWSCREDS_DB),
            )
        })?;
        Ok(dir.join("awscreds").join("awscreds.db"))
    }

    /// Opens the database; no AWS client is built until a command needs one. Issuing processes
    /// hold their liveness locks in a directory beside it.
    fn engine(&self) -> anyhow::Result<CliEngine> {
        let path = self.db_path()?;
        let store = SqliteStore::open(&path).map_err(Error::from)?;
        let mut locks = path.clone().into_os_string();
        locks.push("-locks");
        Ok(Engine::new(store, AwsConnector).with_owner_locks(OwnerLocks::new(locks)))
    }

    /// Opens the engine and first revokes expired leases, within a few seconds; what goes wrong
    /// there is only a warning, so that a slow AWS never breaks an unrelated command.
    fn engine_after_reaping(&self) -> anyhow::Result<CliEngine> {
        let engine = self.engine()?;
        match block_on(engine.reap()) {
            Ok(None) => {}
            Ok(Some(report)) => warn_about(&report),
            Err(e) => warn(&format!("could not reap expired leases: {e}")),
        }
        Ok(engine)
    }
}

/// Runs a future on a current-thread runtime: awscreds is synchronous from the CLI's side.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime starts")
        .block_on(future)
}

fn warn(message: &str) {
    let _ = writeln!(io::stderr(), "warning: {message}");
}

/// Warnings for leases that reaping or a sweep could not revoke.
fn warn_about(report: &SweepReport) {
    for failure in &report.failed {
        warn(&format!(
            "could not revoke lease {} (IAM user {}): {}; it is kept and retried later",
            failure.lease_id, failure.iam_user, failure.error
        ));
    }
    if report.timed_out {
        warn(
            "revoking expired leases is taking long; the rest is left for the next run or awscreds sweep",
        );
    }
}

/// Writes data to stdout, turning output errors into the CLI's errors.
fn print(f: impl FnOnce(&mut dyn Write) -> output::Result) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut lock = stdout.lock();
    match f(&mut lock) {
        Ok(()) => Ok(lock.flush()?),
        Err(OutputError::Io(e)) => Err(e.into()),
        Err(OutputError::Field(e)) => Err(e.into()),
    }
}

fn stdout_is_tty() -> bool {
    io::stdout().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_flags_become_long_flags() {
        let args = [
            "awscreds",
            "read",
            "-format=json",
            "-field",
            "x",
            "--",
            "-format=y",
        ]
        .map(OsString::from);
        let got = vault_flags(args);
        let want = [
            "awscreds",
            "read",
            "--format=json",
            "--field",
            "x",
            "--",
            "-format=y",
        ];
        assert_eq!(got, want.map(OsString::from));
    }

    #[test]
    fn clap_definition_is_consistent() {
        command().debug_assert();
    }
}
