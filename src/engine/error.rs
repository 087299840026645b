//! The engine's errors, in the domain's terms. Each displays as one line that says what is wrong;
//! causes are `source`s, never repeated in the message. The engine names no command: the CLI
//! turns each variant into a `hint:` line and an exit status (`cli/report.rs`).

use crate::cloud::CloudError;
use crate::params::ParamError;
use crate::seal::keyfile::KeyFileError;
use crate::store::{CapScope, StoreError};

use super::routes::Op;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user asked for something that cannot be done as asked; nothing was changed. The hint,
    /// if any, names no command.
    #[error("{message}")]
    Invalid {
        message: String,
        hint: Option<String>,
    },
    /// A required parameter is missing; `secret` parameters may be prompted for on a terminal.
    /// `with` are the parameters a complete write gives.
    #[error("missing required parameter \"{param}\" for {path}")]
    MissingParam {
        param: &'static str,
        path: String,
        secret: bool,
        with: Vec<&'static str>,
    },
    /// A write with no parameters to a path that takes some.
    #[error("nothing to write to {path}")]
    NothingToWrite { path: String },
    /// Vault's answer for a path that holds nothing.
    #[error("No value found at {path}")]
    NotFound { path: String },
    #[error("Role \"{role}\" not found")]
    RoleNotFound { mount: String, role: String },
    #[error("{mount}/config/root is not configured")]
    NotConfigured { mount: String },
    #[error("role \"{role}\" is an iam_user role; sts/ is for STS credential types")]
    NotAnStsRole { mount: String, role: String },
    #[error("mfa_code is required: role \"{role}\" has an MFA device")]
    MfaCodeRequired { role: String, path: String },
    #[error("{message}")]
    BadTemplate { message: String },
    #[error("unknown backend type \"{kind}\"")]
    UnknownBackend { kind: String },
    #[error("existing mount at '{path}'")]
    MountExists { path: String },
    /// A path relative to the default mount, which does not exist.
    #[error("no mount at '{mount}' for path \"{path}\"")]
    NoDefaultMount {
        mount: &'static str,
        path: String,
        mounts: Vec<String>,
    },
    #[error("no mount for path \"{path}\"")]
    NoMount { path: String, mounts: Vec<String> },
    #[error("no route \"{path}\"")]
    NoRoute { path: String, mount: String },
    #[error("{op} is not supported on {path}", op = op.name())]
    Unsupported {
        op: Op,
        path: String,
        allowed: &'static [Op],
    },
    /// Issuing would exceed a `max_leases` cap: nothing was done. `path` is where credentials
    /// were asked for (`MOUNT/creds/ROLE`), under which the role's leases are listed.
    #[error(
        "lease cap reached: {what} has {count} live leases, its max_leases is {cap}",
        what = match scope {
            CapScope::Role => format!("role \"{role}\""),
            CapScope::Mount => format!("mount \"{mount}\""),
        }
    )]
    LeaseCapReached {
        mount: String,
        role: String,
        path: String,
        scope: CapScope,
        cap: u64,
        count: u64,
    },
    #[error("lease not found: {id}")]
    LeaseNotFound { id: String },
    #[error("lease {id} is still being issued and cannot be renewed")]
    LeaseNotActive { id: String },
    #[error("lease {id} is already at its maximum and cannot be renewed")]
    LeaseAtMaximum { id: String, max_expires_at: i64 },
    #[error("lease {id} is pending and IAM does not show its user {iam_user} yet")]
    PendingUserNotVisible { id: String, iam_user: String },
    /// Issuing was cut short by a revocation of its pending lease.
    #[error("lease {id} was revoked while it was being issued")]
    RevokedWhileIssuing { id: String, undo: Option<Undo> },
    /// `unmount` revoked some leases and stopped at one it could not; nothing was removed.
    #[error(
        "unmounting '{mount}' stopped at lease {lease_id} ({done} of {total} revoked, nothing \
         removed)"
    )]
    UnmountStopped {
        mount: String,
        lease_id: String,
        done: usize,
        total: usize,
        #[source]
        cause: Box<Error>,
    },
    #[error("new leases were issued from '{mount}' while unmounting")]
    IssuedWhileUnmounting { mount: String },
    /// The key file that wraps the data key cannot be used.
    #[error(transparent)]
    SealKey(KeyFileError),
    /// Sealing or unsealing a secret failed.
    #[error("cannot unseal the database's secrets: {message}")]
    Sealing { message: String },
    /// `exec`'s program could not be started; `code` is what a shell exits with then (127 not
    /// found, 126 not runnable).
    #[error("cannot run {command}: {reason}")]
    CannotRun {
        command: String,
        reason: String,
        code: u8,
    },
    /// An enabled audit device cannot be written: nothing was done (fail closed).
    #[error("{message}; nothing was done")]
    AuditFailed { message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An AWS call failed; `action` says what awscreds was doing, `after` what it did about it.
    #[error("{action}")]
    Cloud {
        action: String,
        #[source]
        cause: CloudError,
        after: Option<Undo>,
    },
}

/// What awscreds did about a failure: what became of a half-made IAM user, or of leases that
/// could not be revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undo {
    /// The IAM user was deleted again; nothing was left behind.
    RolledBack,
    /// The user could not be deleted yet: its lease stays pending for a sweep.
    CleanupPending,
    /// It is unknown whether AWS created the user: the lease stays pending for a sweep.
    LeftPending,
    /// Leases that could not be revoked are kept, with their errors, for a sweep to retry.
    KeptForRetry,
}

impl Error {
    pub fn input(message: impl Into<String>) -> Self {
        Error::Invalid {
            message: message.into(),
            hint: None,
        }
    }

    pub fn input_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Invalid {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn cloud(action: impl Into<String>, cause: CloudError) -> Self {
        Error::Cloud {
            action: action.into(),
            cause,
            after: None,
        }
    }

    /// Whether AWS failed (rather than the input or something local).
    pub fn is_cloud(&self) -> bool {
        match self {
            Error::Cloud { .. } => true,
            Error::UnmountStopped { cause, .. } => cause.is_cloud(),
            _ => false,
        }
    }

    /// The message with its causes, on one line: what a lease records as its last error and a
    /// sweep reports.
    pub fn chain(&self) -> String {
        let mut line = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            line.push_str(": ");
            line.push_str(&cause.to_string());
            source = cause.source();
        }
        line
    }
}

impl From<ParamError> for Error {
    fn from(e: ParamError) -> Self {
        Error::Invalid {
            message: e.message,
            hint: e.hint,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
