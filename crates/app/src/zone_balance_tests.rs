use std::collections::BTreeMap;
use std::sync::Arc;

use homeostat_model::FakeClock;
use homeostat_remediation::zone_shift::ZoneShiftConfig;
use parking_lot::Mutex;

use super::*;

/// One zone's answers/s, 5xx/s, gateway failures/s and p99 in seconds.
type Rates = (f64, f64, f64, Option<f64>);
type Traffic = BTreeMap<&'static str, Rates>;

#[derive(Default)]
struct FakeSignals {
    now: Mutex<Traffic>,
    queries: Mutex<Vec<String>>,
}

impl ZoneSignals for FakeSignals {
    fn by_zone(&self, query: &str) -> BoxFuture<'_, Result<BTreeMap<String, f64>, String>> {
        self.queries.lock().push(query.to_string());
        let q = ZoneQueries::new("checkout");
        let pick: fn(&Rates) -> Option<f64> = if query == q.answers {
            |t| Some(t.0)
        } else if query == q.server_errors {
            |t| (t.1 > 0.0).then_some(t.1)
        } else if query == q.failures {
            |t| Some(t.2)
        } else {
            |t| t.3
        };
        let out = self
            .now
            .lock()
            .iter()
            .filter_map(|(z, t)| pick(t).map(|v| ((*z).to_string(), v)))
            .collect();
        Box::pin(async move { Ok(out) })
    }
}

#[derive(Default)]
struct FakeWeights {
    weights: Mutex<BTreeMap<String, u32>>,
    actors: Mutex<Vec<String>>,
    refuse: Mutex<bool>,
}

impl ZoneWeights for FakeWeights {
    fn zone_weights(&self, _: &str) -> BoxFuture<'_, Result<BTreeMap<String, u32>, String>> {
        let w = self.weights.lock().clone();
        Box::pin(async move { Ok(w) })
    }
    fn set_zone_weights(
        &self,
        _: &str,
        weights: BTreeMap<String, u32>,
        actor: &str,
    ) -> BoxFuture<'_, Result<(), String>> {
        let res = if *self.refuse.lock() {
            Err("unknown route".to_string())
        } else {
            self.weights.lock().extend(weights);
            self.actors.lock().push(actor.to_string());
            Ok(())
        };
        Box::pin(async move { res })
    }
}

struct Fixture {
    clock: FakeClock,
    signals: Arc<FakeSignals>,
    weights: Arc<FakeWeights>,
    balancer: ZoneBalancer,
}

fn fixture() -> Fixture {
    let clock = FakeClock::new(1_000_000);
    let signals = Arc::new(FakeSignals::default());
    let weights = Arc::new(FakeWeights::default());
    *weights.weights.lock() = [("a", 100), ("b", 100), ("c", 100)]
        .into_iter()
        .map(|(z, w)| (z.to_string(), w))
        .collect();
    let balancer = ZoneBalancer::new(
        vec![ZoneBalance {
            route: "checkout".into(),
            config: ZoneShiftConfig {
                max_error_ratio: 0.05,
                max_latency_s: Some(1.0),
                step_percent: 25,
                step_interval_ms: 60_000,
                max_zone_share: 0.7,
                healthy_period_ms: 120_000,
                restore_step_percent: 50,
            },
        }],
        signals.clone(),
        weights.clone(),
        Arc::new(clock.clone()),
    );
    Fixture {
        clock,
        signals,
        weights,
        balancer,
    }
}

fn traffic(b: Rates) -> Traffic {
    BTreeMap::from([
        ("a", (10.0, 0.0, 0.0, Some(0.1))),
        ("b", b),
        ("c", (10.0, 0.0, 0.0, Some(0.1))),
    ])
}

#[tokio::test]
async fn a_sick_zone_is_shifted_away_and_back_through_the_desk() {
    let f = fixture();
    *f.signals.now.lock() = traffic((10.0, 3.1, 0.0, Some(0.1)));
    let out = f.balancer.tick().await;
    assert_eq!(out.len(), 1);
    assert!(
        out[0]
            .reason
            .starts_with("zone b: error ratio 0.31 > 0.05 while a, c healthy"),
        "{}",
        out[0].reason
    );
    assert_eq!(
        out[0].applied,
        Some(BTreeMap::from([
            ("a".into(), 3750),
            ("b".into(), 2500),
            ("c".into(), 3750)
        ]))
    );
    assert_eq!(
        *f.weights.actors.lock(),
        ["homeostat (zone balancer checkout)"]
    );
    // Too soon for the next step.
    f.clock.advance(30_000);
    assert_eq!(f.balancer.tick().await[0].applied, None);
    // Healthy: two minutes later b's share comes back (half its original
    // share per step covers the quarter it lost).
    *f.signals.now.lock() = traffic((10.0, 0.0, 0.0, Some(0.1)));
    for _ in 0..4 {
        f.clock.advance(30_000);
        assert_eq!(f.balancer.tick().await[0].applied, None);
    }
    f.clock.advance(30_000);
    let out = f.balancer.tick().await;
    assert!(
        out[0].reason.ends_with("original weights restored"),
        "{}",
        out[0].reason
    );
    assert_eq!(out[0].applied.as_ref().and_then(|w| w.get("b")), Some(&100));
    assert_eq!(f.balancer.state("checkout").and_then(|s| s.original), None);
    assert_eq!(f.weights.actors.lock().len(), 2);
    f.balancer.forget();
    assert_eq!(f.balancer.state("checkout"), None);
}

#[tokio::test]
async fn gateway_failures_count_as_errors() {
    let f = fixture();
    // b answers nothing: every attempt is refused.
    *f.signals.now.lock() = traffic((0.0, 0.0, 5.0, None));
    let out = f.balancer.tick().await;
    assert!(
        out[0].reason.starts_with("zone b: error ratio 1 > 0.05"),
        "{}",
        out[0].reason
    );
    assert!(out[0].applied.is_some());
}

#[tokio::test]
async fn slow_zone_is_shifted_and_quiet_zones_are_not_judged() {
    let f = fixture();
    *f.signals.now.lock() = traffic((10.0, 0.0, 0.0, Some(2.0)));
    let out = f.balancer.tick().await;
    assert!(
        out[0].reason.starts_with("zone b: p99 latency 2s > 1s"),
        "{}",
        out[0].reason
    );
    f.clock.advance(60_000);
    *f.signals.now.lock() = traffic((0.0, 0.0, 0.0, None));
    let out = f.balancer.tick().await;
    // b held sick, a and c healthy: the drain goes on.
    assert!(out[0].reason.contains("held sick"), "{}", out[0].reason);
}

#[tokio::test]
async fn a_refused_update_is_reported_as_a_failure() {
    let f = fixture();
    *f.weights.refuse.lock() = true;
    *f.signals.now.lock() = traffic((10.0, 3.1, 0.0, Some(0.1)));
    let out = f.balancer.tick().await;
    assert!(out[0].failed);
    assert!(
        out[0]
            .reason
            .ends_with("applying the weights failed: unknown route"),
        "{}",
        out[0].reason
    );
    assert_eq!(out[0].applied, None);
}

#[test]
fn queries_name_the_route_and_the_proxy_metrics() {
    let q = ZoneQueries::new("check\"out");
    assert_eq!(
        q.server_errors,
        "sum by (zone) (rate(homeostat_traffic_upstream_requests_total{route=\"check\\\"out\", code_class=\"5xx\"}[1m]))"
    );
    assert!(
        q.p99
            .starts_with("histogram_quantile(0.99, sum by (zone, le)")
    );
}
