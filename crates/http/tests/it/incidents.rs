//! `/api/v1/incidents` and `/api/v1/oncall` in-process: every endpoint,
//! good and bad input.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use homeostat_app::{BasicIncidents, IncidentDesk};
use homeostat_http::router;
use homeostat_incident::{IncidentService, LinkAction};
use homeostat_oncall::Oncall;
use homeostat_state::IncidentId;
use homeostat_storage::MemStorage;
use serde_json::Value;

use crate::{call, state_and_store};

const ONCALL: &str = r#"
users: [{id: alice}, {id: bob}]
schedules:
  - id: primary
    layers:
      - {name: daily, rotation_start: 2026-01-01T09:00:00Z, turn_length: 1d, members: [alice, bob]}
escalation_policies:
  - {id: ops, levels: [{delay: 5m, targets: [{schedule: primary}]}]}
  - id: payments
    repeat: 1
    levels:
      - {delay: 5m, targets: [{schedule: primary}]}
      - {delay: 10m, targets: [{user: bob}, {schedule: primary}]}
"#;

fn app() -> (axum::Router, Arc<BasicIncidents>) {
    let (mut st, store) = state_and_store(
        Arc::new(MemStorage::new()),
        Default::default(),
        Default::default(),
        |_| {},
    );
    let basic = Arc::new(BasicIncidents::new(
        IncidentService::new(store.incidents.clone()),
        Oncall::from_yaml_str(ONCALL).unwrap(),
        b"k",
    ));
    st.incidents = IncidentDesk::new(basic.clone(), store.audit.clone());
    (router(st), basic)
}

fn post(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn lifecycle_roles_updates_items_and_postmortem() {
    let (app, _) = app();
    let (s, body) = call(
        &app,
        post(
            "/api/v1/incidents",
            r#"{"title":"checkout down","severity":"sev1","service":"checkout","commander":"ana","by":"ana"}"#,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let v = json(&body);
    assert_eq!(v["data"]["id"], "INC-1");
    assert_eq!(v["data"]["state"], "triggered");
    assert_eq!(v["data"]["roles"]["incident_commander"], "ana");

    let (s, body) = call(&app, post("/api/v1/incidents/INC-1/ack", r#"{"by":"bo"}"#)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["data"]["state"], "acknowledged");
    // The actor may come from a header instead.
    let req = Request::post("/api/v1/incidents/1/mitigate")
        .header("x-homeostat-user", "bo")
        .body(Body::empty())
        .unwrap();
    let (s, body) = call(&app, req).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["data"]["state"], "mitigated");

    for (uri, body, want) in [
        (
            "/api/v1/incidents/INC-1/roles",
            r#"{"role":"scribe","user":"cy","by":"ana"}"#,
            StatusCode::OK,
        ),
        (
            "/api/v1/incidents/INC-1/updates",
            r#"{"message":"rolling back","by":"ana"}"#,
            StatusCode::CREATED,
        ),
        (
            "/api/v1/incidents/INC-1/notes",
            r#"{"text":"db pool exhausted","by":"cy"}"#,
            StatusCode::CREATED,
        ),
        (
            "/api/v1/incidents/INC-1/action_items",
            r#"{"title":"alert on pool","owner":"cy","due":"2026-12-31"}"#,
            StatusCode::CREATED,
        ),
    ] {
        let (s, b) = call(&app, post(uri, body)).await;
        assert_eq!(s, want, "{uri}: {b}");
    }
    let req = Request::patch("/api/v1/incidents/INC-1/action_items/1")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"state":"done"}"#))
        .unwrap();
    let (s, body) = call(&app, req).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["data"]["state"], "done");

    let (s, body) = call(
        &app,
        post("/api/v1/incidents/INC-1/resolve", r#"{"by":"ana"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let (s, body) = call(&app, get("/api/v1/incidents/INC-1")).await;
    assert_eq!(s, StatusCode::OK);
    let v = json(&body);
    let kinds: Vec<&str> = v["data"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "declared",
            "role_assigned",
            "acknowledged",
            "state_changed",
            "role_assigned",
            "status_update",
            "note",
            "state_changed"
        ]
    );
    assert_eq!(v["data"]["actionItems"][0]["due"], "2026-12-31");
    assert_eq!(v["data"]["escalation"], Value::Null);

    let (s, body) = call(
        &app,
        get("/api/v1/incidents?state=resolved&service=checkout"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json(&body)["data"].as_array().unwrap().len(), 1);
    let (_, body) = call(&app, get("/api/v1/incidents?state=open")).await;
    assert_eq!(json(&body)["data"].as_array().unwrap().len(), 0);

    let resp = tower::ServiceExt::oneshot(app.clone(), get("/api/v1/incidents/INC-1/postmortem"))
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["content-type"],
        "text/markdown; charset=utf-8"
    );
    let (s, md) = call(&app, get("/api/v1/incidents/INC-1/postmortem")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(md.starts_with("# Postmortem: INC-1"), "{md}");
    assert!(
        md.contains("bo acknowledged") && md.contains("alert on pool"),
        "{md}"
    );

    // Backwards is a conflict with the reason.
    let (s, body) = call(&app, post("/api/v1/incidents/INC-1/ack", r#"{"by":"bo"}"#)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("only moves forward"), "{body}");
}

#[tokio::test]
async fn errors() {
    let (app, _) = app();
    call(&app, post("/api/v1/incidents", r#"{"title":"x","by":"a"}"#)).await;
    for (req, want, text) in [
        (
            get("/api/v1/incidents/INC-99"),
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            get("/api/v1/incidents/bogus"),
            StatusCode::BAD_REQUEST,
            "INC-42",
        ),
        (
            get("/api/v1/incidents?state=sleeping"),
            StatusCode::BAD_REQUEST,
            "state",
        ),
        (
            get("/api/v1/incidents?limit=0"),
            StatusCode::BAD_REQUEST,
            "limit",
        ),
        (
            post("/api/v1/incidents/INC-99/ack", r#"{"by":"a"}"#),
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            get("/api/v1/incidents/INC-99/postmortem"),
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            post("/api/v1/incidents", r#"{"title":"x"}"#),
            StatusCode::BAD_REQUEST,
            "X-Homeostat-User",
        ),
        (
            post("/api/v1/incidents", r#"{"title":"","by":"a"}"#),
            StatusCode::BAD_REQUEST,
            "title",
        ),
        (
            post(
                "/api/v1/incidents",
                r#"{"title":"x","by":"a","severity":"huge"}"#,
            ),
            StatusCode::BAD_REQUEST,
            "severity",
        ),
        (
            post(
                "/api/v1/incidents",
                r#"{"title":"x","by":"a","colour":"red"}"#,
            ),
            StatusCode::BAD_REQUEST,
            "colour",
        ),
        (
            post("/api/v1/incidents", "{not json"),
            StatusCode::BAD_REQUEST,
            "request body",
        ),
        (
            post(
                "/api/v1/incidents",
                r#"{"title":"x","by":"a","escalation_policy":"nope"}"#,
            ),
            StatusCode::BAD_REQUEST,
            "unknown escalation policy",
        ),
        (
            post(
                "/api/v1/incidents/INC-1/roles",
                r#"{"role":"captain","user":"a","by":"a"}"#,
            ),
            StatusCode::BAD_REQUEST,
            "role",
        ),
        (
            post("/api/v1/incidents/INC-1/notes", r#"{"text":" ","by":"a"}"#),
            StatusCode::BAD_REQUEST,
            "text",
        ),
        (
            post(
                "/api/v1/incidents/INC-1/action_items",
                r#"{"title":"t","due":"tomorrow"}"#,
            ),
            StatusCode::BAD_REQUEST,
            "due",
        ),
        (
            post("/api/v1/incidents/INC-1/action_items", r#"{"title":"t"}"#),
            StatusCode::CREATED,
            "open",
        ),
        (
            post("/api/v1/incidents/INC-9/action_items", r#"{"title":"t"}"#),
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            Request::patch("/api/v1/incidents/INC-1/action_items/1")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"state":"later"}"#))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "state",
        ),
        (
            Request::patch("/api/v1/incidents/INC-1/action_items/77")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"state":"done"}"#))
                .unwrap(),
            StatusCode::NOT_FOUND,
            "not found",
        ),
        // Postmortem only after resolve.
        (
            post("/api/v1/incidents/INC-1/resolve", r#"{"by":"a"}"#),
            StatusCode::OK,
            "resolved",
        ),
        (
            post("/api/v1/incidents/INC-1/mitigate", r#"{"by":"a"}"#),
            StatusCode::CONFLICT,
            "cannot go from resolved to mitigated",
        ),
    ] {
        let uri = req.uri().to_string();
        let (s, body) = call(&app, req).await;
        assert_eq!(s, want, "{uri}: {body}");
        assert!(body.contains(text), "{uri}: {text:?} not in {body}");
    }
}

#[tokio::test]
async fn signed_links_confirm_on_get_and_act_on_post() {
    let (app, basic) = app();
    call(&app, post("/api/v1/incidents", r#"{"title":"x","by":"a"}"#)).await;
    // The test router runs on the system clock: a link good for a day.
    let day_from_now = homeostat_model::Clock::now_millis(&homeostat_model::SystemClock)
        + homeostat_incident::DEFAULT_LINK_TTL_MS;
    let token = basic.link_token(
        IncidentId(1),
        LinkAction::Acknowledge,
        "alice",
        day_from_now,
    );
    let link = format!("/api/v1/incidents/INC-1/ack?token={token}&user=alice");
    // GET shows a confirmation and changes nothing.
    let (s, page) = call(&app, get(&link)).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("<form method=\"post\"") && page.contains(&token),
        "{page}"
    );
    let (_, body) = call(&app, get("/api/v1/incidents/INC-1")).await;
    assert_eq!(json(&body)["data"]["state"], "triggered");
    // Wrong token, wrong user, wrong action: 403.
    for bad in [
        "/api/v1/incidents/INC-1/ack?token=00&user=alice".to_string(),
        format!("/api/v1/incidents/INC-1/ack?token={token}&user=bob"),
        format!("/api/v1/incidents/INC-1/resolve?token={token}&user=alice"),
    ] {
        let (s, _) = call(&app, get(&bad)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{bad}");
        let (s, _) = call(&app, Request::post(&bad).body(Body::empty()).unwrap()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{bad}");
    }
    // The form's POST acknowledges, as the paged user.
    let req = Request::post(&link)
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::empty())
        .unwrap();
    let (s, page) = call(&app, req).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("INC-1 is acknowledged"), "{page}");
    let (_, body) = call(&app, get("/api/v1/incidents/INC-1")).await;
    let v = json(&body);
    assert_eq!(v["data"]["timeline"][1]["actor"], "alice");
    // A link works once: the same link again (GET or POST) is refused.
    let (s, body) = call(&app, get(&link)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("already used"), "{body}");
    let (s, body) = call(&app, Request::post(&link).body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    // An expired link is refused, saying so.
    let old = basic.link_token(IncidentId(1), LinkAction::Resolve, "alice", 1_000);
    let expired = format!("/api/v1/incidents/INC-1/resolve?token={old}&user=alice");
    let (s, body) = call(&app, Request::post(&expired).body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("expired"), "{body}");
}

#[tokio::test]
async fn oncall_now_at_and_shifts() {
    let (app, _) = app();
    let (s, body) = call(&app, get("/api/v1/oncall/primary?at=2026-01-02T10:00:00Z")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v = json(&body);
    assert_eq!(v["data"]["onCall"]["user"], "bob");
    assert_eq!(v["data"]["nextHandoff"], "2026-01-03T09:00:00.000Z");
    let (s, body) = call(&app, get("/api/v1/oncall")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json(&body)["data"][0]["schedule"], "primary");
    let (s, body) = call(
        &app,
        get("/api/v1/oncall/primary/shifts?from=2026-01-01T09:00:00Z&to=2026-01-03T09:00:00Z"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let shifts = json(&body)["data"]["shifts"].clone();
    assert_eq!(shifts.as_array().unwrap().len(), 2);
    assert_eq!(shifts[0]["user"], "alice");
    for (uri, want, text) in [
        (
            "/api/v1/oncall/nope",
            StatusCode::NOT_FOUND,
            "known: primary",
        ),
        (
            "/api/v1/oncall/primary?at=noon",
            StatusCode::BAD_REQUEST,
            "at:",
        ),
        (
            "/api/v1/oncall/primary/shifts?from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z",
            StatusCode::BAD_REQUEST,
            "90 days",
        ),
        (
            "/api/v1/oncall/primary/shifts?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            StatusCode::BAD_REQUEST,
            "after",
        ),
    ] {
        let (s, body) = call(&app, get(uri)).await;
        assert_eq!(s, want, "{uri}: {body}");
        assert!(body.contains(text), "{uri}: {body}");
    }
}

#[tokio::test]
async fn escalation_policies_name_levels_delays_and_whom_they_page() {
    let (app, _) = app();
    let (s, body) = call(
        &app,
        get("/api/v1/escalation_policies?at=2026-01-02T10:00:00Z"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v = json(&body)["data"].clone();
    assert_eq!(v["at"], "2026-01-02T10:00:00.000Z");
    let p = &v["policies"][1];
    assert_eq!(p["id"], "payments");
    assert_eq!(p["repeat"], 1);
    // Two passes of 5m + 10m.
    assert_eq!(p["exhaustedAfterSeconds"], 1800);
    let l2 = &p["levels"][1];
    assert_eq!(l2["level"], 2);
    assert_eq!(l2["delay"], "10m");
    assert_eq!(l2["pagedAfterSeconds"], 300);
    assert_eq!(
        l2["targets"][0],
        serde_json::json!({"kind": "user", "id": "bob", "pages": ["bob"]})
    );
    // bob has the primary schedule on 2 January.
    assert_eq!(
        l2["targets"][1],
        serde_json::json!({"kind": "schedule", "id": "primary", "pages": ["bob"]})
    );
    let (s, body) = call(&app, get("/api/v1/escalation_policies?at=noon")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("at:"), "{body}");
}

#[tokio::test]
async fn console_pages_are_served() {
    let (app, _) = app();
    for (uri, text) in [
        ("/console/incidents", "data-page=\"incidents\""),
        ("/console/incident?id=INC-1", "data-page=\"incident\""),
        ("/console/oncall", "data-page=\"oncall\""),
        ("/console/incidents.js", "detailPage"),
        ("/console/slos", "/console/incidents"),
        ("/console/alerts", "/console/alerts.js"),
        ("/console/alerts.js", "silence group"),
        ("/console/incidents", "/console/alerts"),
    ] {
        let (s, body) = call(&app, get(uri)).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        assert!(body.contains(text), "{uri}");
    }
}
