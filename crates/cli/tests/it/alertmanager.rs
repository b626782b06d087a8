//! The built-in Alertmanager without any config: `homeostat serve` runs
//! its default route, so the API v2 takes alerts (Prometheus, amtool) from
//! the first start, lists them, and a paging alert opens an incident.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{free_port, start};

fn get(base: &str, path: &str) -> Value {
    reqwest::blocking::get(format!("{base}{path}"))
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn without_config_the_alertmanager_api_takes_alerts_and_pages_open_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), free_port(), &[]);
    let base = &server.base;
    let posted = reqwest::blocking::Client::new()
        .post(format!("{base}/api/v2/alerts"))
        .json(&json!([
            {"labels": {"alertname": "DiskFull", "severity": "ticket"}},
            {"labels": {"alertname": "CheckoutDown", "severity": "page"},
             "annotations": {"summary": "checkout is down"}},
        ]))
        .send()
        .unwrap();
    assert_eq!(posted.status().as_u16(), 200);

    let alerts = get(base, "/api/v2/alerts");
    let mut names: Vec<&str> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["labels"]["alertname"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["CheckoutDown", "DiskFull"]);
    assert!(
        alerts
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["receivers"][0]["name"] == "default"),
        "{alerts}"
    );
    let status = get(base, "/api/v2/status");
    let original = status["config"]["original"].as_str().unwrap();
    assert!(original.contains("receiver: default"), "{original}");

    // The default route's group_wait is 5s; the paging group opens an
    // incident then, the ticket group none.
    let deadline = Instant::now() + Duration::from_secs(30);
    let incidents = loop {
        let list = get(base, "/api/v1/incidents");
        let text = list.to_string();
        if text.contains("CheckoutDown") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "no incident for the paging alert within 30 s: {text}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(incidents.contains("INC-1"), "{incidents}");
    assert!(!incidents.contains("DiskFull"), "{incidents}");
}
