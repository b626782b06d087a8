//! `/api/v1/remediation`: policies and runs as JSON, approvals answered
//! once (then 409), unknown runs 404, and a server without the service
//! answering with no policies and no runs.

use homeostat_app::{ApprovalRequest, EffectFuture, Live, RemediationEffects, RemediationService};
use homeostat_model::{Labels, SystemClock};
use homeostat_remediation::{Policy, RemediationSpec, RenderedAction, Run, validate};
use homeostat_state::IncidentId;

use super::*;

struct Fake;

impl RemediationEffects for Fake {
    fn act<'a>(&'a self, _p: &'a Policy, _a: &'a RenderedAction) -> EffectFuture<'a, String> {
        Box::pin(async { Ok("HTTP 200".to_string()) })
    }
    fn still_failing<'a>(&'a self, _p: &'a Policy, _r: &'a Run) -> EffectFuture<'a, bool> {
        Box::pin(async { Ok(true) })
    }
    fn known_targets<'a>(&'a self, _p: &'a Policy, _s: &'a str) -> EffectFuture<'a, Option<usize>> {
        Box::pin(async { Ok(None) })
    }
    fn page_oncall<'a>(
        &'a self,
        _i: Option<IncidentId>,
        _s: &'a str,
        _m: &'a str,
    ) -> EffectFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
    fn request_approval<'a>(&'a self, _r: &'a ApprovalRequest) -> EffectFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

fn post(uri: &str) -> Request<Body> {
    Request::post(uri).body(Body::empty()).unwrap()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn runs_are_listed_and_an_approval_is_answered_once() {
    let (mut st, persisted) = state_and_store(
        Arc::new(MemStorage::new()),
        Limits::default(),
        EngineOptions::default(),
        |_| {},
    );
    let spec: RemediationSpec = serde_json::from_value(serde_json::json!({
        "policies": [{
            "name": "drain",
            "trigger": {"alert": ["alertname=\"Down\""]},
            "target_labels": ["instance"],
            "actions": [{
                "name": "drain",
                "webhook": {"url": "https://orchestrator.example/drain/s3cret"},
                "needs_approval": true,
            }],
        }],
    }))
    .unwrap();
    let svc = Arc::new(RemediationService::new(
        Arc::new(Live::new(validate(&spec, &[]).unwrap())),
        persisted,
        None,
        Arc::new(Fake),
        Arc::new(SystemClock),
    ));
    let alert = Labels::from_pairs(&[("alertname", "Down"), ("instance", "a")]);
    let id = svc.on_alerts(&[alert], None).await.unwrap()[0].id.clone();
    st.remediation = Some(svc);
    let app = router(st);

    let (s, body) = call(&app, get("/api/v1/remediation/policies")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        body.contains(r#""to":"https://orchestrator.example""#),
        "{body}"
    );
    assert!(!body.contains("s3cret"), "{body}");

    let (s, body) = call(&app, get("/api/v1/remediation/runs?policy=drain")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(r#""state":"pending-approval""#), "{body}");

    let uri = format!("/api/v1/remediation/runs/{id}/approve");
    let (s, body) = call(&app, post(&uri)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(r#""state":"verifying""#), "{body}");
    let (s, body) = call(&app, post(&uri)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, _) = call(&app, post("/api/v1/remediation/runs/nope/reject")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_the_service_there_are_no_policies_and_no_runs() {
    let app = app(Arc::new(MemStorage::new()), Limits::default());
    let (s, body) = call(&app, get("/api/v1/remediation/policies")).await;
    assert_eq!(
        (s, body.contains(r#""policies":[]"#)),
        (StatusCode::OK, true),
        "{body}"
    );
    let (s, body) = call(&app, get("/api/v1/remediation/runs")).await;
    assert_eq!(
        (s, body.contains(r#""data":[]"#)),
        (StatusCode::OK, true),
        "{body}"
    );
    let (s, _) = call(&app, post("/api/v1/remediation/runs/x/approve")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
