//! OTLP/HTTP metrics (`ExportMetricsServiceRequest`, protobuf or JSON) to
//! Prometheus series, following the OpenTelemetry "Prometheus and OpenMetrics
//! compatibility" specification.
//!
//! The mapping:
//! - Gauge → gauge; monotonic cumulative Sum → counter named `..._total`;
//!   non-monotonic cumulative Sum → gauge.
//! - Histogram (explicit buckets, cumulative) → `_bucket{le=...}` with
//!   cumulative counts ending in `le="+Inf"` (= the point's count), `_count`,
//!   and `_sum` when the point carries a sum.
//! - Summary → `{quantile=...}` series, `_sum`, `_count`.
//! - Delta or unspecified temporality and exponential histograms are refused
//!   with an error naming the metric: the whole request fails, so a
//!   misconfigured exporter is noticed instead of silently losing data.
//! - Names: invalid characters → `_`, runs of `_` collapsed, a leading digit
//!   gets a `_` prefix; the UCUM unit becomes a suffix (`s` → `seconds`,
//!   `By` → `bytes`, `{...}` dropped, `a/b` → `a_per_b`, `1` → `ratio` on
//!   gauges only) unless the name already contains it; the unit comes before
//!   `_total`, which is never doubled.
//! - Labels: data point attributes, sanitized like names (no `:`); keys that
//!   collide after sanitizing are joined with `;` in original key order;
//!   arrays and key/value lists become JSON strings, bytes base64.
//! - Resource: `service.namespace/service.name` → `job`, `service.instance.id`
//!   → `instance`; every other resource attribute goes to one `target_info`
//!   series (value 1, with job and instance, at the resource's newest sample
//!   time), not onto every series. Scope name/version → `otel_scope_name`/
//!   `otel_scope_version`. Labels the translation sets win over attributes.
//! - Timestamps: `time_unix_nano` truncated to milliseconds; 0 is refused.
//!   A point flagged `FLAG_NO_RECORDED_VALUE` becomes stale markers.
//! - Not produced: exemplars, `_created` series, metadata (HELP/TYPE/UNIT).

mod attributes;
mod base64;
mod error;
mod json;
mod names;
mod proto;
mod translate;

use homeostat_model::TimeSeries;
use prost::Message;

pub use error::OtlpError;

use crate::WireError;

/// Decodes an OTLP/HTTP protobuf (`application/x-protobuf`) metrics export
/// body. The body must already be decompressed.
pub fn decode_protobuf(body: &[u8]) -> Result<Vec<TimeSeries>, WireError> {
    let req = proto::ExportMetricsServiceRequest::decode(body)
        .map_err(|e| OtlpError::Protobuf(e.to_string()))?;
    Ok(translate::translate(&req)?)
}

/// Decodes an OTLP/HTTP JSON (`application/json`) metrics export body.
pub fn decode_json(body: &[u8]) -> Result<Vec<TimeSeries>, WireError> {
    let req = json::parse(body).map_err(OtlpError::Json)?;
    Ok(translate::translate(&req)?)
}
