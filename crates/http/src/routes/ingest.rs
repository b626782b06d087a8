//! Write paths: Prometheus remote-write (and OTLP, see `otlp`).

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use homeostat_model::{ErrorKind, TimeSeries};
use homeostat_storage::{AppendReport, RejectReason};

use crate::routes::read_body;
use crate::{ApiError, AppState};

/// Appends decoded series, recording telemetry; the report says what was refused.
pub async fn append(
    st: &AppState,
    source: &'static str,
    series: Vec<TimeSeries>,
) -> Result<AppendReport, ApiError> {
    let n_series = series.len();
    if n_series > st.query.limits.max_series_per_request {
        st.ops
            .telemetry
            .requests_rejected_total
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ApiError::new(
            ErrorKind::LimitExceeded,
            format!(
                "request has {n_series} series, more than the limit max_series_per_request={}",
                st.query.limits.max_series_per_request
            ),
        )
        .plain());
    }
    let storage = st.query.storage.clone();
    let report = crate::write_pool::run(move || storage.append(&series))
        .await
        .map_err(|e| {
            ApiError::new(ErrorKind::Internal, format!("append task failed: {e}")).plain()
        })?
        .map_err(|e| ApiError::new(e.kind(), e.to_string()).plain())?;
    st.ops.telemetry.ingested(source, report.accepted);
    for (reason, n) in &report.rejected {
        st.ops.telemetry.rejected(source, reason.as_str(), *n);
    }
    Ok(report)
}

/// A short explanation of rejected samples, for the sender's log.
pub fn describe_rejections(report: &AppendReport) -> String {
    let reasons: Vec<String> = report
        .rejected
        .iter()
        .map(|(r, n)| format!("{}: {n}", r.as_str()))
        .collect();
    format!(
        "{} samples rejected ({}), {} accepted; first: {}",
        report.rejected_total(),
        reasons.join(", "),
        report.accepted,
        report.first_rejection.as_deref().unwrap_or("-")
    )
}

/// `POST /api/v1/write`. 204 when everything was stored; 400 (not retried by
/// Prometheus) for malformed data or refused samples — the accepted ones stay
/// stored; 413 over a size limit; 5xx (retried) when storage fails.
pub async fn remote_write(State(st): State<AppState>, body: Body) -> Response {
    match remote_write_inner(&st, body).await {
        Ok(resp) => resp,
        Err(e) => {
            if e.kind != ErrorKind::Internal && e.kind != ErrorKind::Unavailable {
                st.ops
                    .telemetry
                    .requests_rejected_total
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::debug!(error = %e.message, "remote write rejected");
            }
            e.into_response()
        }
    }
}

async fn remote_write_inner(st: &AppState, body: Body) -> Result<Response, ApiError> {
    let body = read_body(body, st.query.limits.max_request_body_bytes)
        .await
        .map_err(ApiError::plain)?;
    let max = st.query.limits.max_decompressed_bytes;
    let series = crate::write_pool::run(move || homeostat_wire::remote_write::decode(&body, max))
        .await
        .map_err(|e| {
            ApiError::new(ErrorKind::Internal, format!("decode task failed: {e}")).plain()
        })?
        .map_err(|e| ApiError::new(e.kind(), e.to_string()).plain())?;
    let report = append(st, "remote_write", series).await?;
    if report.rejected.contains_key(&RejectReason::QueueFull) {
        // A full forwarding queue drains by itself: 503 makes senders retry
        // where 400 would make them drop the samples.
        return Err(ApiError::new(ErrorKind::Unavailable, describe_rejections(&report)).plain());
    }
    if report.rejected_total() > 0 {
        return Err(ApiError::bad_data(describe_rejections(&report)).plain());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
