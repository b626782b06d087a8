use homeostat_model::{ErrorKind, LabelError};

use crate::otlp::OtlpError;

/// Errors decoding an ingestion payload. Every message names what was wrong
/// and where, because the sender's operator reads it in their logs.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("invalid snappy compression: {0}")]
    Snappy(String),
    #[error("invalid protobuf payload: {0}")]
    Protobuf(String),
    #[error("decompressed body of {actual} bytes exceeds the limit max_decompressed_bytes={limit}")]
    TooLarge { limit: usize, actual: usize },
    #[error("series {index}: {source}")]
    InvalidLabels {
        index: usize,
        #[source]
        source: LabelError,
    },
    #[error("series {index} ({series}): {detail}")]
    InvalidSeries {
        index: usize,
        series: String,
        detail: String,
    },
    #[error(transparent)]
    Otlp(#[from] OtlpError),
}

impl WireError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            WireError::TooLarge { .. } => ErrorKind::TooLarge,
            WireError::Otlp(e) => e.kind(),
            _ => ErrorKind::InvalidInput,
        }
    }
}
