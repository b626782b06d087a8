//! Prometheus remote-write 1.0: a snappy block-compressed `prometheus.WriteRequest`.
//! The messages are declared here with prost's derive macros (field numbers
//! from the remote-write spec) so the build needs no protoc.

use homeostat_model::{Label, Labels, Sample, TimeSeries};
use prost::Message;

use crate::WireError;

#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<PbTimeSeries>,
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<PbMetricMetadata>,
}

#[derive(Clone, PartialEq, Message)]
pub struct PbTimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<PbLabel>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<PbSample>,
    #[prost(message, repeated, tag = "3")]
    pub exemplars: Vec<PbExemplar>,
    /// Native histograms; homeostat does not store them yet (see `decode`).
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub histograms: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, Message)]
pub struct PbLabel {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct PbSample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct PbExemplar {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<PbLabel>,
    #[prost(double, tag = "2")]
    pub value: f64,
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct PbMetricMetadata {
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    #[prost(string, tag = "4")]
    pub help: String,
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// Decodes and validates a remote-write body. The claimed decompressed size is
/// checked before decompressing so a small body cannot expand without bound.
/// Exemplars and metadata are accepted and ignored; a series carrying native
/// histograms is rejected by name, since dropping them silently would lose data.
pub fn decode(body: &[u8], max_decompressed_bytes: usize) -> Result<Vec<TimeSeries>, WireError> {
    let len = snap::raw::decompress_len(body).map_err(|e| WireError::Snappy(e.to_string()))?;
    if len > max_decompressed_bytes {
        return Err(WireError::TooLarge {
            limit: max_decompressed_bytes,
            actual: len,
        });
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| WireError::Snappy(e.to_string()))?;
    let req =
        WriteRequest::decode(raw.as_slice()).map_err(|e| WireError::Protobuf(e.to_string()))?;
    let mut out = Vec::with_capacity(req.timeseries.len());
    for (index, ts) in req.timeseries.into_iter().enumerate() {
        let labels = Labels::new_series(
            ts.labels
                .into_iter()
                .map(|l| Label {
                    name: l.name,
                    value: l.value,
                })
                .collect(),
        )
        .map_err(|source| WireError::InvalidLabels { index, source })?;
        if !ts.histograms.is_empty() {
            return Err(WireError::InvalidSeries {
                index,
                series: labels.to_string(),
                detail: "native histograms are not supported yet; send classic histograms".into(),
            });
        }
        let mut samples: Vec<Sample> = ts
            .samples
            .iter()
            .map(|s| Sample::new(s.timestamp, s.value))
            .collect();
        // Senders order samples by time; sort defensively (stable, so equal
        // timestamps keep their order and the store reports the duplicate).
        if !samples.windows(2).all(|w| w[0].t <= w[1].t) {
            samples.sort_by_key(|s| s.t);
        }
        out.push(TimeSeries { labels, samples });
    }
    Ok(out)
}

/// Encodes series as a remote-write body (protobuf, then snappy).
pub fn encode(series: &[TimeSeries]) -> Vec<u8> {
    let req = WriteRequest {
        timeseries: series
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
            .collect(),
        metadata: Vec::new(),
    };
    compress(&req.encode_to_vec())
}

/// Snappy block compression of an already encoded protobuf, for tests that
/// need to send hand-made (including malformed) payloads.
pub fn compress(raw: &[u8]) -> Vec<u8> {
    // Compressing an in-memory buffer only fails past snappy's 4 GiB input
    // limit, which no caller approaches; an empty body is the safe fallback.
    snap::raw::Encoder::new()
        .compress_vec(raw)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn raw_request(labels: &[(&str, &str)]) -> Vec<u8> {
        WriteRequest {
            timeseries: vec![PbTimeSeries {
                labels: labels
                    .iter()
                    .map(|(n, v)| PbLabel {
                        name: n.to_string(),
                        value: v.to_string(),
                    })
                    .collect(),
                samples: vec![PbSample {
                    value: 1.0,
                    timestamp: 1,
                }],
                ..Default::default()
            }],
            metadata: vec![],
        }
        .encode_to_vec()
    }

    #[test]
    fn round_trip() {
        let series = vec![TimeSeries {
            labels: Labels::from_pairs(&[("__name__", "up"), ("job", "a")]),
            samples: vec![Sample::new(1000, 1.0), Sample::new(2000, f64::NAN)],
        }];
        assert_eq!(decode(&encode(&series), 1 << 20).unwrap(), series);
    }

    #[test]
    fn rejects_bad_input_with_a_named_cause() {
        assert!(matches!(
            decode(b"not snappy at all", 1 << 20),
            Err(WireError::Snappy(_))
        ));
        assert!(matches!(
            decode(&compress(b"\xff\xff\xff"), 1 << 20),
            Err(WireError::Protobuf(_))
        ));
        let e = decode(
            &compress(&raw_request(&[("__name__", "up"), ("bad-name", "x")])),
            1 << 20,
        )
        .unwrap_err();
        assert!(e.to_string().contains("bad-name"), "{e}");
        let e = decode(
            &compress(&raw_request(&[("__name__", "up"), ("a", "1"), ("a", "2")])),
            1 << 20,
        )
        .unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
        let e = decode(&compress(&raw_request(&[("job", "x")])), 1 << 20).unwrap_err();
        assert!(e.to_string().contains("metric name"), "{e}");
        let e = decode(&compress(&raw_request(&[("__name__", "up")])), 4).unwrap_err();
        assert!(matches!(e, WireError::TooLarge { limit: 4, .. }));
    }

    #[test]
    fn non_utf8_label_is_a_protobuf_error() {
        let mut raw = raw_request(&[("__name__", "up"), ("a", "zz")]);
        let pos = raw.windows(2).position(|w| w == b"zz").unwrap();
        raw[pos] = 0xff;
        assert!(matches!(
            decode(&compress(&raw), 1 << 20),
            Err(WireError::Protobuf(_))
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes, 1 << 16);
            let _ = decode(&compress(&bytes), 1 << 16);
        }

        #[test]
        fn encode_decode_round_trips(
            n in 1usize..5,
            values in proptest::collection::vec(any::<f64>(), 1..20),
            job in "[a-z]{1,8}",
        ) {
            let series: Vec<TimeSeries> = (0..n).map(|i| TimeSeries {
                labels: Labels::from_pairs(&[("__name__", "m"), ("job", &job), ("i", &i.to_string())]),
                samples: values.iter().enumerate().map(|(k, v)| Sample::new(k as i64 * 1000, *v)).collect(),
            }).collect();
            // proto3 does not encode a field equal to its default, and -0.0 == 0.0,
            // so -0.0 arrives as 0.0 (as with every other remote-write sender).
            let expected: Vec<TimeSeries> = series.iter().cloned().map(|mut ts| {
                for s in &mut ts.samples { if s.v == 0.0 { s.v = 0.0; } }
                ts
            }).collect();
            prop_assert_eq!(decode(&encode(&series), 1 << 24).unwrap(), expected);
        }
    }
}
