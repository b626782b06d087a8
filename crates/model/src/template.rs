//! The one `{{.name}}` placeholder language (the subset of Go's
//! `text/template` that Sloth's `{{.window}}` uses): SLI queries, canary
//! queries with `{{.group}}`, rollback webhook bodies and commands.
//!
//! Strict, so that a typo fails when the file is loaded instead of reaching
//! Prometheus or a webhook as literal braces: [`Template::parse`] checks the
//! text once against the keys its user knows, and any other `{{ }}` — an
//! unknown key, a malformed action, a `{{` without `}}` — is an error that
//! names it. Spaces inside the braces are allowed (`{{ .window }}`).
//!
//! A value is escaped for where it lands ([`Escape`]): inside a PromQL string
//! literal, inside a JSON string, or not at all (a duration in `[…]`, a
//! command argument).

use crate::gofmt::promql_string_contents;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("`{{{{` at byte {at} is never closed with `}}}}`")]
    Unterminated { at: usize },
    #[error("`{{{{{action}}}}}` at byte {at} is not a placeholder; write `{{{{.name}}}}`")]
    Malformed { action: String, at: usize },
    #[error("unknown placeholder `{{{{.{key}}}}}`; known: {known}")]
    UnknownKey { key: String, known: String },
}

/// How a value is written into the rendered text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// As is: a duration inside `[…]`, a command-line argument.
    None,
    /// The inside of a PromQL string literal, `"…"` or `'…'`
    /// ([`promql_string_contents`]): a value cannot end the literal.
    PromqlString,
    /// The inside of a JSON string: `"`, `\` and control characters escaped.
    JsonString,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Key(String),
}

/// A checked template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `src`, accepting only placeholders named in `known`.
    pub fn parse(src: &str, known: &[&str]) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = src;
        let mut offset = 0;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let at = offset + start;
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or(TemplateError::Unterminated { at })?;
            let action = &after[..end];
            let key = action
                .trim()
                .strip_prefix('.')
                .filter(|k| is_identifier(k))
                .ok_or_else(|| TemplateError::Malformed {
                    action: action.to_string(),
                    at,
                })?;
            if !known.contains(&key) {
                return Err(TemplateError::UnknownKey {
                    key: key.to_string(),
                    known: known_list(known),
                });
            }
            parts.push(Part::Key(key.to_string()));
            let consumed = start + 2 + end + 2;
            rest = &rest[consumed..];
            offset += consumed;
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// Whether the template has at least one `{{.key}}`.
    pub fn uses(&self, key: &str) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Key(k) if k == key))
    }

    /// Fills every placeholder from `vars`. A key the template uses but
    /// `vars` lacks is an [`TemplateError::UnknownKey`] naming it.
    pub fn render(&self, vars: &[(&str, &str)], escape: Escape) -> Result<String, TemplateError> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Key(k) => {
                    let Some((_, v)) = vars.iter().find(|(name, _)| name == k) else {
                        let names: Vec<&str> = vars.iter().map(|(n, _)| *n).collect();
                        return Err(TemplateError::UnknownKey {
                            key: k.clone(),
                            known: known_list(&names),
                        });
                    };
                    push_escaped(&mut out, v, escape);
                }
            }
        }
        Ok(out)
    }
}

/// Parses `src` against the keys of `vars` and renders it: for a template
/// used once, right where it was checked.
pub fn render(src: &str, vars: &[(&str, &str)], escape: Escape) -> Result<String, TemplateError> {
    let names: Vec<&str> = vars.iter().map(|(n, _)| *n).collect();
    Template::parse(src, &names)?.render(vars, escape)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn known_list(known: &[&str]) -> String {
    if known.is_empty() {
        return "none".into();
    }
    known
        .iter()
        .map(|k| format!("{{{{.{k}}}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn push_escaped(out: &mut String, v: &str, escape: Escape) {
    match escape {
        Escape::None => out.push_str(v),
        Escape::PromqlString => out.push_str(&promql_string_contents(v)),
        Escape::JsonString => {
            for c in v.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{08}' => out.push_str("\\b"),
                    '\u{0c}' => out.push_str("\\f"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn renders_known_keys_with_or_without_spaces() {
        let t = Template::parse("rate(x[{{.window}}]) / rate(y[{{ .window }}])", &["window"]);
        let t = t.unwrap();
        assert!(t.uses("window"));
        assert!(!t.uses("group"));
        assert_eq!(
            t.render(&[("window", "5m")], Escape::None).unwrap(),
            "rate(x[5m]) / rate(y[5m])"
        );
        assert_eq!(render("no placeholders", &[], Escape::None).unwrap(), "no placeholders");
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let e = Template::parse("x[{{.win}}]", &["window"]).unwrap_err();
        assert_eq!(e.to_string(), "unknown placeholder `{{.win}}`; known: {{.window}}");
        let e = Template::parse("x[{{.window]", &["window"]).unwrap_err();
        assert_eq!(e, TemplateError::Unterminated { at: 2 });
        for bad in ["{{window}}", "{{.}}", "{{.a b}}", "{{ $labels.x }}", "{{}}"] {
            let e = Template::parse(bad, &["window"]).unwrap_err();
            assert!(matches!(e, TemplateError::Malformed { .. }), "{bad}: {e}");
        }
        let t = Template::parse("{{.group}}", &["group"]).unwrap();
        let e = t.render(&[("window", "1m")], Escape::None).unwrap_err();
        assert!(e.to_string().contains("`{{.group}}`"), "{e}");
    }

    #[test]
    fn escapes_for_promql_and_json() {
        let v = "a\"b'c\\d\ne";
        let q = render(r#"up{g="{{.g}}"}"#, &[("g", v)], Escape::PromqlString).unwrap();
        assert_eq!(q, r#"up{g="a\x22b\x27c\\d\ne"}"#);
        let j = render(r#"{"r": "{{.g}}"}"#, &[("g", v)], Escape::JsonString).unwrap();
        assert_eq!(j, r#"{"r": "a\"b'c\\d\ne"}"#);
        assert_eq!(
            render("{{.g}}", &[("g", "\u{1}")], Escape::JsonString).unwrap(),
            "\\u0001"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(src in ".{0,60}", v in ".{0,10}") {
            if let Ok(t) = Template::parse(&src, &["k"]) {
                let out = t.render(&[("k", &v)], Escape::PromqlString);
                prop_assert!(out.is_ok());
            }
        }

        #[test]
        fn text_without_braces_is_kept(src in "[^{}]{0,60}") {
            prop_assert_eq!(render(&src, &[], Escape::None), Ok(src));
        }
    }
}
