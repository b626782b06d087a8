use homeostat_model::ErrorKind;

/// A rule file that cannot be loaded. Every message names the file and, where
/// it applies, the group, the rule and the field.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("cannot read rule file {file}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("rule file {file}: {detail}")]
    Parse { file: String, detail: String },
    #[error("rule file {file}: {location}field `{field}`: {detail}")]
    Invalid {
        file: String,
        /// `group "name": rule 2 (alert "X"): `, possibly empty.
        location: String,
        field: String,
        detail: String,
    },
    #[error("rule files: bad pattern {pattern:?}: {detail}")]
    Pattern { pattern: String, detail: String },
}

impl RuleError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            RuleError::Read { .. } => ErrorKind::Unavailable,
            _ => ErrorKind::InvalidInput,
        }
    }
}

/// Why one evaluation of a rule failed; shown as the rule's `lastError`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("{0}")]
    Query(String),
    #[error("exceeded limit of {limit} with {count} alerts")]
    AlertLimit { limit: usize, count: usize },
    #[error("exceeded limit {limit} with {count} series")]
    SeriesLimit { limit: usize, count: usize },
    #[error("vector contains metrics with the same labelset after applying {what} labels")]
    DuplicateLabels { what: &'static str },
    #[error("invalid result: {0}")]
    Result(String),
    #[error("storing results: {0}")]
    Append(String),
}
