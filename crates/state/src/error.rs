//! The one error type every state backend returns.

use homeostat_model::ErrorKind;

/// Why a state operation failed. Backends map their driver errors into
/// [`StateError::Backend`]; the other variants mean the same thing whatever
/// the backend.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{what} {id:?} not found")]
    NotFound { what: &'static str, id: String },
    /// The write would break a uniqueness rule or raced another writer
    /// (stale `revision`); re-read and retry.
    #[error("{what} {id:?}: {reason}")]
    Conflict {
        what: &'static str,
        id: String,
        reason: String,
    },
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
    /// A fenced write found that its lease changed hands (or lapsed): the
    /// caller is no longer the leader and must not act.
    #[error("lease {lease:?} is no longer held by {holder:?} with token {token}; not acting")]
    Fenced {
        lease: String,
        holder: String,
        token: i64,
    },
    /// The database refused or failed; `op` says what we were doing.
    #[error("state backend failed to {op}: {source}")]
    Backend {
        op: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database was written by a newer homeostat.
    #[error(
        "{path}: schema version {found} is newer than this homeostat supports ({supported}); fix: run a homeostat release that supports it, or restore a backup"
    )]
    SchemaTooNew {
        path: String,
        found: i64,
        supported: i64,
    },
}

impl StateError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            StateError::NotFound { .. } => ErrorKind::NotFound,
            StateError::Conflict { .. } | StateError::Fenced { .. } => ErrorKind::Conflict,
            StateError::Invalid { .. } => ErrorKind::InvalidInput,
            StateError::Backend { .. } | StateError::SchemaTooNew { .. } => ErrorKind::Internal,
        }
    }

    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        StateError::NotFound {
            what,
            id: id.to_string(),
        }
    }

    pub fn conflict(what: &'static str, id: impl ToString, reason: impl Into<String>) -> Self {
        StateError::Conflict {
            what,
            id: id.to_string(),
            reason: reason.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        StateError::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }

    pub fn fenced(fence: &crate::Fence) -> Self {
        StateError::Fenced {
            lease: fence.lease.clone(),
            holder: fence.holder.clone(),
            token: fence.token,
        }
    }

    pub fn backend(
        op: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StateError::Backend {
            op: op.into(),
            source: Box::new(source),
        }
    }
}

pub type Result<T, E = StateError> = std::result::Result<T, E>;
