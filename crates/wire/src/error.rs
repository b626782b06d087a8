use homeostat_model::ErrorKind;

use crate::otlp::OtlpError;

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error(transparent)]
    Otlp(#[from] OtlpError),
}

impl WireError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            WireError::Otlp(e) => e.kind(),
        }
    }
}
