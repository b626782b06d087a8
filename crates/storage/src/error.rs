use homeostat_model::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid request: {0}")]
    InvalidInput(String),
    #[error("limit exceeded: {limit} ({detail})")]
    LimitExceeded { limit: &'static str, detail: String },
    #[error("data corruption in {path}: {detail}")]
    Corrupt { path: String, detail: String },
    #[error("storage is closed")]
    Closed,
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("backend unavailable: {0}")]
    Unavailable(String),
}

impl StorageError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            StorageError::InvalidInput(_) => ErrorKind::InvalidInput,
            StorageError::LimitExceeded { .. } => ErrorKind::LimitExceeded,
            StorageError::Unavailable(_) | StorageError::Closed => ErrorKind::Unavailable,
            StorageError::Corrupt { .. } | StorageError::Io(_) => ErrorKind::Internal,
        }
    }
}
