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

#[cfg(test)]
mod tests {
    use homeostat_model::ErrorKind;
    use proptest::prelude::*;

    use super::*;

    /// The same request as `translate::tests::instruments_request`, written the
    /// way OTLP/JSON exporters write it, with the encoding's variations mixed in:
    /// 64-bit integers as strings and as numbers, enums as integers and names,
    /// hex trace ids in an exemplar, unknown keys, nulls.
    const INSTRUMENTS_JSON: &str = r#"{
      "resourceMetrics": [{
        "resource": {"attributes": [
          {"key": "service.name", "value": {"stringValue": "checkout"}},
          {"key": "service.instance.id", "value": {"stringValue": "i-1"}},
          {"key": "host.name", "value": {"stringValue": "web-1"}}
        ], "droppedAttributesCount": 0},
        "schemaUrl": "https://opentelemetry.io/schemas/1.26.0",
        "scopeMetrics": [{
          "scope": {"name": "shop", "version": "1.2", "attributes": null},
          "metrics": [
            {"name": "requests", "unit": "1", "description": "served requests",
             "sum": {"aggregationTemporality": 2, "isMonotonic": true, "dataPoints": [
               {"attributes": [{"key": "method", "value": {"stringValue": "GET"}}],
                "startTimeUnixNano": "1700000000000000000",
                "timeUnixNano": "1700000000123456789", "asInt": "7",
                "exemplars": [{"timeUnixNano": "1700000000100000000", "asDouble": 1,
                  "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174"}]}
             ]}},
            {"name": "queue.depth",
             "sum": {"aggregationTemporality": "AGGREGATION_TEMPORALITY_CUMULATIVE", "dataPoints": [
               {"timeUnixNano": 1700000000123456789, "asInt": -3, "flags": 0}
             ]}},
            {"name": "http.server.request.duration", "unit": "s",
             "histogram": {"aggregationTemporality": 2, "dataPoints": [
               {"attributes": [{"key": "http.route", "value": {"stringValue": "/pay"}}],
                "timeUnixNano": "1700000000123456789", "count": "6", "sum": 1.5,
                "bucketCounts": ["1", 2, "3"], "explicitBounds": [0.1, 0.5], "min": 0.01, "max": 0.9}
             ]}},
            {"name": "cpu.temperature", "unit": "Cel",
             "gauge": {"dataPoints": [{"timeUnixNano": "1700000000123456789", "asDouble": 61.5, "asInt": null}]}}
          ]
        }]
      }]
    }"#;

    #[test]
    fn json_and_protobuf_encodings_of_one_request_decode_to_the_same_series() {
        let proto_body = translate::tests::instruments_request().encode_to_vec();
        let from_proto = decode_protobuf(&proto_body).expect("protobuf decodes");
        let from_json = decode_json(INSTRUMENTS_JSON.as_bytes()).expect("json decodes");
        assert_eq!(from_json, from_proto);
        assert_eq!(from_proto.len(), translate::tests::INSTRUMENTS_GOLDEN.len());
    }

    #[test]
    fn json_accepts_special_doubles_and_complex_attributes() {
        let body = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[
            {"timeUnixNano":"2000000","asDouble":"Infinity","attributes":[
              {"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"2"},{"boolValue":true}]}}},
              {"key":"blob","value":{"bytesValue":"aGkh"}},
              {"key":"ratio","value":{"doubleValue":"NaN"}}
            ]}]}}]}]}]}"#;
        let series = decode_json(body.as_bytes()).expect("decodes");
        assert_eq!(series.len(), 1);
        assert_eq!(
            series[0].labels.to_string(),
            r#"g{blob="aGkh", ratio="NaN", tags="[\"a\",2,true]"}"#
        );
        assert_eq!(series[0].samples[0].t, 2);
        assert_eq!(series[0].samples[0].v, f64::INFINITY);
    }

    #[test]
    fn malformed_bodies_are_invalid_input_errors() {
        for (result, prefix) in [
            (decode_protobuf(b"\x0a\x05\x0a"), "invalid otlp protobuf payload: "),
            (decode_json(b"{\"resourceMetrics\": [}"), "invalid otlp json payload: "),
            (
                decode_json(br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[{"timeUnixNano":"soon"}]}}]}]}]}"#),
                "invalid otlp json payload: invalid unsigned 64-bit integer \"soon\"",
            ),
            (
                decode_json(br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","sum":{"aggregationTemporality":"SOMETIMES"}}]}]}]}"#),
                "invalid otlp json payload: invalid aggregationTemporality \"SOMETIMES\"",
            ),
        ] {
            let err = result.expect_err("must fail");
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.to_string().starts_with(prefix), "{err}");
        }
    }

    #[test]
    fn empty_requests_decode_to_nothing() {
        assert_eq!(decode_protobuf(b"").expect("empty protobuf"), vec![]);
        assert_eq!(decode_json(b"{}").expect("empty json"), vec![]);
    }

    #[test]
    fn deeply_nested_attribute_values_are_refused_not_overflowing_the_stack() {
        let mut value = proto::AnyValue {
            value: Some(proto::Value::Int(1)),
        };
        for _ in 0..500 {
            value = proto::AnyValue {
                value: Some(proto::Value::Array(proto::ArrayValue {
                    values: vec![value],
                })),
            };
        }
        let mut req = translate::tests::instruments_request();
        req.resource_metrics[0]
            .resource
            .as_mut()
            .expect("resource")
            .attributes
            .push(proto::KeyValue {
                key: "deep".to_string(),
                value: Some(value),
            });
        let err = decode_protobuf(&req.encode_to_vec()).expect_err("too deep");
        assert!(err.to_string().contains("recursion limit"), "{err}");

        let deep_json = format!(
            r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{{"key":"deep","value":{}1{}}}]}}}}]}}"#,
            r#"{"arrayValue":{"values":["#.repeat(500),
            "]}}".repeat(500)
        );
        let err = decode_json(deep_json.as_bytes()).expect_err("too deep");
        assert!(err.to_string().contains("recursion limit"), "{err}");
    }

    proptest! {
        #[test]
        fn protobuf_decoding_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_protobuf(&body);
        }

        #[test]
        fn json_decoding_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_json(&body);
        }

        /// Arbitrary bytes rarely get past the first field; corrupting valid
        /// bodies reaches the translation with odd but well-formed input.
        #[test]
        fn corrupted_valid_bodies_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut proto_body = translate::tests::instruments_request().encode_to_vec();
            let mut json_body = INSTRUMENTS_JSON.as_bytes().to_vec();
            for (at, byte) in &edits {
                let i = at.index(proto_body.len());
                proto_body[i] = *byte;
                let j = at.index(json_body.len());
                json_body[j] = *byte;
            }
            let _ = decode_protobuf(&proto_body);
            let _ = decode_json(&json_body);
        }
    }
}
