//! The console: every page and asset served with its content type, every
//! page with the shared stylesheet and navigation; the catalog's JSON shape
//! and its 400s and 404s.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use homeostat_http::Limits;
use homeostat_storage::MemStorage;
use tower::ServiceExt;

use crate::{app, call};

async fn get_with_type(app: &axum::Router, uri: &str) -> (StatusCode, String, String) {
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, ct, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn every_page_is_served_with_the_layout() {
    let app = app(Arc::new(MemStorage::new()), Limits::default());
    let nav = [
        "/",
        "/console/slos",
        "/console/alerts",
        "/console/incidents",
        "/console/oncall",
        "/console/deploys",
        "/console/chaos",
        "/console/toil",
        "/console/query",
    ];
    for page in homeostat_ui::PAGES {
        // Odd query strings are the page script's business: the HTML is the same.
        for uri in [page.path.to_string(), format!("{}?id=%ZZ&name=", page.path)] {
            let (s, ct, body) = get_with_type(&app, &uri).await;
            assert_eq!(s, StatusCode::OK, "{uri}");
            assert!(ct.starts_with("text/html"), "{uri}: {ct}");
            assert!(
                body.contains(r#"<link rel="stylesheet" href="/console/style.css">"#),
                "{uri}"
            );
            assert!(!body.contains("<style"), "{uri} has a copied style block");
            for href in nav {
                assert!(
                    body.contains(&format!("<a href=\"{href}\"")),
                    "{uri} lacks {href}"
                );
            }
            assert!(body.contains(r#"<div id="error""#), "{uri}");
            if let Some(script) = page.script {
                assert!(body.contains(&format!("/console/{script}")), "{uri}");
            }
        }
    }
    // The old URLs still answer.
    for uri in [
        "/console/query",
        "/console/slos",
        "/console/services",
        "/console/alerts",
        "/console/incidents",
        "/console/incident?id=INC-1",
        "/console/oncall",
    ] {
        assert_eq!(
            call(&app, Request::get(uri).body(Body::empty()).unwrap())
                .await
                .0,
            StatusCode::OK,
            "{uri}"
        );
    }
    let (_, _, home) = get_with_type(&app, "/").await;
    assert!(home.contains(r#"<a href="/" class="current" aria-current="page">Services</a>"#));
}

#[tokio::test]
async fn every_asset_has_its_content_type() {
    let app = app(Arc::new(MemStorage::new()), Limits::default());
    for a in homeostat_ui::ASSETS {
        let (s, ct, body) = get_with_type(&app, &format!("/console/{}", a.name)).await;
        assert_eq!(s, StatusCode::OK, "{}", a.name);
        let want = if a.name.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(ct.starts_with(want), "{}: {ct}", a.name);
        assert!(!body.is_empty());
    }
    let (s, _, _) = get_with_type(&app, "/console/nope.js").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn catalog_shape_and_bad_params() {
    let app = app(Arc::new(MemStorage::new()), Limits::default());
    let (s, body) = call(
        &app,
        Request::get("/api/v1/catalog").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success");
    assert!(v["data"]["services"].as_array().unwrap().is_empty());
    assert!(v["data"]["generatedAt"].is_string());

    for (uri, status, needle) in [
        (
            "/api/v1/catalog?deploys=0",
            StatusCode::BAD_REQUEST,
            "deploys",
        ),
        (
            "/api/v1/catalog?deploys=abc",
            StatusCode::BAD_REQUEST,
            "deploys",
        ),
        (
            "/api/v1/catalog?service=",
            StatusCode::BAD_REQUEST,
            "service",
        ),
        ("/api/v1/catalog?bogus=1", StatusCode::BAD_REQUEST, "bogus"),
        (
            "/api/v1/catalog?service=%ZZ",
            StatusCode::NOT_FOUND,
            "unknown service",
        ),
        (
            "/api/v1/catalog?service=nope",
            StatusCode::NOT_FOUND,
            "unknown service",
        ),
    ] {
        let (s, body) = call(&app, Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(s, status, "{uri}: {body}");
        assert!(body.contains(needle), "{uri}: {body}");
        assert!(body.contains("\"error\""), "{uri}: {body}");
    }
}

#[tokio::test]
async fn catalog_lists_slo_services_with_budgets_and_tiers() {
    let app = homeostat_http::router(checkout_state());
    let (s, body) = call(
        &app,
        Request::get("/api/v1/catalog?service=checkout&deploys=2")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let svc = &v["data"]["services"][0];
    assert_eq!(svc["name"], "checkout");
    assert_eq!(svc["goldenSignals"], false);
    assert_eq!(svc["slos"][0]["id"], "checkout-availability");
    assert!(svc["slos"][0]["remaining"].as_f64().unwrap() < 1.0);
    assert_eq!(svc["signals"].as_array().unwrap().len(), 4);
    assert_eq!(
        svc["signals"][1]["query"],
        r#"service:request_errors:ratio_rate5m{service="checkout"}"#
    );
    assert!(svc["incidents"].as_array().unwrap().is_empty());
    assert!(svc["deploys"].as_array().unwrap().is_empty());
    // Not gated: no policy names it.
    assert_eq!(svc["gate"]["allow"], true);

    let (_, body) = call(
        &app,
        Request::get("/api/v1/slos/checkout-availability")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let tiers = v["data"]["alertTiers"].as_array().unwrap();
    assert_eq!(tiers[0]["severity"], "page");
    assert_eq!(tiers[0]["windows"][0]["long"], "1h");
    assert!((tiers[0]["windows"][0]["factor"].as_f64().unwrap() - 14.4).abs() < 0.01);
    assert!(v["data"]["burnRates"][0]["query"].is_string());
}

#[tokio::test]
async fn a_service_known_only_from_its_deploys_has_a_catalog_entry() {
    // Only when the config lets deploys of undeclared services in.
    let app = homeostat_http::router(crate::state_with(
        Arc::new(MemStorage::new()),
        Limits::default(),
        homeostat_promql::EngineOptions::default(),
        |w| {
            w.deploy_admission.set(homeostat_app::DeployAdmission {
                allow_unknown_services: true,
                ..Default::default()
            })
        },
    ));
    let (s, body) = call(
        &app,
        Request::post("/api/v1/deploys")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"service": "search", "version": "2.0"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = call(
        &app,
        Request::get("/api/v1/catalog?service=search")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let svc = &v["data"]["services"][0];
    assert_eq!(svc["name"], "search");
    assert_eq!(svc["deploys"][0]["version"], "2.0", "{body}");
    assert!(svc["slos"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn alert_tiers_show_the_configured_slo_windows() {
    let windows = homeostat_slo::AlertWindows::from_yaml(
        "apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\nspec:\n  sloPeriod: 30d\n  page:\n    quick: {errorBudgetPercent: 0.4, shortWindow: 1m, longWindow: 12m}\n    slow: {errorBudgetPercent: 5, shortWindow: 30m, longWindow: 6h}\n  ticket:\n    quick: {errorBudgetPercent: 10, shortWindow: 2h, longWindow: 1d}\n    slow: {errorBudgetPercent: 10, shortWindow: 6h, longWindow: 3d}\n",
        "windows.yaml",
    )
    .unwrap();
    let st = checkout_state_with(|w| w.slo_windows.set(vec![windows]));
    let app = homeostat_http::router(st);
    let (_, body) = call(
        &app,
        Request::get("/api/v1/slos/checkout-availability")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let page = &v["data"]["alertTiers"][0]["windows"][0];
    assert_eq!(
        (page["short"].as_str(), page["long"].as_str()),
        (Some("1m"), Some("12m")),
        "{body}"
    );
}

/// The checkout SLO of `slos.rs` over its store, two hours in.
fn checkout_state() -> homeostat_http::AppState {
    checkout_state_with(|_| {})
}

fn checkout_state_with(wire: impl FnOnce(&mut homeostat_app::Wiring)) -> homeostat_http::AppState {
    crate::state_with(
        crate::slos::store(),
        Default::default(),
        homeostat_promql::EngineOptions::default(),
        |w| {
            w.clock = Arc::new(homeostat_model::FakeClock::new(120 * 60_000));
            w.slos
                .set(homeostat_slo::load_specs(crate::slos::SPEC, "checkout.yaml").unwrap());
            wire(w);
        },
    )
}
