//! Errors from loading and validating SLO specs and alert windows.

use homeostat_model::ErrorKind;

/// A spec that cannot be used. Every variant names the file; the ones about
/// content also name the field (`slos[1].objective`) and say how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{file}: cannot read")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {location}: invalid YAML or unknown field: {message}")]
    Yaml {
        file: String,
        /// `document 2, line 14 column 5` (lines count from the file's start).
        location: String,
        message: String,
    },
    #[error("{file}: {field}: unsupported spec version {found:?}; fix: use one of {supported}")]
    UnknownVersion {
        file: String,
        field: String,
        found: String,
        supported: String,
    },
    #[error("{file}: {field}: {problem}; fix: {fix}")]
    Invalid {
        file: String,
        field: String,
        problem: String,
        fix: String,
    },
    #[error(
        "{file}: {field}: duplicate SLO id {id:?} (also defined in {first_file}); fix: give every SLO of a service its own name"
    )]
    Duplicate {
        file: String,
        field: String,
        id: String,
        first_file: String,
    },
}

impl SpecError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SpecError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            SpecError::Read { .. } => ErrorKind::Internal,
            _ => ErrorKind::InvalidInput,
        }
    }

    pub(crate) fn invalid(
        file: &str,
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        SpecError::Invalid {
            file: file.to_string(),
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}
