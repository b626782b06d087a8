use homeostat_model::ErrorKind;
use homeostat_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum TsdbError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt data in {path} at offset {offset}: {detail}")]
    Corrupt {
        path: String,
        offset: u64,
        detail: String,
    },
    #[error(
        "data directory {0} is locked by another process (remove the lock file only if none runs)"
    )]
    Locked(String),
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// Out of space; see [`crate::WriteState::ReadOnly`].
    #[error("storage is read-only: {0}")]
    ReadOnly(String),
    /// See [`crate::WriteState::Failed`].
    #[error("storage refuses writes until restart: {0}")]
    WriteFailed(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl TsdbError {
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        TsdbError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            TsdbError::Storage(e) => e.kind(),
            TsdbError::InvalidOption(_) => ErrorKind::InvalidInput,
            TsdbError::Locked(_) | TsdbError::ReadOnly(_) | TsdbError::WriteFailed(_) => {
                ErrorKind::Unavailable
            }
            TsdbError::Io { .. } | TsdbError::Corrupt { .. } => ErrorKind::Internal,
        }
    }
}

impl From<TsdbError> for StorageError {
    fn from(e: TsdbError) -> Self {
        match e {
            TsdbError::Storage(s) => s,
            TsdbError::Io { source, .. } => StorageError::Io(source),
            TsdbError::Corrupt {
                path,
                offset,
                detail,
            } => StorageError::Corrupt {
                path,
                detail: format!("offset {offset}: {detail}"),
            },
            other => StorageError::Unavailable(other.to_string()),
        }
    }
}
