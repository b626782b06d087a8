//! Alertmanager API v2: shapes, filters, silences, bad input.

use std::time::Duration;

use homeostat_alerting::{Alertmanager, Config, Running};
use homeostat_model::FakeClock;
use serde_json::{Value, json};

use super::*;

const CONFIG: &str = "route:\n  receiver: team\n  group_by: [alertname]\n  routes:\n    - matchers: [severity=\"page\"]\n      receiver: pager\nreceivers: [{name: team}, {name: pager}]\n";

pub(super) fn am_app(clock: &FakeClock) -> axum::Router {
    let (mut st, store) = state_and_store(
        Arc::new(MemStorage::new()),
        Limits::default(),
        EngineOptions::default(),
        |_| {},
    );
    let am = Alertmanager::new(
        Running {
            config: Arc::new(Config::parse(CONFIG).unwrap()),
            original: CONFIG.into(),
            resolve_timeout: Duration::from_secs(300),
        },
        store.silences.clone(),
        Arc::new(clock.clone()),
    )
    .unwrap();
    st.alertmanager = Some(Arc::new(am));
    router(st)
}

pub(super) fn post(uri: &str, body: Value) -> Request<Body> {
    Request::post(uri)
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

pub(super) fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

pub(super) async fn json_of(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let (s, body) = call(app, req).await;
    (
        s,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

const T0: i64 = 1_700_000_000_000;

#[tokio::test]
async fn alerts_in_and_out() {
    let clock = FakeClock::new(T0);
    let app = am_app(&clock);
    let (s, _) = json_of(
        &app,
        post(
            "/api/v2/alerts",
            json!([
                {"labels": {"alertname": "Down", "job": "api"}, "annotations": {"summary": "s"},
                 "startsAt": "2023-11-14T22:00:00Z", "generatorURL": "http://p/graph"},
                {"labels": {"alertname": "Down", "job": "db", "severity": "page"}},
            ]),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = json_of(&app, get("/api/v2/alerts")).await;
    assert_eq!(s, StatusCode::OK);
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let api = list.iter().find(|a| a["labels"]["job"] == "api").unwrap();
    assert_eq!(api["startsAt"], "2023-11-14T22:00:00.000Z");
    assert_eq!(
        api["endsAt"], "2023-11-14T22:18:20.000Z",
        "now + resolve_timeout"
    );
    assert_eq!(api["updatedAt"], "2023-11-14T22:13:20.000Z");
    assert_eq!(api["receivers"], json!([{"name": "team"}]));
    assert_eq!(
        api["status"],
        json!({"inhibitedBy": [], "silencedBy": [], "state": "active"})
    );
    assert_eq!(api["generatorURL"], "http://p/graph");
    assert_eq!(api["annotations"]["summary"], "s");
    assert_eq!(api["fingerprint"].as_str().unwrap().len(), 16);

    let (_, v) = json_of(&app, get("/api/v2/alerts?filter=job%3D%22db%22")).await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (_, v) = json_of(&app, get("/api/v2/alerts?receiver=pag.*")).await;
    assert_eq!(v[0]["labels"]["job"], "db");
    let (_, v) = json_of(&app, get("/api/v2/alerts?active=false")).await;
    assert_eq!(v, json!([]));
    let (_, v) = json_of(&app, get("/api/v2/alerts/groups")).await;
    let groups = v.as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["labels"], json!({"alertname": "Down"}));
    assert_eq!(groups[0]["receiver"], json!({"name": "pager"}));
    assert_eq!(groups[0]["alerts"].as_array().unwrap().len(), 1);

    // Resolution by endsAt in the past.
    let (s, _) = json_of(
        &app,
        post(
            "/api/v2/alerts",
            json!([{"labels": {"alertname": "Down", "job": "api"}, "endsAt": "2023-11-14T22:10:00Z"}]),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = json_of(&app, get("/api/v2/alerts")).await;
    assert_eq!(v.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_alerts_are_named() {
    let clock = FakeClock::new(T0);
    let app = am_app(&clock);
    for (body, want) in [
        (
            json!([{"labels": {"a": "b"}}, {"labels": {}}]),
            "alerts[1]: at least one label",
        ),
        (
            json!([{"labels": {"0a": "b"}}]),
            "alerts[0]: invalid label name",
        ),
        (
            json!([{"labels": {"a": "b"}, "startsAt": "2023-11-14T22:00:00Z", "endsAt": "2023-11-14T21:00:00Z"}]),
            "endsAt is before startsAt",
        ),
        (
            json!([{"labels": {"a": "b"}, "startsAt": "soon"}]),
            "alerts[0].startsAt",
        ),
        (json!({"labels": {"a": "b"}}), "JSON array"),
        (json!([{"labels": {"a": "b"}}]), ""),
    ] {
        let (s, v) = json_of(&app, post("/api/v2/alerts", body)).await;
        if want.is_empty() {
            assert_eq!(s, StatusCode::OK);
            continue;
        }
        assert_eq!(s, StatusCode::BAD_REQUEST, "{want}");
        assert!(v.as_str().unwrap().contains(want), "{v} lacks {want}");
    }
    let (s, v) = json_of(&app, get("/api/v2/alerts?filter=job%3D~%22(%22")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _) = json_of(&app, get("/api/v2/alerts?active=maybe")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn silences_round_trip() {
    let clock = FakeClock::new(T0);
    let app = am_app(&clock);
    let silence = json!({
        "matchers": [{"name": "job", "value": "api", "isRegex": false, "isEqual": true}],
        "startsAt": "2023-11-14T22:13:20Z", "endsAt": "2023-11-14T23:13:20Z",
        "createdBy": "ana", "comment": "maintenance",
    });
    let (s, v) = json_of(&app, post("/api/v2/silences", silence.clone())).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let id = v["silenceID"].as_str().unwrap().to_string();
    json_of(
        &app,
        post(
            "/api/v2/alerts",
            json!([{"labels": {"alertname": "X", "job": "api"}}]),
        ),
    )
    .await;
    let (_, v) = json_of(&app, get("/api/v2/alerts")).await;
    assert_eq!(v[0]["status"]["state"], "suppressed");
    assert_eq!(v[0]["status"]["silencedBy"], json!([id]));
    let (_, v) = json_of(&app, get("/api/v2/alerts?silenced=false")).await;
    assert_eq!(v, json!([]));

    let (s, v) = json_of(&app, get(&format!("/api/v2/silence/{id}"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"]["state"], "active");
    assert_eq!(v["createdBy"], "ana");
    assert_eq!(v["matchers"][0]["isEqual"], true);
    let (_, v) = json_of(&app, get("/api/v2/silences?filter=job%3D%22api%22")).await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (_, v) = json_of(&app, get("/api/v2/silences?filter=job%3D%22db%22")).await;
    assert_eq!(v, json!([]));

    clock.advance(1_000);
    let del = Request::delete(format!("/api/v2/silence/{id}"))
        .body(Body::empty())
        .unwrap();
    let (s, _) = json_of(&app, del).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = json_of(&app, get(&format!("/api/v2/silence/{id}"))).await;
    assert_eq!(v["status"]["state"], "expired");
    let (_, v) = json_of(&app, get("/api/v2/alerts")).await;
    assert_eq!(v[0]["status"]["state"], "active");

    let (s, _) = json_of(
        &app,
        get("/api/v2/silence/6c9f5d0e-3f0e-4a55-9d59-000000000000"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for (bad, want) in [
        (
            json!([{"name": "job", "value": "(", "isRegex": true, "isEqual": true}]),
            "invalid regex",
        ),
        (
            json!([{"name": "0job", "value": "a", "isRegex": false, "isEqual": true}]),
            "matchers[0].name",
        ),
        (json!([]), "at least one matcher"),
    ] {
        let mut s = silence.clone();
        s["matchers"] = bad;
        let (status, v) = json_of(&app, post("/api/v2/silences", s)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{want}");
        assert!(v.as_str().unwrap().contains(want), "{v}");
    }
    let mut backwards = silence.clone();
    backwards["endsAt"] = json!("2023-11-14T20:00:00Z");
    let (status, v) = json_of(&app, post("/api/v2/silences", backwards)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v.as_str().unwrap().contains("endsAt"), "{v}");
}

#[tokio::test]
async fn status_and_receivers_and_unconfigured() {
    let clock = FakeClock::new(T0);
    let app = am_app(&clock);
    let (_, v) = json_of(&app, get("/api/v2/status")).await;
    assert_eq!(
        v["cluster"],
        json!({"name": "test", "status": "disabled", "peers": []})
    );
    assert_eq!(v["config"]["original"], CONFIG);
    assert_eq!(v["uptime"], "2023-11-14T22:13:20.000Z");
    // amtool warns unless this is its own version: the Alertmanager
    // release homeostat implements, with homeostat's version beside it.
    assert_eq!(v["versionInfo"]["version"], "0.25.0");
    assert!(
        v["versionInfo"]["revision"]
            .as_str()
            .is_some_and(|r| r.starts_with(concat!("homeostat ", env!("CARGO_PKG_VERSION")))),
        "{v}"
    );
    let (_, v) = json_of(&app, get("/api/v2/receivers")).await;
    assert_eq!(v, json!([{"name": "team"}, {"name": "pager"}]));

    let plain = app_without_am();
    let (s, v) = json_of(&plain, get("/api/v2/alerts")).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(v.as_str().unwrap().contains("not configured"));
}

fn app_without_am() -> axum::Router {
    app(Arc::new(MemStorage::new()), Limits::default())
}

#[tokio::test]
async fn a_silence_records_the_principal_and_created_by_only_adds_on_behalf_of() {
    let clock = FakeClock::new(T0);
    let app = am_app(&clock);
    let mut req = post(
        "/api/v2/silences",
        json!({
            "matchers": [{"name": "alertname", "value": "X", "isRegex": false}],
            "startsAt": "2023-11-14T22:13:20Z", "endsAt": "2023-11-14T23:13:20Z",
            "createdBy": "ana", "comment": "maintenance",
        }),
    );
    // What the authentication middleware puts in for a token named ci.
    req.extensions_mut().insert(homeostat_model::Principal {
        name: "ci".into(),
        method: homeostat_model::AuthMethod::Token,
        scopes: homeostat_model::Scopes::all(),
    });
    let (s, v) = json_of(&app, req).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let id = v["silenceID"].as_str().unwrap().to_string();
    let (_, v) = json_of(&app, get(&format!("/api/v2/silence/{id}"))).await;
    assert_eq!(v["createdBy"], "ci (on behalf of ana)", "{v}");
}
