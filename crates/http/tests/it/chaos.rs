//! `/api/v1/chaos/experiments`: 400s naming the path, 202 and the run,
//! `wait=true` with the journal, the bare journal, abort.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use homeostat_storage::MemStorage;
use serde_json::{Value, json};
use std::sync::Arc;

use crate::{app, call};

fn post(uri: &str, content_type: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn experiment() -> Value {
    json!({
        "title": "one is one",
        "steady-state-hypothesis": {"title": "one", "probes": [
            {"type": "probe", "name": "one", "tolerance": 1,
             "provider": {"type": "homeostat", "func": "promql", "arguments": {"query": "vector(1)"}}}
        ]},
        "method": [
            {"type": "probe", "name": "prometheus-shape",
             "provider": {"type": "python", "module": "chaosprometheus.probes", "func": "query",
                          "arguments": {"query": "vector(2)"}}}
        ],
        "extensions": [{"name": "homeostat", "service": "checkout"}]
    })
}

#[tokio::test]
async fn invalid_documents_are_400_naming_the_path() {
    let app = app(Arc::new(MemStorage::new()), Default::default());
    let uri = "/api/v1/chaos/experiments";
    let (s, body) = call(&app, post(uri, "application/json", "{nope".into())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("experiment: invalid JSON"), "{body}");

    let bad = json!({"title": "t", "method": [
        {"type": "action", "name": "a", "provider": {"type": "http", "url": "http://x"}},
        {"type": "action", "name": "b", "provider": {"type": "http"}}]});
    let (s, body) = call(&app, post(uri, "application/json", bad.to_string())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "method[1].provider.url: is required");

    let yaml = "title: t\nmethod:\n  - type: action\n    name: p\n    provider: {type: process, path: /bin/rm, arguments: [-rf, /]}\n";
    let (s, body) = call(&app, post(uri, "application/yaml", yaml.into())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("method[0].provider.path: /bin/rm is not in chaos.process_allowlist"),
        "{body}"
    );

    let (s, body) = call(
        &app,
        post(
            &format!("{uri}?wait=maybe"),
            "application/json",
            experiment().to_string(),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");

    let (s, _) = call(&app, get("/api/v1/chaos/experiments/exp-nope")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&app, get("/api/v1/chaos/experiments?limit=0")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn run_follow_and_read_the_journal() {
    let app = app(Arc::new(MemStorage::new()), Default::default());
    let uri = "/api/v1/chaos/experiments";
    // YAML the same as JSON: serde_norway reads JSON too.
    let (s, body) = call(
        &app,
        post(
            &format!("{uri}?wait=true"),
            "application/yaml",
            experiment().to_string(),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let journal: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(journal["status"], "completed", "{body}");
    assert_eq!(journal["deviated"], false);
    assert_eq!(journal["steady_states"]["before"]["steady_state_met"], true);
    assert_eq!(
        journal["steady_states"]["before"]["probes"][0]["output"],
        1.0
    );
    assert_eq!(journal["run"][0]["output"]["status"], "success");
    assert_eq!(
        journal["run"][0]["output"]["data"]["result"][0]["value"][1],
        "2"
    );
    let id = journal["homeostat"]["run_id"].as_str().unwrap().to_string();

    let (s, body) = call(
        &app,
        post(uri, "application/json", experiment().to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["status"], "running");
    let second = v["data"]["id"].as_str().unwrap().to_string();

    let (s, body) = call(&app, get(&format!("{uri}/{id}"))).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["service"], "checkout");
    assert_eq!(v["data"]["status"], "completed");
    assert_eq!(v["data"]["principal"], "anonymous");
    assert_eq!(v["data"]["journal"], journal);

    let (s, body) = call(&app, get(&format!("{uri}/{id}/journal"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), journal);

    let (s, body) = call(&app, get(&format!("{uri}?service=checkout"))).await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_str(&body).unwrap();
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&id.as_str()) && ids.contains(&second.as_str()),
        "{ids:?}"
    );
    assert!(
        v["data"][0].get("journal").is_none(),
        "listings leave the journal out"
    );

    // A finished run cannot be aborted.
    let (s, body) = call(
        &app,
        Request::post(format!("{uri}/{id}/abort"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
}
