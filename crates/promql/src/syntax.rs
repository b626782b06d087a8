//! Parsing with Prometheus's error messages. The tree comes from
//! `promql-parser`; when it refuses an expression, the error is rebuilt so
//! that it reads exactly as Prometheus's for the same text
//! (`1:14: parse error: unexpected identifier "rate" in aggregation`): a
//! lexer and a small grammar walk that stop where Prometheus's do find
//! syntax errors, and `promql-parser`'s semantic errors are reworded and
//! placed at the node Prometheus names (ADR 0013). What is not recognised
//! keeps `promql-parser`'s message at the probed position.

mod lex;
mod nesting;
mod translate;
mod tree;

use std::fmt;

pub use nesting::MAX_NESTING;

/// A PromQL parse error: 1-based line and column (in bytes, as Prometheus
/// counts them) and Prometheus's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: parse error: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses `input` into `promql-parser`'s tree, or fails with the error
/// Prometheus would give. A query nested deeper than [`MAX_NESTING`] is
/// refused before it is parsed (see `nesting`).
pub fn parse(input: &str) -> Result<promql_parser::parser::Expr, ParseError> {
    let (tokens, _) = lex::lex(input);
    if let Some(pos) = nesting::too_deep(&tokens) {
        let (line, column) = go_line_col(input, pos);
        return Err(ParseError {
            line,
            column,
            message: format!(
                "expression nested too deeply: more than {MAX_NESTING} levels of brackets and operators"
            ),
        });
    }
    promql_parser::parser::parse(input).map_err(|msg| explain(input, &msg))
}

fn explain(input: &str, parser_message: &str) -> ParseError {
    let (tokens, lex_error) = lex::lex(input);
    let found = match tree::check(&tokens, lex_error) {
        Err(tree::Stop::Error(e)) => Some((e.pos, e.message)),
        Err(tree::Stop::TooDeep) => None,
        Ok(tree) => translate::semantic(parser_message, &tree),
    };
    match found {
        Some((pos, message)) => {
            let (line, column) = go_line_col(input, pos);
            ParseError {
                line,
                column,
                message,
            }
        }
        None => {
            let (line, column) = crate::position::locate(input, parser_message);
            ParseError {
                line,
                column,
                message: parser_message.trim().to_string(),
            }
        }
    }
}

/// Prometheus's position: lines counted from 1, the column in bytes.
fn go_line_col(input: &str, pos: usize) -> (usize, usize) {
    let before = input.get(..pos).unwrap_or(input);
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(pos + 1, |nl| pos - nl);
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(q: &str) -> String {
        parse(q).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn lexical_errors_read_as_prometheus() {
        assert_eq!(
            err("sum(rate(x[5m])"),
            "1:16: parse error: unclosed left parenthesis"
        );
        assert_eq!(err("x[5x]"), "1:3: parse error: bad duration syntax: \"5\"");
        assert_eq!(
            err("\"abc\\q\""),
            "1:1: parse error: unknown escape sequence U+0071 'q'"
        );
        assert_eq!(
            err("x\n+\n  foo["),
            "3:7: parse error: missing unit character in duration"
        );
    }

    #[test]
    fn grammar_errors_name_the_context() {
        assert_eq!(
            err("sum by (job) rate(x[5m])"),
            "1:14: parse error: unexpected identifier \"rate\" in aggregation"
        );
        assert_eq!(
            err("x{a!~}"),
            "1:6: parse error: unexpected \"}\" in label matching, expected string"
        );
        assert_eq!(err("x ^ ^ y"), "1:5: parse error: unexpected <op:^>");
        assert_eq!(err("x +"), "1:4: parse error: unexpected end of input");
        assert_eq!(err(""), "1:1: parse error: no expression found in input");
    }

    #[test]
    fn semantic_errors_are_reworded_and_placed() {
        assert_eq!(
            err("rate(x)"),
            "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"
        );
        assert_eq!(
            err("topk(\"a\", x)"),
            "1:6: parse error: expected type scalar in aggregation parameter, got string"
        );
        assert_eq!(
            err("x + bool y"),
            "1:3: parse error: bool modifier can only be used on comparison operators"
        );
        assert_eq!(
            err("x{a=~\"(\"}"),
            "1:3: parse error: error parsing regexp: missing closing ): `^(?:()$`"
        );
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        for q in [
            format!("{}x", "(".repeat(5000)),
            format!("{}x{}", "(".repeat(5000), ")".repeat(5000)),
            format!("{}1", "-".repeat(10_000)),
            format!("1{}", "+1".repeat(5000)),
            format!("{}x{}", "abs(".repeat(300), ")".repeat(300)),
            format!("{}x", "sum(rate(".repeat(200)),
        ] {
            let e = parse(&q).unwrap_err();
            assert!(e.message.contains("nested too deeply"), "{e}");
        }
        let e = parse(&format!("x + {}1", "(".repeat(300))).unwrap_err();
        assert_eq!((e.line, e.column), (1, 5 + MAX_NESTING - 1), "{e}");
    }

    #[test]
    fn nesting_up_to_the_limit_parses() {
        let half = MAX_NESTING / 2 - 1;
        for q in [
            format!(
                "{}x{}",
                "(".repeat(MAX_NESTING - 1),
                ")".repeat(MAX_NESTING - 1)
            ),
            format!("x{}", " + x".repeat(MAX_NESTING - 1)),
            format!("{}x{}", "abs(-".repeat(half), ")".repeat(half)),
            // A 200-term `or` chain is 200 deep and still passes.
            vec!["sum(rate(x[5m])) by (job)"; 200].join(" or "),
        ] {
            parse(&q).unwrap_or_else(|e| panic!("{}: {e}", &q[..40]));
        }
    }

    #[test]
    fn valid_queries_still_parse() {
        for q in [
            "sum by (job) (rate(x[5m]))",
            "x offset -5m @ end()",
            "a * on(b) group_left(c) d",
            "rate(x[5m:1m])",
            "{__name__=~\"a.*\"}",
            "0x1F + 1e3 - .5 + Inf",
        ] {
            parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        }
    }
}
