//! Errors of this crate: a bad target spec, a payload that cannot be built,
//! and a failed delivery attempt (which knows whether it is worth retrying).

/// A target spec that does not validate; `field` is a path such as
/// `email_configs[0].smarthost`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {message}")]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// Prefixes the field path with the enclosing element.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = format!("{parent}.{}", self.field);
        self
    }
}

/// A payload that could not be built from a notification and target.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("encode json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("email address {address:?}: {reason}")]
    Address { address: String, reason: String },
    #[error("build email: {0}")]
    Email(String),
}

/// One failed delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// No answer: refused, reset, DNS, TLS, or the attempt timed out.
    #[error("connection: {0}")]
    Connection(String),
    /// The receiver answered with a status other than 2xx; `body` is the
    /// start of its answer (at most 200 characters).
    #[error("http status {status}: {body}")]
    Status {
        status: u16,
        body: String,
        /// A `Retry-After` the receiver asked for, in whole seconds.
        retry_after_secs: Option<u64>,
    },
    /// The SMTP server refused; `permanent` for 5xx replies.
    #[error("smtp: {message}")]
    Smtp { permanent: bool, message: String },
    /// The payload could not be built; retrying cannot help.
    #[error("payload: {0}")]
    Payload(String),
}

impl DeliveryError {
    /// Connection errors, 5xx, 429 and transient SMTP replies are worth
    /// another attempt; other 4xx mean the request itself is wrong.
    pub fn is_retryable(&self) -> bool {
        match self {
            DeliveryError::Connection(_) => true,
            DeliveryError::Status { status, .. } => *status == 429 || *status >= 500,
            DeliveryError::Smtp { permanent, .. } => !permanent,
            DeliveryError::Payload(_) => false,
        }
    }
}

impl From<PayloadError> for DeliveryError {
    fn from(e: PayloadError) -> Self {
        DeliveryError::Payload(e.to_string())
    }
}

/// Cuts `s` to its first `max` characters, for error messages that quote a
/// remote answer.
pub(crate) fn first_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}
