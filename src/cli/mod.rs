//! The command line: clap definitions, one file per subcommand, the arguments they share
//! (`args.rs`), and the one place that turns an error into a message, a hint and an exit status
//! (`report.rs`). Subcommands only unpack arguments, call the engine and print what it returns.
//! [`main`] builds the one tokio runtime that every command runs on.

mod args;
mod audit;
mod credential_process;
mod db;
mod delete;
mod exec;
mod help;
mod lease;
mod list;
mod mount;
mod mounts;
mod read;
mod report;
mod seal;
mod status;
mod sweep;
mod tidy;
mod unmount;
mod write;

use std::cell::RefCell;
use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use crate::audit as audit_log;
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
    /// The database holding mounts, roles and leases: a SQLite file, or a team's PostgreSQL
    /// database as a postgres:// URL (password from the URL or PGPASSWORD)
    /// [default: awscreds/awscreds.db under the user's data directory]
    #[arg(
        long,
        global = true,
        env = EnvVars::AWSCREDS_DB,
        hide_env_values = true,
        value_name = "PATH|URL"
    )]
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
    Exec(exec::Args),
    CredentialProcess(credential_process::Args),
    Write(write::Args),
    Delete(delete::Args),
    List(list::Args),
    Sweep(sweep::Args),
    Status(status::Args),
    Lease(lease::Args),
    Tidy(tidy::Args),
    Seal(seal::Args),
    Audit(audit::Args),
    Db(db::Args),
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
    let ctx = Context {
        db: cli.db,
        audit: RefCell::new(None),
    };
    let result = dispatch(cli.command, &ctx).await;
    ctx.finish_audit(&result);
    // The stores are dropped by now: before exiting, let them release what they hold.
    store::closed().await;
    result
}

async fn dispatch(command: Command, ctx: &Context) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Help(args) => help::run(args),
        Command::Audit(args) => audit::run(args, ctx).await,
        Command::Db(args) => db::run(args, ctx).await,
        Command::Mount(args) => mount::run(args, ctx).await,
        Command::Mounts(args) => mounts::run(args, ctx).await,
        Command::Unmount(args) => unmount::run(args, ctx).await,
        Command::Read(args) => read::run(args, ctx).await,
        Command::Exec(args) => exec::run(args, ctx).await,
        Command::CredentialProcess(args) => credential_process::run(args, ctx).await,
        Command::Write(args) => write::run(args, ctx).await,
        Command::Delete(args) => delete::run(args, ctx).await,
        Command::List(args) => list::run(args, ctx).await,
        Command::Sweep(args) => sweep::run(args, ctx).await,
        Command::Status(args) => status::run(args, ctx).await,
        Command::Lease(args) => lease::run(args, ctx).await,
        Command::Tidy(args) => tidy::run(args, ctx).await,
        Command::Seal(args) => seal::run(args, ctx).await,
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

/// What every subcommand shares: where the database is, how to reach the engine, and the audit
/// of this command.
pub struct Context {
    db: Option<PathBuf>,
    audit: RefCell<Option<AuditSession>>,
}

/// A command being audited: its request entry is written; its response entry is written when it
/// ends, with what [`Context::respond`] recorded.
struct AuditSession {
    auditor: audit_log::Auditor,
    request: audit_log::Request,
    response: audit_log::Response,
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

    /// Opens the engine for a command that reads or changes state (`operation` on `path` with
    /// `data`): with an audit device enabled, its request entry is written first, and a device
    /// that cannot be written stops the command before it does anything (fail closed).
    async fn engine_for(
        &self,
        operation: &str,
        path: &str,
        data: &serde_json::Map<String, serde_json::Value>,
    ) -> anyhow::Result<CliEngine> {
        let engine = self.engine().await?;
        if let Some(auditor) = engine.auditor().await? {
            let mounts = engine.mounts().await?;
            let mount = mounts
                .iter()
                .filter(|m| path == m.path || path.starts_with(&format!("{}/", m.path)))
                .max_by_key(|m| m.path.len())
                .map(|m| m.path.clone());
            let request = audit_log::Request {
                id: uuid::Uuid::new_v4().to_string(),
                operation: operation.to_string(),
                path: path.to_string(),
                mount,
                data: data.clone(),
            };
            auditor.request(&request).map_err(|e| Error::AuditFailed {
                message: e.to_string(),
            })?;
            *self.audit.borrow_mut() = Some(AuditSession {
                auditor,
                request,
                response: audit_log::Response::default(),
            });
        }
        Ok(engine)
    }

    /// [`Context::engine_for`], then the reaping that every command but `sweep` does first.
    async fn engine_after_reaping_for(
        &self,
        operation: &str,
        path: &str,
        data: &serde_json::Map<String, serde_json::Value>,
    ) -> anyhow::Result<CliEngine> {
        let engine = self.engine_for(operation, path, data).await?;
        self.reap(&engine).await;
        Ok(engine)
    }

    /// What the command returned, for its response entry.
    fn respond(&self, record: &output::Record) {
        if let Some(session) = self.audit.borrow_mut().as_mut() {
            session.response.data = record.data.clone();
            session.response.lease_id = record.lease.as_ref().map(|l| l.id.clone());
        }
    }

    /// One more value of the command's response entry (`sweep`: the root keys it rotated).
    fn respond_with(&self, key: &str, value: serde_json::Value) {
        if let Some(session) = self.audit.borrow_mut().as_mut() {
            session.response.data.insert(key.to_string(), value);
        }
    }

    /// Leases the command revoked, for its response entry.
    fn revoked(&self, ids: &[String]) {
        if let Some(session) = self.audit.borrow_mut().as_mut() {
            session.response.revoked.extend(ids.iter().cloned());
        }
    }

    /// Writes the response entry of an audited command. The command has acted by now, so a
    /// device that fails here only gets a warning.
    fn finish_audit(&self, result: &anyhow::Result<ExitStatus>) {
        let Some(session) = self.audit.borrow_mut().take() else {
            return;
        };
        let error = result.as_ref().err().map(|e| {
            e.chain()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(": ")
        });
        if let Err(e) =
            session
                .auditor
                .response(&session.request, &session.response, error.as_deref())
        {
            warn(&e.to_string());
        }
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

    /// Revokes expired leases, within a few seconds; what goes wrong there is only a warning,
    /// so that a slow AWS never breaks an unrelated command.
    async fn reap(&self, engine: &CliEngine) {
        match engine.reap().await {
            Ok(None) => {}
            Ok(Some(report)) => {
                self.revoked(&report.revoked_leases);
                warn_about(&report);
            }
            Err(e) => warn(&format!("could not reap expired leases: {}", e.chain())),
        }
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

/// What a sweep did about root keys: a line on stdout for each key rotated, and the error on
/// stderr for each rotation that failed; true if any failed.
fn report_rotations(rotations: &[crate::engine::RootRotation]) -> anyhow::Result<bool> {
    use crate::engine::Rotation;
    let mut failed = false;
    for rotation in rotations {
        match &rotation.outcome {
            Ok(Rotation::Rotated {
                access_key,
                warnings,
            }) => {
                for warning in warnings {
                    warn(&warning.to_string());
                }
                print(|out| output::root_rotated(out, &rotation.mount, access_key))?;
            }
            Ok(Rotation::Finished { access_key }) => {
                print(|out| output::rotation_settled(out, &rotation.mount, access_key, true))?;
            }
            Ok(Rotation::Undone { access_key }) => {
                print(|out| output::rotation_settled(out, &rotation.mount, access_key, false))?;
            }
            Err(e) => {
                report::rotation_failed(&rotation.mount, e);
                failed = true;
            }
        }
    }
    Ok(failed)
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
fn show(ctx: &Context, record: &output::Record, out: &args::OutputArgs) -> anyhow::Result<()> {
    ctx.respond(record);
    let Some(format) = out.format.record() else {
        return Err(credential_format_elsewhere(out.format).into());
    };
    let field = out.field.as_deref();
    print(|w| output::record(w, record, format, field, stdout_is_tty()))
}

/// Prints new credentials as `--format` asks: a record, or as programs take them.
fn show_issued(
    ctx: &Context,
    issued: &crate::engine::Issued,
    out: &args::OutputArgs,
) -> anyhow::Result<()> {
    use output::ReadFormat;
    let record = output::Record::issued(issued);
    if out.format.record().is_some() {
        return show(ctx, &record, out);
    }
    ctx.respond(&record);
    if out.field.is_some() {
        return Err(Error::input_hint(
            "--field and --format env, export, credential_process or ini do not go together",
            "leave one out",
        )
        .into());
    }
    print(|w| match out.format {
        ReadFormat::Env => output::credentials::env(w, issued),
        ReadFormat::Export => output::credentials::export(w, issued),
        ReadFormat::CredentialProcess => output::credentials::credential_process(w, issued),
        ReadFormat::Ini => {
            // The role's name: the lease id is MOUNT/creds/ROLE/UUID.
            let role = issued.lease.id.rsplit('/').nth(1).unwrap_or("awscreds");
            output::credentials::ini(w, issued, out.profile_name.as_deref().unwrap_or(role))
        }
        ReadFormat::Table | ReadFormat::Json => unreachable!("records are shown above"),
    })
}

/// With `wait`, waits until the new key works; on timeout the key is still handed out, with a
/// warning.
async fn wait_for_key(
    engine: &CliEngine,
    issued: &crate::engine::Issued,
    wait: &args::WaitArgs,
    default: bool,
) -> anyhow::Result<()> {
    if !wait.wanted(default) {
        return Ok(());
    }
    let timeout = std::time::Duration::from_secs(wait.wait_timeout);
    let outcome = engine.wait_for_key(issued, timeout).await?;
    if !outcome.works {
        warn(&format!(
            "the new access key {} does not work yet after {}; it may work a little later",
            issued.credential.access_key_id,
            crate::params::duration::format(wait.wait_timeout)
        ));
    }
    Ok(())
}

/// The error for a credential format on a command that prints no credentials.
fn credential_format_elsewhere(format: output::ReadFormat) -> Error {
    let name = clap::ValueEnum::to_possible_value(&format)
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    Error::input_hint(
        format!("--format {name} prints credentials, which this command does not return"),
        "it applies to read and write of MOUNT/creds/NAME and MOUNT/sts/NAME, and to exec",
    )
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
