use std::sync::Arc;

use homeostat_model::is_stale_nan;
use homeostat_rules::{AlertState, Health, ManagerOptions, RuleKind, RulesView};
use homeostat_storage::{Matcher, MemStorage, Querier, SelectRequest};

use crate::{MIN, T0, manager, push, query};

const ALERT: &str = r#"
groups:
- name: g
  interval: 1m
  rules:
  - alert: Down
    expr: up == 0
    for: 2m
    labels: {severity: page, instance_copy: "{{ $labels.instance }}"}
    annotations:
      summary: "{{ $labels.instance }} of {{ .Labels.job }} is down ({{ $value | humanize }})"
      broken: "{{ if $value }}x{{ end }}"
"#;

fn state_of(m: &homeostat_rules::RuleManager) -> AlertState {
    m.groups()[0].rules[0].state
}

#[test]
fn alert_goes_pending_then_firing_then_resolves() {
    let store = Arc::new(MemStorage::new());
    let m = manager(&store, ALERT, ManagerOptions::default());
    let up = [("__name__", "up"), ("job", "api"), ("instance", "h:1")];

    push(&store, &up, T0, 0.0);
    let sent = m.eval_all(T0);
    assert!(sent.is_empty(), "pending alerts are not sent");
    assert_eq!(state_of(&m), AlertState::Pending);
    let alerts = m.alerts();
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a.labels.get("alertname").map(String::as_str), Some("Down"));
    assert_eq!(a.labels.get("severity").map(String::as_str), Some("page"));
    assert_eq!(
        a.labels.get("instance_copy").map(String::as_str),
        Some("h:1")
    );
    assert_eq!(a.annotations["summary"], "h:1 of api is down (0)");
    assert!(
        a.annotations["broken"].starts_with("<error expanding template: "),
        "{}",
        a.annotations["broken"]
    );
    assert_eq!(
        query(&store, "ALERTS", T0),
        vec![(
            r#"ALERTS{alertname="Down", alertstate="pending", instance="h:1", instance_copy="h:1", job="api", severity="page"}"#.to_string(),
            1.0
        )]
    );
    assert_eq!(
        query(&store, "ALERTS_FOR_STATE", T0)[0].1,
        (T0 / 1000) as f64
    );

    push(&store, &up, T0 + MIN, 0.0);
    assert!(m.eval_all(T0 + MIN).is_empty());
    assert_eq!(state_of(&m), AlertState::Pending);

    push(&store, &up, T0 + 2 * MIN, 0.0);
    let sent = m.eval_all(T0 + 2 * MIN);
    assert_eq!(state_of(&m), AlertState::Firing);
    assert_eq!(sent.len(), 1);
    // Prometheus sends the firing time as startsAt; the pending time
    // travels beside it for the in-process path.
    assert_eq!(sent[0].starts_at, T0 + 2 * MIN);
    assert_eq!(sent[0].pending_since, T0);
    assert_eq!(sent[0].ends_at, T0 + 2 * MIN + 4 * MIN);
    assert!(sent[0].generator_url.contains("/graph?g0.expr=up+%3D%3D+0"));
    let firing = query(&store, "ALERTS", T0 + 2 * MIN);
    assert_eq!(firing.len(), 1);
    assert!(firing[0].0.contains(r#"alertstate="firing""#));

    // Resent only when the resend delay (1m) has passed.
    push(&store, &up, T0 + 3 * MIN, 0.0);
    assert!(m.eval_all(T0 + 3 * MIN).is_empty());
    push(&store, &up, T0 + 4 * MIN, 0.0);
    assert_eq!(m.eval_all(T0 + 4 * MIN).len(), 1);

    // Resolved: sent once with endsAt = resolution time, then kept 15m.
    push(&store, &up, T0 + 5 * MIN, 1.0);
    let sent = m.eval_all(T0 + 5 * MIN);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].ends_at, T0 + 5 * MIN);
    assert_eq!(state_of(&m), AlertState::Inactive);
    assert!(m.alerts().is_empty());
    // The ALERTS series is stale-marked, so it vanishes at once.
    assert!(query(&store, "ALERTS", T0 + 5 * MIN).is_empty());
    // Still re-sent as resolved within the retention...
    push(&store, &up, T0 + 7 * MIN, 1.0);
    assert_eq!(m.eval_all(T0 + 7 * MIN).len(), 1);
    // ...and forgotten after it.
    push(&store, &up, T0 + 21 * MIN, 1.0);
    m.eval_all(T0 + 21 * MIN);
    push(&store, &up, T0 + 22 * MIN, 1.0);
    assert!(m.eval_all(T0 + 22 * MIN).is_empty());
}

#[test]
fn pending_alert_that_clears_is_dropped_without_sending() {
    let store = Arc::new(MemStorage::new());
    let m = manager(&store, ALERT, ManagerOptions::default());
    let up = [("__name__", "up"), ("job", "api"), ("instance", "h:1")];
    push(&store, &up, T0, 0.0);
    m.eval_all(T0);
    push(&store, &up, T0 + MIN, 1.0);
    assert!(m.eval_all(T0 + MIN).is_empty());
    assert!(m.alerts().is_empty());
    assert_eq!(state_of(&m), AlertState::Inactive);
}

#[test]
fn keep_firing_for_holds_a_cleared_alert() {
    let yaml = r#"
groups:
- name: g
  rules:
  - alert: Hot
    expr: temp > 50
    keep_firing_for: 2m
"#;
    let store = Arc::new(MemStorage::new());
    let m = manager(&store, yaml, ManagerOptions::default());
    let temp = [("__name__", "temp")];
    push(&store, &temp, T0, 60.0);
    m.eval_all(T0);
    assert_eq!(state_of(&m), AlertState::Firing, "for: 0 fires at once");
    for (i, want) in [
        (1, AlertState::Firing),
        (2, AlertState::Firing),
        (3, AlertState::Inactive),
    ] {
        push(&store, &temp, T0 + i * MIN, 10.0);
        m.eval_all(T0 + i * MIN);
        assert_eq!(state_of(&m), want, "minute {i}");
        if want == AlertState::Firing {
            assert_eq!(m.alerts()[0].keep_firing_since, Some(T0 + MIN));
        }
    }
}

#[test]
fn recording_rule_writes_series_with_rule_labels_and_stale_markers() {
    let yaml = r#"
groups:
- name: rec
  rules:
  - record: job:req:sum
    expr: sum by (job) (req)
    labels: {team: a}
  - record: job:req:doubled
    expr: job:req:sum * 2
"#;
    let store = Arc::new(MemStorage::new());
    let m = manager(&store, yaml, ManagerOptions::default());
    push(
        &store,
        &[("__name__", "req"), ("job", "x"), ("i", "1")],
        T0,
        1.0,
    );
    push(
        &store,
        &[("__name__", "req"), ("job", "x"), ("i", "2")],
        T0,
        2.0,
    );
    push(
        &store,
        &[("__name__", "req"), ("job", "y"), ("i", "1")],
        T0,
        5.0,
    );
    m.eval_all(T0);
    assert_eq!(
        query(&store, "job:req:sum", T0),
        vec![
            (r#"job:req:sum{job="x", team="a"}"#.to_string(), 3.0),
            (r#"job:req:sum{job="y", team="a"}"#.to_string(), 5.0),
        ]
    );
    // Rules see the results of earlier rules at the same timestamp.
    assert_eq!(query(&store, "job:req:doubled", T0).len(), 2);
    let snap = m.groups();
    assert_eq!(snap[0].rules[0].kind, RuleKind::Recording);
    assert_eq!(snap[0].rules[0].health, Health::Ok);
    assert_eq!(snap[0].last_evaluation, Some(T0));

    // job y vanishes (past the 5m lookback): its recorded series gets a stale marker.
    push(
        &store,
        &[("__name__", "req"), ("job", "x"), ("i", "1")],
        T0 + 6 * MIN,
        1.0,
    );
    m.eval_all(T0 + 6 * MIN);
    let series = store
        .select(&SelectRequest::new(
            vec![
                Matcher::equal("__name__", "job:req:sum"),
                Matcher::equal("job", "y"),
            ],
            T0,
            T0 + 6 * MIN,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let last = series[0].samples.last().map(|s| s.v).unwrap_or_default();
    assert!(is_stale_nan(last));
}

#[test]
fn limit_is_an_error_like_prometheus() {
    let yaml = r#"
groups:
- name: g
  limit: 1
  rules:
  - record: x:sum
    expr: sum by (i) (x)
  - alert: X
    expr: x > 0
"#;
    let store = Arc::new(MemStorage::new());
    let m = manager(&store, yaml, ManagerOptions::default());
    push(&store, &[("__name__", "x"), ("i", "1")], T0, 1.0);
    push(&store, &[("__name__", "x"), ("i", "2")], T0, 1.0);
    m.eval_all(T0);
    let g = &m.groups()[0];
    assert_eq!(g.rules[0].health, Health::Err);
    assert_eq!(
        g.rules[0].last_error.as_deref(),
        Some("exceeded limit 1 with 2 series")
    );
    assert_eq!(g.rules[1].health, Health::Err);
    assert_eq!(
        g.rules[1].last_error.as_deref(),
        Some("exceeded limit of 1 with 2 alerts")
    );
    assert!(m.alerts().is_empty());
    assert!(query(&store, "x:sum", T0).is_empty());
}

#[test]
fn query_errors_are_reported_per_rule() {
    // Two series that differ only by name collide once the rule renames them.
    let yaml = "groups:\n- name: g\n  rules:\n  - record: s\n    expr: '{__name__=~\"a|b\"}'\n  - record: ok\n    expr: vector(1)\n";
    let store = Arc::new(MemStorage::new());
    let m = manager(&store, yaml, ManagerOptions::default());
    push(&store, &[("__name__", "a"), ("i", "1")], T0, 1.0);
    push(&store, &[("__name__", "b"), ("i", "1")], T0, 1.0);
    m.eval_all(T0);
    let g = &m.groups()[0];
    assert_eq!(g.rules[0].health, Health::Err);
    assert_eq!(
        g.rules[0].last_error.as_deref(),
        Some("vector contains metrics with the same labelset after applying rule labels")
    );
    assert_eq!(g.rules[1].health, Health::Ok);
}

#[test]
fn for_state_is_restored_after_a_restart() {
    let yaml = r#"
groups:
- name: g
  rules:
  - alert: Slow
    expr: latency > 1
    for: 30m
"#;
    let store = Arc::new(MemStorage::new());
    let lat = [("__name__", "latency")];
    let before = manager(&store, yaml, ManagerOptions::default());
    for i in 0..=10 {
        push(&store, &lat, T0 + i * MIN, 2.0);
        before.eval_all(T0 + i * MIN);
    }
    assert_eq!(before.alerts()[0].active_at, T0);
    drop(before);

    // Down for 5 minutes, then a new process starts evaluating.
    let restart = T0 + 15 * MIN;
    push(&store, &lat, restart, 2.0);
    let after = manager(&store, yaml, ManagerOptions::default());
    after.eval_all(restart);
    // 10m spent pending before the outage: the remaining 20m start again
    // after the restart, so active_at moves forward by the 5m downtime.
    assert_eq!(after.alerts()[0].active_at, T0 + 5 * MIN);

    // Without restore, the alert starts afresh.
    let store2 = Arc::new(MemStorage::new());
    let fresh = manager(
        &store2,
        yaml,
        ManagerOptions {
            restore_for_state: false,
            ..Default::default()
        },
    );
    push(&store2, &lat, restart, 2.0);
    fresh.eval_all(restart);
    assert_eq!(fresh.alerts()[0].active_at, restart);
}

#[test]
fn restore_respects_the_grace_period_and_outage_tolerance() {
    let yaml =
        "groups:\n- name: g\n  rules:\n  - alert: Slow\n    expr: latency > 1\n    for: 30m\n";
    let lat = [("__name__", "latency")];
    // 25m pending before going down: 5m would remain, less than the 10m
    // grace period, so the alert fires 10m after the restart.
    let store = Arc::new(MemStorage::new());
    let before = manager(&store, yaml, ManagerOptions::default());
    for i in 0..=25 {
        push(&store, &lat, T0 + i * MIN, 2.0);
        before.eval_all(T0 + i * MIN);
    }
    let restart = T0 + 27 * MIN;
    push(&store, &lat, restart, 2.0);
    let after = manager(&store, yaml, ManagerOptions::default());
    after.eval_all(restart);
    assert_eq!(after.alerts()[0].active_at, restart + 10 * MIN - 30 * MIN);

    // Down longer than the outage tolerance (1h): nothing restored.
    let restart = T0 + 90 * MIN;
    push(&store, &lat, restart, 2.0);
    let late = manager(&store, yaml, ManagerOptions::default());
    late.eval_all(restart);
    assert_eq!(late.alerts()[0].active_at, restart);
}

#[test]
fn next_eval_is_aligned_to_the_interval() {
    let store = Arc::new(MemStorage::new());
    let m = manager(&store, ALERT, ManagerOptions::default());
    let next = m.next_eval_at(0, T0).unwrap_or_default();
    assert!((T0..T0 + MIN).contains(&next));
    assert_eq!(m.next_eval_at(0, next), Some(next));
    assert_eq!(m.next_eval_at(0, next + 1), Some(next + MIN));
}
