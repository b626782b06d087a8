//! Prometheus remote-read (the `SAMPLES` response type): a snappy
//! block-compressed `prometheus.ReadRequest` answered by a snappy-compressed
//! `prometheus.ReadResponse`. Messages are declared with prost's derive macros
//! (field numbers from Prometheus's `prompb/remote.proto` and `types.proto`)
//! so the build needs no protoc. The time series reuse the remote-write
//! message types, which are the same protobuf messages.

use homeostat_model::{Label, Labels, Sample, TimeSeries};
use prost::Message;

use crate::WireError;
use crate::remote_write::{PbLabel, PbSample, PbTimeSeries, compress};

/// The header Prometheus expects on remote-read requests.
pub const VERSION_HEADER: &str = "X-Prometheus-Remote-Read-Version";
pub const VERSION: &str = "0.1.0";

#[derive(Clone, PartialEq, Message)]
pub struct ReadRequest {
    #[prost(message, repeated, tag = "1")]
    pub queries: Vec<Query>,
    /// Response types the client accepts, in order of preference; empty
    /// means `SAMPLES`, which every server supports.
    #[prost(enumeration = "ResponseType", repeated, tag = "2")]
    pub accepted_response_types: Vec<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ResponseType {
    Samples = 0,
    StreamedXorChunks = 1,
}

#[derive(Clone, PartialEq, Message)]
pub struct Query {
    #[prost(int64, tag = "1")]
    pub start_timestamp_ms: i64,
    #[prost(int64, tag = "2")]
    pub end_timestamp_ms: i64,
    #[prost(message, repeated, tag = "3")]
    pub matchers: Vec<LabelMatcher>,
    #[prost(message, optional, tag = "4")]
    pub hints: Option<ReadHints>,
}

#[derive(Clone, PartialEq, Message)]
pub struct LabelMatcher {
    #[prost(enumeration = "MatcherType", tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MatcherType {
    Eq = 0,
    Neq = 1,
    Re = 2,
    Nre = 3,
}

#[derive(Clone, PartialEq, Message)]
pub struct ReadHints {
    #[prost(int64, tag = "1")]
    pub step_ms: i64,
    #[prost(string, tag = "2")]
    pub func: String,
    #[prost(int64, tag = "3")]
    pub start_ms: i64,
    #[prost(int64, tag = "4")]
    pub end_ms: i64,
    #[prost(string, repeated, tag = "5")]
    pub grouping: Vec<String>,
    #[prost(bool, tag = "6")]
    pub by: bool,
    #[prost(int64, tag = "7")]
    pub range_ms: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct ReadResponse {
    /// One result per query, in request order.
    #[prost(message, repeated, tag = "1")]
    pub results: Vec<QueryResult>,
}

#[derive(Clone, PartialEq, Message)]
pub struct QueryResult {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<PbTimeSeries>,
}

/// Encodes a request body (protobuf, then snappy).
pub fn encode_request(req: &ReadRequest) -> Vec<u8> {
    compress(&req.encode_to_vec())
}

/// Decodes a request body; the claimed decompressed size is checked first.
pub fn decode_request(
    body: &[u8],
    max_decompressed_bytes: usize,
) -> Result<ReadRequest, WireError> {
    let raw = decompress(body, max_decompressed_bytes)?;
    ReadRequest::decode(raw.as_slice()).map_err(|e| WireError::Protobuf(e.to_string()))
}

/// Encodes a response body (protobuf, then snappy).
pub fn encode_response(resp: &ReadResponse) -> Vec<u8> {
    compress(&resp.encode_to_vec())
}

/// Decodes a response body; the claimed decompressed size is checked before
/// decompressing, so a remote cannot make us allocate without bound.
pub fn decode_response(
    body: &[u8],
    max_decompressed_bytes: usize,
) -> Result<ReadResponse, WireError> {
    let raw = decompress(body, max_decompressed_bytes)?;
    ReadResponse::decode(raw.as_slice()).map_err(|e| WireError::Protobuf(e.to_string()))
}

/// Converts one result's series into validated, time-sorted series; a series
/// carrying native histograms is an error naming it. Unlike
/// ingestion, a series without a metric name is accepted: remote stores may
/// hold such series and a selector like `{job="x"}` can return them.
pub fn series_from_pb(ts: Vec<PbTimeSeries>) -> Result<Vec<TimeSeries>, WireError> {
    let mut out = Vec::with_capacity(ts.len());
    for (index, ts) in ts.into_iter().enumerate() {
        let labels = Labels::new(
            ts.labels
                .into_iter()
                .map(|l| Label::new(l.name, l.value))
                .collect(),
        )
        .map_err(|source| WireError::InvalidLabels { index, source })?;
        // Dropping native histograms would silently answer with less data
        // than the remote holds; refuse by name as remote-write does.
        if !ts.histograms.is_empty() {
            return Err(WireError::InvalidSeries {
                index,
                series: labels.to_string(),
                detail: "native histograms are not supported yet".into(),
            });
        }
        let mut samples: Vec<Sample> = ts
            .samples
            .iter()
            .map(|s| Sample::new(s.timestamp, s.value))
            .collect();
        if !samples.windows(2).all(|w| w[0].t <= w[1].t) {
            samples.sort_by_key(|s| s.t);
        }
        out.push(TimeSeries { labels, samples });
    }
    Ok(out)
}

/// The inverse of [`series_from_pb`], for servers (and fake servers in tests).
pub fn series_to_pb(series: &[TimeSeries]) -> Vec<PbTimeSeries> {
    series
        .iter()
        .map(|ts| PbTimeSeries {
            labels: ts
                .labels
                .iter()
                .map(|l| PbLabel {
                    name: l.name.clone(),
                    value: l.value.clone(),
                })
                .collect(),
            samples: ts
                .samples
                .iter()
                .map(|s| PbSample {
                    value: s.v,
                    timestamp: s.t,
                })
                .collect(),
            exemplars: Vec::new(),
            histograms: Vec::new(),
        })
        .collect()
}

fn decompress(body: &[u8], max_decompressed_bytes: usize) -> Result<Vec<u8>, WireError> {
    let len = snap::raw::decompress_len(body).map_err(|e| WireError::Snappy(e.to_string()))?;
    if len > max_decompressed_bytes {
        return Err(WireError::TooLarge {
            limit: max_decompressed_bytes,
            actual: len,
        });
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| WireError::Snappy(e.to_string()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn matcher_type() -> impl Strategy<Value = i32> {
        prop_oneof![
            Just(MatcherType::Eq as i32),
            Just(MatcherType::Neq as i32),
            Just(MatcherType::Re as i32),
            Just(MatcherType::Nre as i32),
        ]
    }

    #[test]
    fn response_rejects_oversized_and_garbage_bodies() {
        let resp = ReadResponse {
            results: vec![QueryResult {
                timeseries: series_to_pb(&[TimeSeries {
                    labels: Labels::from_pairs(&[("__name__", "up")]),
                    samples: vec![Sample::new(1, 1.0)],
                }]),
            }],
        };
        let body = encode_response(&resp);
        assert!(matches!(
            decode_response(&body, 4),
            Err(WireError::TooLarge { limit: 4, .. })
        ));
        assert!(matches!(
            decode_response(b"garbage", 1 << 20),
            Err(WireError::Snappy(_))
        ));
        assert_eq!(decode_response(&body, 1 << 20).unwrap(), resp);
    }

    #[test]
    fn invalid_labels_are_named() {
        let pb = vec![PbTimeSeries {
            labels: vec![PbLabel {
                name: "bad-name".into(),
                value: "x".into(),
            }],
            ..Default::default()
        }];
        let e = series_from_pb(pb).unwrap_err().to_string();
        assert!(e.contains("bad-name"), "{e}");
    }

    proptest! {
        #[test]
        fn request_round_trips(
            start in any::<i64>(),
            end in any::<i64>(),
            matchers in proptest::collection::vec((matcher_type(), "[a-z_]{1,8}", ".{0,12}"), 0..4),
            step in any::<i64>(),
            grouping in proptest::collection::vec("[a-z]{1,6}", 0..3),
        ) {
            let req = ReadRequest {
                queries: vec![Query {
                    start_timestamp_ms: start,
                    end_timestamp_ms: end,
                    matchers: matchers.into_iter().map(|(t, n, v)| LabelMatcher { r#type: t, name: n, value: v }).collect(),
                    hints: Some(ReadHints { step_ms: step, grouping, by: true, ..Default::default() }),
                }],
                accepted_response_types: vec![ResponseType::Samples as i32],
            };
            prop_assert_eq!(decode_request(&encode_request(&req), 1 << 20).unwrap(), req);
        }

        #[test]
        fn response_round_trips(
            values in proptest::collection::vec((any::<i64>(), any::<f64>()), 0..20),
            job in "[a-z]{1,8}",
            n in 0usize..4,
        ) {
            let mut samples: Vec<Sample> = values.iter().map(|&(t, v)| Sample::new(t, v)).collect();
            samples.sort_by_key(|s| s.t);
            // proto3 omits default-valued fields, so -0.0 arrives as 0.0.
            for s in &mut samples { if s.v == 0.0 { s.v = 0.0; } }
            let series: Vec<TimeSeries> = (0..n).map(|i| TimeSeries {
                labels: Labels::from_pairs(&[("__name__", "m"), ("job", &job), ("i", &i.to_string())]),
                samples: samples.clone(),
            }).collect();
            let resp = ReadResponse { results: vec![QueryResult { timeseries: series_to_pb(&series) }] };
            let decoded = decode_response(&encode_response(&resp), 1 << 24).unwrap();
            prop_assert_eq!(decoded.results.len(), 1);
            let back = series_from_pb(decoded.results.into_iter().next().unwrap().timeseries).unwrap();
            prop_assert_eq!(back, series);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_response(&bytes, 1 << 16);
            let _ = decode_response(&compress(&bytes), 1 << 16);
            let _ = decode_request(&compress(&bytes), 1 << 16);
        }
    }
}
