//! A tiny upstream whose answers the test changes while it runs, and the
//! helpers to build routes and send requests.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use homeostat_traffic::{BreakerSpec, EndpointSpec, FallbackSpec, RouteSpec, Traffic};
use http_body_util::Full;
use hyper_util::rt::TokioIo;

/// One upstream: answers `status` after `delay_ms` with its own name as
/// the body; `/healthz` answers `health`.
#[derive(Clone)]
pub struct Upstream {
    pub addr: SocketAddr,
    pub status: Arc<AtomicU16>,
    pub health: Arc<AtomicU16>,
    pub delay_ms: Arc<AtomicU64>,
    pub hits: Arc<AtomicU64>,
}

impl Upstream {
    pub async fn start(name: &'static str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let up = Upstream {
            addr: listener.local_addr().unwrap(),
            status: Arc::new(AtomicU16::new(200)),
            health: Arc::new(AtomicU16::new(200)),
            delay_ms: Arc::new(AtomicU64::new(0)),
            hits: Arc::new(AtomicU64::new(0)),
        };
        let u = up.clone();
        tokio::spawn(async move {
            loop {
                let (s, _) = listener.accept().await.unwrap();
                let u = u.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let u = u.clone();
                            async move {
                                let status = if req.uri().path() == "/healthz" {
                                    u.health.load(Ordering::SeqCst)
                                } else {
                                    u.hits.fetch_add(1, Ordering::SeqCst);
                                    let d = u.delay_ms.load(Ordering::SeqCst);
                                    if d > 0 {
                                        tokio::time::sleep(Duration::from_millis(d)).await;
                                    }
                                    u.status.load(Ordering::SeqCst)
                                };
                                let mut resp = hyper::Response::new(Full::new(Bytes::from(name)));
                                *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                                Ok::<_, Infallible>(resp)
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(s), svc)
                        .await;
                });
            }
        });
        up
    }

    pub fn set_status(&self, s: u16) {
        self.status.store(s, Ordering::SeqCst);
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}

pub fn endpoint(u: &Upstream, zone: &str, weight: u32) -> EndpointSpec {
    EndpointSpec {
        address: u.addr.to_string(),
        zone: zone.into(),
        weight,
    }
}

/// A route on an ephemeral port with nothing but the endpoints.
pub fn route(name: &str, endpoints: Vec<EndpointSpec>) -> RouteSpec {
    RouteSpec {
        name: name.into(),
        listen: "127.0.0.1:0".parse().unwrap(),
        endpoints,
        zone_weights: BTreeMap::new(),
        health_check: None,
        outlier: None,
        breakers: BreakerSpec::default(),
        fallback: FallbackSpec::default(),
        timeout: Duration::from_secs(5),
        faults: Vec::new(),
    }
}

pub async fn start(spec: RouteSpec) -> (Traffic, String) {
    let name = spec.name.clone();
    let t = Traffic::start(vec![spec], Arc::new(homeostat_model::SystemClock))
        .await
        .unwrap();
    let url = format!("http://{}", t.local_addr(&name).unwrap());
    (t, url)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Status and body of one GET.
pub async fn get(c: &reqwest::Client, url: &str) -> (u16, String) {
    let r = c.get(url).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.text().await.unwrap())
}

/// How many of `n` GETs each body answered.
pub async fn tally(c: &reqwest::Client, url: &str, n: usize) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for _ in 0..n {
        let (_, body) = get(c, url).await;
        *m.entry(body).or_insert(0) += 1;
    }
    m
}

/// Polls until `f` holds or the (generous) deadline passes.
pub async fn eventually(what: &str, secs: u64, mut f: impl AsyncFnMut() -> bool) {
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < end {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}
