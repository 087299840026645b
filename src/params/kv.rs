//! The `KEY=VALUE` arguments of `write` and `read`, with Vault's conventions: `KEY=@file` is the file's
//! contents, `KEY=-` is standard input, `KEY=\@x` is a literal `@x`; a lone `-` or `@file.json` supplies
//! a JSON object of parameters; a repeated key collects its values into a list.

use std::io::Read;

use serde_json::{Map, Value};

use super::{ParamError as Error, one_line};

/// Parses `args` into parameters. `stdin` is read at most once.
pub fn parse(args: &[String], stdin: &mut dyn Read) -> Result<Map<String, Value>, Error> {
    let mut out = Map::new();
    let mut stdin_used = false;
    let mut read_stdin = |what: &str| -> Result<String, Error> {
        if std::mem::replace(&mut stdin_used, true) {
            return Err(Error::input_hint(
                format!("standard input already consumed (by {})", one_line(what)),
                "only one parameter, or one lone \"-\", can read standard input",
            ));
        }
        let mut text = String::new();
        stdin.read_to_string(&mut text).map_err(|e| {
            Error::input(format!(
                "cannot read standard input for {}: {e}",
                one_line(what)
            ))
        })?;
        Ok(text)
    };

    for (index, arg) in args.iter().enumerate() {
        if arg == "-" || (arg.starts_with('@') && !arg.contains('=')) {
            let text = if arg == "-" {
                read_stdin("a lone \"-\"")?
            } else {
                read_file(&arg[1..], "a JSON object of parameters")?
            };
            let object: Map<String, Value> = serde_json::from_str(&text).map_err(|e| {
                Error::input_hint(
                    format!(
                        "cannot parse {} as a JSON object of parameters: {e}",
                        one_line(arg)
                    ),
                    "a lone \"-\" or @FILE must hold an object such as {\"policy\": \"...\"}",
                )
            })?;
            for (key, value) in object {
                insert(&mut out, key, value);
            }
            continue;
        }
        // An argument that is not KEY=VALUE may be a secret typed without its key (or after
        // an unset "$NAME="): it is named by position, never shown.
        let position = index + 1;
        let Some((key, raw)) = arg.split_once('=') else {
            return Err(Error::input_hint(
                format!("invalid key/value pair (argument {position}): format must be key=value"),
                "write parameters as KEY=VALUE, KEY=@FILE or KEY=- (standard input)",
            ));
        };
        if key.is_empty() {
            return Err(Error::input_hint(
                format!("invalid key/value pair (argument {position}): the key is empty"),
                "write parameters as KEY=VALUE; is a variable in KEY unset?",
            ));
        }
        let value = if raw == "-" {
            trim_newline(read_stdin(key)?)
        } else if let Some(path) = raw.strip_prefix('@') {
            trim_newline(read_file(path, key)?)
        } else if let Some(literal) = raw.strip_prefix("\\@") {
            format!("@{literal}")
        } else {
            raw.to_string()
        };
        insert(&mut out, key.to_string(), Value::String(value));
    }
    Ok(out)
}

fn read_file(path: &str, what: &str) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| {
        Error::input_hint(
            format!(
                "cannot read file \"{}\" for {}: {}",
                one_line(path),
                one_line(what),
                io_reason(&e)
            ),
            "check the path after @; write \\@ for a value that starts with a literal @",
        )
    })
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

fn trim_newline(mut text: String) -> String {
    while text.ends_with('\n') || text.ends_with('\r') {
        text.pop();
    }
    text
}

fn insert(out: &mut Map<String, Value>, key: String, value: Value) {
    match out.get_mut(&key) {
        None => {
            out.insert(key, value);
        }
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plain_pairs_and_literal_at() {
        let got = parse(&args(&["a=1", "b=x=y", "c=\\@lit"]), &mut "".as_bytes()).unwrap();
        assert_eq!(
            Value::Object(got),
            json!({"a": "1", "b": "x=y", "c": "@lit"})
        );
    }

    #[test]
    fn files_stdin_and_lists() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.json");
        std::fs::write(&file, "{\"Statement\": []}\n").unwrap();
        let at = format!("policy=@{}", file.display());
        let got = parse(
            &args(&[&at, "secret=-", "k=1", "k=2"]),
            &mut "s3cret\n".as_bytes(),
        )
        .unwrap();
        assert_eq!(
            Value::Object(got),
            json!({"policy": "{\"Statement\": []}", "secret": "s3cret", "k": ["1", "2"]})
        );
    }

    #[test]
    fn lone_dash_is_a_json_object() {
        let got = parse(&args(&["-", "b=2"]), &mut "{\"a\": \"1\"}".as_bytes()).unwrap();
        assert_eq!(Value::Object(got), json!({"a": "1", "b": "2"}));
    }

    #[test]
    fn errors_are_clear() {
        let err = parse(&args(&["novalue"]), &mut "".as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid key/value pair (argument 1): format must be key=value"
        );
        for secret in ["secret_key:s3cr3t", "s3cr3t", "=s3cr3t"] {
            let err = parse(&args(&["a=1", secret]), &mut "".as_bytes()).unwrap_err();
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
            assert!(err.to_string().contains("(argument 2)"), "{err}");
        }
        let err = parse(&args(&["a=-", "b=-"]), &mut "x".as_bytes()).unwrap_err();
        assert!(err.to_string().contains("already consumed"));
        let err = parse(&args(&["p=@/no/such/file"]), &mut "".as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read file \"/no/such/file\" for p: no such file"
        );
    }

    #[test]
    fn paths_and_keys_in_errors_stay_on_one_line() {
        // Reproduces the two-line errors that proptest found for the arguments "@\n" and "¡=@\n".
        let err = parse(&args(&["@\n"]), &mut "".as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read file \"\\n\" for a JSON object of parameters: no such file"
        );
        let err = parse(&args(&["¡=@\n"]), &mut "".as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read file \"\\n\" for ¡: no such file"
        );
    }
}
