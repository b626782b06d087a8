//! The PromQL API, the status endpoints and the console, over the router.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use homeostat_model::{Labels, Timestamp};
use homeostat_promql::EngineOptions;
use homeostat_storage::{Matcher, MemStorage, Querier, SelectRequest, Series, StorageError};
use serde_json::Value;

use crate::{app, call, encode, state, ts, write};

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn post_form(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not json ({e}): {body}"))
}

/// Asserts Prometheus's error envelope and returns the message.
fn expect_error(status: StatusCode, body: &str, want: StatusCode, error_type: &str) -> String {
    assert_eq!(status, want, "{body}");
    let v = json(body);
    assert_eq!(v["status"], "error", "{body}");
    assert_eq!(v["errorType"], error_type, "{body}");
    v["error"].as_str().unwrap().to_string()
}

fn empty_app() -> axum::Router {
    app(Arc::new(MemStorage::new()), Default::default())
}

#[tokio::test]
async fn malformed_expressions_are_bad_data_with_the_parser_message() {
    let app = empty_app();
    for req in [
        get("/api/v1/query?query=sum(up"),
        get("/api/v1/query?query=up%7Bjob%3D"),
        get("/api/v1/query"),
        post_form("/api/v1/query", "query=1+%2B"),
        post_form(
            "/api/v1/query_range",
            "query=rate(up)[&start=0&end=60&step=15",
        ),
    ] {
        let uri = req.uri().to_string();
        let (s, body) = call(&app, req).await;
        let msg = expect_error(s, &body, StatusCode::BAD_REQUEST, "bad_data");
        assert!(
            msg.starts_with("invalid parameter \"query\": "),
            "{uri}: {msg}"
        );
    }
    // Prometheus's words and position for the same text (the full table is
    // crates/promql/tests/it/parse_errors.jsonl).
    let (s, body) = call(&app, get("/api/v1/query?query=sum(up")).await;
    let msg = expect_error(s, &body, StatusCode::BAD_REQUEST, "bad_data");
    assert_eq!(
        msg,
        "invalid parameter \"query\": 1:7: parse error: unclosed left parenthesis"
    );
    let (s, body) = call(&app, get("/api/v1/query?query=up%5B5x%5D")).await;
    let msg = expect_error(s, &body, StatusCode::BAD_REQUEST, "bad_data");
    assert_eq!(
        msg,
        "invalid parameter \"query\": 1:4: parse error: bad duration syntax: \"5\""
    );
}

#[tokio::test]
async fn bad_time_and_duration_parameters() {
    let app = empty_app();
    for (req, needle) in [
        (get("/api/v1/query?query=up&time=yesterday"), "\"time\""),
        (post_form("/api/v1/query", "query=up&time=x"), "\"time\""),
        (get("/api/v1/query?query=up&timeout=soon"), "\"timeout\""),
        (
            get("/api/v1/query?query=up&lookback_delta=-5"),
            "\"lookback_delta\"",
        ),
        (
            get("/api/v1/query_range?query=up&end=60&step=15"),
            "\"start\"",
        ),
        (
            get("/api/v1/query_range?query=up&start=0&step=15"),
            "\"end\"",
        ),
        (
            get("/api/v1/query_range?query=up&start=0&end=60"),
            "\"step\"",
        ),
        (
            get("/api/v1/query_range?query=up&start=0&end=60&step=often"),
            "\"step\"",
        ),
    ] {
        let uri = req.uri().to_string();
        let (s, body) = call(&app, req).await;
        let msg = expect_error(s, &body, StatusCode::BAD_REQUEST, "bad_data");
        assert!(msg.contains(needle), "{uri}: {msg}");
    }
}

#[tokio::test]
async fn range_limits_as_prometheus() {
    let app = empty_app();
    for (req, needle) in [
        (
            get("/api/v1/query_range?query=up&start=60&end=0&step=15"),
            "end timestamp must not be before start time",
        ),
        // From a form body: proves POST parameters are read.
        (
            post_form("/api/v1/query_range", "query=up&start=60&end=0&step=15"),
            "end timestamp must not be before start time",
        ),
        (
            get("/api/v1/query_range?query=up&start=0&end=60&step=0"),
            "zero or negative query resolution step",
        ),
        (
            get("/api/v1/query_range?query=up&start=0&end=60&step=-15s"),
            "cannot parse",
        ),
        (
            get("/api/v1/query_range?query=up&start=0&end=60&step=-1"),
            "zero or negative query resolution step",
        ),
        // 11,001 points.
        (
            get("/api/v1/query_range?query=up&start=0&end=11000&step=1"),
            "max_points_per_series",
        ),
        (
            get("/api/v1/query_range?query=up&start=0&end=2h&step=1"),
            "\"end\"",
        ),
    ] {
        let uri = req.uri().to_string();
        let (s, body) = call(&app, req).await;
        let msg = expect_error(s, &body, StatusCode::BAD_REQUEST, "bad_data");
        assert!(msg.contains(needle), "{uri}: {msg}");
    }
    let (s, body) = call(
        &app,
        get("/api/v1/query_range?query=up&start=0&end=11000&step=1"),
    )
    .await;
    let msg = expect_error(s, &body, StatusCode::BAD_REQUEST, "bad_data");
    assert!(msg.contains("11000 points"), "{msg}");
    // Exactly 11,000 points passes the check (whatever the evaluator says).
    let (s, body) = call(
        &app,
        get("/api/v1/query_range?query=up&start=0&end=10999&step=1"),
    )
    .await;
    assert_ne!(s, StatusCode::BAD_REQUEST, "{body}");
    // The limit is configurable and the message follows it.
    let small = crate::router(state(
        Arc::new(MemStorage::new()),
        Default::default(),
        EngineOptions {
            max_points_per_series: 10,
            ..Default::default()
        },
    ));
    let (s, body) = call(
        &small,
        get("/api/v1/query_range?query=up&start=0&end=150&step=15s"),
    )
    .await;
    let msg = expect_error(s, &body, StatusCode::BAD_REQUEST, "bad_data");
    assert!(msg.contains("10 points"), "{msg}");
}

#[tokio::test]
async fn status_metadata_exemplars_and_format() {
    let app = empty_app();
    let (s, body) = call(&app, get("/api/v1/status/runtimeinfo")).await;
    assert_eq!(s, StatusCode::OK);
    let v = json(&body);
    assert_eq!(v["status"], "success");
    let d = &v["data"];
    for key in [
        "startTime",
        "CWD",
        "reloadConfigSuccess",
        "lastConfigTime",
        "corruptionCount",
        "goroutineCount",
        "GOMAXPROCS",
        "GOMEMLIMIT",
        "GOGC",
        "GODEBUG",
        "storageRetention",
    ] {
        assert!(!d[key].is_null(), "{key} missing: {body}");
    }
    assert_eq!(d["startTime"], "2023-11-14T22:13:20Z");
    assert_eq!(d["storageRetention"], "15d");
    assert_eq!(d["stateBackend"], "postgres://hs@db:5432/homeostat");
    assert_eq!(d["storageMode"], "embedded");
    assert_eq!(d["reloadConfigSuccess"], true);
    assert!(d["GOMAXPROCS"].as_u64().unwrap() >= 1);

    let (s, body) = call(&app, get("/api/v1/metadata")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, r#"{"data":{},"status":"success"}"#);

    let (s, body) = call(&app, get("/api/v1/query_exemplars?query=up&start=0&end=60")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body, r#"{"status":"success","data":[]}"#);
    let (s, body) = call(&app, get("/api/v1/query_exemplars?query=up(")).await;
    expect_error(s, &body, StatusCode::BAD_REQUEST, "bad_data");

    let (s, body) = call(
        &app,
        post_form("/api/v1/format_query", "query=sum+by(job)(rate(up[5m]))"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["data"], "sum by (job) (rate(up[5m]))");
    let (s, body) = call(&app, get("/api/v1/format_query?query=sum(")).await;
    expect_error(s, &body, StatusCode::BAD_REQUEST, "bad_data");
}

#[tokio::test]
async fn console_pages_are_served() {
    let app = empty_app();
    let resp = tower::ServiceExt::oneshot(app.clone(), get("/"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let (_, body) = call(&app, get("/")).await;
    assert!(body.contains(r#"href="/console/query""#), "{body}");
    // Browsers fetch it on every first visit; a 404 would be a console error.
    let (s, _) = call(&app, get("/favicon.ico")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = call(&app, get("/console/query")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(r#"id="expr""#) && body.contains("/console/query.js"));
    let resp = tower::ServiceExt::oneshot(app.clone(), get("/console/query.js"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
}

// ---- End to end through the evaluator. These need the PromQL evaluator,
// which is being written on main; on a branch without it every valid query
// answers 422 "evaluator not built yet".

async fn app_with_up() -> axum::Router {
    let store = Arc::new(MemStorage::new());
    let app = app(store, Default::default());
    call(&app, write(encode(&[ts("up", 1_000_000, 1.0)]))).await;
    app
}

#[tokio::test]
async fn instant_and_range_results_in_prometheus_shapes() {
    let app = app_with_up().await;
    let (s, body) = call(&app, get("/api/v1/query?query=up&time=1010")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"x"},"value":[1010,"1"]}]}}"#
    );
    let (s, body) = call(&app, post_form("/api/v1/query", "query=up&time=1010.5")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(r#""value":[1010.500,"1"]"#), "{body}");
    let (s, body) = call(
        &app,
        get("/api/v1/query_range?query=up&start=1000&end=1030&step=15s"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"x"},"values":[[1000,"1"],[1015,"1"],[1030,"1"]]}]}}"#
    );
    for (q, want) in [
        ("1%2F0", r#"[1010,"+Inf"]"#),
        ("-1%2F0", r#"[1010,"-Inf"]"#),
        ("0%2F0", r#"[1010,"NaN"]"#),
        ("0.000001", r#"[1010,"0.000001"]"#),
        ("2%5E60", r#"[1010,"1152921504606847000"]"#),
    ] {
        let (s, body) = call(&app, get(&format!("/api/v1/query?query={q}&time=1010"))).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(
            body,
            format!(r#"{{"status":"success","data":{{"resultType":"scalar","result":{want}}}}}"#),
            "{q}"
        );
    }
    let (_, body) = call(&app, get("/api/v1/query?query=%22hi%22&time=1010")).await;
    assert!(
        body.contains(r#"{"resultType":"string","result":[1010,"hi"]}"#),
        "{body}"
    );
}

#[tokio::test]
async fn max_samples_breach_is_execution_naming_the_limit() {
    let store = Arc::new(MemStorage::new());
    let app = crate::router(state(
        store,
        Default::default(),
        EngineOptions {
            max_samples: 5,
            ..Default::default()
        },
    ));
    let series: Vec<_> = (0..20)
        .map(|i| ts("up", 1_000_000 + i * 1000, 1.0))
        .collect();
    for s in series {
        call(&app, write(encode(&[s]))).await;
    }
    let (s, body) = call(&app, get("/api/v1/query?query=up[1m]&time=1020")).await;
    let msg = expect_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "execution");
    assert!(msg.contains("max_samples"), "{msg}");
}

/// A querier that takes its time, to trip the query timeout.
struct Slow(MemStorage);

impl Querier for Slow {
    fn select(&self, req: &SelectRequest) -> Result<Vec<Series>, StorageError> {
        std::thread::sleep(Duration::from_millis(500));
        self.0.select(req)
    }
    fn series(
        &self,
        m: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<Labels>, StorageError> {
        self.0.series(m, mint, maxt)
    }
}

#[tokio::test]
async fn slow_queries_time_out_with_503_naming_the_limit() {
    let mut st = state(
        Arc::new(MemStorage::new()),
        Default::default(),
        EngineOptions::default(),
    );
    st.query.querier = Arc::new(Slow(MemStorage::new()));
    let app = crate::router(st);
    let (s, body) = call(&app, get("/api/v1/query?query=up&timeout=50ms")).await;
    let msg = expect_error(s, &body, StatusCode::SERVICE_UNAVAILABLE, "timeout");
    assert!(msg.contains("timed out"), "{msg}");
}

/// A short query nested deeper than the evaluator's stack allows is a 400
/// naming the limit, not a crashed process: the next query is answered.
#[tokio::test]
async fn deeply_nested_queries_are_refused_and_the_server_keeps_serving() {
    let store = Arc::new(MemStorage::new());
    let app = app(store.clone(), Default::default());
    call(&app, write(encode(&[ts("up", 1_000_000, 1.0)]))).await;
    let parens = format!("{}up{}", "(".repeat(5_000), ")".repeat(5_000));
    let minus = format!("{}up", "-".repeat(10_000));
    let sums = format!("up{}", "+up".repeat(3_000));
    for q in [&parens, &minus, &sums] {
        let form = format!("query={}", urlencode(q));
        for req in [
            get(&format!("/api/v1/query?{form}&time=1000")),
            post_form("/api/v1/query", &format!("{form}&time=1000")),
            get(&format!(
                "/api/v1/query_range?{form}&start=0&end=1000&step=10"
            )),
            post_form(
                "/api/v1/query_range",
                &format!("{form}&start=0&end=1000&step=10"),
            ),
        ] {
            let (s, body) = call(&app, req).await;
            let msg = expect_error(s, &body, StatusCode::BAD_REQUEST, "bad_data");
            assert!(msg.contains("nested too deeply"), "{msg}");
            assert!(msg.contains("256"), "{msg}");
        }
        let (s, body) = call(&app, get("/api/v1/query?query=up&time=1000")).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(body.contains(r#""value":[1000,"1"]"#), "{body}");
    }
    // Up to the limit, a nested query is evaluated.
    let n = homeostat_promql::MAX_NESTING - 1;
    let q = format!("{}up{}", "(".repeat(n), ")".repeat(n));
    let (s, body) = call(
        &app,
        get(&format!("/api/v1/query?query={}&time=1000", urlencode(&q))),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn metadata_answers_honour_limit() {
    let store = Arc::new(MemStorage::new());
    let app = app(store.clone(), Default::default());
    call(
        &app,
        write(encode(&[
            ts("a", 1_000, 1.0),
            ts("b", 1_000, 1.0),
            ts("c", 1_000, 1.0),
        ])),
    )
    .await;
    for (uri, want) in [
        ("/api/v1/series?match[]=%7Bjob%3D%22x%22%7D&limit=2", 2),
        ("/api/v1/label/__name__/values?limit=1", 1),
        ("/api/v1/labels?limit=1", 1),
        (
            "/api/v1/debug/samples?match[]=%7Bjob%3D%22x%22%7D&limit=2",
            2,
        ),
    ] {
        let (s, body) = call(&app, get(uri)).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {body}");
        let v = json(&body);
        let items = v["data"]["result"]
            .as_array()
            .or(v["data"].as_array())
            .map_or(0, Vec::len);
        assert_eq!(items, want, "{uri}: {body}");
        assert_eq!(
            v["warnings"][0], "results truncated due to limit",
            "{uri}: {body}"
        );
    }
    let (s, body) = call(&app, get("/api/v1/label/__name__/values?limit=0")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains(r#"["a","b","c"]"#) && !body.contains("warnings"),
        "{body}"
    );
    let (s, body) = call(&app, get("/api/v1/labels?limit=-1")).await;
    let msg = expect_error(s, &body, StatusCode::BAD_REQUEST, "bad_data");
    assert!(msg.contains("limit"), "{msg}");
}
