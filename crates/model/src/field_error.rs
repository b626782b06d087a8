//! One problem in a configuration file, as every config validator reports
//! it: the field, what is wrong with it, and how to fix it. A file-level
//! error (which file, at startup or at a reload) wraps it; the field path
//! is relative to the file (`storage.retention`, `services[1].name`).

use std::fmt;

/// A configuration field that does not validate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FieldError {
    /// Dotted path of the field: `query_backend.timeout`, `rollback.actions[0].service`.
    pub field: String,
    /// What is wrong, lowercase, without the field name.
    pub problem: String,
    /// What to write instead; empty when the problem says it already.
    pub fix: String,
}

impl FieldError {
    /// A problem whose text already says what to do (or has nothing to add).
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
            fix: String::new(),
        }
    }

    /// The same error with a fix.
    #[must_use]
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = fix.into();
        self
    }

    /// The same error for a field nested under `parent` (`parent.field`;
    /// `parent[0]` style indexes join without a dot).
    #[must_use]
    pub fn under(mut self, parent: &str) -> Self {
        self.field = match (parent.is_empty(), self.field.is_empty()) {
            (true, _) => self.field,
            (false, true) => parent.to_string(),
            (false, false) if self.field.starts_with('[') => format!("{parent}{}", self.field),
            (false, false) => format!("{parent}.{}", self.field),
        };
        self
    }

    /// Problem and fix as one sentence: `problem; fix`.
    pub fn detail(&self) -> String {
        if self.fix.is_empty() {
            self.problem.clone()
        } else {
            format!("{}; {}", self.problem, self.fix)
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.detail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_field_problem_and_fix() {
        let e = FieldError::new("timeout", "must be greater than zero");
        assert_eq!(e.to_string(), "timeout: must be greater than zero");
        let e = e.with_fix("write a duration such as 10s").under("query");
        assert_eq!(
            e.to_string(),
            "query.timeout: must be greater than zero; write a duration such as 10s"
        );
        assert_eq!(
            FieldError::new("[2].url", "x")
                .under("alerting.alertmanagers")
                .field,
            "alerting.alertmanagers[2].url"
        );
        assert_eq!(FieldError::new("", "x").under("oncall").field, "oncall");
        assert_eq!(FieldError::new("a", "x").under("").field, "a");
    }
}
