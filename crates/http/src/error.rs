//! One place maps error kinds to HTTP statuses and Prometheus's error types.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use homeostat_model::ErrorKind;

/// The HTTP status for an error kind. The only such mapping in homeostat.
pub fn status_for(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidInput | ErrorKind::Conflict | ErrorKind::LimitExceeded => {
            StatusCode::BAD_REQUEST
        }
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Unavailable | ErrorKind::Timeout => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Prometheus's `errorType` for an error kind.
fn error_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidInput
        | ErrorKind::Conflict
        | ErrorKind::TooLarge
        | ErrorKind::LimitExceeded => "bad_data",
        ErrorKind::NotFound => "not_found",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Unavailable => "unavailable",
        ErrorKind::Internal => "internal",
    }
}

/// An error answered to a client. Internal errors are logged with their
/// detail and shown only as a generic message.
#[derive(Debug)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    /// Plain text for ingestion endpoints (what remote-write senders log),
    /// Prometheus's JSON envelope for the query API.
    pub json: bool,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            json: true,
        }
    }
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }
    pub fn plain(mut self) -> Self {
        self.json = false;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_for(self.kind);
        let message = if self.kind == ErrorKind::Internal {
            tracing::error!(error = %self.message, "internal error answering a request");
            "internal error; see the server log".to_string()
        } else {
            self.message
        };
        if self.json {
            let body = serde_json::json!({"status": "error", "errorType": error_type(self.kind), "error": message});
            (status, Json(body)).into_response()
        } else {
            (status, format!("{message}\n")).into_response()
        }
    }
}
