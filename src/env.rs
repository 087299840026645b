//! Every environment variable awscreds reads, in one place, so README and code cannot drift apart.
//! The standard AWS variables (`AWS_ENDPOINT_URL*`, `AWS_REGION`, `AWS_PROFILE`, ...) are read by the
//! AWS SDK itself and are listed here only for documentation.

pub struct EnvVars;

impl EnvVars {
    /// Path of the SQLite database; `--db` wins over it.
    pub const AWSCREDS_DB: &'static str = "AWSCREDS_DB";
    /// The region for API calls when `config/root` has none (then AWS_DEFAULT_REGION, then
    /// us-east-1).
    pub const AWS_REGION: &'static str = "AWS_REGION";
    pub const AWS_DEFAULT_REGION: &'static str = "AWS_DEFAULT_REGION";
    /// Read by the AWS SDK: endpoint for every service (how one points awscreds at an emulator).
    pub const AWS_ENDPOINT_URL: &'static str = "AWS_ENDPOINT_URL";
    /// Read by the AWS SDK: endpoint for IAM only.
    pub const AWS_ENDPOINT_URL_IAM: &'static str = "AWS_ENDPOINT_URL_IAM";
    /// Read by the AWS SDK: endpoint for STS only.
    pub const AWS_ENDPOINT_URL_STS: &'static str = "AWS_ENDPOINT_URL_STS";
    /// Read by the AWS SDK: endpoint for KMS only (the seal's, when it is KMS).
    pub const AWS_ENDPOINT_URL_KMS: &'static str = "AWS_ENDPOINT_URL_KMS";
    /// The key file that wraps the database's data key [default: `<database>.key`].
    pub const AWSCREDS_SEAL_KEY_FILE: &'static str = "AWSCREDS_SEAL_KEY_FILE";
    /// Set by `awscreds exec` for its program: the lease that takes its credentials back. An
    /// `exec` that finds it refuses unless `--nested`.
    pub const AWSCREDS_LEASE_ID: &'static str = "AWSCREDS_LEASE_ID";
    /// Removed from the environment of a program run by `exec`: they would pick other
    /// credentials than the ones it hands over.
    pub const EXEC_REMOVED: [&'static str; 9] = [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SECURITY_TOKEN",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWS_SDK_LOAD_CONFIG",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ];
    /// The calling user, as audit entries name it (then LOGNAME, then the uid's name).
    pub const USER: &'static str = "USER";
    pub const LOGNAME: &'static str = "LOGNAME";
    /// This host's name, for audit entries, when the kernel does not say.
    pub const HOSTNAME: &'static str = "HOSTNAME";
}
