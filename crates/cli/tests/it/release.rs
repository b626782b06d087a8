//! Release guardrails across a restart and a reload: analysis runs are in
//! the state database (a finished one reads the same, a running one
//! resumes), and declared dependencies change the suspects at a reload.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{free_port, start};

fn get(base: &str, path: &str) -> Value {
    reqwest::blocking::get(format!("{base}{path}"))
        .unwrap()
        .json()
        .unwrap()
}

fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run_body(interval: &str, count: u32, inconclusive_limit: u32) -> Value {
    json!({
        "service": "checkout",
        "interval": interval,
        "count": count,
        "inconclusive_limit": inconclusive_limit,
        "judge": {"metrics": [{"name": "errors", "query": "errors_total{track=\"{{.group}}\"}"}]},
    })
}

#[test]
fn analysis_runs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("homeostat.yaml");
    std::fs::write(&cfg, "self_scrape: false\n").unwrap();
    let data = dir.path().join("data");
    let args = ["--config", cfg.to_str().unwrap()];
    let s = start(&data, free_port(), &args);

    // run-1 ends at its only judgment (no data: inconclusive, never a
    // pass); run-2 is still running when the server dies.
    let (code, r1) = post(&s.base, "/api/v1/analysis", run_body("1s", 1, 0));
    assert_eq!(code, 201, "{r1}");
    let (code, r2) = post(&s.base, "/api/v1/analysis", run_body("2s", 4, 4));
    assert_eq!(code, 201, "{r2}");
    assert_eq!(
        (r1["data"]["id"].as_str(), r2["data"]["id"].as_str()),
        (Some("run-1"), Some("run-2"))
    );
    wait_for("run-1 to end and run-2 to judge once", 90, || {
        get(&s.base, "/api/v1/analysis/run-1")["data"]["phase"] != "Running"
            && !get(&s.base, "/api/v1/analysis/run-2")["data"]["measurements"]
                .as_array()
                .unwrap()
                .is_empty()
    });
    let finished = get(&s.base, "/api/v1/analysis/run-1");
    assert_eq!(finished["data"]["phase"], "Inconclusive", "{finished}");
    let running = get(&s.base, "/api/v1/analysis/run-2");
    drop(s); // SIGKILL: nothing is flushed on the way out

    let s = start(&data, free_port(), &args);
    assert_eq!(
        get(&s.base, "/api/v1/analysis/run-1"),
        finished,
        "a finished run reads exactly as before"
    );
    let resumed = get(&s.base, "/api/v1/analysis/run-2");
    assert_eq!(resumed["data"]["startedAt"], running["data"]["startedAt"]);
    let before = running["data"]["measurements"].as_array().unwrap();
    let after = resumed["data"]["measurements"].as_array().unwrap();
    assert_eq!(&after[..before.len()], &before[..], "{resumed}");
    wait_for("run-2 to finish after the restart", 90, || {
        get(&s.base, "/api/v1/analysis/run-2")["data"]["phase"] != "Running"
    });
    let done = get(&s.base, "/api/v1/analysis/run-2");
    // Four judgments 2 s apart from the start: the ones due while the
    // server was down were taken at their scheduled times.
    let ats: Vec<String> = done["data"]["measurements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["at"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ats.len(), 4, "{done}");
    let ms = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .timestamp_millis()
    };
    let start_ms = ms(done["data"]["startedAt"].as_str().unwrap());
    for (k, at) in ats.iter().enumerate() {
        assert_eq!(ms(at) - start_ms, 2_000 * (k as i64 + 1), "{done}");
    }
    // Ids go on from the stored ones.
    let (code, r3) = post(&s.base, "/api/v1/analysis", run_body("1s", 1, 0));
    assert_eq!(code, 201);
    assert_eq!(r3["data"]["id"], "run-3");
    assert_eq!(
        get(&s.base, "/api/v1/analysis")["data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

fn suspect_services(base: &str) -> Vec<(String, Value)> {
    get(base, "/api/v1/incidents/INC-1/suspects")["data"]["suspects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["deploy"]["service"].as_str().unwrap().to_string(),
                s["via"].clone(),
            )
        })
        .collect()
}

#[test]
fn declared_dependencies_are_suspects_and_follow_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("homeostat.yaml");
    let config = |deps: &str| {
        format!(
            "self_scrape: false\nservices:\n  - {{name: checkout, depends_on: [{deps}]}}\n  - {{name: payments, depends_on: [payments-db]}}\n  - {{name: payments-db}}\n  - {{name: search}}\n"
        )
    };
    std::fs::write(&cfg, config("payments")).unwrap();
    let s = start(
        &dir.path().join("data"),
        free_port(),
        &["--config", cfg.to_str().unwrap()],
    );
    for service in ["payments-db", "search"] {
        let (code, b) = post(
            &s.base,
            "/api/v1/deploys",
            json!({"service": service, "version": "1"}),
        );
        assert_eq!(code, 201, "{b}");
    }
    let (code, b) = post(
        &s.base,
        "/api/v1/incidents",
        json!({"title": "checkout errors", "service": "checkout", "by": "ana"}),
    );
    assert!((200..300).contains(&code), "{b}");
    assert_eq!(
        suspect_services(&s.base),
        [(
            "payments-db".to_string(),
            Value::from("checkout → payments → payments-db")
        )]
    );

    // checkout now calls search instead: the reload changes the answer.
    std::fs::write(&cfg, config("search")).unwrap();
    let (code, b) = post(&s.base, "/-/reload", Value::Null);
    assert_eq!(code, 200, "{b}");
    assert_eq!(
        suspect_services(&s.base),
        [("search".to_string(), Value::from("checkout → search"))]
    );

    // An unknown name is refused at a reload, naming the field; the
    // running graph stays.
    std::fs::write(&cfg, config("serch")).unwrap();
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/-/reload", s.base))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 500);
    let body = r.text().unwrap();
    assert!(body.contains("services[0].depends_on[0]"), "{body}");
    assert_eq!(suspect_services(&s.base)[0].0, "search");
}
