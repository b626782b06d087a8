//! The forwarding queue and the query-API reader against an in-process fake
//! remote-write receiver (axum) that can be told to fail.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use homeostat_model::{Labels, Sample, TimeSeries};
use homeostat_remote::{ForwardConfig, Forwarder, ReadApi, RemoteConfig, RemoteQuerier};
use homeostat_storage::{Appender, Matcher, Querier, RejectReason, SelectRequest};

#[derive(Default)]
struct Received {
    /// Every sample received, by series, in arrival order.
    samples: BTreeMap<String, Vec<Sample>>,
    /// The tenant header of every request, `None` when missing.
    tenants: Vec<(String, Option<String>)>,
}

#[derive(Clone)]
struct Fake {
    got: Arc<Mutex<Received>>,
    /// The status the write endpoint answers (204 stores the samples).
    status: Arc<AtomicU16>,
}

fn tenant(path: &str, f: &Fake, h: &HeaderMap) {
    let t = h
        .get("X-Scope-OrgID")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    f.got.lock().unwrap().tenants.push((path.to_string(), t));
}

async fn write(State(f): State<Fake>, h: HeaderMap, body: Bytes) -> impl IntoResponse {
    tenant("write", &f, &h);
    let status = StatusCode::from_u16(f.status.load(Ordering::Relaxed)).unwrap();
    if status != StatusCode::NO_CONTENT {
        return (status, [("retry-after", "0")], "not now").into_response();
    }
    let series = homeostat_wire::remote_write::decode(&body, 1 << 24).unwrap();
    let mut got = f.got.lock().unwrap();
    for s in series {
        got.samples
            .entry(s.labels.to_string())
            .or_default()
            .extend(s.samples);
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `/api/v1/query` as VictoriaMetrics answers `sel[Nms]`: every stored
/// series (the fake ignores the selector) with its samples in `(time-N, time]`.
async fn query(
    State(f): State<Fake>,
    h: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> String {
    tenant("query", &f, &h);
    let expr = &q["query"];
    let range: i64 = expr
        .rsplit_once('[')
        .unwrap()
        .1
        .trim_end_matches("ms]")
        .parse()
        .unwrap();
    let time = (q["time"].parse::<f64>().unwrap() * 1000.0).round() as i64;
    let got = f.got.lock().unwrap();
    let result: Vec<serde_json::Value> = got
        .samples
        .iter()
        .map(|(name, samples)| {
            let values: Vec<serde_json::Value> = samples
                .iter()
                .filter(|s| s.t > time - range && s.t <= time)
                .map(|s| serde_json::json!([s.t as f64 / 1000.0, s.v.to_string()]))
                .collect();
            let metric = name.trim_start_matches("m{").trim_end_matches('}');
            let mut m = serde_json::Map::new();
            m.insert("__name__".into(), "m".into());
            for kv in metric.split(',').filter(|s| !s.is_empty()) {
                let (k, v) = kv.split_once('=').unwrap();
                m.insert(k.into(), v.trim_matches('"').into());
            }
            serde_json::json!({"metric": m, "values": values})
        })
        .collect();
    serde_json::json!({"status": "success", "data": {"resultType": "matrix", "result": result}})
        .to_string()
}

async fn meta(State(f): State<Fake>, h: HeaderMap, Path(what): Path<String>) -> String {
    tenant(&what, &f, &h);
    match what.as_str() {
        "series" => r#"{"status":"success","data":[{"__name__":"m","k":"0"}]}"#.into(),
        _ => r#"{"status":"success","data":["__name__","k"]}"#.into(),
    }
}

async fn values(State(f): State<Fake>, h: HeaderMap) -> String {
    tenant("values", &f, &h);
    r#"{"status":"success","data":["0","1"]}"#.into()
}

struct Server {
    addr: SocketAddr,
    fake: Fake,
    _rt: tokio::runtime::Runtime,
}

fn start() -> Server {
    let fake = Fake {
        got: Arc::default(),
        status: Arc::new(AtomicU16::new(204)),
    };
    let app = Router::new()
        .route("/api/v1/write", post(write))
        .route("/api/v1/query", get(query))
        .route("/api/v1/label/{name}/values", get(values))
        .route("/api/v1/{what}", get(meta))
        .with_state(fake.clone());
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
        fake,
        _rt: rt,
    }
}

fn forward_cfg(s: &Server, dir: &std::path::Path) -> ForwardConfig {
    let mut c = ForwardConfig::new(dir, format!("http://{}/api/v1/write", s.addr));
    c.headers = vec![("X-Scope-OrgID".into(), "team-a".into())];
    c.batch_send_deadline = Duration::from_millis(20);
    c.max_samples_per_send = 7;
    c.shards = 3;
    c.max_backoff = Duration::from_millis(100);
    c.segment_bytes = 2048;
    c
}

/// Batch `k`: 5 series, one sample each at `k` seconds, value `k`.
fn batch(k: i64) -> Vec<TimeSeries> {
    (0..5)
        .map(|i| TimeSeries {
            labels: Labels::from_pairs(&[("__name__", "m"), ("k", &i.to_string())]),
            samples: vec![Sample::new(k * 1000, k as f64)],
        })
        .collect()
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn received(s: &Server) -> usize {
    s.fake
        .got
        .lock()
        .unwrap()
        .samples
        .values()
        .map(Vec::len)
        .sum()
}

/// Every series arrived exactly once per timestamp, in time order.
fn assert_exact(s: &Server, batches: i64) {
    let got = s.fake.got.lock().unwrap();
    assert_eq!(got.samples.len(), 5);
    for (name, samples) in &got.samples {
        let ts: Vec<i64> = samples.iter().map(|x| x.t).collect();
        let want: Vec<i64> = (0..batches).map(|k| k * 1000).collect();
        assert_eq!(ts, want, "{name}");
    }
}

#[test]
fn delivers_in_order_retries_and_resumes_after_restart() {
    let s = start();
    let dir = tempfile::tempdir().unwrap();
    let f = Forwarder::open(forward_cfg(&s, dir.path())).unwrap();
    for k in 0..20 {
        assert_eq!(f.append(&batch(k)).unwrap().accepted, 5);
    }
    wait_for("first 100 samples", || received(&s) == 100);
    wait_for("pending drained", || f.stats().pending_samples == 0);
    assert_eq!(f.stats().sent_samples, 100);
    assert_eq!(f.stats().highest_sent_ms, Some(19_000));

    // The remote fails: samples stay queued and are retried.
    s.fake.status.store(503, Ordering::Relaxed);
    for k in 20..40 {
        f.append(&batch(k)).unwrap();
    }
    wait_for("retries", || f.stats().retries >= 2);
    assert_eq!(f.stats().pending_samples, 100);
    assert_eq!(received(&s), 100);
    f.close();
    drop(f);
    // A torn record at the tail (a crash mid-write) is cut off on open.
    let newest = segments(dir.path()).pop().unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(newest)
        .unwrap();
    std::io::Write::write_all(&mut file, b"\x40\0\0\0torn").unwrap();

    // A restart resumes from the persisted position: nothing lost, nothing twice.
    s.fake.status.store(204, Ordering::Relaxed);
    let f = Forwarder::open(forward_cfg(&s, dir.path())).unwrap();
    assert_eq!(f.stats().pending_samples, 100);
    wait_for("all 200 samples", || received(&s) == 200);
    wait_for("pending drained", || f.stats().pending_samples == 0);
    assert_exact(&s, 40);
    // Fully sent segments are deleted.
    wait_for("segments deleted", || segments(dir.path()).len() <= 2);
    f.close();
    drop(f);

    // Segments gone behind the position's back: the queue starts afresh.
    for p in segments(dir.path()) {
        std::fs::remove_file(p).unwrap();
    }
    let f = Forwarder::open(forward_cfg(&s, dir.path())).unwrap();
    f.append(&batch(40)).unwrap();
    wait_for("sent after the reset", || received(&s) == 205);
    assert_exact(&s, 41);
}

fn segments(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    out.sort();
    out
}

#[test]
fn refused_requests_are_dropped_with_a_reason_and_full_queues_refuse() {
    let s = start();
    let dir = tempfile::tempdir().unwrap();
    s.fake.status.store(400, Ordering::Relaxed);
    let mut cfg = forward_cfg(&s, dir.path());
    cfg.max_queue_bytes = 1 << 20;
    let f = Forwarder::open(cfg).unwrap();
    f.append(&batch(0)).unwrap();
    wait_for("dropped", || f.stats().dropped.get("http_400") == Some(&5));
    assert_eq!(f.stats().pending_samples, 0);
    assert_eq!(received(&s), 0);

    // 429 is retried, not dropped; the queue fills and then refuses.
    s.fake.status.store(429, Ordering::Relaxed);
    let big: Vec<TimeSeries> = vec![TimeSeries {
        labels: Labels::from_pairs(&[("__name__", "m"), ("k", "big")]),
        samples: (0..20_000)
            .map(|t| Sample::new(t, 0.5 + t as f64))
            .collect(),
    }];
    let mut full = None;
    for _ in 0..200 {
        let r = f.append(&big).unwrap();
        if r.rejected_total() > 0 {
            full = Some(r);
            break;
        }
    }
    let r = full.expect("the queue never filled");
    assert_eq!(r.rejected[&RejectReason::QueueFull], 20_000);
    assert!(r.first_rejection.unwrap().contains("max_queue_bytes"));
    assert!(f.writable().is_err());
    wait_for("retried", || f.stats().retries >= 1);
    assert!(!f.stats().dropped.contains_key("http_429"));
}

#[test]
fn every_read_and_write_carries_the_tenant() {
    let s = start();
    let dir = tempfile::tempdir().unwrap();
    let f = Forwarder::open(forward_cfg(&s, dir.path())).unwrap();
    for k in 0..3 {
        f.append(&batch(k)).unwrap();
    }
    wait_for("written", || received(&s) == 15);
    let mut rc = RemoteConfig::new("", format!("http://{}", s.addr));
    rc.read_api = ReadApi::Query;
    rc.headers = vec![("X-Scope-OrgID".into(), "team-a".into())];
    let q = RemoteQuerier::new(rc).unwrap();
    let out = q
        .select(&SelectRequest::new(
            vec![Matcher::equal("__name__", "m")],
            1000,
            2000,
        ))
        .unwrap();
    assert_eq!(out.len(), 5);
    assert_eq!(
        out[0].samples,
        vec![Sample::new(1000, 1.0), Sample::new(2000, 2.0)]
    );
    assert_eq!(
        out[0].labels,
        Labels::from_pairs(&[("__name__", "m"), ("k", "0")])
    );
    q.series(&[], 0, 1).unwrap();
    q.label_names(&[], 0, 1).unwrap();
    q.label_values("k", &[], 0, 1).unwrap();
    let mut limited = SelectRequest::new(vec![Matcher::equal("__name__", "m")], 0, 2000);
    limited.max_samples = Some(4);
    assert!(q.select(&limited).is_err());
    let got = s.fake.got.lock().unwrap();
    let kinds: std::collections::BTreeSet<&str> =
        got.tenants.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        vec!["labels", "query", "series", "values", "write"]
    );
    for (kind, t) in &got.tenants {
        assert_eq!(t.as_deref(), Some("team-a"), "{kind}");
    }
}
