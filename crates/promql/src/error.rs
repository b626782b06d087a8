use homeostat_model::ErrorKind;
use homeostat_storage::StorageError;

/// Why a query failed. Each variant maps onto one of Prometheus's API error
/// types (see [`QueryError::error_type`]).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The expression does not parse or is not valid for this kind of query.
    #[error("{0}")]
    BadData(String),
    /// Evaluation failed (e.g. duplicate series after a function, bad argument).
    #[error("{0}")]
    Execution(String),
    /// A configured limit was hit; the message names it.
    #[error("{0}")]
    Limit(String),
    #[error("query timed out in {0}")]
    Timeout(String),
    #[error("query was canceled")]
    Canceled,
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
}

impl QueryError {
    /// Prometheus's `errorType` for the JSON envelope.
    pub fn error_type(&self) -> &'static str {
        match self {
            QueryError::BadData(_) => "bad_data",
            QueryError::Execution(_) | QueryError::Limit(_) => "execution",
            QueryError::Timeout(_) => "timeout",
            QueryError::Canceled => "canceled",
            QueryError::Storage(e) => match e.kind() {
                ErrorKind::LimitExceeded => "execution",
                ErrorKind::Timeout => "timeout",
                _ => "internal",
            },
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            QueryError::BadData(_) => ErrorKind::InvalidInput,
            QueryError::Execution(_) => ErrorKind::InvalidInput,
            QueryError::Limit(_) => ErrorKind::LimitExceeded,
            QueryError::Timeout(_) | QueryError::Canceled => ErrorKind::Timeout,
            QueryError::Storage(e) => e.kind(),
        }
    }
}
