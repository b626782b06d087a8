//! `POST /v1/metrics`: OTLP/HTTP metrics export, protobuf or JSON, optionally
//! gzip-compressed, answered as the OTLP/HTTP specification says: 200 with an
//! `ExportMetricsServiceResponse` (carrying `partial_success` when samples
//! were refused), 400 with a `google.rpc.Status` for bad data, 415 for an
//! unsupported content type.

use std::io::Read;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use homeostat_model::ErrorKind;
use prost::Message;

use crate::routes::ingest::{append, describe_rejections};
use crate::routes::read_body;
use crate::{AppState, Family, status_for};

#[derive(Clone, PartialEq, Message)]
struct ExportResponse {
    #[prost(message, optional, tag = "1")]
    partial_success: Option<PartialSuccess>,
}

#[derive(Clone, PartialEq, Message)]
struct PartialSuccess {
    #[prost(int64, tag = "1")]
    rejected_data_points: i64,
    #[prost(string, tag = "2")]
    error_message: String,
}

/// `google.rpc.Status`.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Protobuf,
    Json,
}

fn reply(enc: Encoding, status: StatusCode, proto: Vec<u8>, json: serde_json::Value) -> Response {
    match enc {
        Encoding::Protobuf => (
            status,
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            proto,
        )
            .into_response(),
        Encoding::Json => (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            json.to_string(),
        )
            .into_response(),
    }
}

fn error(st: &AppState, enc: Encoding, kind: ErrorKind, message: String) -> Response {
    let status = status_for(kind, Family::Ingest);
    if kind == ErrorKind::Internal {
        tracing::error!(error = %message, "otlp ingestion failed");
    } else {
        st.ops
            .telemetry
            .requests_rejected_total
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    // gRPC codes: INVALID_ARGUMENT 3, RESOURCE_EXHAUSTED 8, UNAVAILABLE 14, INTERNAL 13.
    let code = match kind {
        ErrorKind::TooLarge | ErrorKind::LimitExceeded => 8,
        ErrorKind::Unavailable | ErrorKind::Timeout => 14,
        ErrorKind::Internal => 13,
        _ => 3,
    };
    let proto = RpcStatus {
        code,
        message: message.clone(),
    }
    .encode_to_vec();
    reply(
        enc,
        status,
        proto,
        serde_json::json!({"code": code, "message": message}),
    )
}

pub async fn metrics(State(st): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let enc = match ct.split(';').next().unwrap_or("").trim() {
        "application/x-protobuf" | "application/protobuf" => Encoding::Protobuf,
        "application/json" => Encoding::Json,
        other => {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content type {other:?}: send application/x-protobuf or application/json\n"),
            )
                .into_response();
        }
    };
    let body = match read_body(body, st.query.limits.max_request_body_bytes).await {
        Ok(b) => b,
        Err(e) => return error(&st, enc, e.kind, e.message),
    };
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let max = st.query.limits.max_decompressed_bytes;
    let decoded = crate::write_pool::run(move || {
        let raw: Vec<u8> = if gzip {
            let mut out = Vec::new();
            let mut dec = flate2::read::GzDecoder::new(&body[..]).take(max as u64 + 1);
            dec.read_to_end(&mut out)
                .map_err(|e| (ErrorKind::InvalidInput, format!("invalid gzip body: {e}")))?;
            if out.len() > max {
                return Err((
                    ErrorKind::TooLarge,
                    format!("decompressed body exceeds the limit max_decompressed_bytes={max}"),
                ));
            }
            out
        } else {
            body.to_vec()
        };
        let r = match enc {
            Encoding::Protobuf => homeostat_wire::otlp::decode_protobuf(&raw),
            Encoding::Json => homeostat_wire::otlp::decode_json(&raw),
        };
        r.map_err(|e| (e.kind(), e.to_string()))
    })
    .await;
    let series = match decoded {
        Ok(Ok(s)) => s,
        Ok(Err((kind, msg))) => return error(&st, enc, kind, msg),
        Err(e) => return error(&st, enc, ErrorKind::Internal, e.to_string()),
    };
    let report = match append(&st, "otlp", series).await {
        Ok(r) => r,
        Err(e) => return error(&st, enc, e.kind, e.message),
    };
    if report
        .rejected
        .contains_key(&homeostat_storage::RejectReason::QueueFull)
    {
        // Retryable, unlike a partial success: the forwarding queue drains.
        let msg = describe_rejections(&report);
        return error(&st, enc, ErrorKind::Unavailable, msg);
    }
    if report.rejected_total() > 0 {
        let msg = describe_rejections(&report);
        let n = report.rejected_total() as i64;
        let proto = ExportResponse {
            partial_success: Some(PartialSuccess {
                rejected_data_points: n,
                error_message: msg.clone(),
            }),
        }
        .encode_to_vec();
        let json = serde_json::json!({"partialSuccess": {"rejectedDataPoints": n.to_string(), "errorMessage": msg}});
        return reply(enc, StatusCode::OK, proto, json);
    }
    reply(enc, StatusCode::OK, Vec::new(), serde_json::json!({}))
}
