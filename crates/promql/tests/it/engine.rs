//! Error kinds, limits and result shapes.

use std::time::Duration;

use homeostat_model::{Labels, Sample, TimeSeries};
use homeostat_promql::{Engine, EngineOptions, QueryError, QueryParams, Value};
use homeostat_storage::{Appender, MemStorage};

fn store(series: usize, points: i64) -> MemStorage {
    let s = MemStorage::new();
    let batch: Vec<TimeSeries> = (0..series)
        .map(|i| TimeSeries {
            labels: Labels::from_pairs(&[("__name__", "m"), ("i", &i.to_string())]),
            samples: (0..points)
                .map(|t| Sample::new(t * 15_000, t as f64))
                .collect(),
        })
        .collect();
    s.append(&batch).unwrap();
    s
}

#[test]
fn parse_errors_are_bad_data_with_position() {
    let e = Engine::default()
        .instant_query(
            &MemStorage::new(),
            "sum(rate(x[5m])",
            0,
            &QueryParams::default(),
        )
        .unwrap_err();
    assert_eq!(e.error_type(), "bad_data");
    assert!(matches!(e, QueryError::BadData(_)));
}

#[test]
fn range_queries_refuse_too_many_points_naming_the_limit() {
    let e = Engine::default()
        .range_query(
            &MemStorage::new(),
            "1",
            0,
            20_000_000,
            Duration::from_secs(1),
            &QueryParams::default(),
        )
        .unwrap_err();
    assert_eq!(e.error_type(), "bad_data");
    assert!(e.to_string().contains("11000"), "{e}");
}

#[test]
fn range_vector_in_range_query_is_bad_data() {
    let e = Engine::default()
        .range_query(
            &store(1, 10),
            "m[1m]",
            0,
            60_000,
            Duration::from_secs(15),
            &QueryParams::default(),
        )
        .unwrap_err();
    assert_eq!(e.error_type(), "bad_data");
}

#[test]
fn max_samples_is_enforced_and_named() {
    let engine = Engine::new(EngineOptions {
        max_samples: 100,
        ..Default::default()
    });
    let e = engine
        .instant_query(
            &store(20, 40),
            "sum_over_time(m[1h])",
            600_000,
            &QueryParams::default(),
        )
        .unwrap_err();
    assert_eq!(e.error_type(), "execution");
    assert!(e.to_string().contains("max_samples=100"), "{e}");
}

#[test]
fn timeouts_are_reported_as_timeout() {
    let engine = Engine::new(EngineOptions {
        timeout: Duration::ZERO,
        ..Default::default()
    });
    let e = engine
        .instant_query(&store(1, 4), "m", 0, &QueryParams::default())
        .unwrap_err();
    assert_eq!(e.error_type(), "timeout");
}

#[test]
fn range_query_returns_matrix_sorted_by_labels() {
    let out = Engine::default()
        .range_query(
            &store(3, 40),
            "m * 2",
            0,
            300_000,
            Duration::from_secs(60),
            &QueryParams::default(),
        )
        .unwrap();
    let Value::Matrix(m) = out.value else {
        panic!("not a matrix")
    };
    assert_eq!(m.len(), 3);
    assert!(m.windows(2).all(|w| w[0].labels < w[1].labels));
    assert_eq!(m[0].samples.len(), 6);
    assert_eq!(m[0].samples[1], Sample::new(60_000, 8.0));
    assert!(m[0].labels.get("__name__").is_none());
}

#[test]
fn instant_scalar_and_string() {
    let e = Engine::default();
    let q = MemStorage::new();
    let p = QueryParams::default();
    assert_eq!(
        e.instant_query(&q, "1 + 2", 5_000, &p).unwrap().value,
        Value::Scalar { t: 5_000, v: 3.0 }
    );
    assert_eq!(
        e.instant_query(&q, "\"hi\"", 5_000, &p).unwrap().value,
        Value::String {
            t: 5_000,
            s: "hi".into()
        }
    );
}

/// Found by the differential test against Prometheus: without `by`, the
/// value label is the whole group.
#[test]
fn count_values_without_grouping_keeps_the_value_label() {
    let out = Engine::default()
        .instant_query(
            &store(3, 4),
            "count_values(\"v\", m)",
            45_000,
            &QueryParams::default(),
        )
        .unwrap();
    let Value::Vector(v) = out.value else {
        panic!("not a vector")
    };
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].labels, Labels::from_pairs(&[("v", "3")]));
    assert_eq!(v[0].v, 3.0);
}
