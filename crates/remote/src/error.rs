//! How a failed remote call becomes a [`StorageError`]: the kind says whose
//! fault it was (our request, a limit, or the remote being unavailable) and
//! the message names the URL and the HTTP status, since the operator reading
//! it needs to know which backend to look at.

use homeostat_storage::StorageError;
use reqwest::StatusCode;

/// A transport failure: connection refused, timeout, TLS, a broken body.
pub(crate) fn transport(url: &str, e: &reqwest::Error) -> StorageError {
    if e.is_timeout() {
        return StorageError::Unavailable(format!("remote {url}: timed out: {e}"));
    }
    if e.is_connect() {
        return StorageError::Unavailable(format!("remote {url}: cannot connect: {e}"));
    }
    StorageError::Unavailable(format!("remote {url}: {e}"))
}

/// A non-2xx answer. 4xx means the remote refused our request (a bad regex,
/// its own sample limit), 5xx and 429 that it could not serve it now.
pub(crate) fn status(url: &str, status: StatusCode, body: &str) -> StorageError {
    let body = body.trim();
    // Error bodies can be whole HTML pages from proxies; the start is enough.
    let body: String = body.chars().take(300).collect();
    let msg = format!("remote {url}: HTTP {status}: {body}");
    if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
        StorageError::InvalidInput(msg)
    } else {
        StorageError::Unavailable(msg)
    }
}

/// A 2xx answer we could not understand.
pub(crate) fn bad_response(url: &str, detail: impl std::fmt::Display) -> StorageError {
    StorageError::Unavailable(format!("remote {url}: unreadable response: {detail}"))
}

pub(crate) fn too_large(url: &str, limit: usize) -> StorageError {
    StorageError::LimitExceeded {
        limit: "max_response_bytes",
        detail: format!("remote {url} answered with more than {limit} bytes"),
    }
}
