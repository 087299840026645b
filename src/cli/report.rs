//! The one place where an error becomes what the user sees: one line (the error and its causes),
//! then an optional `hint:` line that says what to do, often as a command to run, and the exit
//! status: 0 ok, 1 bad input or a local failure, 2 the AWS side failed.

use std::io::{self, Write};

use crate::engine::routes::{self, Op};
use crate::engine::{Error, Undo};
use crate::env::EnvVars;
use crate::seal::keyfile::KeyFileError;
use crate::store::CapScope;

/// What the process exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// Bad input or a local failure (database, files).
    Failure,
    /// AWS refused or could not be reached.
    Cloud,
    /// What a program run by `exec` exited with (128 + the signal that killed it).
    Child(u8),
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Cloud => 2,
            ExitStatus::Child(code) => code,
        }
    }
}

/// Prints an error as one line (plus an optional `hint:` line) and picks the exit status.
pub fn report(e: &anyhow::Error) -> ExitStatus {
    if is_broken_pipe(e) {
        return ExitStatus::Success;
    }
    let known = e.chain().find_map(|c| c.downcast_ref::<Error>());
    let line = e
        .chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ");
    let mut stderr = io::stderr().lock();
    match known {
        // Vault prints this one plainly.
        Some(Error::NotFound { .. }) => {
            let _ = writeln!(stderr, "{line}");
        }
        _ => {
            let _ = writeln!(stderr, "error: {line}");
        }
    }
    if let Some(hint) = known.and_then(hint) {
        let _ = writeln!(stderr, "hint: {hint}");
    }
    match known {
        Some(Error::CannotRun { code, .. }) => ExitStatus::Child(*code),
        Some(e) if e.is_cloud() => ExitStatus::Cloud,
        _ => ExitStatus::Failure,
    }
}

/// A root key rotation by `sweep` that failed: the error on one line and what became of the
/// key (the sweep goes on, and exits 2).
pub fn rotation_failed(mount: &str, e: &Error) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(
        stderr,
        "error: rotating the root key of {mount}: {}",
        e.chain()
    );
    let _ = writeln!(
        stderr,
        "hint: the key in use is kept and still works; the next awscreds sweep tries again"
    );
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// What to do about `e`, in commands where that helps.
pub fn hint(e: &Error) -> Option<String> {
    let hint = match e {
        Error::Invalid { hint, .. } => return hint.clone(),
        Error::MissingParam {
            param,
            path,
            secret,
            with,
        } => {
            let example: Vec<String> = with.iter().map(|f| format!("{f}=...")).collect();
            let mut hint = format!("awscreds write {path} {}", example.join(" "));
            if *secret {
                hint.push_str(&format!(" (or {param}=- to read it from standard input)"));
            }
            hint
        }
        Error::NothingToWrite { path } => {
            format!("give parameters as KEY=VALUE; awscreds help {path} lists them")
        }
        Error::NotFound { .. } | Error::Store(_) | Error::LeaseNotFound { .. } => match e {
            Error::LeaseNotFound { .. } => "awscreds lease list shows the leases".into(),
            _ => return None,
        },
        Error::RoleNotFound { mount, role } => {
            format!("create it first: awscreds write {mount}/roles/{role} policy=@policy.json")
        }
        Error::NotConfigured { mount } => {
            format!("awscreds write {mount}/config/root access_key=... secret_key=... region=...")
        }
        Error::NotAnStsRole { mount, role } => format!("awscreds read {mount}/creds/{role}"),
        Error::MfaCodeRequired { path, .. } => format!("awscreds read {path} mfa_code=123456"),
        Error::BadTemplate { .. } => "placeholders are {{role}}, {{role N}}, {{mount}}, \
            {{mount N}}, {{type}}, {{unix_time}} and {{random N}}; see awscreds help \
            aws/config/root"
            .into(),
        Error::UnknownBackend { .. } => {
            "awscreds has one backend: awscreds mount aws [--path NAME]".into()
        }
        Error::MountExists { path } => format!(
            "choose another path (awscreds mount aws --path NAME) or remove it first \
             (awscreds unmount {path})"
        ),
        // With nothing mounted, "awscreds mount aws" is the whole answer: said once.
        Error::NoDefaultMount { mounts, .. } if mounts.is_empty() => {
            "mount the backend first: awscreds mount aws".into()
        }
        Error::NoDefaultMount { mounts, .. } => {
            format!(
                "mount the backend first: awscreds mount aws; {}",
                mounts_hint(mounts)
            )
        }
        Error::NoMount { mounts, .. } => {
            format!("{}; {}", mounts_hint(mounts), routes::routes_hint("MOUNT"))
        }
        Error::NoRoute { mount, .. } => routes::routes_hint(mount),
        Error::Unsupported { path, allowed, .. } => {
            let tries: Vec<String> = allowed
                .iter()
                .map(|o: &Op| format!("awscreds {} {path}", o.name()))
                .collect();
            format!("try {}", tries.join(" or "))
        }
        Error::LeaseCapReached {
            mount,
            role,
            path,
            scope,
            ..
        } => match scope {
            CapScope::Role => format!(
                "awscreds lease list {path} shows them; revoke some, or raise max_leases \
                 (awscreds write {mount}/roles/{role} max_leases=N)"
            ),
            CapScope::Mount => format!(
                "awscreds lease list {mount}/ shows them; revoke some, or raise max_leases \
                 (awscreds write {mount}/config/lease max_leases=N)"
            ),
        },
        Error::LeaseNotActive { .. } => {
            "renew it once it is active (awscreds lease lookup ID)".into()
        }
        Error::LeaseAtMaximum { max_expires_at, .. } => format!(
            "it expires at {} (issue time + lease_max); read new credentials instead",
            crate::output::timestamp(*max_expires_at)
        ),
        Error::PendingUserNotVisible { .. } => {
            "the lease is kept; awscreds sweep settles it".into()
        }
        Error::RevokedWhileIssuing { undo, .. } => return undo.map(undo_hint),
        Error::UnmountStopped { mount, .. } => format!(
            "fix the cause and run awscreds unmount {mount} again; the lease stays and \
             awscreds sweep retries it"
        ),
        Error::IssuedWhileUnmounting { mount } => format!("run awscreds unmount {mount} again"),
        Error::Cloud { after, .. } => return after.map(undo_hint),
        Error::SealKey(e) => match e {
            KeyFileError::TooOpen { path, .. } => format!("chmod 600 {}", path.display()),
            KeyFileError::Missing { .. } | KeyFileError::WrongKey { .. } => format!(
                "restore the key file from its backup, or set {} to where it is; commands that \
                 need no secret still work",
                EnvVars::AWSCREDS_SEAL_KEY_FILE
            ),
            KeyFileError::NotAKey { .. } | KeyFileError::Io { .. } => return None,
        },
        Error::CannotRun { .. } => {
            "the credentials were revoked again; check the command and its PATH".into()
        }
        Error::AuditFailed { .. } => {
            "fix the device (disk, permissions), or awscreds audit disable PATH; awscreds \
             audit list shows the devices"
                .into()
        }
        Error::Sealing { .. } => "awscreds seal status shows how the database is sealed".into(),
    };
    Some(hint)
}

fn undo_hint(undo: Undo) -> String {
    match undo {
        Undo::RolledBack => "the IAM user was deleted again; nothing was left behind",
        Undo::CleanupPending => {
            "the IAM user could not be deleted yet; the lease stays pending and awscreds sweep \
             deletes it"
        }
        Undo::LeftPending => {
            "the lease stays pending; awscreds sweep deletes the user if AWS created it"
        }
        Undo::KeptForRetry => {
            "they are kept and retried by awscreds sweep; awscreds lease list shows their errors"
        }
    }
    .to_string()
}

fn mounts_hint(mounts: &[String]) -> String {
    if mounts.is_empty() {
        "nothing is mounted yet (awscreds mount aws)".to_string()
    } else {
        let names: Vec<String> = mounts.iter().map(|m| format!("{m}/")).collect();
        format!("mounts: {}", names.join(", "))
    }
}
