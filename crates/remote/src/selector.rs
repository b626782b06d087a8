//! Matchers rendered as a PromQL series selector, for the HTTP API's `match[]`.

use homeostat_model::gofmt::quote;
use homeostat_storage::Matcher;

/// `{name="value",...}` with values as Go-quoted strings, which PromQL's lexer
/// reads back unchanged.
/// A list whose matchers all accept the empty string gets `__name__=~".+"`,
/// because Prometheus refuses selectors that could match every series; the
/// storage contract's "all series" then means "all named series".
pub fn render_selector(matchers: &[Matcher]) -> String {
    let mut parts: Vec<String> = matchers
        .iter()
        .map(|m| format!("{}{}{}", m.name, m.op, quote(&m.value)))
        .collect();
    if matchers.iter().all(Matcher::matches_empty) {
        parts.push("__name__=~\".+\"".to_string());
    }
    format!("{{{}}}", parts.join(","))
}

#[cfg(test)]
mod tests {
    use homeostat_storage::MatchOp;

    use super::*;

    #[test]
    fn renders_and_escapes() {
        let ms = vec![
            Matcher::equal("__name__", "up"),
            Matcher::new(MatchOp::RegexMatch, "job", "a\\.b|\"c\"").unwrap(),
            Matcher::new(MatchOp::NotEqual, "x", "line\nbreak").unwrap(),
        ];
        assert_eq!(
            render_selector(&ms),
            r#"{__name__="up",job=~"a\\.b|\"c\"",x!="line\nbreak"}"#
        );
        assert_eq!(render_selector(&[]), r#"{__name__=~".+"}"#);
        let empty = vec![Matcher::new(MatchOp::RegexMatch, "job", ".*").unwrap()];
        assert_eq!(render_selector(&empty), r#"{job=~".*",__name__=~".+"}"#);
    }
}
