//! Deploy events, the error-budget gate and its overrides over HTTP, on the
//! checkout SLO of `slos.rs` (five times over its budget at the end).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use homeostat_http::router;
use homeostat_model::FakeClock;
use homeostat_promql::EngineOptions;
use serde_json::Value;

use crate::slos::{SPEC, store};
use crate::{call, state_with};

const NOW: i64 = 120 * 60_000;

fn setup(policies: &str) -> (axum::Router, FakeClock) {
    let slos = homeostat_slo::load_specs(SPEC, "checkout.yaml").unwrap();
    let known = homeostat_gate::Known {
        slos: slos
            .iter()
            .map(|s| (s.service.clone(), s.id.clone()))
            .collect(),
    };
    let policies = homeostat_gate::from_yaml(policies, &known, "gate.policies").unwrap();
    setup_with(policies)
}

fn setup_with(policies: Vec<homeostat_gate::Policy>) -> (axum::Router, FakeClock) {
    let clock = FakeClock::new(NOW);
    let slos = homeostat_slo::load_specs(SPEC, "checkout.yaml").unwrap();
    let st = state_with(store(), Default::default(), EngineOptions::default(), |w| {
        w.clock = Arc::new(clock.clone());
        w.policies.set(policies);
        w.slos.set(slos);
    });
    (router(st), clock)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn post(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn gate(app: &axum::Router, q: &str) -> Value {
    let (s, body) = call(app, get(&format!("/api/v1/gate?{q}"))).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["data"].clone()
}

#[tokio::test]
async fn gate_denies_normal_changes_allows_rollbacks_and_honours_overrides() {
    let (app, clock) = setup("- {service: checkout, freeze_below_remaining_percent: 10}\n");
    let d = gate(&app, "service=checkout").await;
    assert_eq!(d["allow"], false, "{d}");
    let reason = d["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("denied: checkout-availability has exhausted its error budget (spent "),
        "{reason}"
    );
    assert_eq!(d["policy"], "explicit");
    assert!(d["slos"][0]["remaining"].as_f64().unwrap() < 0.0);

    let d = gate(&app, "service=checkout&change_type=rollback").await;
    assert_eq!(d["allow"], true, "{d}");
    assert_eq!(d["exempt"], true);

    // An override for 10 minutes lets normal changes through…
    let (s, body) = call(
        &app,
        post(
            "/api/v1/gate/overrides",
            r#"{"service": "checkout", "reason": "launch approved", "author": "ana", "duration": "10m"}"#,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let d = gate(&app, "service=checkout").await;
    assert_eq!(d["allow"], true, "{d}");
    assert_eq!(d["override"]["author"], "ana");
    // …and stops applying once it expired.
    clock.advance(11 * 60_000);
    let d = gate(&app, "service=checkout").await;
    assert_eq!(d["allow"], false, "{d}");
    assert!(d["override"].is_null());
    let (_, body) = call(&app, get("/api/v1/gate/overrides?service=checkout")).await;
    assert!(body.contains("launch approved"), "{body}");
}

#[tokio::test]
async fn healthy_budget_is_allowed_and_ungated_services_say_so() {
    let (app, _) = setup(
        "- {service: checkout, freeze_below_remaining_percent: 0, freeze_on_page: false, slos: []}\n",
    );
    // Overspent budgets freeze even at a 0 % threshold.
    assert_eq!(gate(&app, "service=checkout").await["allow"], false);
    let (app, _) = setup("[]\n");
    let d = gate(&app, "service=checkout").await;
    assert_eq!(d["allow"], true);
    assert_eq!(
        d["reason"],
        "allowed: no error-budget policy gates checkout"
    );
    assert_eq!(d["policy"], "none");
}

#[tokio::test]
async fn the_default_policy_freezes_an_overspent_service_and_says_it_decided() {
    // What `server`'s config gives a service with SLOs and no policy.
    let (app, _) = setup_with(vec![homeostat_gate::Policy::workbook("checkout")]);
    let d = gate(&app, "service=checkout").await;
    assert_eq!(d["allow"], false, "{d}");
    assert_eq!(d["policy"], "default");
    assert!(
        d["reason"]
            .as_str()
            .unwrap()
            .starts_with("denied by the default policy: checkout-availability has exhausted"),
        "{d}"
    );
    let d = gate(&app, "service=checkout&change_type=rollback").await;
    assert_eq!(d["allow"], true, "{d}");
}

#[tokio::test]
async fn bad_gate_and_override_requests_are_refused() {
    let (app, _) = setup("- {service: checkout}\n");
    let (s, body) = call(&app, get("/api/v1/gate?service=payments")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("unknown service \\\"payments\\\""), "{body}");
    let (s, body) = call(&app, get("/api/v1/gate")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    for (req, want) in [
        (
            r#"{"service": "checkout", "reason": "r", "author": "a"}"#,
            "exactly one of expiresAt",
        ),
        (
            r#"{"service": "checkout", "reason": "r", "author": "a", "duration": "30d"}"#,
            "at most 7 days",
        ),
        (
            r#"{"service": "checkout", "reason": " ", "author": "a", "duration": "1h"}"#,
            "needs a reason",
        ),
        (
            r#"{"service": "search", "reason": "r", "author": "a", "duration": "1h"}"#,
            "no error-budget policy",
        ),
        (
            r#"{"service": "checkout", "reason": "r", "author": "a", "duration": "1h", "x": 1}"#,
            "unknown field",
        ),
    ] {
        let (s, body) = call(&app, post("/api/v1/gate/overrides", req)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{req}: {body}");
        assert!(body.contains(want), "{req}: {body}");
    }
}

#[tokio::test]
async fn deploys_are_recorded_and_listed() {
    let (app, _) = setup("[]\n");
    let (s, body) = call(
        &app,
        post(
            "/api/v1/deploys",
            r#"{"service": "checkout", "version": "1.4.2", "commit": "abc123", "author": "ana", "changeType": "feature"}"#,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["outcome"], "in_progress");
    assert_eq!(v["data"]["environment"], "production");
    let (_, body) = call(&app, get("/api/v1/deploys?service=checkout")).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"][0]["version"], "1.4.2");
    for (req, want) in [
        (r#"{"service": "checkout"}"#, "missing field `version`"),
        (
            r#"{"service": "checkout", "version": "1", "outcome": "great"}"#,
            "outcome",
        ),
        (
            r#"{"service": "checkout", "version": "1", "startedAt": "yesterday"}"#,
            "startedAt",
        ),
        (r#"{"service": " ", "version": "1"}"#, "service"),
    ] {
        let (s, body) = call(&app, post("/api/v1/deploys", req)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{req}: {body}");
        assert!(body.contains(want), "{req}: {body}");
    }
}

#[tokio::test]
async fn deploys_join_open_incidents_and_rank_as_suspects() {
    let (app, clock) = setup("[]\n");
    // A deploy 3 minutes before the incident, one 40 minutes before.
    for (version, at) in [("1.0", NOW - 40 * 60_000), ("1.1", NOW - 3 * 60_000)] {
        let body = format!(
            r#"{{"service": "checkout", "version": "{version}", "startedAt": "{}"}}"#,
            at / 1000
        );
        let (s, b) = call(&app, post("/api/v1/deploys", &body)).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let (s, b) = call(
        &app,
        post(
            "/api/v1/incidents",
            r#"{"title": "checkout errors", "service": "checkout", "by": "ana"}"#,
        ),
    )
    .await;
    assert!(s.is_success(), "{b}");
    let (s, body) = call(&app, get("/api/v1/incidents/INC-1/suspects")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let sus = v["data"]["suspects"].as_array().unwrap();
    assert_eq!(sus.len(), 2, "{body}");
    assert_eq!(sus[0]["deploy"]["version"], "1.1");
    assert_eq!(sus[0]["rank"], 1);

    // A deploy during the incident lands on its timeline.
    clock.advance(60_000);
    let (s, b) = call(
        &app,
        post(
            "/api/v1/deploys",
            r#"{"service": "checkout", "version": "1.0-rollback", "changeType": "rollback"}"#,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (_, body) = call(&app, get("/api/v1/incidents/INC-1")).await;
    assert!(body.contains("deploy 3 of checkout 1.0-rollback"), "{body}");
}

#[tokio::test]
async fn an_inline_measurement_serves_the_next_answers_until_it_is_stale() {
    let (app, clock) = setup("- {service: checkout, freeze_below_remaining_percent: 10}\n");
    let first = gate(&app, "service=checkout").await;
    assert_eq!(first["measuredInline"], true, "{first}");
    clock.advance(1_000);
    let second = gate(&app, "service=checkout").await;
    assert_eq!(second["measuredInline"], false, "{second}");
    assert_eq!(second["measuredAt"], first["measuredAt"]);
    assert_eq!(second["allow"], first["allow"]);
    clock.advance(homeostat_app::GATE_CACHE_MAX_AGE_MS);
    assert_eq!(gate(&app, "service=checkout").await["measuredInline"], true);
}

#[tokio::test]
async fn declared_dependencies_deploys_are_suspects_with_their_path() {
    let clock = FakeClock::new(NOW);
    let graph: std::collections::BTreeMap<String, Vec<String>> = [
        ("checkout".to_string(), vec!["payments".to_string()]),
        ("payments".to_string(), vec!["payments-db".to_string()]),
    ]
    .into_iter()
    .collect();
    let deps = Arc::new(homeostat_app::Live::new(graph));
    let st = state_with(store(), Default::default(), EngineOptions::default(), |w| {
        w.clock = Arc::new(clock.clone());
        w.dependencies = deps.clone();
        w.deploy_admission.set(homeostat_app::DeployAdmission {
            declared_services: ["search".to_string()].into(),
            allow_unknown_services: false,
        });
    });
    let app = router(st);
    for (service, at) in [
        ("payments-db", NOW - 2 * 60_000),
        ("checkout", NOW - 10 * 60_000),
        ("search", NOW - 60_000),
    ] {
        let body = format!(
            r#"{{"service": "{service}", "version": "1", "startedAt": "{}"}}"#,
            at / 1000
        );
        let (s, b) = call(&app, post("/api/v1/deploys", &body)).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let (s, b) = call(
        &app,
        post(
            "/api/v1/incidents",
            r#"{"title": "checkout errors", "service": "checkout", "by": "ana"}"#,
        ),
    )
    .await;
    assert!(s.is_success(), "{b}");
    let services = |body: &str| -> Vec<(String, u64, Value)> {
        let v: Value = serde_json::from_str(body).unwrap();
        v["data"]["suspects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["deploy"]["service"].as_str().unwrap().to_string(),
                    s["dependencyDepth"].as_u64().unwrap(),
                    s["via"].clone(),
                )
            })
            .collect()
    };
    let (s, body) = call(&app, get("/api/v1/incidents/INC-1/suspects")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        services(&body),
        [
            (
                "payments-db".to_string(),
                2,
                Value::from("checkout → payments → payments-db")
            ),
            ("checkout".to_string(), 0, Value::Null),
        ],
        "{body}"
    );

    // The query names more; `declared=false` keeps only those.
    let (_, body) = call(
        &app,
        get("/api/v1/incidents/INC-1/suspects?dependencies=search"),
    )
    .await;
    assert_eq!(services(&body).len(), 3, "{body}");
    let (_, body) = call(
        &app,
        get("/api/v1/incidents/INC-1/suspects?dependencies=search&declared=false"),
    )
    .await;
    let got: Vec<String> = services(&body).into_iter().map(|s| s.0).collect();
    assert_eq!(got, ["search", "checkout"], "{body}");
    let (s, _) = call(&app, get("/api/v1/incidents/INC-1/suspects?declared=maybe")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // A reload swaps the graph: the answer follows.
    deps.set(Default::default());
    let (_, body) = call(&app, get("/api/v1/incidents/INC-1/suspects")).await;
    let got: Vec<String> = services(&body).into_iter().map(|s| s.0).collect();
    assert_eq!(got, ["checkout"], "{body}");
}

fn patch(uri: &str, body: &str) -> Request<Body> {
    Request::patch(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn record(app: &axum::Router, body: &str) -> Value {
    let (s, b) = call(app, post("/api/v1/deploys", body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    serde_json::from_str::<Value>(&b).unwrap()["data"].clone()
}

#[tokio::test]
async fn a_deploy_is_finished_once_and_may_then_be_rolled_back() {
    let (app, clock) = setup("[]\n");
    let d = record(&app, r#"{"service": "checkout", "version": "2.0"}"#).await;
    assert_eq!(d["outcome"], "in_progress");
    assert_eq!(d["finishedAt"], Value::Null);
    clock.advance(90_000);
    let (s, b) = call(
        &app,
        patch("/api/v1/deploys/1", r#"{"outcome": "succeeded"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["data"]["outcome"], "succeeded");
    assert_eq!(v["data"]["finishedAt"], "1970-01-01T02:01:30.000Z");
    // A retried step is no error and keeps the first end.
    clock.advance(10_000);
    let (s, b) = call(
        &app,
        patch("/api/v1/deploys/1", r#"{"outcome": "succeeded"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b.contains("02:01:30.000Z"), "{b}");
    // A contradicting end is a conflict that says what it was.
    let (s, b) = call(&app, patch("/api/v1/deploys/1", r#"{"outcome": "failed"}"#)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(b.contains("already finished as succeeded"), "{b}");
    let (s, b) = call(
        &app,
        patch(
            "/api/v1/deploys/1",
            r#"{"outcome": "rolled_back", "finishedAt": "1"}"#,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b.contains(r#""outcome":"rolled_back""#), "{b}");

    for (uri, body, status, want) in [
        (
            "/api/v1/deploys/99",
            r#"{"outcome": "failed"}"#,
            StatusCode::NOT_FOUND,
            "deploy 99 not found",
        ),
        (
            "/api/v1/deploys/1",
            r#"{"outcome": "done"}"#,
            StatusCode::BAD_REQUEST,
            "is not one of succeeded, failed, rolled_back",
        ),
        (
            "/api/v1/deploys/1",
            r#"{"outcome": "in_progress"}"#,
            StatusCode::BAD_REQUEST,
            "is not one of succeeded",
        ),
        (
            "/api/v1/deploys/1",
            r#"{}"#,
            StatusCode::BAD_REQUEST,
            "missing field `outcome`",
        ),
        (
            "/api/v1/deploys/1",
            r#"{"outcome": "failed", "finishedAt": "soon"}"#,
            StatusCode::BAD_REQUEST,
            "finishedAt",
        ),
        (
            "/api/v1/deploys/x",
            r#"{"outcome": "failed"}"#,
            StatusCode::BAD_REQUEST,
            "is not a deploy id",
        ),
        (
            "/api/v1/deploys/0",
            r#"{"outcome": "failed"}"#,
            StatusCode::BAD_REQUEST,
            "is not a deploy id",
        ),
    ] {
        let (s, b) = call(&app, patch(uri, body)).await;
        assert_eq!(s, status, "{uri} {body}: {b}");
        assert!(b.contains(want), "{uri} {body}: want {want:?} in {b}");
    }
    // Finishing before the start is refused.
    let d = record(&app, r#"{"service": "checkout", "version": "2.1"}"#).await;
    let (s, b) = call(
        &app,
        patch(
            &format!("/api/v1/deploys/{}", d["id"]),
            r#"{"outcome": "failed", "finishedAt": "60"}"#,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
}

#[tokio::test]
async fn a_deploy_of_an_undeclared_service_is_refused_naming_the_known_ones() {
    let (app, _) = setup("[]\n");
    let (s, b) = call(
        &app,
        post(
            "/api/v1/deploys",
            r#"{"service": "chekout", "version": "1"}"#,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert!(b.contains(r#"unknown service \"chekout\""#), "{b}");
    assert!(b.contains("(known: checkout)"), "{b}");
    assert!(b.contains("deploys.allow_unknown_services: true"), "{b}");
    let (_, b) = call(&app, get("/api/v1/deploys")).await;
    assert!(b.contains(r#""data":[]"#), "nothing stored: {b}");

    let clock = FakeClock::new(NOW);
    let st = state_with(store(), Default::default(), EngineOptions::default(), |w| {
        w.clock = Arc::new(clock.clone());
        w.deploy_admission.set(homeostat_app::DeployAdmission {
            allow_unknown_services: true,
            ..Default::default()
        });
    });
    let app = router(st);
    record(&app, r#"{"service": "anything", "version": "1"}"#).await;
}

#[tokio::test]
async fn a_rollback_deploy_marks_the_deploy_it_replaced() {
    let (app, clock) = setup("[]\n");
    let good = record(
        &app,
        r#"{"service": "checkout", "version": "1.0", "outcome": "succeeded"}"#,
    )
    .await;
    clock.advance(60_000);
    let staging = record(
        &app,
        r#"{"service": "checkout", "version": "2.0", "environment": "staging"}"#,
    )
    .await;
    clock.advance(60_000);
    let bad = record(&app, r#"{"service": "checkout", "version": "2.0"}"#).await;
    clock.advance(60_000);
    let rb = record(
        &app,
        r#"{"service": "checkout", "version": "1.0", "changeType": "rollback"}"#,
    )
    .await;
    assert_eq!(rb["rollsBack"], bad["id"], "{rb}");
    let (_, b) = call(&app, get("/api/v1/deploys?service=checkout")).await;
    let list: Value = serde_json::from_str(&b).unwrap();
    let outcome = |id: &Value| {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| &d["id"] == id)
            .map(|d| d["outcome"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(outcome(&bad["id"]), "rolled_back");
    assert_eq!(outcome(&good["id"]), "succeeded");
    assert_eq!(
        outcome(&staging["id"]),
        "in_progress",
        "another environment"
    );
    // Naming the replaced deploy explicitly works too; naming none is 404.
    let rb2 = record(
        &app,
        &format!(r#"{{"service": "checkout", "version": "1.9", "changeType": "rollback", "rollsBack": {}}}"#, staging["id"]),
    )
    .await;
    assert_eq!(rb2["rollsBack"], staging["id"]);
    let (s, b) = call(
        &app,
        post(
            "/api/v1/deploys",
            r#"{"service": "checkout", "version": "1", "rollsBack": 77}"#,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
}

#[tokio::test]
async fn chaos_proxies_lists_the_fault_proxy() {
    async fn proxies(st: homeostat_http::AppState) -> serde_json::Value {
        let req = Request::get("/api/v1/chaos/proxies")
            .body(Body::empty())
            .unwrap();
        let (code, body) = crate::call(&router(st), req).await;
        assert_eq!(code, StatusCode::OK);
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["data"].clone()
    }
    let store = Arc::new(homeostat_storage::MemStorage::default());
    let mut st = crate::state(
        store,
        homeostat_http::Limits::default(),
        EngineOptions::default(),
    );
    assert_eq!(
        proxies(st.clone()).await,
        serde_json::json!({"enabled": false, "proxies": []})
    );
    let fp = homeostat_faultproxy::FaultProxy::new();
    fp.create(homeostat_faultproxy::ProxySpec {
        name: "redis".into(),
        listen: "127.0.0.1:0".into(),
        upstream: "127.0.0.1:6379".into(),
        enabled: false,
    })
    .await
    .unwrap();
    st.fault_proxy = Some(fp);
    let v = proxies(st).await;
    assert_eq!(v["enabled"], true);
    assert_eq!(v["proxies"][0]["name"], "redis");
    assert_eq!(v["proxies"][0]["toxics"], serde_json::json!([]));
}
