//! The fault proxy's errors, worded and numbered as Toxiproxy's API answers
//! them (`{"error": "...", "status": N}`), so its clients recognise them.

#[derive(Debug, thiserror::Error)]
pub enum FaultProxyError {
    #[error("bad request body: {0}")]
    BadRequestBody(String),
    #[error("missing required field: {0}")]
    MissingField(String),
    #[error("proxy not found")]
    ProxyNotFound,
    #[error("proxy already exists")]
    ProxyAlreadyExists,
    #[error("stream was invalid, can be either upstream or downstream")]
    InvalidStream,
    #[error("invalid toxic type")]
    InvalidToxicType,
    #[error("toxic already exists")]
    ToxicAlreadyExists,
    #[error("toxic not found")]
    ToxicNotFound,
    #[error("duplicate proxy name {0:?}")]
    DuplicateProxyName(String),
    /// The proxy's listen address could not be bound (in use, not local, ...).
    #[error("listen tcp {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

impl FaultProxyError {
    /// The HTTP status Toxiproxy answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            FaultProxyError::BadRequestBody(_)
            | FaultProxyError::MissingField(_)
            | FaultProxyError::InvalidStream
            | FaultProxyError::InvalidToxicType
            | FaultProxyError::DuplicateProxyName(_) => 400,
            FaultProxyError::ProxyNotFound | FaultProxyError::ToxicNotFound => 404,
            FaultProxyError::ProxyAlreadyExists | FaultProxyError::ToxicAlreadyExists => 409,
            // Toxiproxy passes a failed listen through as a 500.
            FaultProxyError::Listen { .. } => 500,
        }
    }
}
