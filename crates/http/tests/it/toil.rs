//! `/api/v1/toil` in-process: logging toil (and 400s naming the field),
//! listing logged and derived entries, and the report, where silences made
//! through the Alertmanager API show up as an automation candidate.

use homeostat_model::rfc3339::rfc3339;
use homeostat_model::{Clock, FakeClock};
use serde_json::{Value, json};

use super::alertmanager::{am_app, get, json_of, post};
use super::*;

/// With the built-in Alertmanager on a clock at now, so that silences are
/// current.
fn toil_app() -> axum::Router {
    am_app(&FakeClock::new(SystemClock.now_millis()))
}

#[tokio::test]
async fn toil_is_logged_listed_and_reported() {
    let app = toil_app();
    let (s, v) = json_of(
        &app,
        post(
            "/api/v1/toil",
            json!({"kind": "disk-cleanup", "service": "db", "minutes": 20, "note": "rotated logs", "by": "ana"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["kind"], "disk-cleanup");
    assert_eq!(v["data"]["source"], "manual");
    assert_eq!(v["data"]["by"], "ana");

    for (body, field) in [
        (
            json!({"kind": "Disk Cleanup", "minutes": 5, "by": "ana"}),
            "kind",
        ),
        (json!({"kind": "x", "minutes": -1, "by": "ana"}), "minutes"),
        (json!({"kind": "x", "minutes": 5}), "by"),
        (json!({"kind": "x", "by": "ana"}), "minutes"),
        (
            json!({"kind": "x", "minutes": 5, "by": "ana", "at": "soon"}),
            "at",
        ),
    ] {
        let (s, v) = json_of(&app, post("/api/v1/toil", body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert!(
            v["error"].as_str().unwrap_or("").contains(field),
            "{body}: {v}"
        );
    }

    let now = SystemClock.now_millis();
    for _ in 0..3 {
        let silence = json!({
            "matchers": [
                {"name": "alertname", "value": "DiskFull", "isRegex": false, "isEqual": true},
                {"name": "instance", "value": "db-3", "isRegex": false, "isEqual": true},
            ],
            "startsAt": rfc3339(now), "endsAt": rfc3339(now + 3_600_000),
            "createdBy": "bo", "comment": "cleaning up",
        });
        let (s, v) = json_of(&app, post("/api/v2/silences", silence)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    let (s, v) = json_of(&app, get("/api/v1/toil")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let kinds: Vec<_> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    let mut kinds = kinds;
    kinds.sort();
    assert_eq!(kinds, ["disk-cleanup", "silence", "silence", "silence"]);
    let (_, v) = json_of(&app, get("/api/v1/toil?service=db")).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let (s, v) = json_of(&app, get("/api/v1/toil?since=never")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    let (s, v) = json_of(&app, get("/api/v1/toil/report?weeks=2")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let d = &v["data"];
    assert_eq!(d["cap"], 0.5);
    assert_eq!(
        d["candidates"][0]["sentence"], "silenced DiskFull on db-3 3 times in 30 days",
        "{d}"
    );
    assert!(
        d["candidates"][0]["draftPolicy"]
            .as_str()
            .unwrap()
            .contains("dry_run: true")
    );
    // No team in the catalog: the work is unassigned, with no on-call time.
    assert_eq!(d["weeks"][1]["team"], "unassigned", "{d}");
    assert_eq!(d["weeks"][1]["share"], Value::Null);
    for bad in ["0", "53", "x"] {
        let (s, _) = json_of(&app, get(&format!("/api/v1/toil/report?weeks={bad}"))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "weeks={bad}");
    }
}
