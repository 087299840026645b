//! The paths under a mount, what each accepts, and how a user's path finds its mount. One table
//! ([`ALL`]) drives parsing, printing paths back, parameter checks, the `--field` check and path
//! help alike: a route's `usage` (`roles/NAME`) is both how it is parsed and how it is printed.

use serde_json::{Map, Value};

use super::error::{Error, Result};
use crate::model::Mount;

/// The mount a path is taken relative to when it starts with no mount name.
pub const DEFAULT_MOUNT: &str = "aws";

/// What `awscreds help MOUNT` says of the backend.
pub const BACKEND_DESCRIPTION: &str =
    "The AWS backend dynamically generates AWS access keys for a set of IAM \
policies. The AWS access keys have a configurable lease set and are automatically revoked at the \
end of the lease: the next awscreds invocation, or \"awscreds sweep\" run from cron, deletes the \
IAM user behind them.

After mounting this backend, credentials to manage IAM must be configured with the \
\"config/root\" path, and roles must be written using the \"roles/\" endpoints before any access \
keys can be generated.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
    Delete,
    List,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write => "write",
            Op::Delete => "delete",
            Op::List => "list",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    ConfigRoot,
    ConfigRotateRoot,
    ConfigLease,
    RoleList,
    Role(String),
    Creds(String),
    Sts(String),
}

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

const fn required(name: &'static str, kind: &'static str, description: &'static str) -> Field {
    Field {
        name,
        kind,
        description,
        required: true,
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
eventual consistency).",
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
never written, lease is 1h and lease_max 24h.",
    ops: &[Op::Read, Op::Write],
    outputs: &[],
    fields: &[
        required(
            "lease",
            "duration",
            "Default lease for credentials, e.g. 30m or 1h",
        ),
        required(
            "lease_max",
            "duration",
            "Maximum lease for credentials, at least \"lease\"",
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

impl Route {
    pub fn spec(&self) -> &'static RouteSpec {
        match self {
            Route::ConfigRoot => &CONFIG_ROOT,
            Route::ConfigLease => &CONFIG_LEASE,
            Route::RoleList => &ROLE_LIST,
            Route::Role(_) => &ROLE,
            Route::Creds(_) => &CREDS,
            Route::Sts(_) => &STS,
            Route::ConfigRotateRoot => &CONFIG_ROTATE_ROOT,
        }
    }

    /// The role name in the path, if the route has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Route::Role(name) | Route::Creds(name) | Route::Sts(name) => Some(name),
            _ => None,
        }
    }

    /// The route of `spec` with `name` in it.
    fn of(spec: &RouteSpec, name: String) -> Route {
        match spec.usage {
            "config/root" => Route::ConfigRoot,
            "config/lease" => Route::ConfigLease,
            "config/rotate-root" => Route::ConfigRotateRoot,
            "roles/" => Route::RoleList,
            "roles/NAME" => Route::Role(name),
            "creds/NAME" => Route::Creds(name),
            "sts/NAME" => Route::Sts(name),
            other => unreachable!("route {other} is in ALL"),
        }
    }
}

impl RouteSpec {
    /// The first segment (`roles`) and the rest of the usage (`NAME`, `root`, or empty).
    fn parts(&self) -> (&'static str, &'static str) {
        self.usage.split_once('/').unwrap_or((self.usage, ""))
    }

    pub fn head(&self) -> &'static str {
        self.parts().0
    }

    fn takes_name(&self) -> bool {
        self.parts().1 == "NAME"
    }
}

/// Whether `segment` is the first segment of a route: a path starting with one is relative to the
/// mount `aws`, and no mount path may contain one.
pub fn is_route_head(segment: &str) -> bool {
    ALL.iter().any(|spec| spec.head() == segment)
}

/// A user's path, resolved: the mount it belongs to and the route within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub mount: String,
    pub route: Route,
}

impl Target {
    /// The full path, as it is printed back to the user.
    pub fn path(&self) -> String {
        let usage = self.route.spec().usage;
        let rest = match self.route.name() {
            Some(name) => usage.replace("NAME", name),
            None => usage.to_string(),
        };
        format!("{}/{rest}", self.mount)
    }
}

pub fn routes_hint(mount: &str) -> String {
    let usages: Vec<String> = ALL.iter().map(|r| format!("{mount}/{}", r.usage)).collect();
    format!("the paths are {}", usages.join(", "))
}

/// Splits a path into its mount and the rest. A path that starts with no mount name is taken
/// relative to the mount `aws`, so `creds/deploy` means `aws/creds/deploy`.
pub fn split_mount<'p>(mounts: &[Mount], path: &'p str) -> Result<(String, &'p str)> {
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        return Err(Error::input_hint("empty path", routes_hint(DEFAULT_MOUNT)));
    }
    let found = mounts
        .iter()
        .filter(|m| {
            path == m.path
                || path
                    .strip_prefix(m.path.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|m| m.path.len());
    if let Some(mount) = found {
        let rest = path[mount.path.len()..].trim_start_matches('/');
        return Ok((mount.path.clone(), rest));
    }
    let names = || mounts.iter().map(|m| m.path.clone()).collect();
    let first = path.split('/').next().unwrap_or_default();
    if is_route_head(first) {
        if mounts.iter().any(|m| m.path == DEFAULT_MOUNT) {
            return Ok((DEFAULT_MOUNT.to_string(), path));
        }
        return Err(Error::NoDefaultMount {
            mount: DEFAULT_MOUNT,
            path: path.to_string(),
            mounts: names(),
        });
    }
    Err(Error::NoMount {
        path: path.to_string(),
        mounts: names(),
    })
}

/// Finds the route for `rest` (the path within mount `mount`): the first of [`ALL`] whose usage
/// it matches; a `NAME` is everything after the first segment, and must be a valid role name.
pub fn parse_route(mount: &str, rest: &str) -> Result<Route> {
    let (head, tail) = match rest.split_once('/') {
        Some((head, tail)) => (head, Some(tail)),
        None => (rest, None),
    };
    for spec in ALL {
        let (spec_head, spec_tail) = spec.parts();
        if spec_head != head {
            continue;
        }
        match (spec_tail, tail) {
            ("", None | Some("")) => return Ok(Route::of(spec, String::new())),
            ("NAME", Some(name)) if !name.is_empty() => {
                return Ok(Route::of(spec, check_name(mount, name)?));
            }
            (literal, Some(given))
                if literal != "NAME" && !literal.is_empty() && literal == given =>
            {
                return Ok(Route::of(spec, String::new()));
            }
            _ => {}
        }
    }
    Err(Error::NoRoute {
        path: format!("{mount}/{rest}").trim_end_matches('/').to_string(),
        mount: mount.to_string(),
    })
}

/// The route that `awscreds help PATH` describes for the part of a path from its route head on
/// (`roles/deploy`, `creds`): as [`parse_route`] would find it, except that a name is not
/// checked and may be left out.
pub fn help_route(rest: &str) -> Option<&'static RouteSpec> {
    let (head, tail) = match rest.split_once('/') {
        Some((head, tail)) => (head, Some(tail)),
        None => (rest, None),
    };
    let exact = ALL.iter().find(|spec| {
        let (spec_head, spec_tail) = spec.parts();
        spec_head == head
            && match (spec_tail, tail) {
                ("", None | Some("")) => true,
                ("NAME", Some(name)) => !name.is_empty() && !name.contains('/'),
                (literal, Some(given)) => literal == given,
                _ => false,
            }
    });
    let bare = || {
        ALL.iter()
            .find(|spec| tail.is_none() && spec.head() == head && spec.takes_name())
    };
    exact.or_else(bare).copied()
}

/// Role names: letters, digits, `_`, `-` and `.`, starting and ending with a letter or digit.
fn check_name(mount: &str, name: &str) -> Result<String> {
    let valid = name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && name.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(name.to_string())
    } else {
        Err(Error::input_hint(
            format!("invalid role name \"{name}\" in {mount}"),
            "role names are at most 64 letters, digits, '_', '-' and '.', \
             starting and ending with a letter, digit or '_'",
        ))
    }
}

/// Refuses an operation that the route does not support, naming the ones it does.
pub fn check_op(target: &Target, op: Op) -> Result<()> {
    let spec = target.route.spec();
    if spec.ops.contains(&op) {
        return Ok(());
    }
    Err(Error::Unsupported {
        op,
        path: target.path(),
        allowed: spec.ops,
    })
}

/// Refuses parameters the route does not know for `op` and reports the first required one
/// missing.
pub fn check_params(target: &Target, op: Op, data: &Map<String, Value>) -> Result<()> {
    let spec = target.route.spec();
    let fields = if op == Op::Read {
        spec.read_fields
    } else {
        spec.fields
    };
    let path = target.path();
    for key in data.keys() {
        if !fields.iter().any(|f| f.name == key) {
            let hint = if fields.is_empty() {
                format!("{} {path} takes no parameters", op.name())
            } else {
                let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
                format!("parameters of {path}: {}", names.join(", "))
            };
            return Err(Error::input_hint(
                format!("unknown parameter \"{key}\" for {path}"),
                hint,
            ));
        }
    }
    if let Some(missing) = fields
        .iter()
        .find(|f| f.required && !data.contains_key(f.name))
    {
        return Err(Error::MissingParam {
            param: missing.name,
            path,
            secret: missing.secret,
            with: fields
                .iter()
                .filter(|f| f.required)
                .map(|f| f.name)
                .collect(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_heads_come_from_the_table() {
        for head in ["config", "roles", "creds", "sts"] {
            assert!(is_route_head(head), "{head}");
        }
        assert!(!is_route_head("aws"));
    }

    #[test]
    fn help_finds_routes_leniently() {
        let usage = |rest: &str| help_route(rest).map(|s| s.usage);
        assert_eq!(usage("creds"), Some("creds/NAME"));
        assert_eq!(usage("creds/x"), Some("creds/NAME"));
        assert_eq!(usage("roles"), Some("roles/"));
        assert_eq!(usage("roles/"), Some("roles/"));
        assert_eq!(usage("roles/d"), Some("roles/NAME"));
        assert_eq!(usage("config/rotate-root"), Some("config/rotate-root"));
        assert_eq!(usage("config"), None);
        assert_eq!(usage("config/nope"), None);
        assert_eq!(usage("roles/a/b"), None);
    }

    fn mounts(paths: &[&str]) -> Vec<Mount> {
        paths
            .iter()
            .map(|p| Mount {
                path: p.to_string(),
                kind: "aws".into(),
                created_at: 0,
            })
            .collect()
    }

    #[test]
    fn paths_find_their_mount() {
        let m = mounts(&["aws", "team", "team/prod"]);
        assert_eq!(
            split_mount(&m, "aws/creds/x").unwrap(),
            ("aws".into(), "creds/x")
        );
        assert_eq!(
            split_mount(&m, "creds/x").unwrap(),
            ("aws".into(), "creds/x")
        );
        assert_eq!(
            split_mount(&m, "/team/prod/roles/").unwrap(),
            ("team/prod".into(), "roles/")
        );
        assert_eq!(
            split_mount(&m, "team/roles/a").unwrap(),
            ("team".into(), "roles/a")
        );
        assert!(split_mount(&m, "awsx/creds/x").is_err());
        let err = split_mount(&mounts(&[]), "creds/x").unwrap_err();
        assert_eq!(err.to_string(), "no mount at 'aws' for path \"creds/x\"");
    }

    #[test]
    fn routes_parse_and_refuse() {
        assert_eq!(parse_route("aws", "roles").unwrap(), Route::RoleList);
        assert_eq!(parse_route("aws", "roles/").unwrap(), Route::RoleList);
        assert_eq!(
            parse_route("aws", "roles/a.b-c_d").unwrap(),
            Route::Role("a.b-c_d".into())
        );
        assert_eq!(
            parse_route("aws", "creds/x").unwrap(),
            Route::Creds("x".into())
        );
        assert_eq!(
            parse_route("aws", "config/root").unwrap(),
            Route::ConfigRoot
        );
        let err = parse_route("aws", "creds").unwrap_err();
        assert_eq!(err.to_string(), "no route \"aws/creds\"");
        assert!(matches!(err, Error::NoRoute { ref mount, .. } if mount == "aws"));
        assert!(parse_route("aws", "roles/a/b").is_err());
        assert!(parse_route("aws", "roles/-a").is_err());
        assert!(parse_route("aws", "config/other").is_err());
    }
}
