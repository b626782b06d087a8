//! Alertmanager's classic matcher syntax (0.25): `name="value"`, `name!=v`,
//! `name=~"re"`, `name!~"re"`, comma-separated lists with optional braces.
//! The parser is as tolerant as Alertmanager's: values may be unquoted, a
//! lone backslash is literal, a trailing comma is allowed.

use std::cmp::Ordering;
use std::fmt;

use homeostat_model::Labels;
use regex::Regex;

/// How a matcher compares a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchType {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchType {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regex => "=~",
            MatchType::NotRegex => "!~",
        }
    }
}

impl fmt::Display for MatchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Matcher text that cannot be parsed. `position` is the 1-based character
/// column in `input` where the problem was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {position} of matcher {input:?}")]
pub struct MatcherError {
    pub input: String,
    pub position: usize,
    pub message: String,
}

/// One label matcher. Regexes are anchored at both ends, and a label the
/// alert does not have matches as the empty string.
#[derive(Debug, Clone)]
pub struct Matcher {
    name: String,
    op: MatchType,
    value: String,
    re: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}
impl Eq for Matcher {}

impl Matcher {
    /// Builds a matcher; fails only when a regex does not compile.
    pub fn new(
        op: MatchType,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, regex::Error> {
        let value = value.into();
        let re = match op {
            MatchType::Regex | MatchType::NotRegex => Some(anchored_regex(&value)?),
            MatchType::Equal | MatchType::NotEqual => None,
        };
        Ok(Self {
            name: name.into(),
            op,
            value,
            re,
        })
    }

    /// Parses exactly one matcher, e.g. `severity=~"crit|page"`.
    pub fn parse(input: &str) -> Result<Self, MatcherError> {
        parse_one(input, input, 0)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn op(&self) -> MatchType {
        self.op
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a label value (the empty string for an absent label) matches.
    pub fn matches_value(&self, v: &str) -> bool {
        match (self.op, &self.re) {
            (MatchType::Equal, _) => v == self.value,
            (MatchType::NotEqual, _) => v != self.value,
            (MatchType::Regex, Some(re)) => re.is_match(v),
            (MatchType::NotRegex, Some(re)) => !re.is_match(v),
            // Unreachable by construction: regex matchers always carry one.
            (MatchType::Regex | MatchType::NotRegex, None) => false,
        }
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.name).unwrap_or(""))
    }

    /// Alertmanager's order for a sorted matcher list: name, value, type.
    fn go_cmp(&self, other: &Self) -> Ordering {
        self.name
            .cmp(&other.name)
            .then_with(|| self.value.cmp(&other.value))
            .then_with(|| self.op.cmp(&other.op))
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"", self.name, self.op)?;
        for c in self.value.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '"' => f.write_str("\\\"")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

/// Compiles `^(?:re)$`, as Alertmanager does for `=~`, `!~` and `match_re`.
pub(crate) fn anchored_regex(re: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{re})$"))
}

/// A list of matchers that must all hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matchers(Vec<Matcher>);

impl Matchers {
    pub fn new(matchers: Vec<Matcher>) -> Self {
        Self(matchers)
    }

    /// Parses `{a="b", c=~"d"}`, `a=b,c!=d` or a single matcher. The braces
    /// are optional and so is a trailing comma; commas inside double quotes
    /// do not separate.
    pub fn parse(input: &str) -> Result<Self, MatcherError> {
        let mut start = 0;
        let mut body = input;
        if let Some(rest) = body.strip_prefix('{') {
            body = rest;
            start = 1;
        }
        if let Some(rest) = body.strip_suffix('}') {
            body = rest;
        }
        let mut tokens: Vec<(usize, &str)> = Vec::new();
        let (mut inside_quotes, mut escaped) = (false, false);
        let mut token_start = 0;
        for (i, c) in body.char_indices() {
            match c {
                ',' if !inside_quotes => {
                    tokens.push((token_start, &body[token_start..i]));
                    token_start = i + 1;
                    continue;
                }
                ',' => {}
                '"' => {
                    if escaped {
                        escaped = false;
                    } else {
                        inside_quotes = !inside_quotes;
                    }
                }
                '\\' => escaped = !escaped,
                _ => escaped = false,
            }
        }
        let last = &body[token_start..];
        if !last.trim().is_empty() {
            tokens.push((token_start, last));
        }
        let mut out = Vec::with_capacity(tokens.len());
        for (offset, token) in tokens {
            out.push(parse_one(input, token, start + offset)?);
        }
        Ok(Self(out))
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.0.iter().all(|m| m.matches(labels))
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Matcher> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn push(&mut self, m: Matcher) {
        self.0.push(m);
    }

    pub fn extend(&mut self, other: Matchers) {
        self.0.extend(other.0);
    }

    /// Sorts as Alertmanager sorts a route's matchers (name, value, type),
    /// which fixes how a route's key and id are written.
    pub fn sort(&mut self) {
        self.0.sort_by(Matcher::go_cmp);
    }
}

impl<'a> IntoIterator for &'a Matchers {
    type Item = &'a Matcher;
    type IntoIter = std::slice::Iter<'a, Matcher>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Matchers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{m}")?;
        }
        f.write_str("}")
    }
}

/// Go's `\s` in RE2: the whitespace Alertmanager trims around tokens.
fn is_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Parses one matcher out of `token`, which starts at byte `offset` of
/// `input`; errors point into `input`.
fn parse_one(input: &str, token: &str, offset: usize) -> Result<Matcher, MatcherError> {
    let err = |byte: usize, message: String| MatcherError {
        input: input.to_string(),
        position: input
            .get(..(offset + byte).min(input.len()))
            .map_or(0, |s| s.chars().count())
            + 1,
        message,
    };
    let mut i = token.len() - token.trim_start_matches(is_go_space).len();
    let name_start = i;
    let rest = &token[i..];
    match rest.chars().next() {
        Some(c) if is_name_start(c) => {}
        Some(c) => return Err(err(i, format!("expected a label name, found {c:?}"))),
        None => return Err(err(i, "expected a label name, found the end".into())),
    }
    i += rest.find(|c| !is_name_char(c)).unwrap_or(rest.len());
    let name = &token[name_start..i];
    i = token.len() - token[i..].trim_start_matches(is_go_space).len();
    let rest = &token[i..];
    let op = if rest.starts_with("=~") {
        MatchType::Regex
    } else if rest.starts_with("!=") {
        MatchType::NotEqual
    } else if rest.starts_with("!~") {
        MatchType::NotRegex
    } else if rest.starts_with('=') {
        MatchType::Equal
    } else {
        return Err(err(
            i,
            format!("expected one of =, !=, =~, !~ after label name {name:?}"),
        ));
    };
    i += op.as_str().len();
    i = token.len() - token[i..].trim_start_matches(is_go_space).len();
    let raw_end = token.trim_end_matches(is_go_space).len().max(i);
    let value_start = i;
    let value =
        unescape(&token[value_start..raw_end]).map_err(|(at, msg)| err(value_start + at, msg))?;
    Matcher::new(op, name, value)
        .map_err(|e| err(value_start, format!("invalid regular expression: {e}")))
}

/// Undoes OpenMetrics escaping (`\"`, `\n`, `\\`) in a value that may be
/// wrapped in double quotes; other backslashes are kept literally.
/// Errors carry the byte offset of the problem within `raw`.
fn unescape(raw: &str) -> Result<String, (usize, String)> {
    let (body, base, mut expect_trailing_quote) = match raw.strip_prefix('"') {
        Some(b) => (b, 1, true),
        None => (raw, 0, false),
    };
    let mut out = String::with_capacity(body.len());
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        let is_last = i + c.len_utf8() == body.len();
        if escaped {
            escaped = false;
            match c {
                'n' => out.push('\n'),
                '"' | '\\' => out.push(c),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            continue;
        }
        match c {
            '\\' if !is_last => escaped = true,
            '\\' => out.push('\\'),
            '"' if expect_trailing_quote && is_last => expect_trailing_quote = false,
            '"' => {
                return Err((
                    base + i,
                    "unescaped double quote in value (write \\\" for a literal quote)".into(),
                ));
            }
            c => out.push(c),
        }
    }
    if expect_trailing_quote {
        return Err((raw.len(), "missing closing double quote in value".into()));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Matcher {
        Matcher::parse(s).unwrap()
    }

    #[test]
    fn parses_the_four_operators() {
        for (s, op) in [
            ("a=\"b\"", MatchType::Equal),
            ("a!=\"b\"", MatchType::NotEqual),
            ("a=~\"b\"", MatchType::Regex),
            ("a!~\"b\"", MatchType::NotRegex),
        ] {
            let got = m(s);
            assert_eq!((got.name(), got.op(), got.value()), ("a", op, "b"), "{s}");
        }
    }

    #[test]
    fn unquoted_values_and_whitespace() {
        let got = m("  severity =  page  ");
        assert_eq!((got.name(), got.value()), ("severity", "page"));
        assert_eq!(m("a=").value(), "");
        assert_eq!(m(r#"a=" padded ""#).value(), " padded ");
    }

    #[test]
    fn escapes() {
        assert_eq!(m(r#"a="x\"y""#).value(), "x\"y");
        assert_eq!(m(r#"a="x\ny""#).value(), "x\ny");
        assert_eq!(m(r#"a="x\\y""#).value(), "x\\y");
        assert_eq!(m(r#"a="x\dy""#).value(), "x\\dy");
        assert_eq!(m(r"a=x\").value(), "x\\");
    }

    #[test]
    fn errors_name_text_and_position() {
        let e = Matcher::parse("9a=b").unwrap_err();
        assert_eq!(e.position, 1);
        assert!(e.to_string().contains("\"9a=b\""), "{e}");
        let e = Matcher::parse("abc").unwrap_err();
        assert_eq!(e.position, 4);
        assert!(e.message.contains("expected one of"), "{e}");
        let e = Matcher::parse(r#"a="b"c""#).unwrap_err();
        assert!(e.message.contains("unescaped double quote"), "{e}");
        let e = Matcher::parse(r#"a="b"#).unwrap_err();
        assert!(e.message.contains("missing closing"), "{e}");
        let e = Matcher::parse("a=~\"(\"").unwrap_err();
        assert!(e.message.contains("invalid regular expression"), "{e}");
        let e = Matchers::parse("{a=b, 1c=d}").unwrap_err();
        assert_eq!(e.position, 7, "{e}");
    }

    #[test]
    fn lists_and_braces() {
        let ms = Matchers::parse(r#"{foo = "bar", dings != "bums", }"#).unwrap();
        assert_eq!(ms.to_string(), r#"{foo="bar",dings!="bums"}"#);
        let ms = Matchers::parse(r#"quote="She said: \"Hi, all\"",x=~"5..""#).unwrap();
        assert_eq!(ms.len(), 2);
        assert_eq!(ms.iter().next().unwrap().value(), "She said: \"Hi, all\"");
        assert!(Matchers::parse("{}").unwrap().is_empty());
        assert!(Matchers::parse("a=b,,c=d").is_err());
    }

    #[test]
    fn regexes_are_anchored_and_absent_is_empty() {
        let labels = Labels::from_pairs(&[("service", "foobar")]);
        assert!(!m("service=~foo").matches(&labels));
        assert!(m("service=~foo.*").matches(&labels));
        assert!(m("team=\"\"").matches(&labels));
        assert!(m("team=~\"|x\"").matches(&labels));
        assert!(m("team!~\".+\"").matches(&labels));
        assert!(!m("team!=\"\"").matches(&labels));
    }

    #[test]
    fn sorts_like_alertmanager() {
        let mut ms = Matchers::parse("b=1,a=~2,a=2,a=1").unwrap();
        ms.sort();
        assert_eq!(ms.to_string(), r#"{a="1",a="2",a=~"2",b="1"}"#);
    }

    proptest! {
        #[test]
        fn parse_display_round_trips(
            name in "[a-zA-Z_:][a-zA-Z0-9_:]{0,8}",
            op in 0..4usize,
            value in "\\PC{0,12}|[ \"\\\\\n,{}=!~a]{0,12}",
        ) {
            let op = [MatchType::Equal, MatchType::NotEqual, MatchType::Regex, MatchType::NotRegex][op];
            let regex_ok = anchored_regex(&value).is_ok();
            prop_assume!(matches!(op, MatchType::Equal | MatchType::NotEqual) || regex_ok);
            let original = Matcher::new(op, name, value).unwrap();
            let text = original.to_string();
            prop_assert_eq!(&Matcher::parse(&text).unwrap(), &original);
            let list = Matchers::new(vec![original.clone(), original.clone()]);
            prop_assert_eq!(Matchers::parse(&list.to_string()).unwrap(), list);
        }
    }
}
