//! The one error → HTTP status table, and the envelopes errors are answered
//! in. A handler says what went wrong (an [`ErrorKind`], or one of PromQL's
//! finer classes) and which API family answers ([`Family`]); the status and
//! the body's shape follow from those two, never from the error's text.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use homeostat_model::ErrorKind;
use homeostat_promql::QueryError;
use homeostat_storage::StorageError;

/// The API family a route belongs to: it chooses the envelope of an error
/// (and, for a conflict, the status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Prometheus's HTTP API: `{"status":"error","errorType":..,"error":..}`;
    /// a conflict is `bad_data` 400, as Prometheus answers it.
    Prometheus,
    /// Homeostat's own REST APIs (incidents, deploys, the gate): the same
    /// JSON envelope, but a conflict (an illegal state change, a concurrent
    /// write) is `conflict` 409.
    Rest,
    /// Ingestion endpoints (remote-write, OTLP): the message as plain text,
    /// what senders log.
    Ingest,
    /// Alertmanager's API v2: the message as a JSON string; conflicts 409.
    Alertmanager,
}

/// What went wrong, as the answer classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Kind(ErrorKind),
    /// PromQL evaluation failed on valid input (Prometheus's `execution`).
    Execution,
    /// The client went away (Prometheus's `canceled`).
    Canceled,
}

impl Class {
    /// A PromQL error's class, as Prometheus's query API answers it
    /// (`web/api/v1/api.go`).
    pub fn of_query(e: &QueryError) -> Class {
        match e {
            QueryError::BadData(_) => Class::Kind(ErrorKind::InvalidInput),
            QueryError::Execution(_) | QueryError::Limit(_) => Class::Execution,
            QueryError::Timeout(_) => Class::Kind(ErrorKind::Timeout),
            QueryError::Canceled => Class::Canceled,
            QueryError::Storage(s) => Self::of_storage_in_query(s),
        }
    }

    fn of_storage_in_query(e: &StorageError) -> Class {
        match e.kind() {
            ErrorKind::LimitExceeded => Class::Execution,
            ErrorKind::Timeout => Class::Kind(ErrorKind::Timeout),
            _ => Class::Kind(ErrorKind::Internal),
        }
    }
}

/// The table: the HTTP status and Prometheus `errorType` of every class of
/// error, per family. The only such mapping in homeostat.
pub fn answer_for(class: Class, family: Family) -> (StatusCode, &'static str) {
    use ErrorKind as K;
    match (class, family) {
        (Class::Execution, _) => (StatusCode::UNPROCESSABLE_ENTITY, "execution"),
        // Prometheus's statusClientClosedConnection (nginx's 499).
        (Class::Canceled, _) => (
            StatusCode::from_u16(499).unwrap_or(StatusCode::REQUEST_TIMEOUT),
            "canceled",
        ),
        (Class::Kind(K::Conflict), Family::Rest | Family::Alertmanager) => {
            (StatusCode::CONFLICT, "conflict")
        }
        (Class::Kind(K::InvalidInput | K::Conflict | K::LimitExceeded), _) => {
            (StatusCode::BAD_REQUEST, "bad_data")
        }
        (Class::Kind(K::TooLarge), _) => (StatusCode::PAYLOAD_TOO_LARGE, "bad_data"),
        (Class::Kind(K::NotFound), _) => (StatusCode::NOT_FOUND, "not_found"),
        (Class::Kind(K::Unauthenticated), _) => (StatusCode::UNAUTHORIZED, "unauthorized"),
        (Class::Kind(K::Forbidden), _) => (StatusCode::FORBIDDEN, "forbidden"),
        (Class::Kind(K::UnsupportedMediaType), _) => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad_data")
        }
        (Class::Kind(K::Timeout), _) => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
        (Class::Kind(K::Unavailable), _) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        (Class::Kind(K::Internal), _) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// The HTTP status for an error kind in `family`.
pub fn status_for(kind: ErrorKind, family: Family) -> StatusCode {
    answer_for(Class::Kind(kind), family).0
}

/// An error answered to a client. Internal errors are logged with their
/// detail and shown only as a generic message.
#[derive(Debug)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    pub class: Class,
    pub family: Family,
}

impl ApiError {
    /// An error of Prometheus's API family.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            class: Class::Kind(kind),
            family: Family::Prometheus,
        }
    }
    /// A PromQL error, typed and answered as Prometheus does.
    pub fn query(e: QueryError) -> Self {
        Self {
            kind: e.kind(),
            class: Class::of_query(&e),
            message: e.to_string(),
            family: Family::Prometheus,
        }
    }
    /// An error of homeostat's own REST APIs (see [`Family::Rest`]).
    pub fn rest(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::new(kind, message).family(Family::Rest)
    }
    /// An error of the Alertmanager API v2 (see [`Family::Alertmanager`]).
    pub fn alertmanager(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::new(kind, message).family(Family::Alertmanager)
    }
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }
    /// Answered as plain text (ingestion endpoints).
    pub fn plain(self) -> Self {
        self.family(Family::Ingest)
    }
    pub fn family(mut self, family: Family) -> Self {
        self.family = family;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error_type) = answer_for(self.class, self.family);
        let internal =
            self.kind == ErrorKind::Internal || self.class == Class::Kind(ErrorKind::Internal);
        let message = if internal {
            tracing::error!(error = %self.message, "internal error answering a request");
            "internal error; see the server log".to_string()
        } else {
            self.message
        };
        match self.family {
            Family::Prometheus | Family::Rest => {
                let body = serde_json::json!({"status": "error", "errorType": error_type, "error": message});
                (status, Json(body)).into_response()
            }
            Family::Ingest => (status, format!("{message}\n")).into_response(),
            Family::Alertmanager => {
                (status, Json(serde_json::Value::String(message))).into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(e: QueryError) -> (u16, serde_json::Value) {
        let resp = ApiError::query(e).into_response();
        let status = resp.status().as_u16();
        let body = futures_body(resp);
        (status, body)
    }

    fn futures_body(resp: Response) -> serde_json::Value {
        serde_json::from_slice(&body_bytes(resp)).expect("json")
    }

    fn body_bytes(resp: Response) -> Vec<u8> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(axum::body::to_bytes(resp.into_body(), 1 << 20))
            .expect("body")
            .to_vec()
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

    #[test]
    fn the_family_chooses_the_envelope_and_a_conflicts_status() {
        let conflict = |family| {
            let resp = ApiError::new(ErrorKind::Conflict, "taken")
                .family(family)
                .into_response();
            let status = resp.status().as_u16();
            (
                status,
                String::from_utf8_lossy(&body_bytes(resp)).into_owned(),
            )
        };
        let (s, body) = conflict(Family::Prometheus);
        assert_eq!(s, 400);
        assert!(body.contains(r#""errorType":"bad_data""#), "{body}");
        let (s, body) = conflict(Family::Rest);
        assert_eq!(s, 409);
        assert!(body.contains(r#""errorType":"conflict""#), "{body}");
        assert_eq!(conflict(Family::Ingest), (400, "taken\n".to_string()));
        assert_eq!(
            conflict(Family::Alertmanager),
            (409, r#""taken""#.to_string())
        );
    }

    #[test]
    fn every_kind_has_one_status() {
        for (kind, status) in [
            (ErrorKind::InvalidInput, 400),
            (ErrorKind::LimitExceeded, 400),
            (ErrorKind::TooLarge, 413),
            (ErrorKind::NotFound, 404),
            (ErrorKind::Unauthenticated, 401),
            (ErrorKind::Forbidden, 403),
            (ErrorKind::UnsupportedMediaType, 415),
            (ErrorKind::Timeout, 503),
            (ErrorKind::Unavailable, 503),
            (ErrorKind::Internal, 500),
        ] {
            for family in [
                Family::Prometheus,
                Family::Rest,
                Family::Ingest,
                Family::Alertmanager,
            ] {
                assert_eq!(
                    status_for(kind, family).as_u16(),
                    status,
                    "{kind:?} {family:?}"
                );
            }
        }
    }
}
