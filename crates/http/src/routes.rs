//! Route handlers, one file per concern.

pub mod alertmanager;
pub mod analysis;
pub mod catalog;
pub mod chaos;
pub mod cluster;
pub mod fault_proxy;
pub mod incidents;
pub mod ingest;
pub mod monkey;
pub mod oncall;
pub mod ops;
pub mod otlp;
pub mod query;
pub mod read;
pub mod release;
pub mod remediation;
pub mod rules;
pub mod slos;
pub mod toil;
pub mod tokens;
pub mod traffic;

use axum::body::{Body, Bytes};
use homeostat_model::ErrorKind;

use crate::ApiError;
use crate::params::Params;

/// Largest form body of a read request (`match[]` lists, PromQL expressions).
const MAX_FORM_BODY_BYTES: usize = 1 << 20;

/// The query string and a urlencoded body (POST), as one parameter list.
pub async fn params(query: Option<String>, body: Body) -> Result<Params, ApiError> {
    let body = read_body(body, MAX_FORM_BODY_BYTES).await?;
    Ok(Params::parse(query.as_deref(), &body))
}

/// Reads a body up to `limit` bytes; above it, a 413 naming the limit.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::new(
                ErrorKind::TooLarge,
                format!("request body exceeds the limit max_request_body_bytes={limit}"),
            )
        } else {
            ApiError::bad_data(format!("could not read request body: {e}"))
        }
    })
}
