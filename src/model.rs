//! The domain nouns shared by the engine and the store: plain data, no behaviour that touches AWS
//! or SQLite.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One independent instance of the AWS backend: its own root credentials, lease settings, roles
/// and leases (one per AWS account, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted, without a trailing slash: `aws`, `prod`, `team/aws`.
    pub path: String,
    /// The backend type; only `aws` exists.
    pub kind: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// The credentials awscreds uses to manage IAM for one mount (`MOUNT/config/root`). Empty keys
/// mean the standard AWS credential chain (environment, profiles, SSO, container and instance
/// roles); an empty region means AWS_REGION, AWS_DEFAULT_REGION, then us-east-1.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RootConfig {
    pub access_key: String,
    /// The secret key, sealed (see `seal/`); empty when there is none. Never in the clear.
    #[serde(
        rename = "sealed_secret_key",
        with = "base64_bytes",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sealed_secret_key: Vec<u8>,
    /// A secret key in the clear, as databases of earlier versions stored it: read only so that
    /// it is sealed on open, and never written back.
    #[serde(rename = "secret_key", skip_serializing)]
    pub legacy_secret_key: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sts_endpoint: Option<String>,
    /// A profile of the shared AWS config files, for the credential chain.
    pub profile: String,
    /// Retries after the first attempt; `None`: the default (4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// How IAM user names are made (see `engine/template.rs`); empty: the default.
    pub username_template: String,
    /// How STS session and federated user names are made; empty: the default.
    pub sts_name_template: String,
    /// Seconds between scheduled rotations of the root key (`sweep` rotates it when due);
    /// 0: never.
    #[serde(skip_serializing_if = "is_zero")]
    pub rotation_period: u64,
    /// When the root key was last replaced by a rotation (rotate-root or a sweep).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_rotated: Option<i64>,
    /// When the current root key came into use (written, or made by a rotation): the key's age,
    /// from which `rotation_period` counts. `None` for configurations older than this field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_since: Option<i64>,
    /// A rotation under way, or cut short by a crash: recorded before CreateAccessKey, so that
    /// the next command that calls AWS for this mount finishes or undoes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation: Option<RotationIntent>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl RootConfig {
    /// Whether the keys are awscreds' own (rather than from the credential chain).
    pub fn has_keys(&self) -> bool {
        !self.access_key.is_empty()
    }

    /// When the root key is next due for a scheduled rotation; `None` when it never is (no
    /// `rotation_period`, or keys from the credential chain).
    pub fn next_rotation(&self) -> Option<i64> {
        if self.rotation_period == 0 || !self.has_keys() {
            return None;
        }
        let since = self.key_since.max(self.last_rotated).unwrap_or(0);
        Some(since.saturating_add(self.rotation_period as i64))
    }
}

/// What a root key rotation recorded before its first change at AWS (see `engine/rotation.rs`).
/// Until `new_key` is set the stored key is still `old_key`, and any key of `user` that is
/// neither in `keys_before` nor the stored key was made by the rotation and never saved; once
/// it is set the new key is stored (in the same write) and `old_key` is to be deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RotationIntent {
    /// The IAM user of the root keys.
    pub user: String,
    pub old_key: String,
    /// The user's access keys before CreateAccessKey.
    pub keys_before: Vec<String>,
    /// The key CreateAccessKey made, once it is stored as the root key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_key: Option<String>,
    /// Unix seconds.
    pub started_at: i64,
}

/// Bytes as base64 text in JSON.
mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// The secret key must never reach a log or an error message, not even through `{:?}`.
impl std::fmt::Debug for RootConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootConfig")
            .field("access_key", &self.access_key)
            .field("sealed_secret_key", &self.sealed_secret_key.len())
            .field("region", &self.region)
            .field("iam_endpoint", &self.iam_endpoint)
            .field("sts_endpoint", &self.sts_endpoint)
            .field("profile", &self.profile)
            .field("max_retries", &self.max_retries)
            .field("rotation_period", &self.rotation_period)
            .field("last_rotated", &self.last_rotated)
            .field("key_since", &self.key_since)
            .field("rotation", &self.rotation)
            .finish_non_exhaustive()
    }
}

/// How long issued IAM-user credentials live (`MOUNT/config/lease`), in seconds, and how many
/// leases the mount may hold at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseConfig {
    pub lease: u64,
    pub lease_max: u64,
    /// The most live leases of the whole mount (see [`Role::max_leases`]); 0: no cap.
    #[serde(default)]
    pub max_leases: u64,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        LeaseConfig {
            lease: 3600,
            lease_max: 24 * 3600,
            max_leases: 0,
        }
    }
}

/// What a role's credentials are: an IAM user with an access key, or temporary STS
/// credentials of one of three kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CredentialType {
    #[default]
    IamUser,
    AssumedRole,
    FederationToken,
    SessionToken,
}

impl CredentialType {
    pub const ALL: [CredentialType; 4] = [
        CredentialType::IamUser,
        CredentialType::AssumedRole,
        CredentialType::FederationToken,
        CredentialType::SessionToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CredentialType::IamUser => "iam_user",
            CredentialType::AssumedRole => "assumed_role",
            CredentialType::FederationToken => "federation_token",
            CredentialType::SessionToken => "session_token",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// STS credentials expire by themselves and cannot be revoked at AWS.
    pub fn is_sts(self) -> bool {
        self != CredentialType::IamUser
    }
}

/// A named role: what credentials issued for it are and may do. Empty strings, lists and maps,
/// and zero durations, mean "not set".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Role {
    pub name: String,
    pub credential_type: CredentialType,
    /// An IAM policy document, compacted JSON. The seed's `policy` is its alias.
    #[serde(alias = "policy")]
    pub policy_document: String,
    pub policy_arns: Vec<String>,
    pub iam_groups: Vec<String>,
    pub iam_tags: BTreeMap<String, String>,
    pub user_path: String,
    pub permissions_boundary_arn: String,
    pub role_arns: Vec<String>,
    /// Seconds.
    pub default_sts_ttl: u64,
    /// Seconds.
    pub max_sts_ttl: u64,
    pub session_tags: BTreeMap<String, String>,
    pub external_id: String,
    pub mfa_serial_number: String,
    /// The most live leases of this role at once; 0: no cap. A lease is live from the moment
    /// issuing records it until its record is gone: pending, active, expired but not revoked
    /// yet, or failing revocation (it still holds an IAM user, or an STS credential that is
    /// still valid).
    pub max_leases: u64,
}

/// Where a lease is in its life. A lease row exists from before the first IAM call until its IAM
/// user is confirmed gone, so a crash at any instant leaves a row that a sweep will clean up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    /// Issuing has begun; the IAM user may or may not exist yet.
    Pending,
    /// The credential was handed out.
    Active,
}

impl LeaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaseState::Pending => "pending",
            LeaseState::Active => "active",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(LeaseState::Pending),
            "active" => Some(LeaseState::Active),
            _ => None,
        }
    }
}

/// What can hang off an IAM user and must be removed before IAM lets the user be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attachment {
    AccessKey,
    /// Inline policies, by name.
    InlinePolicy,
    /// Managed policies, by ARN.
    ManagedPolicy,
    Group,
    /// MFA devices, by serial number; removing one deactivates it.
    MfaDevice,
    SshPublicKey,
    SigningCertificate,
    ServiceSpecificCredential,
}

impl Attachment {
    /// What awscreds itself puts on a user: removed before every DeleteUser.
    pub const OWN: [Attachment; 2] = [Attachment::AccessKey, Attachment::InlinePolicy];
    /// What someone else may have added: removed only when IAM refuses DeleteUser.
    pub const OTHERS: [Attachment; 6] = [
        Attachment::ManagedPolicy,
        Attachment::Group,
        Attachment::MfaDevice,
        Attachment::SshPublicKey,
        Attachment::SigningCertificate,
        Attachment::ServiceSpecificCredential,
    ];
}

/// A credential that awscreds handed out and must take back. Times are unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// `MOUNT/creds/ROLE/<uuid>` (or `MOUNT/sts/ROLE/<uuid>`).
    pub id: String,
    pub mount: String,
    pub role: String,
    /// The IAM user; for STS credentials, the session's name (federated user, role session).
    pub iam_user: String,
    pub access_key_id: Option<String>,
    pub state: LeaseState,
    pub issued_at: i64,
    /// When the credential stops being valid (what the user was promised).
    pub expires_at: i64,
    /// The latest `expires_at` may ever reach (issue time + `lease_max`).
    pub max_expires_at: i64,
    /// When a sweep should next look at this lease: `expires_at`, or later while a sweep holds it
    /// or after a failed revocation (backoff).
    pub due_at: i64,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// For a pending lease: the lock token of the process issuing it (see `owner.rs`), or
    /// [`Lease::TAKEN`] once a revocation took it from its issuer.
    pub owner: Option<String>,
    /// What the credential is; STS leases have no IAM user to delete.
    pub kind: CredentialType,
    /// What issuing attached to the IAM user (key, policies, groups), known once the lease is
    /// active, so that revoking removes exactly that without listing first. `None` for a pending
    /// lease (issuing may have stopped anywhere) and for leases older than this field.
    pub attached: Option<Vec<(Attachment, String)>>,
    /// How long the new access key took to work at AWS, when the issuer waited for it (`--wait`).
    pub key_wait_ms: Option<u64>,
    /// For a lease that `credential-process` keeps for reuse: its credential's secret parts,
    /// sealed (see `engine/cache.rs`). `None` for every other lease: issued secrets are not kept.
    pub cached_secret: Option<Vec<u8>>,
}

impl Lease {
    /// The owner of a pending lease that a revocation took from its issuer (`Store::take_pending`).
    pub const TAKEN: &'static str = "revoking";

    /// Whether a revocation has taken this pending lease from its issuer: its issuer cannot
    /// activate it any more, and its `due_at` is its revocation's retry time.
    pub fn taken(&self) -> bool {
        self.owner.as_deref() == Some(Lease::TAKEN)
    }
}

/// Credentials as handed out: an IAM user's access key, or temporary STS credentials with their
/// session token. `{:?}` never shows the secret parts.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// STS credentials only.
    pub session_token: Option<String>,
    /// When the credential stops working (unix seconds): the lease's end for an IAM user, STS's
    /// expiration for temporary credentials.
    pub expires_at: i64,
    /// The assumed role's or federated user's ARN (STS).
    pub arn: Option<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("expires_at", &self.expires_at)
            .field("arn", &self.arn)
            .finish_non_exhaustive()
    }
}

/// The root configuration as it may be shown: everything but the secret key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootConfigView {
    pub access_key: String,
    pub region: String,
    pub iam_endpoint: Option<String>,
    pub sts_endpoint: Option<String>,
    pub profile: String,
    pub max_retries: Option<u32>,
    pub username_template: String,
    pub sts_name_template: String,
    /// Seconds; 0: never.
    pub rotation_period: u64,
    pub last_rotated: Option<i64>,
    pub next_rotation: Option<i64>,
}

impl From<&RootConfig> for RootConfigView {
    fn from(c: &RootConfig) -> Self {
        RootConfigView {
            access_key: c.access_key.clone(),
            region: c.region.clone(),
            iam_endpoint: c.iam_endpoint.clone(),
            sts_endpoint: c.sts_endpoint.clone(),
            profile: c.profile.clone(),
            max_retries: c.max_retries,
            username_template: c.username_template.clone(),
            sts_name_template: c.sts_name_template.clone(),
            rotation_period: c.rotation_period,
            last_rotated: c.last_rotated,
            next_rotation: c.next_rotation(),
        }
    }
}

/// How a database's data key is stored: wrapped by a key file or by AWS KMS.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealRecord {
    pub wrapping: Wrapping,
    /// The data key, encrypted by the key file's key or by KMS (its CiphertextBlob).
    #[serde(with = "base64_bytes")]
    pub wrapped_key: Vec<u8>,
}

impl std::fmt::Debug for SealRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealRecord")
            .field("wrapping", &self.wrapping)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Wrapping {
    /// A key file; `path` as `seal file PATH` named it, else the default place.
    File {
        path: Option<String>,
    },
    Kms {
        key_id: String,
    },
}

/// An audit device (`audit enable file file_path=PATH`): where request and response entries go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDevice {
    /// Where it is enabled, without a trailing slash: `file`, `file2`.
    pub path: String,
    /// The device type; only `file` exists.
    pub kind: String,
    /// `file_path` (a path, or `stdout`), as given.
    pub options: std::collections::BTreeMap<String, String>,
    pub created_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_key_is_due_a_period_after_it_came_into_use() {
        let mut config = RootConfig {
            access_key: "AKIA".into(),
            key_since: Some(1_000),
            ..RootConfig::default()
        };
        assert_eq!(config.next_rotation(), None, "no period: never");
        config.rotation_period = 3600;
        assert_eq!(config.next_rotation(), Some(4_600));
        config.last_rotated = Some(2_000);
        assert_eq!(
            config.next_rotation(),
            Some(5_600),
            "from the later of the two"
        );
        config.access_key.clear();
        assert_eq!(config.next_rotation(), None, "the credential chain: never");
    }
}
