//! Name templates: how awscreds names the IAM users it creates (`username_template`, at most 64
//! characters, IAM's limit) and its STS sessions and federated users (`sts_name_template`, at
//! most 32, GetFederationToken's limit). A template is text with placeholders:
//!
//! | placeholder | becomes | at most |
//! |---|---|---|
//! | `{{role}}`, `{{role N}}` | the role name, cut to N characters | 64, N |
//! | `{{mount}}`, `{{mount N}}` | the mount path (`/` becomes `_`), cut to N | 64, N |
//! | `{{type}}` | the credential type (`iam_user`, `assumed_role`, ...) | 16 |
//! | `{{unix_time}}` | seconds since 1970 | 10 |
//! | `{{random N}}` | N random letters and digits | N |
//!
//! Text outside placeholders may use only what IAM allows in names: letters, digits and
//! `_+=,.@-`. The longest name a template can make is checked when it is written, so that
//! requests never fail for a name too long.

use super::Error;
use crate::model::CredentialType;
use crate::params::one_line;

pub const IAM_LIMIT: usize = 64;
pub const STS_LIMIT: usize = 32;
pub const DEFAULT_IAM: &str = "awscreds-{{role 27}}-{{unix_time}}-{{random 16}}";
pub const DEFAULT_STS: &str = "awscreds-{{unix_time}}-{{random 12}}";
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Role(usize),
    Mount(usize),
    Type,
    UnixTime,
    Random(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// What a name is made from.
pub struct Context<'a> {
    pub role: &'a str,
    pub mount: &'a str,
    pub kind: CredentialType,
    pub now: i64,
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

impl Template {
    /// Parses `text` and checks that every name it can make fits `limit` characters; `param`
    /// names the parameter in errors.
    pub fn parse(text: &str, limit: usize, param: &str) -> Result<Template, Error> {
        let bad = |why: String| Error::BadTemplate {
            message: format!("invalid {param}: {why}"),
        };
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let Some(start) = rest.find("{{") else {
                parts.push(Part::Text(rest.to_string()));
                break;
            };
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| bad("a \"{{\" without \"}}\"".into()))?;
            let words: Vec<&str> = after[..end].split_whitespace().collect();
            let number = |w: Option<&&str>, max: usize| -> Result<Option<usize>, Error> {
                match w {
                    None => Ok(None),
                    Some(w) => match w.parse::<usize>() {
                        Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
                        _ => Err(bad(format!("\"{w}\" is not a length from 1 to {max}"))),
                    },
                }
            };
            let part = match words.as_slice() {
                ["role"] | ["role", _] => Part::Role(number(words.get(1), 64)?.unwrap_or(64)),
                ["mount"] | ["mount", _] => Part::Mount(number(words.get(1), 64)?.unwrap_or(64)),
                ["type"] => Part::Type,
                ["unix_time"] => Part::UnixTime,
                ["random", _] => Part::Random(number(words.get(1), 64)?.expect("one word")),
                _ => {
                    return Err(bad(format!(
                        "unknown placeholder \"{{{{{}}}}}\"",
                        one_line(&after[..end])
                    )));
                }
            };
            parts.push(part);
            rest = &after[end + 2..];
        }
        let literal = parts.iter().filter_map(|p| match p {
            Part::Text(t) => Some(t.as_str()),
            _ => None,
        });
        if let Some(c) = literal.flat_map(str::chars).find(|c| !allowed(*c)) {
            return Err(bad(format!(
                "'{}' is not allowed in IAM names (letters, digits and _+=,.@-)",
                one_line(&c.to_string())
            )));
        }
        let template = Template { parts };
        let max = template.max_len();
        if max > limit {
            return Err(Error::input_hint(
                format!("{param} can make names of up to {max} characters; the limit is {limit}"),
                "cut placeholders to a length, e.g. {{role 20}}, or use fewer random characters",
            ));
        }
        if max == 0 {
            return Err(bad("it makes empty names".into()));
        }
        Ok(template)
    }

    /// How many random characters every name gets.
    pub fn randomness(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Random(n) => *n,
                _ => 0,
            })
            .sum()
    }

    /// The longest name this template can make.
    pub fn max_len(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.len(),
                Part::Role(n) | Part::Mount(n) | Part::Random(n) => *n,
                Part::Type => 16,
                Part::UnixTime => 10,
            })
            .sum()
    }

    pub fn render(&self, ctx: &Context<'_>) -> String {
        let clean = |s: &str, n: usize| -> String {
            s.chars()
                .map(|c| if allowed(c) { c } else { '_' })
                .take(n)
                .collect()
        };
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Role(n) => out.push_str(&clean(ctx.role, *n)),
                Part::Mount(n) => out.push_str(&clean(ctx.mount, *n)),
                Part::Type => out.push_str(ctx.kind.as_str()),
                Part::UnixTime => out.push_str(&ctx.now.to_string()),
                Part::Random(n) => out.push_str(&random(*n)),
            }
        }
        out
    }
}

fn random(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).expect("the operating system provides randomness");
        // 248 = 4 * 62: bytes above it are dropped so that every character is equally likely.
        for b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == len {
                break;
            }
            out.push(BASE62[(*b % 62) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(role: &str) -> Context<'_> {
        Context {
            role,
            mount: "team/aws",
            kind: CredentialType::IamUser,
            now: 1_700_000_000,
        }
    }

    #[test]
    fn the_defaults_fit_their_limits() {
        let iam = Template::parse(DEFAULT_IAM, IAM_LIMIT, "username_template").unwrap();
        assert_eq!(iam.max_len(), 64);
        let name = iam.render(&ctx("deploy"));
        assert!(name.starts_with("awscreds-deploy-1700000000-"), "{name}");
        assert_eq!(name.len(), "awscreds-deploy-1700000000-".len() + 16);
        assert_eq!(iam.render(&ctx(&"r".repeat(64))).len(), 64);
        assert_ne!(iam.render(&ctx("a")), iam.render(&ctx("a")));
        let sts = Template::parse(DEFAULT_STS, STS_LIMIT, "sts_name_template").unwrap();
        assert_eq!(sts.max_len(), 32);
    }

    #[test]
    fn placeholders_render() {
        let t = Template::parse("{{mount 8}}.{{type}}.{{role 3}}", 64, "t").unwrap();
        assert_eq!(t.render(&ctx("deploy")), "team_aws.iam_user.dep");
    }

    #[test]
    fn templates_that_could_be_too_long_or_malformed_are_refused() {
        let msg = |t: &str, limit| {
            Template::parse(t, limit, "username_template")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            msg("vault-{{role}}-{{unix_time}}", 64),
            "username_template can make names of up to 81 characters; the limit is 64"
        );
        assert!(msg(DEFAULT_IAM, 32).contains("up to 64 characters; the limit is 32"));
        assert!(msg("{{nope}}", 64).contains("unknown placeholder \"{{nope}}\""));
        assert!(msg("{{random}}", 64).contains("unknown placeholder"));
        assert!(msg("{{random 0}}", 64).contains("not a length"));
        assert!(msg("a b{{role 3}}", 64).contains("' ' is not allowed"));
        assert!(msg("{{role", 64).contains("without"));
    }

    #[test]
    fn errors_show_control_characters_escaped() {
        // Reproduces the two-line error that proptest found for the template "\n", and "{{\n}}".
        let msg = |t: &str| Template::parse(t, 64, "t").unwrap_err().to_string();
        assert_eq!(
            msg("\n"),
            "invalid t: '\\n' is not allowed in IAM names (letters, digits and _+=,.@-)"
        );
        assert_eq!(msg("{{\n}}"), "invalid t: unknown placeholder \"{{\\n}}\"");
    }
}
