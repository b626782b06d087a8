//! One place maps error kinds to HTTP statuses and Prometheus's error types.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use homeostat_model::ErrorKind;
use homeostat_promql::QueryError;

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

/// The HTTP status for one of Prometheus's `errorType`s, as its query API
/// answers them (`web/api/v1/api.go`). Used for PromQL errors, whose type
/// (`execution`, `canceled`) is finer than an [`ErrorKind`].
pub fn status_for_error_type(error_type: &str) -> StatusCode {
    match error_type {
        "bad_data" => StatusCode::BAD_REQUEST,
        "execution" => StatusCode::UNPROCESSABLE_ENTITY,
        // Prometheus's statusClientClosedConnection (nginx's 499).
        "canceled" => StatusCode::from_u16(499).unwrap_or(StatusCode::REQUEST_TIMEOUT),
        "timeout" | "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "not_found" => StatusCode::NOT_FOUND,
        // Homeostat's own REST APIs (incidents) tell conflicts apart.
        "conflict" => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
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
    /// The `errorType` when it is finer than `kind` says (PromQL errors);
    /// the status then follows [`status_for_error_type`].
    pub error_type: Option<&'static str>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            json: true,
            error_type: None,
        }
    }
    /// A PromQL error, typed and answered as Prometheus does.
    pub fn query(e: QueryError) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
            json: true,
            error_type: Some(e.error_type()),
        }
    }
    /// For homeostat's own REST APIs (not Prometheus-compatible ones): a
    /// conflict (an illegal state change, a concurrent write) answers 409
    /// instead of Prometheus's 400.
    pub fn rest(kind: ErrorKind, message: impl Into<String>) -> Self {
        let mut e = Self::new(kind, message);
        if kind == ErrorKind::Conflict {
            e.error_type = Some("conflict");
        }
        e
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
        let (status, error_type) = match self.error_type {
            Some(t) => (status_for_error_type(t), t),
            None => (status_for(self.kind), error_type(self.kind)),
        };
        let message = if self.kind == ErrorKind::Internal || error_type == "internal" {
            tracing::error!(error = %self.message, "internal error answering a request");
            "internal error; see the server log".to_string()
        } else {
            self.message
        };
        if self.json {
            let body =
                serde_json::json!({"status": "error", "errorType": error_type, "error": message});
            (status, Json(body)).into_response()
        } else {
            (status, format!("{message}\n")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use homeostat_storage::StorageError;

    use super::*;

    fn answer(e: QueryError) -> (u16, serde_json::Value) {
        let resp = ApiError::query(e).into_response();
        let status = resp.status().as_u16();
        let body = futures_body(resp);
        (status, body)
    }

    fn futures_body(resp: Response) -> serde_json::Value {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let bytes = rt
            .block_on(axum::body::to_bytes(resp.into_body(), 1 << 20))
            .expect("body");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[test]
    fn query_errors_answer_as_prometheus() {
        for (e, status, ty) in [
            (QueryError::BadData("x".into()), 400, "bad_data"),
            (QueryError::Execution("x".into()), 422, "execution"),
            (QueryError::Limit("max_samples".into()), 422, "execution"),
            (QueryError::Timeout("eval".into()), 503, "timeout"),
            (QueryError::Canceled, 499, "canceled"),
            (
                QueryError::Storage(StorageError::LimitExceeded {
                    limit: "max_samples",
                    detail: "d".into(),
                }),
                422,
                "execution",
            ),
        ] {
            let msg = e.to_string();
            let (s, body) = answer(e);
            assert_eq!((s, body["errorType"].as_str()), (status, Some(ty)), "{msg}");
            assert_eq!(body["status"], "error");
            assert_eq!(body["error"], msg.as_str());
        }
        // Internal detail (paths, i/o errors) is logged, not shown.
        let (s, body) = answer(QueryError::Storage(StorageError::Io(
            std::io::Error::other("/secret/path"),
        )));
        assert_eq!(s, 500);
        assert_eq!(body["errorType"], "internal");
        assert!(!body["error"].as_str().unwrap_or("").contains("secret"));
    }
}
