//! Property tests of the parameter parsers (`kv`, `duration`, `list`, `map`, `string`), and the
//! strategies and checks that the other parsers' property tests share. Input is arbitrary: any
//! unicode, control characters, huge numbers, empty strings. `AWSCREDS_PROPTEST_CASES` sets the
//! cases per property (default 256): `AWSCREDS_PROPTEST_CASES=100000 cargo test --lib proptest`.

use std::collections::BTreeMap;
use std::io::Write;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value};

use super::{ParamError, duration, kv, list, map, named_duration, string};

/// Cases per property: `AWSCREDS_PROPTEST_CASES`, else 256. Failures are not saved to files in
/// the source tree: an input a property finds becomes a regular regression test.
pub(crate) fn config() -> ProptestConfig {
    let cases = match std::env::var("AWSCREDS_PROPTEST_CASES") {
        Ok(n) => n
            .trim()
            .parse()
            .expect("AWSCREDS_PROPTEST_CASES must be a number of cases"),
        Err(_) => 256,
    };
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any text of up to `max` characters, control characters and line breaks included (unlike
/// `any::<String>()`, which leaves them out).
pub(crate) fn any_text(max: usize) -> impl Strategy<Value = String> + Clone {
    prop::collection::vec(any::<char>(), 0..=max).prop_map(String::from_iter)
}

/// Text of up to `max` characters, mostly from `alphabet` (a parser's syntax), so that it gets
/// past a parser's first checks.
pub(crate) fn syntax_text(alphabet: &str, max: usize) -> impl Strategy<Value = String> + Clone {
    let chars: Vec<char> = alphabet.chars().collect();
    let char = prop_oneof![4 => prop::sample::select(chars), 1 => any::<char>()];
    prop::collection::vec(char, 0..=max).prop_map(String::from_iter)
}

/// Any JSON value, with strings that look like the lists and maps parameters hold. Without
/// `floats` it has no fractions, which serde_json may not read back to the same bits.
pub(crate) fn json_value(floats: bool) -> impl Strategy<Value = Value> {
    let float = any::<f64>().prop_map(move |f| if floats { Value::from(f) } else { Value::Null });
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        float,
        any_text(12).prop_map(Value::String),
        syntax_text("[]{}\",=: \\a1", 16).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((any_text(6), inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

pub(crate) fn is_one_line(text: &str) -> bool {
    !text.contains(['\n', '\r'])
}

/// Fails unless the error's message and hint are one line each.
pub(crate) fn check_one_line(e: &ParamError) -> Result<(), TestCaseError> {
    prop_assert!(
        is_one_line(&e.to_string()),
        "multi-line error {:?}",
        e.to_string()
    );
    if let Some(hint) = &e.hint {
        prop_assert!(is_one_line(hint), "multi-line hint {hint:?}");
    }
    Ok(())
}

/// One `KEY=VALUE`-ish argument: anything, or made of what `kv::parse` looks for.
fn kv_arg() -> impl Strategy<Value = String> {
    prop_oneof![
        any_text(16),
        syntax_text("=@-\\k.json{}\"", 16),
        Just("-".to_string()),
        (
            any_text(6),
            prop_oneof![Just("-"), Just("@"), Just("\\@"), Just("")],
            any_text(8)
        )
            .prop_map(|(key, prefix, value)| format!("{key}={prefix}{value}")),
    ]
}

/// A key: at least one character, no `=`.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(
            any::<char>().prop_map(|c| if c == '=' { 'k' } else { c }),
            1..8
        )
        .prop_map(String::from_iter),
        // Few keys, so that some repeat.
        prop::sample::select(vec!["a".to_string(), "b".to_string()]),
    ]
}

/// A value that is neither standard input (`-`) nor a file (`@...`); `\@` is a literal `@`.
fn plain_value() -> impl Strategy<Value = String> {
    prop_oneof![any_text(12), syntax_text("=\\@-,", 8)]
        .prop_filter("not - or @file", |v| v != "-" && !v.starts_with('@'))
}

/// What `kv::parse` should make of plain pairs: a repeated key's values become a list, in order.
fn expected_pairs(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut grouped: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (key, value) in pairs {
        let value = match value.strip_prefix("\\@") {
            Some(rest) => format!("@{rest}"),
            None => value.clone(),
        };
        grouped.entry(key).or_default().push(Value::String(value));
    }
    grouped
        .into_iter()
        .map(|(key, mut values)| {
            let value = match values.len() {
                1 => values.remove(0),
                _ => Value::Array(values),
            };
            (key.to_string(), value)
        })
        .collect()
}

/// A list item as written comma-separated: no comma, no whitespace at its ends, not empty, and
/// not starting with `[` (a value that does is read as a JSON array).
fn list_item() -> impl Strategy<Value = String> {
    any_text(10).prop_filter_map("a comma-separated item", |s| {
        let item = s.replace(',', "").trim().to_string();
        (!item.is_empty() && !item.starts_with('[')).then_some(item)
    })
}

/// A map key or value as written comma-separated: no comma (nor `=` in a key), no whitespace at
/// its ends; a first key starting with `{` would make it read as a JSON object.
fn map_word(key: bool) -> impl Strategy<Value = String> {
    any_text(8).prop_map(move |s| {
        let word = s.replace(',', "");
        let word = if key { word.replace('=', "") } else { word };
        let word = word.trim();
        match word.strip_prefix('{') {
            Some(rest) if key => format!("({rest}"),
            _ => word.to_string(),
        }
    })
}

/// Whitespace around the commas of a list.
fn comma() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![",", ", ", " ,", "\t,\n", ",,"])
}

fn join(items: &[String], commas: &[&str]) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(commas[i % commas.len()]);
        }
        out.push_str(item);
    }
    out
}

proptest! {
    #![proptest_config(config())]

    // kv: no argument list and no standard input makes it panic or print a multi-line error.
    #[test]
    fn proptest_kv_never_panics(
        args in prop::collection::vec(kv_arg(), 0..6),
        stdin in prop::collection::vec(any::<u8>(), 0..48),
    ) {
        if let Err(e) = kv::parse(&args, &mut stdin.as_slice()) {
            check_one_line(&e)?;
        }
    }

    // kv: an argument without "=" or key (maybe a secret) is named by position, never shown.
    #[test]
    fn proptest_kv_never_echoes_an_argument_without_key(
        before in prop::collection::vec((key(), plain_value()), 0..4),
        secret in prop::collection::vec(any::<char>().prop_map(|c| if c == '=' { '_' } else { c }), 8..24)
            .prop_map(String::from_iter)
            .prop_filter("not a file", |s| !s.starts_with('@')),
        empty_key in any::<bool>(),
        after in prop::collection::vec(kv_arg(), 0..3),
    ) {
        let mut args: Vec<String> = before.iter().map(|(k, v)| format!("{k}={v}")).collect();
        args.push(if empty_key { format!("={secret}") } else { secret.clone() });
        args.extend(after);
        let e = kv::parse(&args, &mut "".as_bytes()).unwrap_err();
        let position = before.len() + 1;
        let why = if empty_key { "the key is empty" } else { "format must be key=value" };
        prop_assert_eq!(
            &e.message,
            &format!("invalid key/value pair (argument {position}): {why}")
        );
        prop_assert!(!e.to_string().contains(&secret));
        prop_assert!(!e.hint.unwrap_or_default().contains(&secret));
    }

    // kv: plain KEY=VALUE pairs parse to their values (\@ is @), repeated keys to lists in order.
    #[test]
    fn proptest_kv_plain_pairs_parse_to_their_values(
        pairs in prop::collection::vec((key(), plain_value()), 0..8),
    ) {
        let args: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        prop_assert_eq!(kv::parse(&args, &mut "".as_bytes()), Ok(expected_pairs(&pairs)));
    }

    // kv: KEY=@FILE and KEY=- give the file's or standard input's text, less trailing newlines.
    #[test]
    fn proptest_kv_file_and_stdin_values_are_their_text(
        key in key(),
        text in any_text(24),
        from_file in any::<bool>(),
    ) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        let (arg, stdin) = if from_file {
            (format!("{key}=@{}", file.path().display()), "")
        } else {
            (format!("{key}=-"), text.as_str())
        };
        let got = kv::parse(&[arg], &mut stdin.as_bytes()).unwrap();
        let want = text.trim_end_matches(['\n', '\r']);
        prop_assert_eq!(got.get(&key), Some(&Value::String(want.to_string())));
    }

    // kv: a lone "-" or @FILE holding a JSON object gives exactly that object's parameters.
    #[test]
    fn proptest_kv_lone_json_object_is_its_parameters(
        object in prop::collection::btree_map(any_text(8), json_value(false), 0..5),
        from_file in any::<bool>(),
    ) {
        let object: Map<String, Value> = object.into_iter().collect();
        let json = serde_json::to_string_pretty(&object).unwrap();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(json.as_bytes()).unwrap();
        let (arg, stdin) = if from_file {
            (format!("@{}", file.path().display()), "")
        } else {
            ("-".to_string(), json.as_str())
        };
        prop_assert_eq!(kv::parse(&[arg], &mut stdin.as_bytes()), Ok(object));
    }

    // duration: no text makes it panic or print a multi-line error, named or not.
    #[test]
    fn proptest_duration_never_panics(
        text in prop_oneof![
            any_text(24),
            syntax_text("0123456789smh ", 24),
            any::<u128>().prop_map(|n| n.to_string()),
            (any::<u128>(), "[smhd]?").prop_map(|(n, unit)| format!("{n}{unit}")),
        ],
    ) {
        for result in [duration::parse(&text), named_duration("ttl", &text)] {
            if let Err(e) = result {
                check_one_line(&e)?;
            }
        }
    }

    // duration: parse(format(n)) == n and parse(n seconds) == n, up to the 100-year maximum.
    #[test]
    fn proptest_duration_format_round_trips(
        pick in prop_oneof![0u64..=100 * 365 * 24 * 3600, 0u64..100_000, Just(100 * 365 * 24 * 3600)],
    ) {
        let max = duration::parse("876000h").unwrap();
        let secs = pick.min(max);
        prop_assert_eq!(duration::parse(&duration::format(secs)), Ok(secs));
        prop_assert_eq!(duration::parse(&secs.to_string()), Ok(secs));
    }

    // duration: anything over the maximum is refused as too long, however it is written.
    #[test]
    fn proptest_duration_over_the_maximum_is_too_long(
        extra in prop_oneof![1u64..1000, 1u64..=u64::MAX],
    ) {
        let max = duration::parse("876000h").unwrap();
        let secs = max.saturating_add(extra);
        for text in [duration::format(secs), secs.to_string()] {
            let e = duration::parse(&text).unwrap_err();
            prop_assert!(e.message.contains("too long"), "{}: {}", text, e);
        }
    }

    // duration: NUMBER+UNIT runs (leading zeros, whitespace around) add up, or are too long.
    #[test]
    fn proptest_duration_units_add_up(
        terms in prop::collection::vec((0u64..1_000_000, 0usize..3, prop::sample::select(vec!["s", "m", "h"])), 1..5),
        pad in prop::sample::select(vec!["", " ", "\t", "\n "]),
    ) {
        let max = duration::parse("876000h").unwrap();
        let mut text = pad.to_string();
        let mut sum = 0;
        for (n, zeros, unit) in &terms {
            text.push_str(&format!("{}{n}{unit}", "0".repeat(*zeros)));
            sum += n * match *unit { "s" => 1, "m" => 60, _ => 3600 };
        }
        text.push_str(pad);
        match duration::parse(&text) {
            Ok(secs) => prop_assert_eq!(secs, sum),
            Err(e) => prop_assert!(sum > max && e.message.contains("too long"), "{:?}: {}", text, e),
        }
    }

    // list: no JSON value makes it panic or print a multi-line error.
    #[test]
    fn proptest_list_never_panics(value in json_value(true)) {
        if let Err(e) = list("policy_arns", &value) {
            check_one_line(&e)?;
        }
    }

    // list: items written comma-separated (spaces around commas, or repeated keys) parse back.
    #[test]
    fn proptest_list_comma_separated_round_trips(
        chunks in prop::collection::vec(prop::collection::vec(list_item(), 1..5), 1..3),
        commas in prop::collection::vec(comma(), 1..4),
    ) {
        let want: Vec<String> = chunks.concat();
        let written: Vec<Value> = chunks.iter().map(|c| Value::String(join(c, &commas))).collect();
        prop_assert_eq!(list("groups", &written[0]), Ok(chunks[0].clone()));
        prop_assert_eq!(list("groups", &Value::Array(written)), Ok(want));
    }

    // list: a JSON array of strings (any strings, commas included) parses to its items.
    #[test]
    fn proptest_list_json_array_round_trips(
        items in prop::collection::vec(any_text(10), 0..5),
        pretty in any::<bool>(),
    ) {
        let json = if pretty {
            format!(" \n{}", serde_json::to_string_pretty(&items).unwrap())
        } else {
            serde_json::to_string(&items).unwrap()
        };
        prop_assert_eq!(list("groups", &Value::String(json)), Ok(items));
    }

    // map: no JSON value makes it panic or print a multi-line error.
    #[test]
    fn proptest_map_never_panics(value in json_value(true)) {
        if let Err(e) = map("tags", &value) {
            check_one_line(&e)?;
        }
    }

    // map: k=v pairs written comma-separated (or repeated keys) parse back, a later key winning.
    #[test]
    fn proptest_map_comma_separated_round_trips(
        chunks in prop::collection::vec(
            prop::collection::vec((map_word(true), map_word(false)), 1..5), 1..3),
        commas in prop::collection::vec(comma(), 1..4),
    ) {
        let want: BTreeMap<String, String> = chunks.concat().into_iter().collect();
        let written: Vec<Value> = chunks
            .iter()
            .map(|c| {
                let pairs: Vec<String> = c.iter().map(|(k, v)| format!("{k}={v}")).collect();
                Value::String(join(&pairs, &commas))
            })
            .collect();
        prop_assert_eq!(map("tags", &Value::Array(written)), Ok(want));
    }

    // map: a JSON object of strings, as text or as an object, parses to its entries.
    #[test]
    fn proptest_map_json_object_round_trips(
        object in prop::collection::btree_map(any_text(8), any_text(8), 0..5),
    ) {
        let text = Value::String(serde_json::to_string(&object).unwrap());
        prop_assert_eq!(map("tags", &text), Ok(object.clone()));
        let value = serde_json::to_value(&object).unwrap();
        prop_assert_eq!(map("tags", &value), Ok(object));
    }

    // string: a string or number is its text, a list means a key given twice; errors are one line.
    #[test]
    fn proptest_string_takes_one_string(value in json_value(true), name in "[a-z_]{1,12}") {
        let mut data = Map::new();
        prop_assert_eq!(string(&data, &name), Ok(None));
        data.insert(name.clone(), value.clone());
        match (string(&data, &name), &value) {
            (Ok(got), Value::String(s)) => prop_assert_eq!(got, Some(s.clone())),
            (Ok(got), Value::Number(n)) => prop_assert_eq!(got, Some(n.to_string())),
            (Err(e), Value::Array(_)) => {
                check_one_line(&e)?;
                prop_assert!(e.message.contains("more than once"));
            }
            (Err(e), Value::Null | Value::Bool(_) | Value::Object(_)) => check_one_line(&e)?,
            (got, _) => prop_assert!(false, "{:?} gave {:?}", value, got),
        }
    }
}
