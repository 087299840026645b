//! IAM policy documents as roles carry them: checked to be a JSON object with a `Statement`,
//! small enough for a user's inline policies, and stored compacted with their key order kept.

use serde_json::Value;

use super::{Error, Result};

/// IAM's limit on the size of a user's inline policies (non-whitespace characters).
const MAX_INLINE_POLICY: usize = 2048;

/// Checks that `text` is an IAM policy document (a JSON object with a `Statement`) that fits a
/// user's inline policy, and returns it compacted with its key order kept.
pub fn check_policy(text: &str) -> Result<String> {
    let hint =
        "a policy is a JSON object such as {\"Version\": \"2012-10-17\", \"Statement\": [...]}";
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::input_hint(format!("cannot parse policy document: {e}"), hint))?;
    let Value::Object(object) = value else {
        return Err(Error::input_hint(
            "policy document is not a JSON object",
            hint,
        ));
    };
    if !object.contains_key("Statement") {
        return Err(Error::input_hint(
            "policy document has no \"Statement\"",
            hint,
        ));
    }
    let compact = compact_json(text);
    if compact.len() > MAX_INLINE_POLICY {
        return Err(Error::input_hint(
            format!(
                "policy document is {} characters; IAM allows {MAX_INLINE_POLICY} for a user's inline policies",
                compact.len()
            ),
            "shorten the policy (fewer statements, wildcards)",
        ));
    }
    Ok(compact)
}

/// Removes insignificant whitespace from valid JSON, keeping everything else as written.
fn compact_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_checked_and_compacted_in_order() {
        let got = check_policy(
            "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"iam:*\", \"Resource\": \"a b\\\" c\"}\n}\n",
        )
        .unwrap();
        assert_eq!(
            got,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"a b\" c"}}"#
        );
    }

    #[test]
    fn bad_policies_are_refused() {
        let msg = |t: &str| check_policy(t).unwrap_err().to_string();
        assert!(msg("{").starts_with("cannot parse policy document"));
        assert_eq!(msg("[1]"), "policy document is not a JSON object");
        assert_eq!(
            msg("{\"Version\": \"x\"}"),
            "policy document has no \"Statement\""
        );
        let big = format!("{{\"Statement\": \"{}\"}}", "x".repeat(3000));
        assert!(msg(&big).contains("IAM allows 2048"));
    }
}
