use homeostat_model::ErrorKind;

/// Why authentication or its configuration failed. Messages never carry a
/// presented secret (a password, a token, a cookie value).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("reading web config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("web config file {path}: {message}")]
    Invalid { path: String, message: String },
    /// The store of API tokens (or another credential store) failed.
    #[error("looking up credentials failed: {0}")]
    Lookup(String),
}

impl AuthError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuthError::Read { .. } | AuthError::Invalid { .. } => ErrorKind::InvalidInput,
            AuthError::Lookup(_) => ErrorKind::Internal,
        }
    }
}
