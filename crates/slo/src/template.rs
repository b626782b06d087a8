//! The `{{.window}}` placeholder in SLI queries (Go `text/template` syntax as
//! Sloth uses it). Only `{{.window}}` (spaces allowed inside the braces) is
//! an action; anything else in `{{ }}` is refused when the spec is loaded.

/// Replaces every `{{.window}}` with `window`.
pub(crate) fn render(query: &str, window: &str) -> Result<String, String> {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "unclosed `{{` in query".to_string())?;
        let action = after[..end].trim();
        if action != ".window" {
            return Err(format!(
                "unsupported template action `{{{{{}}}}}`: only `{{{{.window}}}}` is replaced",
                &after[..end]
            ));
        }
        out.push_str(window);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether the query has at least one `{{.window}}`.
pub(crate) fn has_window(query: &str) -> bool {
    render(query, "\u{0}").is_ok_and(|r| r.contains('\u{0}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_window() {
        assert_eq!(render("rate(x[{{.window}}])", "5m").unwrap(), "rate(x[5m])");
        assert_eq!(
            render("rate(x[{{ .window }}])", "1h").unwrap(),
            "rate(x[1h])"
        );
        assert!(render("rate(x[{{.win}}])", "1h").is_err());
        assert!(render("rate(x[{{.window])", "1h").is_err());
        assert!(has_window("{{.window}}"));
        assert!(!has_window("rate(x[5m])"));
    }
}
