//! The SLO meter on short history: how much data a budget rests on, an
//! exhausted budget said as such, and a burn-down that starts with the data.

use std::sync::Arc;
use std::time::Duration;

use homeostat_app::{Live, SloMeter};
use homeostat_model::{FakeClock, Labels, Sample, TimeSeries};
use homeostat_promql::{Engine, EngineOptions};
use homeostat_slo::{AlertWindows, SloSpec, Window};
use homeostat_storage::{Appender, MemStorage};

const NOW: i64 = 1_700_000_000_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;

const SPEC: &str = r#"
version: prometheus/v1
service: checkout
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code="500"}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: CheckoutAvailability
"#;

/// Seven hours of traffic in a 30-day period: 1000 requests a second,
/// 0.24% failing — 2.4 times a 99.9% objective's budget.
fn meter(windows: Vec<AlertWindows>) -> Arc<SloMeter> {
    let store = Arc::new(MemStorage::new());
    let counter = |code: &str, per_s: f64| TimeSeries {
        labels: Labels::from_pairs(&[("__name__", "http_requests_total"), ("code", code)]),
        samples: (0..=7 * 240)
            .map(|i| Sample::new(NOW - 7 * HOUR + i * 15_000, per_s * 15.0 * i as f64))
            .collect(),
    };
    store
        .append(&[counter("200", 997.6), counter("500", 2.4)])
        .unwrap_or_else(|e| panic!("{e}"));
    let specs: Vec<SloSpec> =
        homeostat_slo::load_specs(SPEC, "checkout.yaml").unwrap_or_else(|e| panic!("{e}"));
    Arc::new(SloMeter::new(
        Engine::new(EngineOptions::default()),
        store,
        Arc::new(FakeClock::new(NOW)),
        Arc::new(Live::new(specs)),
        Arc::new(Live::new(windows)),
    ))
}

#[tokio::test]
async fn a_budget_says_how_much_data_it_rests_on_and_that_it_is_spent() {
    let m = meter(Vec::new());
    let r = m
        .get("checkout-availability")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let since = r.data_since.unwrap_or_else(|| panic!("no data start"));
    // Found to a few minutes (a 120th of a 120th of 30 days, and the
    // second sample a rate needs).
    assert!(
        (since - (NOW - 7 * HOUR)).abs() <= 5 * MIN,
        "{}",
        (since - (NOW - 7 * HOUR)) / 1000
    );
    let based_on = r.based_on().unwrap_or_default();
    assert!(
        based_on >= Duration::from_secs(7 * 3600 - 300)
            && based_on <= Duration::from_secs(7 * 3600)
    );
    assert!(r.status.exhausted);
    assert!(
        (r.status.overspend.unwrap_or(0.0) - 2.4).abs() < 0.01,
        "{:?}",
        r.status.overspend
    );
    assert_eq!(
        r.status.exhausted_at, None,
        "no past 'runs out' time once spent"
    );
}

#[tokio::test]
async fn the_burn_down_starts_where_the_data_does() {
    let m = meter(Vec::new());
    let b = m
        .burndown("checkout-availability")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let since = b.data_since.unwrap_or_else(|| panic!("no data start"));
    let first = b.remaining[0].0;
    assert!(
        first >= since - 5 * MIN && first <= since + 5 * MIN,
        "{}",
        (first - since) / 1000
    );
    assert_eq!(b.remaining.last().map(|p| p.0), Some(NOW));
    // Spent 2.4 budgets by the end: 1 - 2.4.
    let last = b.remaining.last().map(|p| p.1).unwrap_or(0.0);
    assert!((last + 1.4).abs() < 0.05, "{last}");
}

#[tokio::test]
async fn burn_rates_include_the_windows_the_alerts_use() {
    let period = Duration::from_secs(30 * 86_400);
    let w = |short: u64, long: u64| Window {
        error_budget_percent: 2.0,
        short: Duration::from_secs(short),
        long: Duration::from_secs(long),
    };
    let fast = AlertWindows {
        period,
        page_quick: w(60, 720),
        page_slow: w(120, 1440),
        ticket_quick: w(300, 3600),
        ticket_slow: w(600, 7200),
    };
    let m = meter(vec![fast]);
    let r = m
        .get("checkout-availability")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let windows: Vec<u64> = r
        .status
        .windows
        .iter()
        .map(|w| w.window.as_secs())
        .collect();
    for want in [60, 720, 120, 1440, 600, 300, 3600] {
        assert!(windows.contains(&want), "{want} not in {windows:?}");
    }
    assert!(
        windows.windows(2).all(|p| p[0] < p[1]),
        "sorted, no duplicates: {windows:?}"
    );
    let one_minute = r.status.windows.iter().find(|w| w.window.as_secs() == 60);
    assert!(
        one_minute
            .and_then(|w| w.burn_rate)
            .is_some_and(|b| (b - 2.4).abs() < 0.01)
    );
}
