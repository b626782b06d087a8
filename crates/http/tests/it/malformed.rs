//! Malformed input at every route of the OpenAPI document: odd path
//! parameters, odd query strings, odd bodies. No request may panic the
//! server or answer 5xx (but for the exceptions in [`allowed_5xx`], each
//! with its reason), and an API route's error names the problem in its
//! JSON error shape. The state has SLOs, gate policies, on-call, the
//! Alertmanager, an incident, a deploy, a silence and an analysis run, so
//! requests get past the "not configured" and "unknown id" answers.

use std::collections::BTreeMap;
use std::time::Duration;

use homeostat_alerting::{Alertmanager, Config, Running};
use homeostat_app::{BasicIncidents, IncidentDesk};
use homeostat_http::{ReloadHandle, ReloadStatus};
use homeostat_incident::IncidentService;
use homeostat_model::FakeClock;
use homeostat_oncall::Oncall;
use serde_json::{Value, json};

use super::*;
use crate::openapi::{METHODS, served_doc};

const NOW: i64 = 120 * 60_000;

const ONCALL: &str = r#"
users: [{id: alice}, {id: bob}]
schedules:
  - id: primary
    layers:
      - {name: daily, rotation_start: 2026-01-01T09:00:00Z, turn_length: 1d, members: [alice, bob]}
escalation_policies:
  - {id: ops, levels: [{delay: 5m, targets: [{schedule: primary}]}]}
"#;

const AM_CONFIG: &str =
    "route:\n  receiver: team\n  group_by: [alertname]\nreceivers: [{name: team}]\n";

/// A server with everything configured; reloads succeed.
fn full_app() -> axum::Router {
    let clock = FakeClock::new(NOW);
    let slos = homeostat_slo::load_specs(crate::slos::SPEC, "checkout.yaml").unwrap();
    let known = homeostat_gate::Known {
        slos: slos
            .iter()
            .map(|s| (s.service.clone(), s.id.clone()))
            .collect(),
    };
    let policies = homeostat_gate::from_yaml(
        "- {service: checkout, freeze_below_remaining_percent: 10}\n",
        &known,
        "gate.policies",
    )
    .unwrap();
    let (mut st, store) = state_and_store(
        crate::slos::store(),
        Limits::default(),
        homeostat_promql::EngineOptions {
            timeout: Duration::from_secs(10),
            ..Default::default()
        },
        |w| {
            w.clock = Arc::new(clock.clone());
            w.policies.set(policies);
            w.slos.set(slos);
        },
    );
    st.incidents = IncidentDesk::new(
        Arc::new(BasicIncidents::new(
            IncidentService::new(store.incidents.clone()),
            Oncall::from_yaml_str(ONCALL).unwrap(),
            b"k",
        )),
        store.audit.clone(),
    );
    let am = Alertmanager::new(
        Running {
            config: Arc::new(Config::parse(AM_CONFIG).unwrap()),
            original: AM_CONFIG.into(),
            resolve_timeout: Duration::from_secs(300),
        },
        store.silences.clone(),
        Arc::new(clock),
    )
    .unwrap();
    st.alertmanager = Some(Arc::new(am));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<homeostat_http::ReloadReply>(4);
    tokio::spawn(async move {
        while let Some(reply) = rx.recv().await {
            let _ = reply.send(Ok("reloaded".into()));
        }
    });
    st.ops.reload = ReloadHandle::new(tx, Arc::new(ReloadStatus::new(NOW)));
    router(st)
}

fn json_req(method: &str, uri: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("x-homeostat-user", "fuzz")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn create(app: &axum::Router, uri: &str, body: &str) -> Value {
    let (s, b) = call(app, json_req("POST", uri, body)).await;
    assert!(s.is_success(), "seeding {uri}: {s} {b}");
    serde_json::from_str(&b).unwrap()
}

/// Creates one of each object; returns the ids the paths need.
async fn seed(app: &axum::Router) -> BTreeMap<&'static str, String> {
    let mut ids = BTreeMap::new();
    let body = r#"{"title":"checkout down","service":"checkout","by":"ana"}"#;
    create(app, "/api/v1/incidents", body).await;
    let body = r#"{"title":"add a test"}"#;
    create(app, "/api/v1/incidents/INC-1/action_items", body).await;
    let body = r#"{"service":"checkout","version":"1.2","startedAt":"7000"}"#;
    let d = create(app, "/api/v1/deploys", body).await;
    let run = json!({
        "service": "checkout", "deploy_id": d["data"]["id"], "interval": "1m", "count": 3,
        "judge": {"metrics": [{"name": "errors", "query": "up{group=\"{{.group}}\"}"}]},
    });
    let run = create(app, "/api/v1/analysis", &run.to_string()).await;
    ids.insert("run", run["data"]["id"].as_str().unwrap().to_string());
    let body = r#"{"service":"checkout","reason":"hotfix","duration":"1h"}"#;
    let o = create(app, "/api/v1/gate/overrides", body).await;
    ids.insert("override", o["data"]["id"].as_str().unwrap().to_string());
    let body = r#"{"matchers":[{"name":"job","value":"api","isRegex":false}],"startsAt":"1970-01-01T02:00:00Z","endsAt":"1970-01-01T05:00:00Z","createdBy":"ana","comment":"c"}"#;
    let s = create(app, "/api/v2/silences", body).await;
    ids.insert("silence", s["silenceID"].as_str().unwrap().to_string());
    ids
}

/// Path parameters that exist, so that queries and bodies reach the code
/// behind the lookup.
fn valid_uri(path: &str, ids: &BTreeMap<&str, String>) -> String {
    let id = if path.starts_with("/api/v1/slos") {
        "checkout-availability"
    } else if path.starts_with("/api/v1/analysis") {
        &ids["run"]
    } else if path.starts_with("/api/v1/gate/overrides") {
        &ids["override"]
    } else if path.starts_with("/api/v2/silence") {
        &ids["silence"]
    } else {
        "INC-1"
    };
    path.replace("{id}", id)
        .replace("{name}", "job")
        .replace("{item}", "1")
        .replace("{schedule}", "primary")
}

fn odd_path_values() -> Vec<String> {
    vec![
        "%ZZ".into(),
        "%FF%FE".into(),
        "%00".into(),
        "..%2F..%2Fetc%2Fpasswd".into(),
        "..".into(),
        "%E2%98%83%F0%9F%94%A5".into(),
        "a".repeat(10_000),
        "-1".into(),
        "99999999999999999999999".into(),
        "INC-99999999999999999999".into(),
        "INC--1".into(),
        " ".replace(' ', "%20"),
        String::new(),
    ]
}

fn odd_queries() -> Vec<String> {
    let long = "a".repeat(10_000);
    let mut q: Vec<String> = [
        "",
        "time=abc",
        "time=1e400",
        "time=-1e400",
        "time=NaN",
        "time=%00",
        "start=1e400&end=-1e400",
        "start=abc&end=abc&step=abc",
        "step=-1",
        "step=0",
        "step=1e400",
        "match[]=",
        "match[]=%7B",
        "match[]=%7B%7D",
        "match[]=up&match[]=sum(up)",
        "query=sum(",
        "query=",
        "query=%00",
        "query=up&query=sum(",
        "query=up&time=1e18",
        "query=up&time=-1e18",
        "query=time()&start=-1e18&end=1e18&step=1e17",
        "query=up&start=9223372036854775807&end=9223372036854775807&step=1",
        "query=up&start=-9223372036854775808&end=9223372036854775807&step=1e15",
        "query=rate(up%5B5m%5D)&start=0&end=100000&step=0.001",
        "query=up&timeout=-1",
        "query=up&timeout=1e400",
        "query=up&lookback_delta=abc",
        "query=up&lookback_delta=1e15",
        "%00=%00",
        "%FF=%FE",
        "&&&==&",
        "foo=bar&foo=baz",
        "limit=0",
        "limit=-1",
        "limit=99999999999999999999999",
        "limit=abc",
        "state=bogus",
        "state=,,,open,,",
        "service=%FF",
        "service=",
        "since=abc&until=1e400",
        "since=1e18&until=-1e18",
        "change_type=%00",
        "dependencies=,,,",
        "at=abc",
        "at=%2B262142-12-31",
        "at=-262143-01-01",
        "at=9999-12-31T23:59:59Z",
        "from=%2B262142-12-31",
        "from=%2B262142-12-31&to=%2B262143-12-31",
        "from=-262143-01-01&to=-262143-01-02",
        "from=2026-01-01&to=2025-01-01",
        "filter=%7B",
        "filter=job%3D%22api",
        "filter=job%3D~%22(%22",
        "receiver=(",
        "active=maybe&silenced=2",
        "type=bogus",
        "exclude_alerts=maybe",
        "rule_name[]=&rule_group[]=&file[]=",
        "token=x&user=y",
        "token=&user=",
        "stale=1",
        "id=%3Cscript%3E",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for name in [
        "query", "time", "start", "match[]", "step", "at", "from", "service", "filter", "x",
    ] {
        q.push(format!("{name}={long}"));
    }
    q
}

fn odd_bodies() -> Vec<String> {
    let long = "a".repeat(10_000);
    let mut b: Vec<String> = [
        "",
        " ",
        "{",
        "null",
        "[]",
        "{}",
        "[{}]",
        "\"text\"",
        "1e400",
        "123456789012345678901234567890",
        "-0",
        "\u{0}",
        "{\"by\": 1}",
        "{\"title\": 1e400, \"by\": []}",
        "{\"title\": \"t\", \"by\": \"x\", \"severity\": \"sev9\"}",
        "{\"title\": \"\", \"by\": \"x\", \"escalation_policy\": \"nope\"}",
        "{\"service\": 1, \"version\": [], \"reason\": {}}",
        "{\"service\": \"checkout\", \"version\": \"1\", \"startedAt\": \"1e400\", \"finishedAt\": \"-1e400\"}",
        "{\"service\": \"checkout\", \"version\": \"1\", \"startedAt\": \"1e18\", \"outcome\": \"exploded\"}",
        "{\"service\": \"checkout\", \"reason\": \"r\", \"duration\": \"999999999y\"}",
        "{\"service\": \"checkout\", \"reason\": \"r\", \"duration\": \"-1h\"}",
        "{\"service\": \"checkout\", \"reason\": \"r\", \"expiresAt\": \"1e400\"}",
        "{\"service\": \"checkout\", \"reason\": \"r\", \"expiresAt\": \"-1e18\"}",
        "{\"service\": \"nope\", \"reason\": \"r\", \"duration\": \"1h\"}",
        "{\"role\": \"king\", \"user\": \"u\", \"by\": \"x\"}",
        "{\"text\": 5}",
        "{\"message\": \"m\", \"text\": \"t\", \"by\": \"x\"}",
        "{\"title\": \"t\", \"due\": \"+262143-12-31\"}",
        "{\"title\": \"t\", \"due\": \"31/12/2026\"}",
        "{\"state\": \"finished\"}",
        "{\"state\": 1}",
        "{\"interval\": 1, \"count\": -1, \"judge\": \"x\"}",
        "{\"interval\": \"999999999y\", \"count\": 4294967295, \"judge\": {\"metrics\": []}}",
        "{\"interval\": \"0s\", \"count\": 1, \"judge\": {\"metrics\": [{\"name\": \"m\", \"query\": \"up\"}]}}",
        "{\"interval\": \"1m\", \"count\": 1, \"deploy_id\": 99999999999999999999, \"judge\": {\"metrics\": [{\"name\": \"m\", \"query\": \"up\"}]}}",
        "{\"interval\": \"1m\", \"count\": 1, \"deploy_id\": -1, \"judge\": {\"metrics\": [{\"name\": \"m\", \"query\": \"up\"}]}}",
        "{\"metrics\": [{\"name\": \"m\", \"query\": \"sum(\"}]}",
        "{\"metrics\": [{\"name\": \"m\", \"query\": \"up\"}], \"lookback\": \"999999999y\", \"step\": \"1ms\"}",
        "{\"metrics\": [{\"name\": \"m\", \"query\": \"up\"}], \"lookback\": \"1h\", \"step\": \"0s\"}",
        "{\"metrics\": [{\"name\": \"m\", \"query\": \"up\", \"min_samples\": 18446744073709551615}], \"config\": {\"confidence\": 1e308, \"pass_threshold\": -1e308}}",
        "[{\"labels\": 1}]",
        "[{\"labels\": {}}]",
        "[{\"labels\": {\"\": \"x\"}}]",
        "[{\"labels\": {\"a\": \"b\"}, \"startsAt\": \"9999-12-31T23:59:59Z\", \"endsAt\": \"0002-01-01T00:00:00Z\"}]",
        "[{\"labels\": {\"a\": \"b\"}, \"startsAt\": \"yesterday\"}]",
        "{\"matchers\": \"x\"}",
        "{\"matchers\": [], \"startsAt\": \"\", \"endsAt\": \"9999-12-31T23:59:59Z\", \"createdBy\": \"\", \"comment\": \"\"}",
        "{\"matchers\": [{\"name\": \"a\", \"value\": \"(\", \"isRegex\": true}], \"startsAt\": \"2000-01-01T00:00:00Z\", \"endsAt\": \"9999-12-31T23:59:59Z\", \"createdBy\": \"x\", \"comment\": \"c\"}",
        "{\"id\": \"nope\", \"matchers\": [{\"name\": \"a\", \"value\": \"b\", \"isRegex\": false}], \"startsAt\": \"2000-01-01T00:00:00Z\", \"endsAt\": \"2001-01-01T00:00:00Z\", \"createdBy\": \"x\", \"comment\": \"c\"}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    b.push(format!("\"{long}\""));
    b.push(format!("{{\"title\": \"{long}\", \"by\": \"{long}\"}}"));
    b.push("[".repeat(5_000));
    b
}

/// 5xx answers that are the route's meaning, not a failure. The only
/// one: a query whose `timeout` (the client's, or `query.timeout`) runs
/// out answers 503 `timeout`, as Prometheus does. (`/-/ready` answers 503
/// while the WAL replays and `/-/reload` 500 when the new config is bad,
/// both by design, but neither happens on this state: it is ready and its
/// reloads succeed.)
fn allowed_5xx(status: u16, body: &str) -> bool {
    status == 503 && body.contains("\"errorType\":\"timeout\"")
}

/// What a route's error must look like: Prometheus's JSON envelope for
/// `/api/v1`, a JSON string for the Alertmanager API, any text for
/// ingestion, and no rule for the console pages and ops text.
fn check_error_shape(path: &str, status: u16, body: &str) -> Result<(), String> {
    if status < 400 || status == 405 {
        return Ok(());
    }
    if path.starts_with("/api/v2/") {
        return match serde_json::from_str::<Value>(body) {
            Ok(Value::String(s)) if !s.is_empty() => Ok(()),
            _ => Err("no Alertmanager JSON string error".into()),
        };
    }
    if path == "/api/v1/write" || !path.starts_with("/api/v1/") {
        return if body.is_empty() {
            Err("an empty error body".into())
        } else {
            Ok(())
        };
    }
    if path.ends_with("/flagger") && status == 412 {
        return Ok(()); // Flagger's webhook answer, plain text by design.
    }
    let v: Value = serde_json::from_str(body).map_err(|_| "no JSON error body".to_string())?;
    let named = v["errorType"].is_string() && v["error"].as_str().is_some_and(|e| !e.is_empty());
    if v["status"] != "error" || !named {
        return Err("the JSON error does not name the problem".into());
    }
    Ok(())
}

/// Sends one request on its own task, so a panic is caught and reported
/// with the request instead of aborting the run.
async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: &str,
) -> Option<Result<(u16, String), String>> {
    let Ok(req) = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("x-homeostat-user", "fuzz")
        .body(Body::from(body.to_string()))
    else {
        return None; // not a valid URI: no client can send it either
    };
    let app = app.clone();
    let r = tokio::spawn(async move {
        let resp = app.oneshot(req).await.unwrap();
        let s = resp.status().as_u16();
        let b = to_bytes(resp.into_body(), 1 << 26).await.unwrap();
        (s, String::from_utf8_lossy(&b).into_owned())
    });
    match tokio::time::timeout(Duration::from_secs(30), r).await {
        Err(_) => Some(Err("no answer within 30 s".into())),
        Ok(r) => Some(r.map_err(|e| format!("panicked the server: {e}"))),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_never_panics_or_answers_5xx() {
    let app = full_app();
    let ids = seed(&app).await;
    let doc = served_doc(&app).await;
    let paths = doc["paths"].as_object().unwrap().clone();
    let mut failures = Vec::new();
    let mut sent = 0usize;
    let mut slow = Vec::new();
    let queries = odd_queries();
    let bodies = odd_bodies();
    for (path, item) in &paths {
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            let method = method.to_uppercase();
            let has_body = method != "GET";
            let mut cases: Vec<(String, String, String)> = Vec::new();
            let valid = valid_uri(path, &ids);
            for q in &queries {
                cases.push((valid.clone(), q.clone(), String::new()));
            }
            if path.contains('{') {
                for v in odd_path_values() {
                    let uri = path
                        .split('/')
                        .map(|seg| {
                            if seg.starts_with('{') {
                                v.as_str()
                            } else {
                                seg
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("/");
                    cases.push((uri, String::new(), "{}".into()));
                }
            }
            if has_body {
                for b in &bodies {
                    cases.push((valid.clone(), String::new(), b.clone()));
                }
            }
            for (uri, q, body) in cases {
                let full = if q.is_empty() {
                    uri.clone()
                } else {
                    format!("{uri}?{q}")
                };
                let started = std::time::Instant::now();
                let Some(answer) = send(&app, &method, &full, &body).await else {
                    continue;
                };
                let took = started.elapsed();
                if std::env::var_os("MALFORMED_TIMES").is_some() {
                    eprintln!("TIME {} {method} {full:.120}", took.as_micros());
                }
                if took > Duration::from_secs(10) {
                    slow.push(format!("{method} {full:.200} body {body:.80}: {took:?}"));
                }
                sent += 1;
                let what = format!("{method} {full:.200} body {body:.80}");
                let (status, text) = match answer {
                    Ok(a) => a,
                    Err(e) => {
                        failures.push(format!("{what}: {e}"));
                        continue;
                    }
                };
                if status >= 500 && !allowed_5xx(status, &text) {
                    failures.push(format!("{what}: {status} {text:.300}"));
                    continue;
                }
                if let Err(e) = check_error_shape(path, status, &text) {
                    failures.push(format!("{what}: {status}: {e}: {text:.300}"));
                }
            }
        }
    }
    assert!(sent > 3_000, "only {sent} requests were sent");
    assert!(
        slow.is_empty(),
        "slow answers to bad input:\n{}",
        slow.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{} of {sent} requests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
