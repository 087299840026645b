//! The errors that cross module boundaries and the exit status each one maps to:
//! 0 success, 1 bad input or a local failure, 2 the AWS side failed.

use crate::cloud::CloudError;
use crate::store::StoreError;

/// What the process exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    /// Bad input or a local failure (database, files).
    Failure = 1,
    /// AWS refused or could not be reached.
    Cloud = 2,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user asked for something that cannot be done as asked; nothing was changed.
    #[error("{message}")]
    Input {
        message: String,
        hint: Option<String>,
    },
    /// A required parameter is missing; `secret` parameters may be prompted for on a terminal.
    #[error("missing required parameter \"{param}\" for {path}")]
    MissingParam {
        param: &'static str,
        path: String,
        secret: bool,
        hint: String,
    },
    #[error("No value found at {0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An AWS call failed; `action` says what awscreds was doing. The cause is part of the
    /// message (not a `source`), so that it is printed once.
    #[error("{action}: {cause}")]
    Cloud {
        action: String,
        cause: CloudError,
        hint: Option<String>,
    },
}

impl Error {
    pub fn input(message: impl Into<String>) -> Self {
        Error::Input {
            message: message.into(),
            hint: None,
        }
    }

    pub fn input_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Input {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn cloud(action: impl Into<String>, source: CloudError) -> Self {
        Error::Cloud {
            action: action.into(),
            cause: source,
            hint: None,
        }
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Input { hint, .. } | Error::Cloud { hint, .. } => hint.as_deref(),
            Error::MissingParam { hint, .. } => Some(hint),
            Error::NotFound(_) | Error::Store(_) => None,
        }
    }

    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Cloud { .. } => ExitStatus::Cloud,
            _ => ExitStatus::Failure,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
