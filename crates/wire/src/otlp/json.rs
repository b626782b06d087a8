//! The OTLP/JSON encoding of `ExportMetricsServiceRequest`, parsed into the
//! same protobuf message types so one translation serves both encodings.
//!
//! OTLP/JSON follows the protobuf JSON mapping with OTLP's own rules: keys are
//! lowerCamelCase, 64-bit integers may be strings or numbers, enums are
//! integers (names are accepted too), doubles may be `"NaN"`/`"Infinity"`/
//! `"-Infinity"`, bytes are base64 (except trace and span ids, which are hex
//! and which translation never reads), absent fields and `null` mean the
//! default, and unknown keys are ignored.

use serde::Deserialize;
use serde::de::{self, Deserializer};

use super::base64;
use super::proto;

pub fn parse(body: &[u8]) -> Result<proto::ExportMetricsServiceRequest, String> {
    let req: ExportMetricsServiceRequest =
        serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(req.into_proto())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ExportMetricsServiceRequest {
    #[serde(deserialize_with = "nullable")]
    resource_metrics: Vec<ResourceMetrics>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ResourceMetrics {
    resource: Option<Resource>,
    #[serde(deserialize_with = "nullable")]
    scope_metrics: Vec<ScopeMetrics>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Resource {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ScopeMetrics {
    scope: Option<InstrumentationScope>,
    #[serde(deserialize_with = "nullable")]
    metrics: Vec<Metric>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct InstrumentationScope {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    version: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Metric {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    unit: String,
    gauge: Option<Gauge>,
    sum: Option<Sum>,
    histogram: Option<Histogram>,
    exponential_histogram: Option<de::IgnoredAny>,
    summary: Option<Summary>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Gauge {
    #[serde(deserialize_with = "nullable")]
    data_points: Vec<NumberDataPoint>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Sum {
    #[serde(deserialize_with = "nullable")]
    data_points: Vec<NumberDataPoint>,
    aggregation_temporality: Temporality,
    #[serde(deserialize_with = "nullable")]
    is_monotonic: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Histogram {
    #[serde(deserialize_with = "nullable")]
    data_points: Vec<HistogramDataPoint>,
    aggregation_temporality: Temporality,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Summary {
    #[serde(deserialize_with = "nullable")]
    data_points: Vec<SummaryDataPoint>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct NumberDataPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
    time_unix_nano: U64,
    as_double: Option<F64>,
    as_int: Option<I64>,
    flags: U64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct HistogramDataPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
    time_unix_nano: U64,
    count: U64,
    sum: Option<F64>,
    #[serde(deserialize_with = "nullable")]
    bucket_counts: Vec<U64>,
    #[serde(deserialize_with = "nullable")]
    explicit_bounds: Vec<F64>,
    flags: U64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SummaryDataPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
    time_unix_nano: U64,
    count: U64,
    sum: F64,
    #[serde(deserialize_with = "nullable")]
    quantile_values: Vec<ValueAtQuantile>,
    flags: U64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ValueAtQuantile {
    quantile: F64,
    value: F64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct KeyValue {
    #[serde(deserialize_with = "nullable")]
    key: String,
    value: Option<AnyValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct AnyValue {
    string_value: Option<String>,
    bool_value: Option<bool>,
    int_value: Option<I64>,
    double_value: Option<F64>,
    array_value: Option<ArrayValue>,
    kvlist_value: Option<KeyValueList>,
    bytes_value: Option<Bytes>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ArrayValue {
    #[serde(deserialize_with = "nullable")]
    values: Vec<AnyValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct KeyValueList {
    #[serde(deserialize_with = "nullable")]
    values: Vec<KeyValue>,
}

/// `null` means the field's default, as in the protobuf JSON mapping.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Scalars OTLP/JSON may write as a number or as a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrString {
    U(u64),
    I(i64),
    F(f64),
    S(String),
}

#[derive(Default, Clone, Copy)]
struct U64(u64);

impl<'de> Deserialize<'de> for U64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<NumOrString>::deserialize(d)? {
            None => Ok(U64(0)),
            Some(NumOrString::U(v)) => Ok(U64(v)),
            Some(NumOrString::S(s)) => {
                s.trim().parse().map(U64).map_err(|_| {
                    de::Error::custom(format!("invalid unsigned 64-bit integer {s:?}"))
                })
            }
            Some(NumOrString::I(v)) => Err(de::Error::custom(format!(
                "invalid unsigned 64-bit integer {v}"
            ))),
            Some(NumOrString::F(v)) => Err(de::Error::custom(format!(
                "invalid unsigned 64-bit integer {v}"
            ))),
        }
    }
}

#[derive(Default, Clone, Copy)]
struct I64(i64);

impl<'de> Deserialize<'de> for I64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let err = |what: String| de::Error::custom(format!("invalid 64-bit integer {what}"));
        match Option::<NumOrString>::deserialize(d)? {
            None => Ok(I64(0)),
            Some(NumOrString::U(v)) => i64::try_from(v).map(I64).map_err(|_| err(v.to_string())),
            Some(NumOrString::I(v)) => Ok(I64(v)),
            Some(NumOrString::S(s)) => s.trim().parse().map(I64).map_err(|_| err(format!("{s:?}"))),
            Some(NumOrString::F(v)) => Err(err(v.to_string())),
        }
    }
}

#[derive(Default, Clone, Copy)]
struct F64(f64);

impl<'de> Deserialize<'de> for F64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<NumOrString>::deserialize(d)? {
            None => Ok(F64(0.0)),
            Some(NumOrString::U(v)) => Ok(F64(v as f64)),
            Some(NumOrString::I(v)) => Ok(F64(v as f64)),
            Some(NumOrString::F(v)) => Ok(F64(v)),
            Some(NumOrString::S(s)) => match s.as_str() {
                "NaN" => Ok(F64(f64::NAN)),
                "Infinity" => Ok(F64(f64::INFINITY)),
                "-Infinity" => Ok(F64(f64::NEG_INFINITY)),
                other => other
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(F64)
                    .ok_or_else(|| de::Error::custom(format!("invalid double {s:?}"))),
            },
        }
    }
}

/// `AggregationTemporality`: an integer, or its enum value name.
#[derive(Default, Clone, Copy)]
struct Temporality(i32);

impl<'de> Deserialize<'de> for Temporality {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let err =
            |what: String| de::Error::custom(format!("invalid aggregationTemporality {what}"));
        match Option::<NumOrString>::deserialize(d)? {
            None => Ok(Temporality(proto::TEMPORALITY_UNSPECIFIED)),
            Some(NumOrString::U(v)) => i32::try_from(v)
                .map(Temporality)
                .map_err(|_| err(v.to_string())),
            Some(NumOrString::I(v)) => i32::try_from(v)
                .map(Temporality)
                .map_err(|_| err(v.to_string())),
            Some(NumOrString::F(v)) => Err(err(v.to_string())),
            Some(NumOrString::S(s)) => match s.as_str() {
                "AGGREGATION_TEMPORALITY_UNSPECIFIED" => {
                    Ok(Temporality(proto::TEMPORALITY_UNSPECIFIED))
                }
                "AGGREGATION_TEMPORALITY_DELTA" => Ok(Temporality(proto::TEMPORALITY_DELTA)),
                "AGGREGATION_TEMPORALITY_CUMULATIVE" => {
                    Ok(Temporality(proto::TEMPORALITY_CUMULATIVE))
                }
                _ => Err(err(format!("{s:?}"))),
            },
        }
    }
}

struct Bytes(Vec<u8>);

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        base64::decode(&s)
            .map(Bytes)
            .ok_or_else(|| de::Error::custom("invalid base64 in bytesValue"))
    }
}

fn flags(v: U64) -> u32 {
    // Only the low bits carry defined flags; wider values are not an error.
    (v.0 & u64::from(u32::MAX)) as u32
}

impl ExportMetricsServiceRequest {
    fn into_proto(self) -> proto::ExportMetricsServiceRequest {
        proto::ExportMetricsServiceRequest {
            resource_metrics: self
                .resource_metrics
                .into_iter()
                .map(ResourceMetrics::into_proto)
                .collect(),
        }
    }
}

impl ResourceMetrics {
    fn into_proto(self) -> proto::ResourceMetrics {
        proto::ResourceMetrics {
            resource: self.resource.map(|r| proto::Resource {
                attributes: attrs(r.attributes),
            }),
            scope_metrics: self
                .scope_metrics
                .into_iter()
                .map(|sm| proto::ScopeMetrics {
                    scope: sm.scope.map(|s| proto::InstrumentationScope {
                        name: s.name,
                        version: s.version,
                    }),
                    metrics: sm.metrics.into_iter().map(Metric::into_proto).collect(),
                })
                .collect(),
        }
    }
}

impl Metric {
    fn into_proto(self) -> proto::Metric {
        // A oneof written with several members: the protobuf rule is that the
        // last one wins; JSON objects have no reliable order, so take a fixed one.
        let data = if let Some(g) = self.gauge {
            Some(proto::MetricData::Gauge(proto::Gauge {
                data_points: numbers(g.data_points),
            }))
        } else if let Some(s) = self.sum {
            Some(proto::MetricData::Sum(proto::Sum {
                data_points: numbers(s.data_points),
                aggregation_temporality: s.aggregation_temporality.0,
                is_monotonic: s.is_monotonic,
            }))
        } else if let Some(h) = self.histogram {
            Some(proto::MetricData::Histogram(proto::Histogram {
                data_points: h
                    .data_points
                    .into_iter()
                    .map(HistogramDataPoint::into_proto)
                    .collect(),
                aggregation_temporality: h.aggregation_temporality.0,
            }))
        } else if self.exponential_histogram.is_some() {
            Some(proto::MetricData::ExponentialHistogram(
                proto::ExponentialHistogram {},
            ))
        } else {
            self.summary.map(|s| {
                proto::MetricData::Summary(proto::Summary {
                    data_points: s
                        .data_points
                        .into_iter()
                        .map(SummaryDataPoint::into_proto)
                        .collect(),
                })
            })
        };
        proto::Metric {
            name: self.name,
            unit: self.unit,
            data,
        }
    }
}

fn numbers(points: Vec<NumberDataPoint>) -> Vec<proto::NumberDataPoint> {
    points
        .into_iter()
        .map(|p| proto::NumberDataPoint {
            attributes: attrs(p.attributes),
            time_unix_nano: p.time_unix_nano.0,
            value: match (p.as_double, p.as_int) {
                (Some(d), _) => Some(proto::NumberValue::AsDouble(d.0)),
                (None, Some(i)) => Some(proto::NumberValue::AsInt(i.0)),
                (None, None) => None,
            },
            flags: flags(p.flags),
        })
        .collect()
}

impl HistogramDataPoint {
    fn into_proto(self) -> proto::HistogramDataPoint {
        proto::HistogramDataPoint {
            attributes: attrs(self.attributes),
            time_unix_nano: self.time_unix_nano.0,
            count: self.count.0,
            sum: self.sum.map(|s| s.0),
            bucket_counts: self.bucket_counts.into_iter().map(|c| c.0).collect(),
            explicit_bounds: self.explicit_bounds.into_iter().map(|b| b.0).collect(),
            flags: flags(self.flags),
        }
    }
}

impl SummaryDataPoint {
    fn into_proto(self) -> proto::SummaryDataPoint {
        proto::SummaryDataPoint {
            attributes: attrs(self.attributes),
            time_unix_nano: self.time_unix_nano.0,
            count: self.count.0,
            sum: self.sum.0,
            quantile_values: self
                .quantile_values
                .into_iter()
                .map(|q| proto::ValueAtQuantile {
                    quantile: q.quantile.0,
                    value: q.value.0,
                })
                .collect(),
            flags: flags(self.flags),
        }
    }
}

fn attrs(kvs: Vec<KeyValue>) -> Vec<proto::KeyValue> {
    kvs.into_iter()
        .map(|kv| proto::KeyValue {
            key: kv.key,
            value: kv.value.map(AnyValue::into_proto),
        })
        .collect()
}

impl AnyValue {
    fn into_proto(self) -> proto::AnyValue {
        use proto::Value as V;
        let value = if let Some(s) = self.string_value {
            Some(V::String(s))
        } else if let Some(b) = self.bool_value {
            Some(V::Bool(b))
        } else if let Some(i) = self.int_value {
            Some(V::Int(i.0))
        } else if let Some(d) = self.double_value {
            Some(V::Double(d.0))
        } else if let Some(a) = self.array_value {
            Some(V::Array(proto::ArrayValue {
                values: a.values.into_iter().map(AnyValue::into_proto).collect(),
            }))
        } else if let Some(kv) = self.kvlist_value {
            Some(V::Kvlist(proto::KeyValueList {
                values: attrs(kv.values),
            }))
        } else {
            self.bytes_value.map(|b| V::Bytes(b.0))
        };
        proto::AnyValue { value }
    }
}
