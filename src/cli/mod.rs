//! The command line: clap definitions, one file per subcommand, the arguments they share
//! (`args.rs`), and the one place that turns an error into a message, a hint and an exit status
//! (`report.rs`). Subcommands only unpack arguments, call the engine and print what it returns.
//! [`main`] builds the one tokio runtime that every command runs on.

mod args;
mod delete;
mod help;
mod lease;
mod list;
mod mount;
mod mounts;
mod read;
mod report;
mod seal;
mod sweep;
mod tidy;
mod unmount;
mod write;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use crate::cloud::AwsConnector;
use crate::engine::{Engine, Error, KeyFileDefault, SealSettings, SweepReport};
use crate::env::EnvVars;
use crate::output::{self, OutputError};
use crate::store::{self, Location};

pub use report::ExitStatus;

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
    Seal(seal::Args),
    Help(help::Args),
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
    // One runtime for the whole command: awscreds is single-threaded, and its SDK clients live
    // as long as the command.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime starts");
    match runtime.block_on(run(cli)) {
        Ok(status) => status,
        Err(e) => report::report(&e),
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let ctx = Context { db: cli.db };
    match cli.command {
        Command::Help(args) => help::run(args),
        Command::Mount(args) => mount::run(args, &ctx).await,
        Command::Mounts(args) => mounts::run(args, &ctx).await,
        Command::Unmount(args) => unmount::run(args, &ctx).await,
        Command::Read(args) => read::run(args, &ctx).await,
        Command::Write(args) => write::run(args, &ctx).await,
        Command::Delete(args) => delete::run(args, &ctx).await,
        Command::List(args) => list::run(args, &ctx).await,
        Command::Sweep(args) => sweep::run(args, &ctx).await,
        Command::Lease(args) => lease::run(args, &ctx).await,
        Command::Tidy(args) => tidy::run(args, &ctx).await,
        Command::Seal(args) => seal::run(args, &ctx).await,
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

/// What every subcommand shares: where the database is, and how to reach the engine.
pub struct Context {
    db: Option<PathBuf>,
}

pub type CliEngine = Engine<AwsConnector>;

impl Context {
    fn location(&self) -> anyhow::Result<Location> {
        if let Some(value) = &self.db {
            return Ok(Location::parse(&value.to_string_lossy()));
        }
        let dir = dirs::data_dir().ok_or_else(|| {
            Error::input_hint(
                "cannot find the user's data directory",
                format!("name a database with --db PATH or {}", EnvVars::AWSCREDS_DB),
            )
        })?;
        Ok(Location::Sqlite(dir.join("awscreds").join("awscreds.db")))
    }

    /// Opens the store; no AWS client is built until a command needs one.
    async fn engine(&self) -> anyhow::Result<CliEngine> {
        let location = self.location()?;
        let store = store::open(&location).await.map_err(Error::from)?;
        if let Location::Sqlite(path) = &location {
            warn_if_others_can_read(path);
        }
        let default = match &location {
            Location::Sqlite(path) => {
                let mut key = path.clone().into_os_string();
                key.push(".key");
                KeyFileDefault::Beside(key.into())
            }
            Location::Url(_) => KeyFileDefault::InDir(
                dirs::data_dir()
                    .unwrap_or_else(|| PathBuf::from("."))
                    .join("awscreds"),
            ),
        };
        let seal = SealSettings {
            key_file: std::env::var_os(EnvVars::AWSCREDS_SEAL_KEY_FILE)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            default,
        };
        let engine = Engine::new(store, AwsConnector).with_seal(seal);
        engine.prepare().await?;
        Ok(engine)
    }

    /// Opens the engine and first revokes expired leases, within a few seconds; what goes wrong
    /// there is only a warning, so that a slow AWS never breaks an unrelated command.
    async fn engine_after_reaping(&self) -> anyhow::Result<CliEngine> {
        let engine = self.engine().await?;
        match engine.reap().await {
            Ok(None) => {}
            Ok(Some(report)) => warn_about(&report),
            Err(e) => warn(&format!("could not reap expired leases: {}", e.chain())),
        }
        Ok(engine)
    }
}

/// The database holds root credentials (sealed) and leases: as ssh does for a private key, a
/// file or directory that others can read is worth a warning on every command.
fn warn_if_others_can_read(db: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let open = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o077 != 0)
            .unwrap_or(false)
    };
    if open(db) {
        warn(&format!(
            "database {} can be read by others; fix: chmod 600 {}",
            db.display(),
            db.display()
        ));
    }
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty())
        && open(dir)
    {
        warn(&format!(
            "the directory of database {} can be read by others; fix: chmod 700 {}",
            db.display(),
            dir.display()
        ));
    }
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

/// Prints a record as `--format` and `--field` ask.
fn show(record: &output::Record, out: &args::OutputArgs) -> anyhow::Result<()> {
    let (format, field) = (out.format.format, out.field.as_deref());
    print(|w| output::record(w, record, format, field, stdout_is_tty()))
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
