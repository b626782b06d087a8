//! Label matchers with Prometheus semantics: regexes are fully anchored, and
//! a matcher that matches the empty string also selects series that lack the
//! label entirely.

use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    RegexMatch,
    RegexNoMatch,
}

impl std::fmt::Display for MatchOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::RegexMatch => "=~",
            MatchOp::RegexNoMatch => "!~",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid regex in matcher {name}{op}{value:?}: {source}")]
pub struct MatcherError {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    #[source]
    pub source: regex::Error,
}

#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    re: Option<Regex>,
}

impl Matcher {
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let name = name.into();
        let value = value.into();
        let re = match op {
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => Some(
                Regex::new(&format!("^(?s:{value})$")).map_err(|source| MatcherError {
                    name: name.clone(),
                    op,
                    value: value.clone(),
                    source,
                })?,
            ),
            _ => None,
        };
        Ok(Self {
            name,
            op,
            value,
            re,
        })
    }

    /// `name="value"`, which cannot fail.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            re: None,
        }
    }

    /// Whether the matcher accepts `value`; an absent label is the empty string.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => self.value == value,
            MatchOp::NotEqual => self.value != value,
            MatchOp::RegexMatch => self.re.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::RegexNoMatch => !self.re.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// Whether this matcher selects series that do not have the label at all.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=~` over a plain alternation like `a|b|c`, the literal values, so
    /// indexes can look them up instead of scanning every value.
    pub fn set_matches(&self) -> Option<Vec<&str>> {
        if self.op != MatchOp::RegexMatch {
            return None;
        }
        let parts: Vec<&str> = self.value.split('|').collect();
        let plain = |s: &str| {
            s.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ':' | '/' | ' ' | ','))
        };
        if parts.iter().all(|p| plain(p)) {
            Some(parts)
        } else {
            None
        }
    }

    /// Whether the series' labels satisfy this matcher.
    pub fn matches_labels(&self, labels: &homeostat_model::Labels) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_anchored() {
        let m = Matcher::new(MatchOp::RegexMatch, "job", "api").unwrap();
        assert!(m.matches("api"));
        assert!(!m.matches("api-server"));
        let m = Matcher::new(MatchOp::RegexMatch, "job", "a.*").unwrap();
        assert!(m.matches("api-server"));
        assert!(!m.matches("b"));
    }

    #[test]
    fn empty_matching() {
        assert!(
            Matcher::new(MatchOp::RegexMatch, "x", ".*")
                .unwrap()
                .matches_empty()
        );
        assert!(
            Matcher::new(MatchOp::NotEqual, "x", "a")
                .unwrap()
                .matches_empty()
        );
        assert!(
            !Matcher::new(MatchOp::RegexMatch, "x", ".+")
                .unwrap()
                .matches_empty()
        );
        assert!(Matcher::equal("x", "").matches_empty());
    }

    #[test]
    fn bad_regex_is_an_error() {
        assert!(Matcher::new(MatchOp::RegexMatch, "x", "(").is_err());
    }

    #[test]
    fn set_matches_only_for_plain_alternations() {
        let m = Matcher::new(MatchOp::RegexMatch, "x", "a|b|c").unwrap();
        assert_eq!(m.set_matches(), Some(vec!["a", "b", "c"]));
        assert_eq!(
            Matcher::new(MatchOp::RegexMatch, "x", "a.*|b")
                .unwrap()
                .set_matches(),
            None
        );
    }
}
