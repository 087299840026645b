//! Parameters as users give them: `KEY=VALUE` arguments ([`kv`]), durations ([`duration`]), and
//! the decoding of one parameter's value into a string, a list or a map. Every error here is one
//! line that names the parameter and never shows a value that might be a secret.

pub mod duration;
pub mod kv;
#[cfg(test)]
pub(crate) mod proptests;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A parameter that cannot be used as given: one line, and an optional hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    pub message: String,
    pub hint: Option<String>,
}

impl ParamError {
    pub fn input(message: impl Into<String>) -> Self {
        ParamError {
            message: message.into(),
            hint: None,
        }
    }

    pub fn input_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        ParamError {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

/// `text` as a one-line message may show it: control characters (line breaks, tabs, terminal
/// escapes) written as escapes (`\n`), everything else as it is.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// The string value of parameter `name`, refusing lists and other JSON types.
pub fn string(data: &Map<String, Value>, name: &str) -> Result<Option<String>, ParamError> {
    match data.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Array(_)) => Err(ParamError::input_hint(
            format!("parameter \"{name}\" was given more than once"),
            format!("give {name}= once"),
        )),
        Some(_) => Err(ParamError::input(format!(
            "parameter \"{name}\" must be a string"
        ))),
    }
}

/// Parses a duration parameter into seconds, naming it in the error.
pub fn named_duration(name: &str, text: &str) -> Result<u64, ParamError> {
    duration::parse(text).map_err(|e| ParamError {
        message: format!("{name}: {}", e.message),
        hint: e.hint,
    })
}

/// A list parameter: comma-separated, repeated keys, or a JSON array.
pub fn list(param: &str, value: &Value) -> Result<Vec<String>, ParamError> {
    let mut out = Vec::new();
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for item in items {
        match item {
            Value::String(text) if text.trim_start().starts_with('[') => {
                let parsed: Vec<String> = serde_json::from_str(text).map_err(|e| {
                    ParamError::input(format!(
                        "cannot parse {param} as a JSON list of strings: {e}"
                    ))
                })?;
                out.extend(parsed);
            }
            Value::String(text) => out.extend(
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            ),
            _ => {
                return Err(ParamError::input(format!(
                    "{param} must be a list of strings"
                )));
            }
        }
    }
    Ok(out)
}

/// A map parameter: `k=v` pairs (comma-separated or repeated keys), or a JSON object.
pub fn map(param: &str, value: &Value) -> Result<BTreeMap<String, String>, ParamError> {
    let mut out = BTreeMap::new();
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for item in items {
        match item {
            Value::Object(object) => {
                for (k, v) in object {
                    let v = v.as_str().ok_or_else(|| {
                        ParamError::input(format!(
                            "{param}: the value of \"{}\" must be a string",
                            one_line(k)
                        ))
                    })?;
                    out.insert(k.clone(), v.to_string());
                }
            }
            Value::String(text) if text.trim_start().starts_with('{') => {
                let parsed: BTreeMap<String, String> = serde_json::from_str(text).map_err(|e| {
                    ParamError::input(format!(
                        "cannot parse {param} as a JSON object of strings: {e}"
                    ))
                })?;
                out.extend(parsed);
            }
            Value::String(text) => {
                for pair in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let (k, v) = pair.split_once('=').ok_or_else(|| {
                        ParamError::input_hint(
                            format!("invalid {param} entry \"{}\"", one_line(pair)),
                            format!(
                                "write {param} as key=value pairs, e.g. {param}=team=ci,env=dev"
                            ),
                        )
                    })?;
                    out.insert(k.trim().to_string(), v.trim().to_string());
                }
            }
            _ => {
                return Err(ParamError::input(format!(
                    "{param} must be key=value pairs"
                )));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_errors_stay_on_one_line() {
        // Reproduces the two-line error that proptest found for tags {"\n": null}, and one entry.
        let err = map("tags", &serde_json::json!({"\n": null})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tags: the value of \"\\n\" must be a string"
        );
        let err = map("tags", &Value::String("a\nb".into())).unwrap_err();
        assert_eq!(err.to_string(), "invalid tags entry \"a\\nb\"");
    }
}
