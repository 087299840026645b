//! The route table: every path under a mount, with its operations, parameters, outputs and
//! help text. Parsing, printing paths, parameter checks and path help all read it.

use super::Op;

/// What `awscreds help MOUNT` says of the backend.
pub const BACKEND_DESCRIPTION: &str =
    "The AWS backend dynamically generates AWS access keys for a set of IAM \
policies. The AWS access keys have a configurable lease set and are automatically revoked at the \
end of the lease: the next awscreds invocation, or \"awscreds sweep\" run from cron, deletes the \
IAM user behind them.

After mounting this backend, credentials to manage IAM must be configured with the \
\"config/root\" path, and roles must be written using the \"roles/\" endpoints before any access \
keys can be generated.";

pub struct Field {
    pub name: &'static str,
    pub kind: &'static str,
    pub description: &'static str,
    pub required: bool,
    /// Prompted for (hidden) on a terminal when missing; never printed.
    pub secret: bool,
}

const fn field(name: &'static str, kind: &'static str, description: &'static str) -> Field {
    Field {
        name,
        kind,
        description,
        required: false,
        secret: false,
    }
}

pub struct RouteSpec {
    /// The route as a regular expression, as Vault's path help shows it.
    pub pattern: &'static str,
    /// The route as users write it (`roles/NAME`).
    pub usage: &'static str,
    pub synopsis: &'static str,
    pub description: &'static str,
    pub ops: &'static [Op],
    /// The fields a read returns, where reading has effects (issuing): `--field` is checked
    /// against them before anything happens.
    pub outputs: &'static [&'static str],
    /// Parameters of `write`.
    pub fields: &'static [Field],
    /// Parameters of `read`.
    pub read_fields: &'static [Field],
}

pub const CONFIG_ROOT: RouteSpec = RouteSpec {
    pattern: "^config/root$",
    usage: "config/root",
    synopsis: "Configure the root credentials that are used to manage IAM.",
    description:
        "Before doing anything, the AWS backend needs credentials that are able to manage \
IAM users, policies and access keys. This endpoint is used to configure those credentials. Leave \
access_key and secret_key out to use the standard AWS credential chain (environment, shared \
config and credentials files with profile, SSO and credential_process, web identity, container \
and instance roles). A write changes only the parameters it gives; give one empty to unset it. \
Reading shows everything but the secret key, which is never printed.

Name templates: text with the placeholders {{role}}, {{role N}} (cut to N characters), {{mount}}, \
{{mount N}}, {{type}} (the credential type), {{unix_time}} and {{random N}} (N random letters and \
digits); other characters must be letters, digits or _+=,.@-. The longest name a template can \
make must fit IAM's 64 characters (username_template) or STS's 32 (sts_name_template); this is \
checked when the template is written.",
    ops: &[Op::Read, Op::Write],
    outputs: &[],
    fields: &[
        field(
            "access_key",
            "string",
            "Access key with permission to create and delete IAM users, policies and keys; \
             empty: the AWS credential chain",
        ),
        Field {
            name: "secret_key",
            kind: "string",
            description: "Secret key of access_key; prompted for (hidden) on a terminal when \
access_key is given without it",
            required: false,
            secret: true,
        },
        field(
            "region",
            "string",
            "Region for API calls (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1)",
        ),
        field(
            "iam_endpoint",
            "string",
            "Endpoint URL for IAM calls (default: AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL, or AWS)",
        ),
        field(
            "sts_endpoint",
            "string",
            "Endpoint URL for STS calls (default: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, or AWS)",
        ),
        field(
            "profile",
            "string",
            "Profile of the shared AWS config files for the credential chain",
        ),
        field(
            "max_retries",
            "int",
            "Retries of a throttled or failed AWS call (0-10; default 4, -1: the default)",
        ),
        field(
            "username_template",
            "string",
            "Template of IAM user names (default awscreds-{{role 27}}-{{unix_time}}-{{random 16}})",
        ),
        field(
            "sts_name_template",
            "string",
            "Template of STS role session and federated user names (default \
             awscreds-{{unix_time}}-{{random 12}})",
        ),
        field(
            "rotation_period",
            "duration",
            "Rotate the root key when it is this old, on the next awscreds sweep (such as \
             720h); empty or 0: never",
        ),
    ],
    read_fields: &[],
};

pub const CONFIG_ROTATE_ROOT: RouteSpec = RouteSpec {
    pattern: "^config/rotate-root$",
    usage: "config/rotate-root",
    synopsis: "Replace the root access key with a new one.",
    description: "Creates a new access key for the IAM user of config/root's access key, stores \
it, then deletes the old key using the old credentials, and prints the new access key id. It \
refuses when that user already has two access keys (IAM's limit) or when the root credentials \
come from the AWS credential chain. A new key may take a few seconds to work everywhere (IAM's \
eventual consistency). The rotation is recorded before the new key is made, so that one cut short \
(a crash, kill -9) is finished or undone by the next command that calls AWS: no key is lost and \
none is left behind. With rotation_period set in config/root, awscreds sweep rotates the key \
when it is due.",
    ops: &[Op::Write],
    outputs: &[],
    fields: &[],
    read_fields: &[],
};

pub const CONFIG_LEASE: RouteSpec = RouteSpec {
    pattern: "^config/lease$",
    usage: "config/lease",
    synopsis: "Configure the default lease information for generated credentials.",
    description: "This configures how long generated IAM users and their access keys live. \
\"lease\" is the lifetime given at issue; \"lease_max\" is the longest a lease may ever last. \
Durations are seconds or a number with a unit suffix (s, m, h); hour is the largest unit. When \
never written, lease is 1h and lease_max 24h. lease and lease_max are written together.

\"max_leases\" caps the live leases of the whole mount (0: no cap, the default); a role's own \
max_leases caps its leases. A lease is live from the moment issuing records it until its record \
is gone: pending, active, expired but not revoked yet, or failing revocation. Issuing beyond a cap \
is refused before any AWS call. Written alone, max_leases leaves lease and lease_max as they are.",
    ops: &[Op::Read, Op::Write],
    outputs: &[],
    fields: &[
        field(
            "lease",
            "duration",
            "Default lease for credentials, e.g. 30m or 1h (with lease_max)",
        ),
        field(
            "lease_max",
            "duration",
            "Maximum lease for credentials, at least \"lease\" (with lease)",
        ),
        field(
            "max_leases",
            "int",
            "The most live leases of the mount at once; 0: no cap",
        ),
    ],
    read_fields: &[],
};

pub const ROLE_LIST: RouteSpec = RouteSpec {
    pattern: "^roles/?$",
    usage: "roles/",
    synopsis: "List the existing roles in this backend.",
    description: "Lists the names of the roles of this mount, sorted.",
    ops: &[Op::List],
    outputs: &[],
    fields: &[],
    read_fields: &[],
};

pub const ROLE: RouteSpec = RouteSpec {
    pattern: "^roles/(?P<name>\\w(([\\w.-]+)?\\w)?)$",
    usage: "roles/NAME",
    synopsis: "Read, write and delete the roles that credentials are made for.",
    description: "A role names what credentials are made for it: credential_type iam_user (an \
IAM user with an access key, revoked when the lease ends), assumed_role (sts:AssumeRole of one \
of role_arns), federation_token (sts:GetFederationToken) or session_token \
(sts:GetSessionToken). If the backend is mounted at \"aws\" and you create a role at \
\"aws/roles/deploy\", credentials are read at \"aws/creds/deploy\" (or \"aws/sts/deploy\" \
for the STS types).

A role written the seed's way, with policy= alone, is an iam_user role. A write to an existing \
role changes only the parameters it gives. Lists take comma-separated values, repeated keys or \
a JSON array; maps take key=value pairs the same ways, or a JSON object. Deleting a role does \
not revoke the credentials already issued for it: their leases run their course.",
    ops: &[Op::Read, Op::Write, Op::Delete],
    outputs: &[],
    fields: &[
        field(
            "name",
            "string",
            "Name of the role; if given, must match the path",
        ),
        field(
            "credential_type",
            "string",
            "iam_user, assumed_role, federation_token or session_token (required for a new \
             role unless policy= is given, which makes an iam_user role)",
        ),
        field(
            "policy_document",
            "string",
            "IAM policy document (JSON); @file.json reads it from a file",
        ),
        field("policy", "string", "The seed's name for policy_document"),
        field(
            "policy_arns",
            "list",
            "ARNs of managed policies to attach (iam_user) or pass (assumed_role, \
             federation_token)",
        ),
        field(
            "iam_groups",
            "list",
            "IAM groups the user is added to (iam_user), or whose policies are merged into the \
             request (assumed_role, federation_token)",
        ),
        field(
            "iam_tags",
            "map",
            "Tags of the IAM user, key=value (iam_user)",
        ),
        field(
            "user_path",
            "string",
            "IAM path of the user, of the form /.../ (iam_user; default /awscreds/)",
        ),
        field(
            "permissions_boundary_arn",
            "string",
            "ARN of a managed policy that bounds the user's permissions (iam_user)",
        ),
        field(
            "role_arns",
            "list",
            "ARNs of the roles that may be assumed (assumed_role)",
        ),
        field(
            "default_sts_ttl",
            "duration",
            "TTL of STS credentials when the request gives none (default 1h)",
        ),
        field(
            "max_sts_ttl",
            "duration",
            "Longest TTL of STS credentials (default: the mount's lease_max)",
        ),
        field(
            "session_tags",
            "map",
            "Session tags, key=value (assumed_role)",
        ),
        field(
            "external_id",
            "string",
            "External id for AssumeRole (assumed_role)",
        ),
        field(
            "mfa_serial_number",
            "string",
            "MFA device serial number or ARN; requests must then give mfa_code \
             (session_token, assumed_role)",
        ),
        field(
            "max_leases",
            "int",
            "The most live leases of this role at once (pending, active, expired or failing \
             revocation); 0: no cap",
        ),
    ],
    read_fields: &[],
};

const CREDS_FIELDS: &[Field] = &[
    field(
        "ttl",
        "duration",
        "TTL of STS credentials (default: the role's default_sts_ttl, else 1h; at most \
         max_sts_ttl); not for iam_user, whose leases follow config/lease",
    ),
    field(
        "role_arn",
        "string",
        "Role to assume, one of the role's role_arns (assumed_role; needed when it has several)",
    ),
    field(
        "role_session_name",
        "string",
        "Role session name (assumed_role; default from sts_name_template)",
    ),
    field(
        "mfa_code",
        "string",
        "Current code of the role's MFA device",
    ),
];

const ISSUED: &[&str] = &[
    "lease_id",
    "lease_duration",
    "lease_renewable",
    "access_key",
    "secret_key",
    "session_token",
    "arn",
    "expiration",
    "ttl",
];

pub const CREDS: RouteSpec = RouteSpec {
    pattern: "^creds/(?P<name>\\w(([\\w.-]+)?\\w)?)$",
    usage: "creds/NAME",
    synopsis: "Generate credentials for a specific role.",
    description: "Reading (or writing, with parameters) this path generates new credentials of \
the role's credential_type.

iam_user: a new IAM user named by the mount's username_template (default \
awscreds-<role>-<unix time>-<random>) under the role's user_path (default /awscreds/), with its \
permissions boundary, managed policies, inline policy (named after the role), groups and tags, \
and an access key. The credentials live for the mount's lease (config/lease); when it expires, \
the next awscreds invocation or \"awscreds sweep\" deletes the user and all it holds.

assumed_role, federation_token, session_token: temporary credentials from one STS call, with a \
session_token and an expiration. They live for ttl, else the role's default_sts_ttl, else 1h, \
at most max_sts_ttl (else the mount's lease_max). Their leases are recorded but not renewable, \
and revoking them cannot recall them: STS credentials stay valid until they expire.",
    ops: &[Op::Read, Op::Write],
    outputs: ISSUED,
    fields: CREDS_FIELDS,
    read_fields: CREDS_FIELDS,
};

pub const STS: RouteSpec = RouteSpec {
    pattern: "^sts/(?P<name>\\w(([\\w.-]+)?\\w)?)$",
    usage: "sts/NAME",
    synopsis: "Generate STS credentials for a role of an STS credential type.",
    description: "The same as creds/NAME, for roles of credential_type assumed_role, \
federation_token or session_token only. STS credentials cannot be revoked at AWS: revoking \
their lease only forgets it, and they stay valid until they expire.",
    ops: &[Op::Read, Op::Write],
    outputs: ISSUED,
    fields: CREDS_FIELDS,
    read_fields: CREDS_FIELDS,
};

pub const ALL: [&RouteSpec; 7] = [
    &CONFIG_LEASE,
    &CONFIG_ROOT,
    &CONFIG_ROTATE_ROOT,
    &CREDS,
    &ROLE_LIST,
    &ROLE,
    &STS,
];
