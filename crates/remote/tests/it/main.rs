//! The remote querier against an in-process fake Prometheus (axum) that
//! answers remote-read from a `MemStorage` and records what it was asked.
#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

mod forward;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use homeostat_model::{Labels, Sample, TimeSeries};
use homeostat_remote::{RemoteConfig, RemoteQuerier};
use homeostat_storage::{
    Appender, MatchOp, Matcher, MemStorage, Querier, SelectRequest, StorageError,
};
use homeostat_wire::remote_read::{self, MatcherType, QueryResult, ReadResponse};

#[derive(Default)]
struct Seen {
    read_headers: Vec<HeaderMap>,
    queries: Vec<String>,
}

#[derive(Clone)]
struct Fake {
    store: Arc<MemStorage>,
    seen: Arc<Mutex<Seen>>,
}

async fn read(State(f): State<Fake>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    f.seen.lock().unwrap().read_headers.push(headers);
    let req = match remote_read::decode_request(&body, 1 << 20) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let mut results = Vec::new();
    for q in req.queries {
        let matchers: Vec<Matcher> = q
            .matchers
            .iter()
            .map(|m| {
                let op = match MatcherType::try_from(m.r#type).unwrap() {
                    MatcherType::Eq => MatchOp::Equal,
                    MatcherType::Neq => MatchOp::NotEqual,
                    MatcherType::Re => MatchOp::RegexMatch,
                    MatcherType::Nre => MatchOp::RegexNoMatch,
                };
                Matcher::new(op, &m.name, &m.value).unwrap()
            })
            .collect();
        let series = f
            .store
            .select(&SelectRequest::new(
                matchers,
                q.start_timestamp_ms,
                q.end_timestamp_ms,
            ))
            .unwrap();
        results.push(QueryResult {
            timeseries: remote_read::series_to_pb(&series),
        });
    }
    (
        [("content-type", "application/x-protobuf")],
        remote_read::encode_response(&ReadResponse { results }),
    )
        .into_response()
}

async fn api(State(f): State<Fake>, Path(what): Path<String>, RawQuery(q): RawQuery) -> String {
    f.seen
        .lock()
        .unwrap()
        .queries
        .push(format!("{what}?{}", q.unwrap_or_default()));
    match what.as_str() {
        "series" => r#"{"status":"success","data":[{"__name__":"up","job":"b"},{"__name__":"up","job":"a"}]}"#.into(),
        "labels" => r#"{"status":"success","data":["job","__name__"]}"#.into(),
        _ => r#"{"status":"error","errorType":"bad_data","error":"unknown"}"#.into(),
    }
}

async fn values(State(f): State<Fake>, Path(name): Path<String>, RawQuery(q): RawQuery) -> String {
    f.seen
        .lock()
        .unwrap()
        .queries
        .push(format!("values/{name}?{}", q.unwrap_or_default()));
    r#"{"status":"success","data":["b","a"]}"#.into()
}

struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    // Dropping the runtime stops the server; it lives as long as the test.
    _rt: tokio::runtime::Runtime,
}

fn start() -> Server {
    let store = Arc::new(MemStorage::new());
    let batch: Vec<TimeSeries> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, job)| TimeSeries {
            labels: Labels::from_pairs(&[("__name__", "up"), ("job", job)]),
            samples: (0..10)
                .map(|k| Sample::new(k * 1000, (i * 100 + k as usize) as f64))
                .collect(),
        })
        .collect();
    store.append(&batch).unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let fake = Fake {
        store,
        seen: seen.clone(),
    };
    let app = Router::new()
        .route("/api/v1/read", post(read))
        .route("/api/v1/label/{name}/values", get(values))
        .route("/api/v1/{what}", get(api))
        .route(
            "/fail/api/v1/read",
            post(|| async { (StatusCode::SERVICE_UNAVAILABLE, "overloaded, try later") }),
        )
        .route(
            "/limit/api/v1/read",
            post(|| async { (StatusCode::BAD_REQUEST, "exceeded sample limit (5)") }),
        )
        .route(
            "/bad/api/v1/labels",
            get(|| async {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"start\""}"#,
                )
            }),
        )
        .route(
            "/bad/api/v1/series",
            get(|| async { r#"{"status":"error","errorType":"internal","error":"boom"}"# }),
        )
        .route("/garbage/api/v1/read", post(|| async { "this is not snappy" }))
        .route(
            "/slow/api/v1/read",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .with_state(fake);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await });
    Server {
        addr,
        seen,
        _rt: rt,
    }
}

fn querier(s: &Server, prefix: &str) -> RemoteQuerier {
    let mut cfg = RemoteConfig::new(
        format!("http://{}{prefix}/api/v1/read", s.addr),
        format!("http://{}/", s.addr),
    );
    cfg.timeout = Duration::from_millis(800);
    cfg.headers = vec![("X-Scope-OrgID".into(), "tenant-1".into())];
    RemoteQuerier::new(cfg).unwrap()
}

#[test]
fn select_reads_matching_series_in_range_sorted() {
    let s = start();
    let q = querier(&s, "");
    let req = SelectRequest::new(
        vec![
            Matcher::equal("__name__", "up"),
            Matcher::new(MatchOp::RegexMatch, "job", "c|a").unwrap(),
        ],
        2000,
        4000,
    );
    let got = q.select(&req).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].labels.get("job"), Some("a"));
    assert_eq!(got[1].labels.get("job"), Some("c"));
    let ts: Vec<i64> = got[1].samples.iter().map(|x| x.t).collect();
    assert_eq!(ts, vec![2000, 3000, 4000]);
    assert_eq!(got[1].samples[0].v, 202.0);

    let seen = s.seen.lock().unwrap();
    let h = &seen.read_headers[0];
    assert_eq!(h["content-encoding"], "snappy");
    assert_eq!(h["x-prometheus-remote-read-version"], "0.1.0");
    assert_eq!(h["x-scope-orgid"], "tenant-1");
}

#[test]
fn max_samples_is_enforced_and_named() {
    let s = start();
    let q = querier(&s, "");
    let mut req = SelectRequest::new(vec![Matcher::equal("__name__", "up")], 0, 9000);
    req.max_samples = Some(30);
    assert_eq!(q.select(&req).unwrap().len(), 3);
    req.max_samples = Some(29);
    match q.select(&req) {
        Err(e @ StorageError::LimitExceeded { limit, .. }) => {
            assert_eq!(limit, "max_samples");
            assert!(e.to_string().contains("29"), "{e}");
        }
        other => panic!("expected a limit error, got {other:?}"),
    }
}

#[test]
fn errors_name_the_url_and_status() {
    let s = start();
    let e = querier(&s, "/fail")
        .select(&SelectRequest::new(
            vec![Matcher::equal("__name__", "up")],
            0,
            1,
        ))
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, StorageError::Unavailable(_)), "{msg}");
    assert!(
        msg.contains("/fail/api/v1/read") && msg.contains("503") && msg.contains("overloaded"),
        "{msg}"
    );

    let e = querier(&s, "/limit")
        .select(&SelectRequest::new(
            vec![Matcher::equal("__name__", "up")],
            0,
            1,
        ))
        .unwrap_err();
    assert!(matches!(e, StorageError::InvalidInput(_)), "{e}");
    assert!(
        e.to_string().contains("400") && e.to_string().contains("sample limit"),
        "{e}"
    );

    let e = querier(&s, "/garbage")
        .select(&SelectRequest::new(
            vec![Matcher::equal("__name__", "up")],
            0,
            1,
        ))
        .unwrap_err();
    assert!(e.to_string().contains("unreadable response"), "{e}");

    let start = std::time::Instant::now();
    let e = querier(&s, "/slow")
        .select(&SelectRequest::new(
            vec![Matcher::equal("__name__", "up")],
            0,
            1,
        ))
        .unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(
        e.to_string().contains("timed out") && e.to_string().contains("/slow/"),
        "{e}"
    );

    // Nothing listens on port 1.
    let q = RemoteQuerier::new(RemoteConfig::new(
        "http://127.0.0.1:1/api/v1/read",
        "http://127.0.0.1:1",
    ))
    .unwrap();
    let e = q.label_names(&[], 0, 1).unwrap_err();
    assert!(e.to_string().contains("127.0.0.1:1/api/v1/labels"), "{e}");
}

#[test]
fn metadata_goes_through_the_http_api() {
    let s = start();
    let q = querier(&s, "");
    let m = vec![Matcher::equal("__name__", "up")];
    let series = q.series(&m, 1500, 2_000_000).unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(series[0].get("job"), Some("a"), "sorted");
    assert_eq!(
        q.label_names(&[], 0, 1000).unwrap(),
        vec!["__name__", "job"]
    );
    assert_eq!(q.label_values("job", &m, 0, 1000).unwrap(), vec!["a", "b"]);
    assert!(matches!(
        q.label_values("bad/name", &m, 0, 1000),
        Err(StorageError::InvalidInput(_))
    ));
    let seen = s.seen.lock().unwrap();
    assert_eq!(
        seen.queries[0],
        "series?match%5B%5D=%7B__name__%3D%22up%22%7D&start=1.500&end=2000.000"
    );
    assert_eq!(seen.queries[1], "labels?start=0.000&end=1.000");
    assert!(
        seen.queries[2].starts_with("values/job?match%5B%5D="),
        "{}",
        seen.queries[2]
    );
}

#[test]
fn api_errors_are_reported() {
    let s = start();
    let mut cfg = RemoteConfig::new(
        format!("http://{}/api/v1/read", s.addr),
        format!("http://{}/bad", s.addr),
    );
    cfg.timeout = Duration::from_secs(5);
    let q = RemoteQuerier::new(cfg).unwrap();
    let e = q.label_names(&[], 0, 1).unwrap_err();
    assert!(matches!(e, StorageError::InvalidInput(_)), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("/bad/api/v1/labels")
            && msg.contains("422")
            && msg.contains("invalid parameter"),
        "{msg}"
    );
    let e = q.series(&[], 0, 1).unwrap_err();
    assert!(
        e.to_string().contains("unreadable response") && e.to_string().contains("boom"),
        "{e}"
    );
}
