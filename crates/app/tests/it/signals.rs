//! Golden-signal charts: history before the recording rule's first sample
//! comes from the rule's expression over the raw data (ADR 0012).

use std::sync::Arc;
use std::time::Duration;

use homeostat_app::{Live, Range, SignalService};
use homeostat_model::{FakeClock, Labels, Sample, TimeSeries};
use homeostat_promql::{Engine, EngineOptions};
use homeostat_slo::ServiceSignals;
use homeostat_storage::{Appender, MemStorage};

const NOW: i64 = 1_700_000_000_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;

/// Six hours of raw checkout requests (10/s answered 200, 1/s 500, one
/// scrape every 15 s) and a traffic recording that starts an hour ago and
/// records 999, so recorded and raw points tell themselves apart.
fn store() -> Arc<MemStorage> {
    let store = Arc::new(MemStorage::new());
    let counter = |code: &str, per_s: f64| TimeSeries {
        labels: Labels::from_pairs(&[
            ("__name__", "http_requests_total"),
            ("job", "checkout"),
            ("code", code),
        ]),
        samples: (0..=6 * 240)
            .map(|i| Sample::new(NOW - 6 * HOUR + i * 15_000, per_s * 15.0 * i as f64))
            .collect(),
    };
    let recorded = TimeSeries {
        labels: Labels::from_pairs(&[
            ("__name__", "service:requests:rate5m"),
            ("service", "checkout"),
        ]),
        samples: (0..=120)
            .map(|i| Sample::new(NOW - HOUR + i * 30_000, 999.0))
            .collect(),
    };
    let other = TimeSeries {
        labels: Labels::from_pairs(&[
            ("__name__", "service:requests:rate5m"),
            ("service", "elsewhere"),
        ]),
        samples: (0..=10).map(|i| Sample::new(NOW - i * MIN, 5.0)).collect(),
    };
    store
        .append(&[counter("200", 10.0), counter("500", 1.0), recorded, other])
        .unwrap_or_else(|e| panic!("{e}"));
    store
}

fn service() -> SignalService {
    let declared = vec![ServiceSignals {
        service: "checkout".into(),
        selector: "job=\"checkout\"".into(),
        ..Default::default()
    }];
    SignalService::new(
        Engine::new(EngineOptions::default()),
        store(),
        Arc::new(FakeClock::new(NOW)),
        Arc::new(Live::new(declared)),
    )
}

fn chart<'a>(
    charts: &'a [homeostat_app::SignalChart],
    name: &str,
) -> &'a homeostat_app::SignalChart {
    charts
        .iter()
        .find(|c| c.kind.name == name)
        .unwrap_or_else(|| panic!("no {name} chart"))
}

#[test]
fn a_range_before_the_recording_is_filled_from_the_raw_series() {
    let s = service();
    let range = Range::last(Duration::from_secs(6 * 3600), s.now(), 240);
    let charts = s.charts("checkout", range);
    let traffic = chart(&charts, "traffic");
    assert_eq!(traffic.series.len(), 1, "{:?}", traffic.series);
    let series = &traffic.series[0];
    assert_eq!(
        series.labels.get("service").map(String::as_str),
        Some("checkout")
    );
    // Raw history from the first step a 5m rate sees two samples (rising
    // to 11/s as the window fills, as rate extrapolates at a series' start).
    let (t0, v0) = series.points[0];
    assert!(t0 <= NOW - 6 * HOUR + range.step.as_millis() as i64, "{t0}");
    assert!(v0 > 0.0 && v0 <= 11.0, "{v0}");
    let full = NOW - 6 * HOUR + 5 * MIN;
    // Recorded from its first sample on, nothing raw after it.
    let until = series.raw_until.unwrap_or_else(|| panic!("no raw history"));
    assert!((NOW - HOUR..=NOW - HOUR + range.step.as_millis() as i64).contains(&until));
    for &(t, v) in series.points.iter().filter(|p| p.0 > full) {
        let want = if t < until { 11.0 } else { 999.0 };
        assert!((v - want).abs() < 1e-6, "{t}: {v}, want {want}");
    }
    // Steps stay on one grid, once each.
    assert!(
        series
            .points
            .windows(2)
            .all(|w| w[1].0 - w[0].0 == range.step.as_millis() as i64)
    );
}

#[test]
fn a_signal_never_recorded_is_all_raw_and_named_with_its_window() {
    let s = service();
    let range = Range::last(Duration::from_secs(3600), s.now(), 60);
    let charts = s.charts("checkout", range);
    let errors = chart(&charts, "errors");
    assert_eq!(errors.kind.title, "errors, 5 min rate");
    assert_eq!(
        errors.query,
        "service:request_errors:ratio_rate5m{service=\"checkout\"}"
    );
    let series = &errors.series[0];
    assert_eq!(series.points.len(), 61);
    assert!(
        series
            .points
            .iter()
            .all(|&(_, v)| (v - 1.0 / 11.0).abs() < 1e-9)
    );
    assert_eq!(series.raw_until, Some(NOW + range.step.as_millis() as i64));
    // Latency: one series per recorded quantile and outcome, raw too (no
    // buckets in this store, so nothing to draw).
    assert!(chart(&charts, "latency").series.is_empty());
}

#[test]
fn a_range_inside_the_recording_reads_only_the_recording() {
    let s = service();
    let range = Range::last(Duration::from_secs(1800), s.now(), 60);
    let charts = s.charts("checkout", range);
    let series = &chart(&charts, "traffic").series[0];
    assert_eq!(series.raw_until, None);
    assert!(series.points.iter().all(|&(_, v)| v == 999.0));
}

#[test]
fn every_service_with_a_recording_is_listed_and_undeclared_ones_stay_recorded() {
    let s = service();
    let range = Range::last(Duration::from_secs(3 * 3600), s.now(), 60);
    let all = s.all(homeostat_app::SIGNALS[1], range);
    assert_eq!(
        all.keys().map(String::as_str).collect::<Vec<_>>(),
        ["checkout", "elsewhere"]
    );
    assert!(all["checkout"][0].raw_until.is_some());
    assert!(all["elsewhere"][0].raw_until.is_none());
    assert!(all["elsewhere"][0].points.iter().all(|&(_, v)| v == 5.0));
}
