use std::path::PathBuf;

use homeostat_model::ErrorKind;
use homeostat_storage::StorageError;

/// Every failure of the embedded store. Messages name the file and, for
/// corruption, the byte offset, so an operator can find the damage.
#[derive(Debug, thiserror::Error)]
pub enum TsdbError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt data in {path} at offset {offset}: {detail}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        detail: String,
    },
    #[error("data directory {0} is locked by another process")]
    Locked(PathBuf),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("limit exceeded: {limit} ({detail})")]
    LimitExceeded { limit: &'static str, detail: String },
    #[error("unsupported format version {version} in {path}")]
    UnsupportedVersion { path: PathBuf, version: u32 },
    #[error("storage is closed")]
    Closed,
    #[error("internal error: {0}")]
    Internal(String),
}

impl TsdbError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            TsdbError::InvalidInput(_) => ErrorKind::InvalidInput,
            TsdbError::LimitExceeded { .. } => ErrorKind::LimitExceeded,
            TsdbError::Locked(_) => ErrorKind::Conflict,
            TsdbError::Closed => ErrorKind::Unavailable,
            TsdbError::Io { .. }
            | TsdbError::Corrupt { .. }
            | TsdbError::UnsupportedVersion { .. }
            | TsdbError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TsdbError {
        let path = path.into();
        move |source| TsdbError::Io { path, source }
    }
}

impl From<TsdbError> for StorageError {
    fn from(e: TsdbError) -> Self {
        match e {
            TsdbError::InvalidInput(d) => StorageError::InvalidInput(d),
            TsdbError::LimitExceeded { limit, detail } => {
                StorageError::LimitExceeded { limit, detail }
            }
            TsdbError::Corrupt {
                path,
                offset,
                detail,
            } => StorageError::Corrupt {
                path: path.display().to_string(),
                detail: format!("offset {offset}: {detail}"),
            },
            TsdbError::Closed => StorageError::Closed,
            TsdbError::Io { source, .. } => StorageError::Io(source),
            other => StorageError::Unavailable(other.to_string()),
        }
    }
}
