//! `/api/v1/rules` and `/api/v1/alerts` over a real rule manager.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use homeostat_model::{FakeClock, Labels, Sample, TimeSeries};
use homeostat_promql::{Engine, EngineOptions};
use homeostat_rules::{ManagerOptions, RuleManager, parse_rule_file};
use homeostat_storage::{Appender, MemStorage};
use serde_json::Value;

use crate::{Limits, call, router, state};

const RULES: &str = r#"
groups:
- name: g
  interval: 30s
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - alert: Down
    expr: up == 0
    for: 1m
    keep_firing_for: 5m
    labels: {severity: page}
    annotations: {summary: "{{ $labels.job }} down"}
"#;

const T0: i64 = 1_700_000_040_000;

fn app_with_rules() -> axum::Router {
    let store = Arc::new(MemStorage::new());
    store
        .append(&[TimeSeries {
            labels: Labels::from_pairs(&[("__name__", "up"), ("job", "api")]),
            samples: vec![Sample::new(T0, 0.0), Sample::new(T0 + 60_000, 0.0)],
        }])
        .unwrap();
    let groups = parse_rule_file("rules/a.yml", RULES).unwrap();
    let m = RuleManager::new(
        groups,
        Engine::default(),
        store.clone(),
        store.clone(),
        Arc::new(FakeClock::new(T0)),
        ManagerOptions::default(),
    );
    m.eval_all(T0);
    m.eval_all(T0 + 60_000);
    let mut st = state(store, Limits::default(), EngineOptions::default());
    st.rules = Arc::new(m);
    router(st)
}

async fn get_json(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let (status, body) = call(app, Request::get(uri).body(Body::empty()).unwrap()).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn rules_in_prometheus_shape() {
    let app = app_with_rules();
    let (status, v) = get_json(&app, "/api/v1/rules").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["status"], "success");
    let g = &v["data"]["groups"][0];
    assert_eq!(g["name"], "g");
    assert_eq!(g["file"], "rules/a.yml");
    assert_eq!(g["interval"], 30.0);
    assert_eq!(g["lastEvaluation"], "2023-11-14T22:15:00Z");
    let rec = &g["rules"][0];
    assert_eq!(rec["type"], "recording");
    assert_eq!(rec["name"], "job:up:sum");
    assert_eq!(rec["health"], "ok");
    assert!(rec.get("lastError").is_none());
    let alert = &g["rules"][1];
    assert_eq!(alert["type"], "alerting");
    assert_eq!(alert["state"], "firing");
    assert_eq!(alert["duration"], 60.0);
    assert_eq!(alert["keepFiringFor"], 300.0);
    assert_eq!(alert["labels"]["severity"], "page");
    let a = &alert["alerts"][0];
    assert_eq!(a["state"], "firing");
    assert_eq!(a["activeAt"], "2023-11-14T22:14:00Z");
    assert_eq!(a["value"], "0e+00");
    assert_eq!(a["labels"]["alertname"], "Down");
    assert_eq!(a["annotations"]["summary"], "api down");

    let (_, v) = get_json(&app, "/api/v1/rules?type=record").await;
    let rules = v["data"]["groups"][0]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["type"], "recording");
    let (_, v) = get_json(&app, "/api/v1/rules?type=alert&exclude_alerts=true").await;
    let rules = v["data"]["groups"][0]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["alerts"].as_array().unwrap().len(), 0);
    let (status, v) = get_json(&app, "/api/v1/rules?type=bogus").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], "bad_data");
}

#[tokio::test]
async fn alerts_lists_active_alerts() {
    let app = app_with_rules();
    let (status, v) = get_json(&app, "/api/v1/alerts").await;
    assert_eq!(status, StatusCode::OK);
    let alerts = v["data"]["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["labels"]["job"], "api");
    assert_eq!(alerts[0]["state"], "firing");
}

#[tokio::test]
async fn empty_without_rules() {
    let app = crate::app(Arc::new(MemStorage::new()), Limits::default());
    let (_, v) = get_json(&app, "/api/v1/rules").await;
    assert_eq!(v["data"]["groups"], serde_json::json!([]));
    let (_, v) = get_json(&app, "/api/v1/alerts").await;
    assert_eq!(v["data"]["alerts"], serde_json::json!([]));
}
