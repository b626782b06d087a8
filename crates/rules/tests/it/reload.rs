//! Replacing the loaded groups (a config reload) keeps what did not change.

use std::sync::Arc;

use homeostat_rules::{AlertState, ManagerOptions, ReloadSummary, RulesView, parse_rule_file};
use homeostat_storage::MemStorage;

use crate::{MIN, T0, manager, push, query};

const V1: &str = r#"
groups:
- name: alerts
  interval: 1m
  rules:
  - alert: Down
    expr: up == 0
    for: 2m
- name: records
  interval: 1m
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
"#;

/// `alerts` changed (an annotation added), `records` removed, `extra` added.
const V2: &str = r#"
groups:
- name: alerts
  interval: 1m
  rules:
  - alert: Down
    expr: up == 0
    for: 2m
    annotations: {summary: down}
- name: extra
  rules:
  - record: x
    expr: vector(1)
"#;

#[test]
fn reload_keeps_pending_alerts_and_stale_marks_removed_groups() {
    let store = Arc::new(MemStorage::new());
    let m = manager(&store, V1, ManagerOptions::default());
    let up = [("__name__", "up"), ("job", "api"), ("instance", "h:1")];
    push(&store, &up, T0, 0.0);
    m.eval_all(T0);
    assert_eq!(m.alerts()[0].state, AlertState::Pending);
    assert_eq!(query(&store, "job:up:sum", T0).len(), 1);

    let specs = parse_rule_file("test.yml", V2).unwrap_or_else(|e| panic!("{e}"));
    let summary = m.replace_groups(specs, T0 + 30_000);
    assert_eq!(
        summary,
        ReloadSummary {
            unchanged: 0,
            changed: 1,
            added: 1,
            removed: 1
        }
    );
    assert_eq!(m.group_count(), 2);
    // The removed group's series is stale-marked at the reload.
    assert!(query(&store, "job:up:sum", T0 + 30_000).is_empty());

    // The pending alert kept its start: it fires 2m after T0, not 2m after
    // the reload, and carries the new annotation.
    push(&store, &up, T0 + MIN, 0.0);
    m.eval_all(T0 + MIN);
    push(&store, &up, T0 + 2 * MIN, 0.0);
    let sent = m.eval_all(T0 + 2 * MIN);
    assert_eq!(sent.len(), 1, "fires on schedule after the reload");
    assert_eq!(sent[0].pending_since, T0);
    assert_eq!(sent[0].starts_at, T0 + 2 * MIN);
    assert_eq!(
        sent[0].annotations.get("summary").map(String::as_str),
        Some("down")
    );
}

#[test]
fn reloading_the_same_rules_changes_nothing() {
    let store = Arc::new(MemStorage::new());
    let m = manager(&store, V1, ManagerOptions::default());
    let specs = parse_rule_file("test.yml", V1).unwrap_or_else(|e| panic!("{e}"));
    let summary = m.replace_groups(specs, T0);
    assert_eq!(summary.unchanged, 2);
    assert_eq!(summary.changed + summary.added + summary.removed, 0);
}
