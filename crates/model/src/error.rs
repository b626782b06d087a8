/// What kind of failure an error is, independent of the crate that raised it.
/// The HTTP layer picks a status code from this in exactly one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller sent something malformed; retrying the same input will fail again.
    InvalidInput,
    /// The request body or a decoded payload exceeds a configured size.
    TooLarge,
    /// A configured limit (series, samples, points) was hit; names the limit.
    LimitExceeded,
    /// No credentials, or credentials that do not check out (401).
    Unauthenticated,
    /// Authenticated, but without the scope the request needs (403).
    Forbidden,
    /// The request's media type is not one the route accepts (415).
    UnsupportedMediaType,
    /// Something asked for does not exist.
    NotFound,
    /// The request conflicts with current state (e.g. out-of-order samples).
    Conflict,
    /// A dependency is temporarily unavailable; the caller may retry.
    Unavailable,
    /// The work was cancelled or timed out.
    Timeout,
    /// A bug or an I/O failure on our side; details are logged, not shown.
    Internal,
}

impl ErrorKind {
    /// Whether a client may usefully retry the same request later.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::Internal
        )
    }
}
