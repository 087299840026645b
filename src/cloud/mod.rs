//! The AWS side behind a small trait: the IAM calls that issuing and revoking need. The real
//! implementation is the AWS SDK (`aws.rs`); unit tests of the engine's logic may use the
//! in-memory fake (`fake.rs`, test builds only). This layer knows nothing of SQLite or the terminal.

mod aws;
#[cfg(test)]
pub mod fake;

pub use aws::{AwsConnector, region};

use std::future::Future;

pub use crate::model::Attachment;
use crate::model::{Credential, CredentialType, RootConfig};

/// How many times a call is tried when AWS throttles, fails with 5xx or cannot be reached: the
/// SDK's standard retry mode, exponential backoff with jitter.
pub const MAX_ATTEMPTS: u32 = 5;

/// An AWS call that failed, sorted once (in `aws.rs`) into the cases the engine treats
/// differently. Messages carry AWS's own text, never a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    /// The IAM entity does not exist (any more).
    #[error("NoSuchEntity: {0}")]
    NoSuchEntity(String),
    /// The IAM entity exists already.
    #[error("EntityAlreadyExists: {0}")]
    AlreadyExists(String),
    /// IAM refuses to delete a user while something is still attached to it.
    #[error("DeleteConflict: {0}")]
    DeleteConflict(String),
    /// AWS asked us to slow down and the retries did not get through.
    #[error("throttled by AWS, gave up after {attempts}: {message}")]
    Throttled { message: String, attempts: Attempts },
    /// AWS answered with an error of the request (HTTP 4xx) and its code.
    #[error("{code}: {message}")]
    Refused { code: String, message: String },
    /// AWS could not be reached, or did not answer in time, after every retry.
    #[error("cannot reach AWS at {endpoint}: {reason} (gave up after {attempts})")]
    Unreachable {
        endpoint: String,
        reason: String,
        attempts: Attempts,
    },
    /// AWS failed (HTTP 5xx) on every attempt.
    #[error("AWS failed, gave up after {attempts}: {message}")]
    ServerError { message: String, attempts: Attempts },
    #[error("{0}")]
    Other(String),
}

/// How many times a call was tried: "1 attempt", "5 attempts".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts(pub u32);

impl std::fmt::Display for Attempts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            1 => f.write_str("1 attempt"),
            n => write!(f, "{n} attempts"),
        }
    }
}

impl CloudError {
    /// A refusal of the request itself, which proves that no attempt of it did anything (the
    /// SDK retries, and an earlier attempt that timed out may have succeeded before a later one
    /// was throttled or hit a quota: those prove nothing).
    pub fn proves_nothing_done(&self) -> bool {
        match self {
            CloudError::AlreadyExists(_) => true,
            CloudError::Refused { code, .. } => {
                [
                    "InvalidInput",
                    "ValidationError",
                    "MalformedPolicyDocument",
                    "AccessDenied",
                    "InvalidClientTokenId",
                    "SignatureDoesNotMatch",
                ]
                .contains(&code.as_str())
                    // An answer without a code: an HTTP 4xx refused the request itself.
                    || code.starts_with("HTTP 4")
            }
            _ => false,
        }
    }

    /// An error that AWS answered (rather than one of reaching it).
    pub fn is_answer(&self) -> bool {
        matches!(
            self,
            CloudError::AlreadyExists(_)
                | CloudError::DeleteConflict(_)
                | CloudError::Refused { .. }
        )
    }
}

/// A new IAM user's attributes.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub name: &'a str,
    pub path: &'a str,
    pub tags: &'a [(String, String)],
    pub permissions_boundary: Option<&'a str>,
}

/// One STS call: AssumeRole, GetFederationToken or GetSessionToken, by `kind`.
#[derive(Debug, Clone)]
pub struct StsRequest<'a> {
    pub kind: CredentialType,
    /// AssumeRole only.
    pub role_arn: &'a str,
    /// The role session name (AssumeRole) or federated user name (GetFederationToken).
    pub name: &'a str,
    pub duration_seconds: i32,
    pub policy: Option<&'a str>,
    pub policy_arns: &'a [String],
    pub tags: &'a [(String, String)],
    pub external_id: Option<&'a str>,
    /// (serial number, code)
    pub mfa: Option<(&'a str, &'a str)>,
}

/// Temporary credentials from STS.
#[derive(Clone, PartialEq, Eq)]
pub struct StsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Unix seconds.
    pub expiration: i64,
    /// The assumed role's or federated user's ARN.
    pub arn: Option<String>,
}

impl std::fmt::Debug for StsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .field("arn", &self.arn)
            .finish_non_exhaustive()
    }
}

/// An access key as IAM returns it once, at creation.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

pub type Result<T, E = CloudError> = std::result::Result<T, E>;

/// The IAM operations awscreds performs. Listing operations return everything (they follow
/// pagination markers).
#[allow(async_fn_in_trait)] // single-threaded runtime: no Send bound wanted
pub trait Cloud {
    async fn create_user(&self, user: &NewUser<'_>) -> Result<()>;
    async fn put_user_policy(&self, user: &str, policy_name: &str, document: &str) -> Result<()>;
    async fn create_access_key(&self, user: &str) -> Result<AccessKey>;
    /// Attaches a managed policy (by ARN) or adds the user to a group.
    async fn attach(&self, user: &str, kind: Attachment, id: &str) -> Result<()>;
    /// The ids of what of `kind` is attached to `user`.
    async fn list(&self, user: &str, kind: Attachment) -> Result<Vec<String>>;
    async fn remove(&self, user: &str, kind: Attachment, id: &str) -> Result<()>;
    async fn delete_login_profile(&self, user: &str) -> Result<()>;
    async fn delete_user(&self, user: &str) -> Result<()>;
    /// The names of the users under an IAM path.
    async fn list_users(&self, path_prefix: &str) -> Result<Vec<String>>;
    async fn user_tags(&self, user: &str) -> Result<Vec<(String, String)>>;
    /// A group's policies: (inline policy documents, managed policy ARNs).
    async fn group_policies(&self, group: &str) -> Result<(Vec<String>, Vec<String>)>;
    /// The name of the IAM user whose credentials make the calls.
    async fn caller_user_name(&self) -> Result<String>;
    async fn sts(&self, request: &StsRequest<'_>) -> Result<StsCredentials>;
    /// GetCallerIdentity signed with `credential` itself (not the root keys), tried once: the
    /// caller's ARN. A new IAM access key is refused (InvalidClientTokenId) until it propagated.
    async fn caller_with(&self, credential: &Credential) -> Result<String>;
    /// Whether the client itself retries a call that AWS throttles (the default, with the SDK's
    /// backoff). A sweep turns this off and paces its calls itself, so that it sees every
    /// `Throttling` answer at once and slows down ([`CloudError::Throttled`] after one attempt).
    fn retry_throttling(&self, retry: bool) {
        let _ = retry;
    }
}

/// A data key from KMS: in the clear (to use, then forget) and encrypted (to store).
pub struct DataKey {
    pub plaintext: zeroize::Zeroizing<Vec<u8>>,
    pub ciphertext: Vec<u8>,
}

/// AWS KMS, for envelope encryption of a database's data key.
#[allow(async_fn_in_trait)]
pub trait Kms {
    /// GenerateDataKey (AES_256) under `key_id`.
    async fn generate_data_key(&self, key_id: &str) -> Result<DataKey>;
    /// Encrypt: wraps an existing data key under `key_id`.
    async fn encrypt(&self, key_id: &str, plaintext: &[u8]) -> Result<Vec<u8>>;
    /// Decrypt: unwraps a data key (KMS knows the key from the ciphertext).
    async fn decrypt(&self, ciphertext: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>>;
}

/// Makes a [`Cloud`] for a mount's root configuration, and the [`Kms`] of this machine's
/// standard AWS configuration (never a mount's root keys, which are themselves sealed).
/// Connecting does no network I/O; it is done only by commands that are about to call AWS.
pub trait Connector {
    type Cloud: Cloud;
    type Kms: Kms;
    /// `secret_key` is the root configuration's secret, unsealed (empty: none).
    fn connect(
        &self,
        config: &RootConfig,
        secret_key: &str,
    ) -> impl Future<Output = Result<Self::Cloud>>;
    fn kms(&self) -> impl Future<Output = Result<Self::Kms>>;
}
