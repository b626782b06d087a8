//! Requests shared by the OTLP unit tests, built from the protobuf types.

use super::proto::*;

pub const T: u64 = 1_700_000_000_123_456_789;

pub fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(Value::String(value.to_string())),
        }),
    }
}

pub fn request(resource: Vec<KeyValue>, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "shop".to_string(),
                    version: "1.2".to_string(),
                }),
                metrics,
            }],
        }],
    }
}

pub fn metric(name: &str, unit: &str, data: MetricData) -> Metric {
    Metric {
        name: name.to_string(),
        unit: unit.to_string(),
        data: Some(data),
    }
}

pub fn number(attrs: Vec<KeyValue>, t: u64, v: NumberValue) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        time_unix_nano: t,
        value: Some(v),
        flags: 0,
    }
}

pub fn sum(points: Vec<NumberDataPoint>, temporality: i32, monotonic: bool) -> MetricData {
    MetricData::Sum(Sum {
        data_points: points,
        aggregation_temporality: temporality,
        is_monotonic: monotonic,
    })
}

/// The instruments named in the interop brief, from one resource: a counter,
/// an up-down counter, a histogram and a gauge.
pub fn instruments_request() -> ExportMetricsServiceRequest {
    request(
        vec![
            kv("service.name", "checkout"),
            kv("service.instance.id", "i-1"),
            kv("host.name", "web-1"),
        ],
        vec![
            metric(
                "requests",
                "1",
                sum(
                    vec![number(vec![kv("method", "GET")], T, NumberValue::AsInt(7))],
                    TEMPORALITY_CUMULATIVE,
                    true,
                ),
            ),
            metric(
                "queue.depth",
                "",
                sum(
                    vec![number(vec![], T, NumberValue::AsInt(-3))],
                    TEMPORALITY_CUMULATIVE,
                    false,
                ),
            ),
            metric(
                "http.server.request.duration",
                "s",
                MetricData::Histogram(Histogram {
                    data_points: vec![HistogramDataPoint {
                        attributes: vec![kv("http.route", "/pay")],
                        time_unix_nano: T,
                        count: 6,
                        sum: Some(1.5),
                        bucket_counts: vec![1, 2, 3],
                        explicit_bounds: vec![0.1, 0.5],
                        flags: 0,
                    }],
                    aggregation_temporality: TEMPORALITY_CUMULATIVE,
                }),
            ),
            metric(
                "cpu.temperature",
                "Cel",
                MetricData::Gauge(Gauge {
                    data_points: vec![number(vec![], T, NumberValue::AsDouble(61.5))],
                }),
            ),
        ],
    )
}

pub const INSTRUMENTS_GOLDEN: &[&str] = &[
    r#"requests_total{instance="i-1", job="checkout", method="GET", otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 7"#,
    r#"queue_depth{instance="i-1", job="checkout", otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 -3"#,
    r#"http_server_request_duration_seconds_bucket{http_route="/pay", instance="i-1", job="checkout", le="0.1", otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 1"#,
    r#"http_server_request_duration_seconds_bucket{http_route="/pay", instance="i-1", job="checkout", le="0.5", otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 3"#,
    r#"http_server_request_duration_seconds_bucket{http_route="/pay", instance="i-1", job="checkout", le="+Inf", otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 6"#,
    r#"http_server_request_duration_seconds_count{http_route="/pay", instance="i-1", job="checkout", otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 6"#,
    r#"http_server_request_duration_seconds_sum{http_route="/pay", instance="i-1", job="checkout", otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 1.5"#,
    r#"cpu_temperature_celsius{instance="i-1", job="checkout", otel_scope_name="shop", otel_scope_version="1.2"} 1700000000123 61.5"#,
    r#"target_info{host_name="web-1", instance="i-1", job="checkout"} 1700000000123 1"#,
];
