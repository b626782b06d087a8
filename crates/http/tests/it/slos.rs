//! `/api/v1/slos`: a service burning 1% errors against a 99.9% objective.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use homeostat_http::router;
use homeostat_model::{FakeClock, Labels, Sample, TimeSeries};
use homeostat_promql::EngineOptions;
use homeostat_storage::{Appender, MemStorage};

use crate::{call, state_with};

pub(crate) const SPEC: &str = r#"
version: prometheus/v1
service: checkout
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code="500"}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: CheckoutAvailability
"#;

/// Two hours at 1000 requests a minute: healthy, then 1% errors for the last hour.
pub(crate) fn store() -> Arc<MemStorage> {
    let s = MemStorage::new();
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    let (mut okv, mut badv) = (0.0, 0.0);
    for m in 0..=120i64 {
        if m > 60 {
            okv += 990.0;
            badv += 10.0;
        } else if m > 0 {
            okv += 1000.0;
        }
        ok.push(Sample::new(m * 60_000, okv));
        bad.push(Sample::new(m * 60_000, badv));
    }
    s.append(&[
        TimeSeries {
            labels: Labels::from_pairs(&[("__name__", "http_requests_total"), ("code", "200")]),
            samples: ok,
        },
        TimeSeries {
            labels: Labels::from_pairs(&[("__name__", "http_requests_total"), ("code", "500")]),
            samples: bad,
        },
    ])
    .unwrap();
    Arc::new(s)
}

fn app() -> axum::Router {
    let st = state_with(store(), Default::default(), EngineOptions::default(), |w| {
        w.clock = Arc::new(FakeClock::new(120 * 60_000));
        w.slos
            .set(homeostat_slo::load_specs(SPEC, "checkout.yaml").unwrap());
    });
    router(st)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn budget_falls_and_exhaustion_is_projected() {
    let app = app();
    let (s, body) = call(&app, get("/api/v1/slos/checkout-availability")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let d = &v["data"];
    assert_eq!(d["objective"], 0.999);
    // Over the two hours, half were at 1% errors: about 0.5% of events failed,
    // five times the 0.1% budget.
    let consumed = d["budget"]["consumed"].as_f64().unwrap();
    assert!((4.0..6.0).contains(&consumed), "{consumed}");
    assert!(d["budget"]["remaining"].as_f64().unwrap() < 0.0);
    // Already overspent: said so, by how much, and no past "runs out" time.
    assert_eq!(d["budget"]["exhausted"], true, "{body}");
    let overspend = d["budget"]["overspend"].as_f64().unwrap();
    assert!((4.0..6.0).contains(&overspend), "{overspend}");
    assert!(d["budget"]["exhaustedAt"].is_null(), "{body}");
    let one_hour = d["burnRates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["window"] == "1h")
        .unwrap();
    let burn = one_hour["burnRate"].as_f64().unwrap();
    assert!((9.0..11.0).contains(&burn), "1h burn rate {burn}");
}

#[tokio::test]
async fn list_burndown_and_unknown_ids() {
    let app = app();
    let (s, body) = call(&app, get("/api/v1/slos")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("\"id\":\"checkout-availability\""), "{body}");
    let (s, body) = call(&app, get("/api/v1/slos/checkout-availability/burndown")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let pts = v["data"]["remaining"].as_array().unwrap();
    assert_eq!(pts.len(), 120);
    // Starts at 100% (no data yet that far back) and falls below zero.
    assert_eq!(pts[0][1].as_f64(), Some(1.0));
    assert!(pts[119][1].as_f64().unwrap() < 0.0, "{:?}", pts[119]);
    let (s, body) = call(&app, get("/api/v1/slos/nope")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("no SLO with id"), "{body}");
}
