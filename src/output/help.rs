//! `awscreds help PATH`: Vault's path help, rendered from the route table. It needs no mount to
//! exist.

use crate::engine::routes::{self, RouteSpec};

const WIDTH: usize = 76;

/// The help text for `path`, or `None` when it matches no route (the caller lists them).
pub fn path_help(path: &str) -> Option<String> {
    let path = path.trim_matches('/');
    let segments: Vec<&str> = path.split('/').collect();
    let Some(head) = segments.iter().rposition(|s| routes::is_route_head(s)) else {
        // A bare mount name (`aws`); a longer path without a route in it matches nothing.
        return (segments.len() == 1).then(backend_help);
    };
    let rest = segments[head..].join("/");
    routes::help_route(&rest).map(|spec| route_help(&rest, spec))
}

fn backend_help() -> String {
    let mut out = format!(
        "## DESCRIPTION\n\n{}\n\n## PATHS\n\n{}\n\n",
        wrap_paragraphs(routes::BACKEND_DESCRIPTION),
        wrap(
            "The following paths are supported by this backend. To view help for any of the \
             paths below, use the help command with any route matching the path pattern.",
            0
        )
    );
    for spec in routes::ALL {
        out.push_str(&format!(
            "    {}\n{}\n\n",
            spec.pattern,
            wrap(spec.synopsis, 8)
        ));
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

fn route_help(request: &str, spec: &RouteSpec) -> String {
    let mut out = format!(
        "Request:        {request}\nMatching Route: {}\n\n{}\n\n## OPERATIONS\n\n    {}\n\n## PARAMETERS\n\n",
        spec.pattern,
        wrap(spec.synopsis, 0),
        spec.ops
            .iter()
            .map(|o| o.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut params: Vec<(&str, &str, String)> = Vec::new();
    if spec.usage.ends_with("NAME") && !spec.fields.iter().any(|f| f.name == "name") {
        params.push(("name", "string", "Name of the role (from the path)".into()));
    }
    for f in spec.fields {
        let mut text = f.description.to_string();
        if f.required {
            text.push_str(" (required)");
        }
        params.push((f.name, f.kind, text));
    }
    if params.is_empty() {
        out.push_str("    none\n\n");
    }
    for (name, kind, text) in params {
        out.push_str(&format!("    {name} ({kind})\n{}\n\n", wrap(&text, 8)));
    }
    out.push_str("## DESCRIPTION\n\n");
    out.push_str(&wrap_paragraphs(spec.description));
    out.push('\n');
    out
}

fn wrap_paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|p| wrap(p, 0))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The words of `text`; a placeholder such as `{{role 27}}` is one word, so that it is never
/// cut in two and can be copied from the help.
fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for word in text.split_whitespace() {
        if open {
            let last = out.last_mut().expect("an open placeholder has a word");
            last.push(' ');
            last.push_str(word);
        } else {
            out.push(word.to_string());
        }
        let last = out.last().expect("just pushed");
        open = last
            .rfind("{{")
            .is_some_and(|at| !last[at..].contains("}}"));
    }
    out
}

/// Wraps `text` at [`WIDTH`] columns, every line indented by `indent` spaces.
fn wrap(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in words(text) {
        if !line.is_empty() && indent + line.len() + 1 + word.len() > WIDTH {
            lines.push(format!("{pad}{line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(format!("{pad}{line}"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_help_lists_every_path() {
        let text = path_help("aws").unwrap();
        assert!(text.starts_with("## DESCRIPTION\n\nThe AWS backend"));
        for spec in routes::ALL {
            assert!(text.contains(spec.pattern), "{}", spec.pattern);
        }
    }

    #[test]
    fn route_help_names_the_route_and_parameters() {
        let text = path_help("aws/roles/deploy").unwrap();
        assert!(text.starts_with("Request:        roles/deploy\nMatching Route: ^roles/"));
        assert!(text.contains("    policy (string)\n"));
        let text = path_help("prod/creds").unwrap();
        assert!(text.starts_with("Request:        creds\nMatching Route: ^creds/"));
        assert!(path_help("aws/config/nope").is_none());
        assert!(path_help("aws/nothing/here").is_none());
    }
}
