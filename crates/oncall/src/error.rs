//! Errors of the on-call config and of escalation.

use homeostat_model::ErrorKind;

/// An `oncall:` section that cannot be used. Content errors name the field
/// (`schedules[0].layers[1].turn_length`), what is wrong and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("oncall: invalid YAML or unknown field: {message}")]
    Yaml {
        /// `line 14 column 5` (within the text given), or empty when there
        /// is no position; `message` already ends with it.
        location: String,
        /// The field path and the problem, e.g. `schedules[0].layers[0]:
        /// unknown field ...`.
        message: String,
    },
    #[error("oncall.{field}: {problem}; fix: {fix}")]
    Invalid {
        field: String,
        problem: String,
        fix: String,
    },
}

impl ConfigError {
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }

    pub(crate) fn from_yaml(e: serde_norway::Error) -> Self {
        let location = e
            .location()
            .map(|l| format!("line {} column {}", l.line(), l.column()))
            .unwrap_or_default();
        ConfigError::Yaml {
            location,
            message: e.to_string(),
        }
    }

    pub(crate) fn invalid(
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        ConfigError::Invalid {
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// An escalation that cannot go on with the config it is given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscalationError {
    #[error(
        "escalation policy {0:?} is not in the on-call config (removed since the page started?); fix: restore the policy or resolve the page"
    )]
    UnknownPolicy(String),
}

impl EscalationError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            EscalationError::UnknownPolicy(_) => ErrorKind::NotFound,
        }
    }
}
