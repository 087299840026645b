//! Property tests of `Location::parse` (the `--db` value) and of what `open` says of a location
//! it cannot open. `AWSCREDS_PROPTEST_CASES` sets the cases per property (see
//! params/proptests.rs).

use std::path::PathBuf;

use proptest::prelude::*;

use super::{Location, StoreError, open};
use crate::params::proptests::{any_text, config, is_one_line, syntax_text};

/// The error `open` gives for a URL location (no backend handles one yet).
fn refusal(url: &str) -> StoreError {
    let location = Location::Url(url.to_string());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    match runtime.block_on(open(&location)) {
        Ok(_) => panic!("{url} opened"),
        Err(e) => e,
    }
}

/// A URL scheme other than sqlite's.
fn scheme() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9+.-]{0,8}".prop_filter("not sqlite nor postgres", |s| {
        s != "sqlite" && s != "postgres" && s != "postgresql"
    })
}

proptest! {
    #![proptest_config(config())]

    // Location::parse: no panic; sqlite:PATH and other values without :// are paths as given.
    #[test]
    fn proptest_location_parse_never_panics(
        value in prop_oneof![any_text(24), syntax_text("sqlite:/@pg+.-", 24)],
    ) {
        let location = Location::parse(&value);
        let expected = if let Some(path) = value.strip_prefix("sqlite:") {
            Location::Sqlite(PathBuf::from(path.strip_prefix("//").unwrap_or(path)))
        } else if !value.contains("://") {
            Location::Sqlite(PathBuf::from(&value))
        } else {
            location.clone()
        };
        prop_assert_eq!(&location, &expected);
        if let Location::Url(url) = &location {
            prop_assert!(url.contains("://"));
            let shown = refusal(url).to_string();
            prop_assert!(is_one_line(&shown), "multi-line error {:?}", shown);
        }
    }

    // Location::parse: "scheme://..." is a URL, kept as given, and refused on one line.
    #[test]
    fn proptest_location_urls_are_kept(scheme in scheme(), rest in any_text(16)) {
        let value = format!("{scheme}://{rest}");
        prop_assert_eq!(Location::parse(&value), Location::Url(value.clone()));
        let shown = refusal(&value).to_string();
        prop_assert!(is_one_line(&shown), "multi-line error {:?}", shown);
    }

    // open: a URL's user and password (any text, '@' too) never show, only scheme and host.
    #[test]
    fn proptest_location_url_password_is_never_shown(
        scheme in scheme(),
        user in any_text(8),
        password in any_text(16).prop_filter("a password", |p| !p.is_empty()),
        host in "[a-z0-9.-]{1,12}(:[0-9]{1,5})?(/[a-z0-9_]{0,8})?",
    ) {
        let url = format!("{scheme}://{user}:{password}@{host}");
        prop_assert_eq!(
            refusal(&url).to_string(),
            format!("unsupported database \"{scheme}://...@{host}\"")
        );
    }
}
