//! Property tests of the name templates (`Template::parse`, `render`) and of `check_policy`, on
//! arbitrary input. `AWSCREDS_PROPTEST_CASES` sets the cases per property (see params/proptests.rs).

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::Error;
use super::policy::check_policy;
use super::template::{Context, IAM_LIMIT, STS_LIMIT, Template};
use crate::model::CredentialType;
use crate::params::proptests::{any_text, config, is_one_line, syntax_text};

/// Fails unless the error, its causes and its hint are one line each.
pub(crate) fn check_one_line(e: &Error) -> Result<(), TestCaseError> {
    prop_assert!(is_one_line(&e.chain()), "multi-line error {:?}", e.chain());
    if let Error::Invalid {
        hint: Some(hint), ..
    } = e
    {
        prop_assert!(is_one_line(hint), "multi-line hint {hint:?}");
    }
    Ok(())
}

/// Template-like text: placeholders' words, braces, numbers (huge ones too), whitespace, any
/// character.
fn template_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "{{",
            "}}",
            "{",
            "}",
            "role",
            "mount",
            "random",
            "type",
            "unix_time",
            " ",
            "\n",
            "\u{3000}",
            "-",
            "a",
        ])
        .prop_map(str::to_string),
        "[0-9]{1,25}",
        any_text(3),
    ];
    prop_oneof![
        any_text(40),
        prop::collection::vec(piece, 0..12).prop_map(|p| p.concat()),
    ]
}

/// Whitespace inside a placeholder's braces.
fn pad(at_least_one: bool) -> impl Strategy<Value = &'static str> {
    let mut choices = vec![" ", "  ", "\t", "\n", "\u{3000}"];
    if !at_least_one {
        choices.push("");
    }
    prop::sample::select(choices)
}

/// One part of a valid template, and the longest text it can become.
fn template_part() -> impl Strategy<Value = (String, usize)> {
    let placeholder = |word: &'static str, default: usize| {
        (
            pad(false),
            prop::option::of((pad(true), 1usize..=64)),
            pad(false),
        )
            .prop_map(move |(before, length, after)| match length {
                Some((sep, n)) => (format!("{{{{{before}{word}{sep}{n}{after}}}}}"), n),
                None => (format!("{{{{{before}{word}{after}}}}}"), default),
            })
    };
    prop_oneof![
        "[A-Za-z0-9_+=,.@-]{1,10}".prop_map(|t| {
            let len = t.len();
            (t, len)
        }),
        placeholder("role", 64),
        placeholder("mount", 64),
        Just(("{{type}}".to_string(), 16)),
        Just(("{{ unix_time }}".to_string(), 10)),
        (1usize..=64).prop_map(|n| (format!("{{{{random {n}}}}}"), n)),
    ]
}

/// What a name is made from: any role and mount text (they are cleaned), a time up to 2286.
fn context() -> impl Strategy<Value = (String, String, CredentialType, i64)> {
    (
        any_text(80).prop_filter("a role", |r| !r.is_empty()),
        any_text(80).prop_filter("a mount", |m| !m.is_empty()),
        prop::sample::select(CredentialType::ALL.to_vec()),
        0i64..10_000_000_000,
    )
}

/// A JSON document as a tree, to be written with or without whitespace between its tokens.
#[derive(Debug, Clone)]
enum Json {
    /// `null`, `true`, a number, or a string literal with escapes, as written.
    Raw(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

fn json() -> impl Strategy<Value = Json> {
    let raw = prop::sample::select(vec![
        "null",
        "true",
        "false",
        "0",
        "-0",
        "12.50",
        "1e5",
        "1E-3",
        "-7",
        r#""\u00e9""#,
        r#""\/""#,
        r#""a\\""#,
        r#""\"""#,
        r#""\\\"""#,
        r#"" \t ""#,
        r#""\ud83d\ude00""#,
    ])
    .prop_map(|r| Json::Raw(r.to_string()));
    let leaf = prop_oneof![
        4 => raw,
        2 => any::<i64>().prop_map(|n| Json::Raw(n.to_string())),
        4 => any_text(12).prop_map(Json::Str),
        1 => "x{0,2100}".prop_map(Json::Str),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Arr),
            prop::collection::vec((any_text(6), inner), 0..4).prop_map(Json::Obj),
        ]
    })
}

/// A policy: an object with a "Statement" among its keys, in any order.
fn policy() -> impl Strategy<Value = Json> {
    (
        prop::collection::vec((any_text(8), json()), 0..4),
        json(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut pairs, statement, at)| {
            let at = at.index(pairs.len() + 1);
            pairs.insert(at, ("Statement".to_string(), statement));
            Json::Obj(pairs)
        })
}

/// Writes `json`, with `ws()` between every two tokens.
fn write(json: &Json, ws: &mut dyn FnMut() -> &'static str, out: &mut String) {
    out.push_str(ws());
    match json {
        Json::Raw(text) => out.push_str(text),
        Json::Str(s) => out.push_str(&serde_json::to_string(s).unwrap()),
        Json::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, ws, out);
            }
            out.push_str(ws());
            out.push(']');
        }
        Json::Obj(pairs) => {
            out.push('{');
            for (i, (key, value)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(ws());
                out.push_str(&serde_json::to_string(key).unwrap());
                out.push_str(ws());
                out.push(':');
                write(value, ws, out);
            }
            out.push_str(ws());
            out.push('}');
        }
    }
    out.push_str(ws());
}

proptest! {
    #![proptest_config(config())]

    // Template::parse: no text and no limit makes it panic or print a multi-line error.
    #[test]
    fn proptest_template_parse_never_panics(
        text in template_text(),
        limit in prop_oneof![Just(IAM_LIMIT), Just(STS_LIMIT), 0usize..300],
    ) {
        if let Err(e) = Template::parse(&text, limit, "username_template") {
            check_one_line(&e)?;
        }
    }

    // Template: accepted iff its longest name fits the limit; names fit it, in IAM characters.
    #[test]
    fn proptest_template_names_fit_their_limit(
        parts in prop::collection::vec(template_part(), 1..6),
        pick in 0usize..5,
        (role, mount, kind, now) in context(),
    ) {
        let text: String = parts.iter().map(|(t, _)| t.as_str()).collect();
        let longest: usize = parts.iter().map(|(_, n)| n).sum();
        let limit = [STS_LIMIT, IAM_LIMIT, longest, longest - 1, longest + 1][pick];
        let template = match Template::parse(&text, limit, "username_template") {
            Ok(template) => template,
            Err(e) => {
                prop_assert!(longest > limit, "{:?} refused: {}", text, e);
                prop_assert_eq!(
                    e.to_string(),
                    format!("username_template can make names of up to {longest} characters; the limit is {limit}")
                );
                return Ok(());
            }
        };
        prop_assert!(longest <= limit, "{:?} accepted for {}", text, limit);
        prop_assert_eq!(template.max_len(), longest);
        let ctx = Context { role: &role, mount: &mount, kind, now };
        let name = template.render(&ctx);
        prop_assert!(!name.is_empty() && name.len() <= longest, "{:?} from {:?}", name, text);
        prop_assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)),
            "{:?} from {:?}", name, text
        );
    }

    // check_policy: no panic, one-line errors; check_policy(accepted) gives it back unchanged.
    #[test]
    fn proptest_check_policy_never_panics(
        text in prop_oneof![
            any_text(40),
            syntax_text("{}[]\":, \n\\Statement", 40),
            policy().prop_map(|p| { let mut out = String::new(); write(&p, &mut || " ", &mut out); out }),
        ],
    ) {
        match check_policy(&text) {
            Ok(compact) => prop_assert_eq!(check_policy(&compact).ok(), Some(compact.clone())),
            Err(e) => check_one_line(&e)?,
        }
    }

    // check_policy: keeps a policy as written less whitespace (order, escapes), idempotently.
    #[test]
    fn proptest_check_policy_compacts_idempotently(
        policy in policy(),
        spaces in prop::collection::vec(
            prop::sample::select(vec!["", " ", "\n", "\t", "\r\n", "  \n  "]), 1..8),
    ) {
        let mut compact = String::new();
        write(&policy, &mut || "", &mut compact);
        let mut spaced = String::new();
        let mut i = 0;
        write(&policy, &mut || { i += 1; spaces[i % spaces.len()] }, &mut spaced);
        match check_policy(&spaced) {
            Ok(got) => {
                prop_assert_eq!(&got, &compact);
                prop_assert_eq!(check_policy(&got).ok(), Some(got.clone()));
            }
            Err(e) => {
                prop_assert!(compact.len() > 2048, "{:?} refused: {}", spaced, e);
                prop_assert!(e.to_string().contains("IAM allows 2048"), "{}", e);
            }
        }
    }
}
