//! The browser rules in-process: a JSON API takes JSON only, a foreign
//! `Host` is refused (DNS rebinding), a cross-origin state change is
//! refused (CSRF), and every answer carries the security headers.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use homeostat_http::{BrowserPolicy, CONTENT_SECURITY_POLICY, router};
use homeostat_storage::MemStorage;
use serde_json::Value;

use crate::{call, state};

const DECLARE: &str = r#"{"title": "checkout down", "severity": "sev2", "by": "alice"}"#;

fn app_with(policy: BrowserPolicy) -> axum::Router {
    let mut st = state(
        Arc::new(MemStorage::new()),
        Default::default(),
        Default::default(),
    );
    st.browser = Arc::new(policy);
    router(st)
}

fn app() -> axum::Router {
    app_with(BrowserPolicy::default())
}

/// A POST to `uri` with `body` and the given headers.
fn post(uri: &str, body: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut r = Request::post(uri);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(Body::from(body.to_string())).unwrap()
}

async fn incident_count(app: &axum::Router) -> usize {
    let (s, body) = call(
        app,
        Request::get("/api/v1/incidents?state=")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["data"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_json_api_refuses_other_media_types() {
    let app = app();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let headers: Vec<(&str, &str)> = ct.map(|c| ("content-type", c)).into_iter().collect();
        let (s, body) = call(&app, post("/api/v1/incidents", DECLARE, &headers)).await;
        assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}: {body}");
        assert!(body.contains("application/json"), "{body}");
    }
    assert_eq!(incident_count(&app).await, 0, "a refused request declared");
    // Alertmanager's API answers in its own envelope (a JSON string).
    let (s, body) = call(
        &app,
        post("/api/v2/alerts", "[]", &[("content-type", "text/plain")]),
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        body.starts_with('"') && body.contains("application/json"),
        "{body}"
    );
    // JSON with parameters, in any case, is JSON.
    let (s, body) = call(
        &app,
        post(
            "/api/v1/incidents",
            DECLARE,
            &[("content-type", "Application/JSON; charset=utf-8")],
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(incident_count(&app).await, 1);
}

#[tokio::test]
async fn prometheus_form_posts_and_bodiless_posts_pass() {
    let app = app();
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let (s, body) = call(&app, post("/api/v1/query", "query=1", &form)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = call(&app, post("/api/v1/labels", "match[]=up", &form)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // No body, no type needed (`/-/reload`, a link page's form post).
    let (s, _) = call(&app, post("/-/reload", "", &[])).await;
    assert_ne!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, _) = call(
        &app,
        post(
            "/api/v1/analysis/nope/terminate",
            "",
            &[("content-type", "application/x-www-form-urlencoded")],
        ),
    )
    .await;
    assert_ne!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn a_foreign_host_is_refused() {
    let app = app();
    let json = ("content-type", "application/json");
    let (s, body) = call(
        &app,
        post(
            "/api/v1/incidents",
            DECLARE,
            &[json, ("host", "rebind.attacker.example:9797")],
        ),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("web.allowed_hosts"), "{body}");
    assert!(body.contains("rebind.attacker.example"), "{body}");
    assert_eq!(incident_count(&app).await, 0);
    // Reads too: a rebinding page must not read the data either.
    let (s, _) = call(
        &app,
        Request::get("/api/v1/incidents")
            .header("host", "rebind.attacker.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for host in ["127.0.0.1:9797", "[::1]:9797", "localhost:9797", "10.0.0.7"] {
        let (s, body) = call(
            &app,
            Request::get("/-/healthy")
                .header("host", host)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{host}: {body}");
    }
    let named = app_with(BrowserPolicy::new(
        &["https://homeostat.example.com"],
        &["mon.internal".into()],
    ));
    for host in ["homeostat.example.com", "mon.internal:9797"] {
        let (s, _) = call(
            &named,
            Request::get("/-/healthy")
                .header("host", host)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{host}");
    }
}

#[tokio::test]
async fn a_cross_origin_state_change_is_refused() {
    let app = app();
    let host = ("host", "127.0.0.1:9797");
    let json = ("content-type", "application/json");
    for (what, extra) in [
        ("another site", ("origin", "https://evil.example")),
        ("another port", ("origin", "http://127.0.0.1:8080")),
        ("an opaque origin", ("origin", "null")),
        ("Sec-Fetch-Site", ("sec-fetch-site", "cross-site")),
    ] {
        let (s, body) = call(
            &app,
            post("/api/v1/incidents", DECLARE, &[host, json, extra]),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{what}: {body}");
        assert!(body.contains("cross-"), "{what}: {body}");
    }
    let (s, body) = call(
        &app,
        Request::delete("/api/v2/silence/x")
            .header("host", "127.0.0.1:9797")
            .header("origin", "https://evil.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(incident_count(&app).await, 0);
    // The console's own pages, and clients that send no Origin, pass.
    for headers in [
        vec![host, json, ("origin", "http://127.0.0.1:9797")],
        vec![host, json, ("sec-fetch-site", "same-origin")],
        vec![host, json],
    ] {
        let (s, body) = call(&app, post("/api/v1/incidents", DECLARE, &headers)).await;
        assert_eq!(s, StatusCode::CREATED, "{headers:?}: {body}");
    }
    // Behind a proxy that rewrites Host, external_url's origin is ours.
    let proxied = app_with(BrowserPolicy::new(&["https://homeostat.example.com"], &[]));
    let (s, body) = call(
        &proxied,
        post(
            "/api/v1/incidents",
            DECLARE,
            &[host, json, ("origin", "https://homeostat.example.com")],
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = app();
    for req in [
        Request::get("/").body(Body::empty()).unwrap(),
        Request::get("/api/v1/incidents")
            .body(Body::empty())
            .unwrap(),
        Request::get("/nope").body(Body::empty()).unwrap(),
        post("/api/v1/incidents", "x", &[("content-type", "text/plain")]),
    ] {
        let uri = req.uri().to_string();
        let resp = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
        let h = resp.headers();
        let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(
            get("content-security-policy"),
            CONTENT_SECURITY_POLICY,
            "{uri}"
        );
        assert_eq!(get("x-frame-options"), "DENY", "{uri}");
        assert_eq!(get("x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(get("referrer-policy"), "same-origin", "{uri}");
    }
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
    assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
}
