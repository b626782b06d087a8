//! `/api/v1/traffic`: route state, weight shifts and faults over HTTP,
//! audited with the caller; bad input answers 4xx naming what is wrong.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use homeostat_model::SystemClock;
use homeostat_promql::EngineOptions;
use homeostat_storage::MemStorage;
use homeostat_traffic::{BreakerSpec, EndpointSpec, FallbackSpec, RouteSpec, Traffic, TrafficDesk};
use serde_json::Value;

use crate::{call, router, state_and_store};

async fn app() -> (axum::Router, homeostat_state::State) {
    let (mut st, persisted) = state_and_store(
        Arc::new(MemStorage::new()),
        Default::default(),
        EngineOptions::default(),
        |_| {},
    );
    let ep = |addr: &str, zone: &str| EndpointSpec {
        address: addr.into(),
        zone: zone.into(),
        weight: 1,
    };
    let spec = RouteSpec {
        name: "checkout".into(),
        listen: "127.0.0.1:0".parse().unwrap(),
        endpoints: vec![ep("127.0.0.1:1", "a"), ep("127.0.0.1:2", "b")],
        zone_weights: BTreeMap::new(),
        health_check: None,
        outlier: None,
        breakers: BreakerSpec::default(),
        fallback: FallbackSpec::default(),
        timeout: Duration::from_secs(1),
        faults: vec![],
    };
    let traffic = Traffic::start(vec![spec], Arc::new(SystemClock))
        .await
        .unwrap();
    st.traffic = TrafficDesk::new(traffic, persisted.audit.clone(), Arc::new(SystemClock));
    (router(st), persisted)
}

fn post(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .header("x-homeostat-user", "ana")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn json(b: &str) -> Value {
    serde_json::from_str(b).unwrap()
}

#[tokio::test]
async fn shift_weights_is_applied_and_audited() {
    let (app, persisted) = app().await;
    let (s, b) = call(
        &app,
        Request::get("/api/v1/traffic/routes")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let v = json(&b);
    assert_eq!(v["data"][0]["name"], "checkout");
    assert_eq!(v["data"][0]["endpoints"][1]["zone"], "b");
    assert_eq!(v["data"][0]["endpoints"][0]["healthy"], true);
    let (s, b) = call(
        &app,
        post(
            "/api/v1/traffic/routes/checkout/weights",
            r#"{"zones":{"a":0,"b":100}}"#,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let v = json(&b);
    assert_eq!(v["data"]["after"]["zones"]["b"], 100);
    assert_eq!(v["data"]["before"]["zones"], serde_json::json!({}));
    let (_, b) = call(
        &app,
        Request::get("/api/v1/traffic/routes/checkout")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(json(&b)["data"]["zone_weights"]["a"], 0);
    let audit = persisted
        .audit
        .list_by_object("traffic-route/checkout", 10)
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "traffic.weights.set");
    assert!(audit[0].actor.contains("ana"), "{:?}", audit[0].actor);
    assert_eq!(audit[0].detail["after"]["zones"]["a"], 0);
}

#[tokio::test]
async fn bad_weights_name_what_is_wrong() {
    let (app, _) = app().await;
    let cases = [
        (
            "/api/v1/traffic/routes/checkout/weights",
            r#"{"zones":{"c":1}}"#,
            StatusCode::BAD_REQUEST,
            "\\\"c\\\"",
        ),
        (
            "/api/v1/traffic/routes/checkout/weights",
            r#"{"zones":{"a":-1}}"#,
            StatusCode::BAD_REQUEST,
            "request body",
        ),
        (
            "/api/v1/traffic/routes/checkout/weights",
            r#"{"zone":{"a":1}}"#,
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (
            "/api/v1/traffic/routes/checkout/weights",
            r#"{}"#,
            StatusCode::BAD_REQUEST,
            "zones",
        ),
        (
            "/api/v1/traffic/routes/checkout/weights",
            r#"{"endpoints":{"x:1":1}}"#,
            StatusCode::BAD_REQUEST,
            "x:1",
        ),
        (
            "/api/v1/traffic/routes/checkout/weights",
            r#"{"zones":{"a":2000000}}"#,
            StatusCode::BAD_REQUEST,
            "maximum",
        ),
        (
            "/api/v1/traffic/routes/nope/weights",
            r#"{"zones":{"a":1}}"#,
            StatusCode::NOT_FOUND,
            "nope",
        ),
        (
            "/api/v1/traffic/routes/checkout/weights",
            "{",
            StatusCode::BAD_REQUEST,
            "request body",
        ),
    ];
    for (uri, body, status, needle) in cases {
        let (s, b) = call(&app, post(uri, body)).await;
        assert_eq!(s, status, "{body}: {b}");
        assert!(b.contains(needle), "{body}: {b} lacks {needle}");
    }
}

#[tokio::test]
async fn faults_are_added_listed_and_removed() {
    let (app, persisted) = app().await;
    let fault = r#"{"name":"slow","match":{"path_prefix":"/pay"},"delay":{"fixed_delay":"200ms","percentage":10}}"#;
    let (s, b) = call(&app, post("/api/v1/traffic/routes/checkout/faults", fault)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(json(&b)["data"]["replaced"], Value::Null);
    let (_, b) = call(
        &app,
        Request::get("/api/v1/traffic/routes/checkout/faults")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(json(&b)["data"][0]["delay"]["fixed_delay"], "200ms");
    let (s, b) = call(
        &app,
        post(
            "/api/v1/traffic/routes/checkout/faults",
            r#"{"name":"x","abort":{"http_status":700}}"#,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(b.contains("abort.http_status"), "{b}");
    let del = || {
        Request::delete("/api/v1/traffic/routes/checkout/faults/slow")
            .header("x-homeostat-user", "ana")
            .body(Body::empty())
            .unwrap()
    };
    let (s, b) = call(&app, del()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(json(&b)["data"]["removed"]["name"], "slow");
    let (s, _) = call(&app, del()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let actions: Vec<_> = persisted
        .audit
        .list_by_object("traffic-route/checkout", 10)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["traffic.fault.add", "traffic.fault.remove"]);
}
