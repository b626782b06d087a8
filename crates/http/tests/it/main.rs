//! The router in-process over the in-memory store: good and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alertmanager;
mod auth;
mod browser;
mod chaos;
mod console;
mod disk;
mod incidents;
mod malformed;
mod openapi;
mod query;
mod release;
mod remediation;
mod rules;
mod slos;
mod toil;
mod tokens;
mod traffic;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use homeostat_app::{IncidentDesk, Wiring};
use homeostat_http::{AppState, Limits, OpsHandles, QueryHandles, RuntimeInfo, Telemetry, router};
use homeostat_model::{Labels, Sample, SystemClock, TimeSeries};
use homeostat_promql::{Engine, EngineOptions};
use homeostat_storage::{MemStorage, Querier, SelectRequest};
use homeostat_wire::remote_write::{
    PbLabel, PbSample, PbTimeSeries, WriteRequest, compress, encode,
};
use prost::Message;
use tower::ServiceExt;

fn app(store: Arc<MemStorage>, limits: Limits) -> axum::Router {
    router(state(store, limits, EngineOptions::default()))
}

fn state(store: Arc<MemStorage>, limits: Limits, opts: EngineOptions) -> AppState {
    state_with(store, limits, opts, |_| {})
}

/// The state over `store`, its services built after `wire` set the clock
/// or the config cells (SLOs, gate policies, dependencies) they read.
fn state_with(
    store: Arc<MemStorage>,
    limits: Limits,
    opts: EngineOptions,
    wire: impl FnOnce(&mut Wiring),
) -> AppState {
    state_and_store(store, limits, opts, wire).0
}

/// [`state_with`], and the state store behind its services, for tests that
/// build an Alertmanager or an incident API over the same store.
fn state_and_store(
    store: Arc<MemStorage>,
    limits: Limits,
    opts: EngineOptions,
    wire: impl FnOnce(&mut Wiring),
) -> (AppState, homeostat_state::State) {
    let persisted =
        homeostat_state::State::from_backend(Arc::new(homeostat_state::MemState::default()));
    let mut w = Wiring::new(
        Engine::new(opts),
        store.clone(),
        persisted.clone(),
        Arc::new(SystemClock),
    );
    wire(&mut w);
    let services = w.build();
    let incidents = Arc::new(homeostat_app::BasicIncidents::new(
        homeostat_incident::IncidentService::new(persisted.incidents.clone()),
        homeostat_oncall::Oncall::default(),
        b"test secret",
    ));
    let st = AppState {
        query: QueryHandles {
            storage: store,
            querier: w.querier.clone(),
            engine: w.engine.clone(),
            limits,
            slots: Arc::new(homeostat_http::query_slots::QuerySlots::new(
                Default::default(),
            )),
        },
        ops: OpsHandles {
            runtime: Arc::new(RuntimeInfo {
                start_time: 1_700_000_000_000,
                storage_retention: "15d".into(),
                state_backend: "postgres://hs@db:5432/homeostat".into(),
                ..Default::default()
            }),
            telemetry: Arc::new(Telemetry::default()),
            ready: Arc::new(AtomicBool::new(true)),
            reload: homeostat_http::ReloadHandle::disabled(1_700_000_000_000),
        },
        clock: w.clock.clone(),
        slos: services.slos,
        rules: Arc::new(homeostat_rules::NoRules),
        incidents: IncidentDesk::new(incidents, persisted.audit.clone()),
        alertmanager: None,
        gate: services.gate,
        release: services.release,
        signals: services.signals,
        analysis: Default::default(),
        browser: Default::default(),
        tokens: services.tokens,
        cluster: homeostat_app::ClusterView::single("test".into()),
        fault_proxy: None,
        traffic: homeostat_traffic::TrafficDesk::new(
            homeostat_traffic::Traffic::empty(),
            persisted.audit.clone(),
            w.clock.clone(),
        ),
        chaos: services.chaos,
        toil: services.toil,
        monkey: Arc::new(homeostat_app::MonkeyService::new(
            Default::default(),
            persisted.clone(),
            None,
            Arc::new(homeostat_app::NoMonkeyEffects),
            w.clock.clone(),
            1,
        )),
        remediation: None,
    };
    (st, persisted)
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = to_bytes(resp.into_body(), 1 << 24).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn write(body: Vec<u8>) -> Request<Body> {
    Request::post("/api/v1/write")
        .header("Content-Encoding", "snappy")
        .body(Body::from(body))
        .unwrap()
}

fn ts(name: &str, t: i64, v: f64) -> TimeSeries {
    TimeSeries {
        labels: Labels::from_pairs(&[("__name__", name), ("job", "x")]),
        samples: vec![Sample::new(t, v)],
    }
}

fn raw(labels: &[(&str, &str)]) -> Vec<u8> {
    WriteRequest {
        timeseries: vec![PbTimeSeries {
            labels: labels
                .iter()
                .map(|(n, v)| PbLabel {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            samples: vec![PbSample {
                value: 1.0,
                timestamp: 1,
            }],
            ..Default::default()
        }],
        metadata: vec![],
    }
    .encode_to_vec()
}

fn all(store: &MemStorage) -> Vec<TimeSeries> {
    store
        .select(&SelectRequest::new(vec![], i64::MIN, i64::MAX))
        .unwrap()
}

#[tokio::test]
async fn remote_write_good_and_bad() {
    let store = Arc::new(MemStorage::new());
    let app = app(
        store.clone(),
        Limits {
            max_request_body_bytes: 4096,
            max_series_per_request: 3,
            ..Default::default()
        },
    );
    let (s, _) = call(
        &app,
        write(encode(&[ts("a", 1000, 1.0), ts("b", 1000, 2.0)])),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let before = all(&store);
    assert_eq!(before.len(), 2);

    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (
            b"\xff\x00garbage".to_vec(),
            StatusCode::BAD_REQUEST,
            "snappy",
        ),
        (
            compress(b"\x0a\xff\xff\xff"),
            StatusCode::BAD_REQUEST,
            "protobuf",
        ),
        (
            compress(&raw(&[("__name__", "m"), ("bad-label", "x")])),
            StatusCode::BAD_REQUEST,
            "bad-label",
        ),
        (
            compress(&raw(&[("__name__", "m"), ("a", "1"), ("a", "2")])),
            StatusCode::BAD_REQUEST,
            "duplicate",
        ),
        (
            compress(&raw(&[("job", "no_name")])),
            StatusCode::BAD_REQUEST,
            "metric name",
        ),
        (
            compress(&raw(&[("__name__", "")])),
            StatusCode::BAD_REQUEST,
            "metric name",
        ),
        (
            vec![0u8; 5000],
            StatusCode::PAYLOAD_TOO_LARGE,
            "max_request_body_bytes=4096",
        ),
        (
            encode(&[
                ts("a", 2000, 1.0),
                ts("b", 2000, 1.0),
                ts("c", 2000, 1.0),
                ts("d", 2000, 1.0),
            ]),
            StatusCode::BAD_REQUEST,
            "max_series_per_request=3",
        ),
    ];
    for (body, want, text) in cases {
        let (s, msg) = call(&app, write(body)).await;
        assert_eq!(s, want, "{msg}");
        assert!(msg.contains(text), "expected {text:?} in {msg:?}");
    }
    // Non-UTF-8 label value.
    let mut r = raw(&[("__name__", "m"), ("a", "zz")]);
    let pos = r.windows(2).position(|w| w == b"zz").unwrap();
    r[pos] = 0xc3;
    r[pos + 1] = 0x28;
    let (s, msg) = call(&app, write(compress(&r))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{msg}");
    assert_eq!(
        all(&store),
        before,
        "nothing accepted was lost or changed by bad requests"
    );

    // Out of order: 400, the in-order sample of the same request is kept.
    let (s, msg) = call(
        &app,
        write(encode(&[ts("a", 500, 9.0), ts("b", 3000, 3.0)])),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        msg.contains("out_of_order: 1") && msg.contains("1 accepted"),
        "{msg}"
    );
    assert_eq!(all(&store)[1].samples.len(), 2);
}

#[tokio::test]
async fn read_api_shapes_and_errors() {
    let store = Arc::new(MemStorage::new());
    let app = app(store.clone(), Limits::default());
    call(
        &app,
        write(encode(&[
            ts("up", 1_000_000, 1.0),
            ts("down", 1_000_000, 0.0),
        ])),
    )
    .await;
    let (s, body) = call(
        &app,
        Request::get("/api/v1/series?match[]=up")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        body,
        r#"{"data":[{"__name__":"up","job":"x"}],"status":"success"}"#
    );
    let (_, body) = call(
        &app,
        Request::get("/api/v1/labels").body(Body::empty()).unwrap(),
    )
    .await;
    assert!(body.contains(r#""data":["__name__","job"]"#), "{body}");
    let (_, body) = call(
        &app,
        Request::get("/api/v1/label/__name__/values")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(body.contains(r#"["down","up"]"#), "{body}");
    let (s, body) = call(
        &app,
        Request::post("/api/v1/series")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(Body::from("match[]=down&start=0&end=2000"))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("down"), "{body}");
    let (_, body) = call(
        &app,
        Request::get("/api/v1/debug/samples?match[]=up")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(body.contains(r#""values":[[1000.0,"1"]]"#), "{body}");

    for uri in [
        "/api/v1/series?match[]=up%7B",
        "/api/v1/series?match[]=sum(up)",
        "/api/v1/series",
        "/api/v1/series?match[]=up&start=yesterday",
        "/api/v1/debug/samples?match[]=%7Bjob%3D~%22.*%22%7D",
        "/api/v1/label/bad-name/values",
    ] {
        let (s, body) = call(&app, Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(body.contains(r#""errorType":"bad_data""#), "{uri}: {body}");
    }
}

#[tokio::test]
async fn metrics_counts_ingestion_and_rejections() {
    let store = Arc::new(MemStorage::new());
    let app = app(store, Limits::default());
    call(&app, write(encode(&[ts("a", 1000, 1.0)]))).await;
    call(&app, write(encode(&[ts("a", 500, 1.0)]))).await;
    let (s, body) = call(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains(r#"homeostat_samples_ingested_total{source="remote_write"} 1"#),
        "{body}"
    );
    assert!(
        body.contains(
            r#"homeostat_samples_rejected_total{reason="out_of_order",source="remote_write"} 1"#
        ),
        "{body}"
    );
    assert!(
        body.contains("homeostat_http_request_duration_seconds_bucket"),
        "{body}"
    );
    // Our own exposition must parse with our own parser.
    homeostat_wire::exposition::parse(body.as_bytes(), None).unwrap();
}

fn otlp(ct: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post("/v1/metrics")
        .header("Content-Type", ct)
        .body(body.into())
        .unwrap()
}

const OTLP_JSON: &str = r#"{"resourceMetrics":[{"resource":{"attributes":[
  {"key":"service.name","value":{"stringValue":"checkout"}},
  {"key":"service.instance.id","value":{"stringValue":"i-1"}}]},
 "scopeMetrics":[{"metrics":[{"name":"queue.depth","gauge":{"dataPoints":[
  {"timeUnixNano":"1700000000000000000","asInt":"7","attributes":[{"key":"q","value":{"stringValue":"a"}}]}]}}]}]}]}"#;

#[tokio::test]
async fn otlp_json_protobuf_gzip_and_errors() {
    let store = Arc::new(MemStorage::new());
    let app = app(store.clone(), Limits::default());
    let (s, body) = call(&app, otlp("application/json", OTLP_JSON)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body, "{}");
    let got = all(&store);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].labels.to_string(),
        r#"queue_depth{instance="i-1", job="checkout", q="a"}"#
    );
    assert_eq!(got[0].samples, vec![Sample::new(1_700_000_000_000, 7.0)]);

    // The same content gzip-compressed, one second later.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(
        &mut gz,
        OTLP_JSON
            .replace("1700000000000000000", "1700000001000000000")
            .as_bytes(),
    )
    .unwrap();
    let req = Request::post("/v1/metrics")
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .body(Body::from(gz.finish().unwrap()))
        .unwrap();
    let (s, body) = call(&app, req).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(all(&store)[0].samples.len(), 2);

    // Resending the first point with a new value is refused as a partial success.
    let (s, body) = call(
        &app,
        otlp("application/json", OTLP_JSON.replace("\"7\"", "\"8\"")),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("partialSuccess") && body.contains("out_of_order"),
        "{body}"
    );

    let (s, body) = call(&app, otlp("application/json", "{not json")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("\"code\":3"), "{body}");
    let (s, _) = call(
        &app,
        otlp("application/x-protobuf", vec![0xffu8, 0xff, 0xff]),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(&app, otlp("application/x-protobuf", Vec::<u8>::new())).await;
    assert_eq!(s, StatusCode::OK, "an empty export is valid");
    let (s, _) = call(&app, otlp("text/plain", "x")).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        all(&store)[0].samples.len(),
        2,
        "bad requests changed nothing"
    );
}
