//! The paths under a mount, what each accepts, and how a user's path finds its mount. One table
//! ([`ALL`]) drives parsing, printing paths back, parameter checks, the `--field` check and path
//! help alike: a route's `usage` (`roles/NAME`) is both how it is parsed and how it is printed.

use serde_json::{Map, Value};

#[cfg(test)]
mod proptests;
mod table;

pub use table::*;

use super::error::{Error, Result};
use crate::model::Mount;
use crate::params::one_line;

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
    ConfigRotateRoot,
    ConfigLease,
    RoleList,
    Role(String),
    Creds(String),
    Sts(String),
}

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
            path: one_line(path),
            mounts: names(),
        });
    }
    Err(Error::NoMount {
        path: one_line(path),
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
        path: one_line(format!("{mount}/{rest}").trim_end_matches('/')),
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
            format!("invalid role name \"{}\" in {mount}", one_line(name)),
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

    #[test]
    fn paths_in_errors_stay_on_one_line() {
        // Reproduces the two-line errors that proptest found for the paths "\n" and "aws/\n".
        let err = split_mount(&mounts(&[]), "\n").unwrap_err();
        assert_eq!(err.to_string(), "no mount for path \"\\n\"");
        let err = parse_route("aws", "\n").unwrap_err();
        assert_eq!(err.to_string(), "no route \"aws/\\n\"");
        let err = parse_route("aws", "roles/a\nb").unwrap_err();
        assert_eq!(err.to_string(), "invalid role name \"a\\nb\" in aws");
    }
}
