//! The paths under a mount, what each accepts, and how a user's path finds its mount. The tables
//! here drive routing, parameter checking, error hints and `awscreds help PATH` alike.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::model::Mount;

/// The mount a path is taken relative to when it starts with no mount name.
pub const DEFAULT_MOUNT: &str = "aws";

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
    ConfigLease,
    RoleList,
    Role(String),
    Creds(String),
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
    /// Parameters of `write` (and of `read`, for none of these routes yet).
    pub fields: &'static [Field],
}

pub const CONFIG_ROOT: RouteSpec = RouteSpec {
    pattern: "^config/root$",
    usage: "config/root",
    synopsis: "Configure the root credentials that are used to manage IAM.",
    description: "Before doing anything, the AWS backend needs credentials that are able to manage \
IAM users, policies and access keys. This endpoint is used to configure those credentials. Reading \
it shows everything but the secret key, which is never printed.",
    ops: &[Op::Read, Op::Write],
    outputs: &[],
    fields: &[
        required(
            "access_key",
            "string",
            "Access key with permission to create and delete IAM users, policies and keys",
        ),
        Field {
            name: "secret_key",
            kind: "string",
            description: "Secret key with permission to manage IAM; prompted for (hidden) on a \
terminal when left out",
            required: true,
            secret: true,
        },
        required("region", "string", "Region for API calls"),
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
    ],
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
};

pub const ROLE_LIST: RouteSpec = RouteSpec {
    pattern: "^roles/?$",
    usage: "roles/",
    synopsis: "List the existing roles in this backend.",
    description: "Lists the names of the roles of this mount, sorted.",
    ops: &[Op::List],
    outputs: &[],
    fields: &[],
};

pub const ROLE: RouteSpec = RouteSpec {
    pattern: "^roles/(?P<name>\\w(([\\w.-]+)?\\w)?)$",
    usage: "roles/NAME",
    synopsis: "Read, write and delete IAM policies that access keys can be made for.",
    description: "This path allows you to read and write roles that are used to create access \
keys. These roles have IAM policies that map directly to the route to read the access keys. For \
example, if the backend is mounted at \"aws\" and you create a role at \"aws/roles/deploy\", then a \
user could request access credentials at \"aws/creds/deploy\".

The policy is checked to be a JSON object with a \"Statement\" and stored compacted. Deleting a \
role does not revoke the credentials already issued for it: their leases run their course.",
    ops: &[Op::Read, Op::Write, Op::Delete],
    outputs: &[],
    fields: &[
        field("name", "string", "Name of the role; if given, must match the path"),
        required(
            "policy",
            "string",
            "IAM policy document (JSON); @file.json reads it from a file",
        ),
    ],
};

pub const CREDS: RouteSpec = RouteSpec {
    pattern: "^creds/(?P<name>\\w(([\\w.-]+)?\\w)?)$",
    usage: "creds/NAME",
    synopsis: "Generate an access key pair for a specific role.",
    description: "This path will generate a new, never before used key pair for accessing AWS. \
Every read creates a new IAM user named awscreds-<role>-<unix time>-<random> under the IAM path \
/awscreds/, with the role's policy as an inline policy named after the role, and an access key. The \
credentials are valid for the mount's lease (see config/lease); when the lease expires, the next \
awscreds invocation or \"awscreds sweep\" deletes the access keys, the inline policies and the user.",
    ops: &[Op::Read],
    outputs: &[
        "lease_id",
        "lease_duration",
        "lease_renewable",
        "access_key",
        "secret_key",
    ],
    fields: &[],
};

pub const ALL: [&RouteSpec; 5] = [&CONFIG_LEASE, &CONFIG_ROOT, &CREDS, &ROLE_LIST, &ROLE];

impl Route {
    pub fn spec(&self) -> &'static RouteSpec {
        match self {
            Route::ConfigRoot => &CONFIG_ROOT,
            Route::ConfigLease => &CONFIG_LEASE,
            Route::RoleList => &ROLE_LIST,
            Route::Role(_) => &ROLE,
            Route::Creds(_) => &CREDS,
        }
    }
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
        let rest = match &self.route {
            Route::ConfigRoot => "config/root".to_string(),
            Route::ConfigLease => "config/lease".to_string(),
            Route::RoleList => "roles/".to_string(),
            Route::Role(name) => format!("roles/{name}"),
            Route::Creds(name) => format!("creds/{name}"),
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
pub fn split_mount<'p>(mounts: &[Mount], path: &'p str) -> Result<(String, &'p str), Error> {
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
    let first = path.split('/').next().unwrap_or_default();
    if matches!(first, "config" | "roles" | "creds") {
        if mounts.iter().any(|m| m.path == DEFAULT_MOUNT) {
            return Ok((DEFAULT_MOUNT.to_string(), path));
        }
        return Err(Error::input_hint(
            format!("no mount at '{DEFAULT_MOUNT}' for path \"{path}\""),
            format!(
                "mount the backend first: awscreds mount aws; {}",
                mounts_hint(mounts)
            ),
        ));
    }
    Err(Error::input_hint(
        format!("no mount for path \"{path}\""),
        format!("{}; {}", mounts_hint(mounts), routes_hint("MOUNT")),
    ))
}

fn mounts_hint(mounts: &[Mount]) -> String {
    if mounts.is_empty() {
        "nothing is mounted yet (awscreds mount aws)".to_string()
    } else {
        let names: Vec<String> = mounts.iter().map(|m| format!("{}/", m.path)).collect();
        format!("mounts: {}", names.join(", "))
    }
}

/// Finds the route for `rest` (the path within mount `mount`).
pub fn parse_route(mount: &str, rest: &str) -> Result<Route, Error> {
    let no_route = || {
        Error::input_hint(
            format!(
                "no route \"{}\"",
                format!("{mount}/{rest}").trim_end_matches('/')
            ),
            routes_hint(mount),
        )
    };
    let route = match rest.split_once('/') {
        None => match rest {
            "roles" => Route::RoleList,
            _ => return Err(no_route()),
        },
        Some(("config", "root")) => Route::ConfigRoot,
        Some(("config", "lease")) => Route::ConfigLease,
        Some(("roles", "")) => Route::RoleList,
        Some(("roles", name)) => Route::Role(check_name(mount, name)?),
        Some(("creds", "")) => return Err(no_route()),
        Some(("creds", name)) => Route::Creds(check_name(mount, name)?),
        Some(_) => return Err(no_route()),
    };
    Ok(route)
}

/// Role names: letters, digits, `_`, `-` and `.`, starting and ending with a letter or digit.
fn check_name(mount: &str, name: &str) -> Result<String, Error> {
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
pub fn check_op(target: &Target, op: Op) -> Result<(), Error> {
    let spec = target.route.spec();
    if spec.ops.contains(&op) {
        return Ok(());
    }
    let path = target.path();
    let allowed: Vec<String> = spec
        .ops
        .iter()
        .map(|o| format!("awscreds {} {path}", o.name()))
        .collect();
    Err(Error::input_hint(
        format!("{} is not supported on {path}", op.name()),
        format!("try {}", allowed.join(" or ")),
    ))
}

/// Refuses parameters the route does not know and reports the first required one missing.
pub fn check_params(target: &Target, data: &Map<String, Value>) -> Result<(), Error> {
    let spec = target.route.spec();
    let path = target.path();
    for key in data.keys() {
        if !spec.fields.iter().any(|f| f.name == key) {
            let hint = if spec.fields.is_empty() {
                format!("{path} takes no parameters")
            } else {
                let names: Vec<&str> = spec.fields.iter().map(|f| f.name).collect();
                format!("parameters of {path}: {}", names.join(", "))
            };
            return Err(Error::input_hint(
                format!("unknown parameter \"{key}\" for {path}"),
                hint,
            ));
        }
    }
    if let Some(missing) = spec
        .fields
        .iter()
        .find(|f| f.required && !data.contains_key(f.name))
    {
        let example: Vec<String> = spec
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| format!("{}=...", f.name))
            .collect();
        return Err(Error::MissingParam {
            param: missing.name,
            path: path.clone(),
            secret: missing.secret,
            hint: format!("awscreds write {path} {}", example.join(" ")),
        });
    }
    Ok(())
}

/// The string value of parameter `name`, refusing lists and other JSON types.
pub fn string_param(data: &Map<String, Value>, name: &str) -> Result<Option<String>, Error> {
    match data.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Array(_)) => Err(Error::input_hint(
            format!("parameter \"{name}\" was given more than once"),
            format!("give {name}= once"),
        )),
        Some(_) => Err(Error::input(format!(
            "parameter \"{name}\" must be a string"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(err.hint().unwrap().contains("aws/creds/NAME"));
        assert!(parse_route("aws", "roles/a/b").is_err());
        assert!(parse_route("aws", "roles/-a").is_err());
        assert!(parse_route("aws", "config/other").is_err());
    }
}
