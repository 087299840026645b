//! Property tests of the route table's parsers (`split_mount`, `parse_route`, `help_route`) on
//! arbitrary paths. `AWSCREDS_PROPTEST_CASES` sets the cases per property (see
//! params/proptests.rs).

use proptest::prelude::*;

use super::*;
use crate::engine::proptests::check_one_line;
use crate::params::proptests::{any_text, config, syntax_text};

/// A path as a user may type it: anything, or made of route heads, slashes and names.
fn path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "/",
            "//",
            "aws",
            "team",
            "config",
            "root",
            "lease",
            "rotate-root",
            "roles",
            "creds",
            "sts",
            "NAME",
            ".",
            "-",
            "_",
            "\n",
        ])
        .prop_map(str::to_string),
        syntax_text("a-z_.", 4),
        any_text(3),
    ];
    prop_oneof![
        any_text(24),
        prop::collection::vec(piece, 0..8).prop_map(|p| p.concat()),
    ]
}

/// A mount path as `mount` accepts it: segments of letters, digits, `_-.`, none a route head.
fn mount_path() -> impl Strategy<Value = String> {
    let segment =
        "[A-Za-z0-9_-][A-Za-z0-9_.-]{0,7}".prop_filter("not a route head", |s| !is_route_head(s));
    prop_oneof![
        Just(DEFAULT_MOUNT.to_string()),
        prop::collection::vec(segment, 1..4).prop_map(|s| s.join("/")),
    ]
}

fn mounts(paths: &[String]) -> Vec<Mount> {
    paths
        .iter()
        .map(|p| Mount {
            path: p.clone(),
            kind: "aws".into(),
            created_at: 0,
        })
        .collect()
}

/// A role name as `check_name` accepts it.
fn role_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_]([A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?"
}

proptest! {
    #![proptest_config(config())]

    // split_mount: no panic, one-line errors; a split path ends with its rest, in a known mount.
    #[test]
    fn proptest_split_mount_never_panics(
        paths in prop::collection::vec(prop_oneof![mount_path(), any_text(6)], 0..4),
        path in path(),
    ) {
        match split_mount(&mounts(&paths), &path) {
            Ok((mount, rest)) => {
                prop_assert!(paths.contains(&mount), "{:?} not in {:?}", mount, paths);
                prop_assert!(path.ends_with(rest), "{:?} from {:?}", rest, path);
            }
            Err(e) => check_one_line(&e)?,
        }
    }

    // parse_route, help_route: no panic, one-line errors; help finds the route parsing finds.
    #[test]
    fn proptest_parse_route_never_panics(mount in mount_path(), rest in path()) {
        let help = help_route(&rest).map(|spec| spec.usage);
        match parse_route(&mount, &rest) {
            Ok(route) => prop_assert_eq!(help, Some(route.spec().usage), "{:?}", rest),
            Err(e) => check_one_line(&e)?,
        }
    }

    // A path made from a route's usage and a valid name parses and prints back (Target::path).
    #[test]
    fn proptest_route_paths_print_back(
        index in 0..ALL.len(),
        name in role_name(),
        mount in mount_path(),
        others in prop::collection::vec(mount_path(), 0..3),
    ) {
        let spec = ALL[index];
        let mut paths = others;
        paths.extend([mount.clone(), DEFAULT_MOUNT.to_string()]);
        let mounts = mounts(&paths);
        let rest = spec.usage.replace("NAME", &name);
        for (path, mount) in [
            (format!("{mount}/{rest}"), mount.as_str()),
            (rest.clone(), DEFAULT_MOUNT),
        ] {
            let (found, within) = split_mount(&mounts, &path).unwrap();
            prop_assert_eq!(&found, mount);
            let route = parse_route(&found, within).unwrap();
            prop_assert_eq!(route.spec().usage, spec.usage);
            prop_assert_eq!(route.name(), spec.takes_name().then_some(name.as_str()));
            let target = Target { mount: found, route };
            prop_assert_eq!(target.path(), format!("{mount}/{rest}"));
        }
    }
}
