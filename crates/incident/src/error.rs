//! Errors of incident operations.

use homeostat_model::ErrorKind;
use homeostat_state::{IncidentId, IncidentState, StateError};

#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    /// The lifecycle does not allow this step (see [`crate::check_transition`]).
    #[error("{id}: cannot go from {from} to {to}; {why}")]
    InvalidTransition {
        id: IncidentId,
        from: IncidentState,
        to: IncidentState,
        why: &'static str,
    },
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
    /// Other writers kept changing the incident while we tried to.
    #[error("{id}: changed by others {attempts} times in a row; retry")]
    Contended { id: String, attempts: usize },
    #[error(transparent)]
    State(#[from] StateError),
}

impl IncidentError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            IncidentError::InvalidTransition { .. } => ErrorKind::Conflict,
            IncidentError::Invalid { .. } => ErrorKind::InvalidInput,
            IncidentError::Contended { .. } => ErrorKind::Unavailable,
            IncidentError::State(e) => e.kind(),
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        IncidentError::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

pub type Result<T, E = IncidentError> = std::result::Result<T, E>;
