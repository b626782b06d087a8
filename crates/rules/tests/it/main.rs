//! Integration tests of the rule engine over `MemStorage` and a `FakeClock`.

mod eval;
mod reload;
mod slo;

use std::sync::Arc;

use homeostat_model::{FakeClock, Labels, Sample, TimeSeries, Timestamp};
use homeostat_promql::{Engine, QueryParams, Value};
use homeostat_rules::{ManagerOptions, RuleManager, parse_rule_file};
use homeostat_storage::{Appender, MemStorage};

/// A whole minute, so `ALERTS_FOR_STATE` (seconds) round-trips exactly.
pub const T0: Timestamp = 1_700_000_040_000;
pub const MIN: i64 = 60_000;

pub fn manager(store: &Arc<MemStorage>, yaml: &str, opts: ManagerOptions) -> RuleManager {
    let groups = parse_rule_file("test.yml", yaml).unwrap_or_else(|e| panic!("{e}"));
    RuleManager::new(
        groups,
        Engine::default(),
        store.clone(),
        store.clone(),
        Arc::new(FakeClock::new(T0)),
        opts,
    )
}

pub fn push(store: &MemStorage, labels: &[(&str, &str)], t: Timestamp, v: f64) {
    let report = store
        .append(&[TimeSeries {
            labels: Labels::from_pairs(labels),
            samples: vec![Sample::new(t, v)],
        }])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.rejected_total(), 0, "{report:?}");
}

/// `expr` at `t` as (labels, value) pairs.
pub fn query(store: &Arc<MemStorage>, expr: &str, t: Timestamp) -> Vec<(String, f64)> {
    let out = Engine::default()
        .instant_query(store.as_ref(), expr, t, &QueryParams::default())
        .unwrap_or_else(|e| panic!("{e}"));
    match out.value {
        Value::Vector(v) => v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect(),
        other => panic!("unexpected {other:?}"),
    }
}
