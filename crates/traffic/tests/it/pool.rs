//! The pool: outlier ejection and return, the max ejection percentage,
//! health checks, weight shifts and the fallbacks when nothing is left.

use std::collections::BTreeMap;
use std::time::Duration;

use homeostat_traffic::{
    FallbackSpec, HealthCheckSpec, OutlierSpec, StaticAnswer, TrafficEvent, Weights,
};

use crate::upstream::{Upstream, client, endpoint, eventually, get, route, start, tally};

fn outlier(base_ms: u64, max_pct: u32) -> OutlierSpec {
    OutlierSpec {
        consecutive_5xx: Some(3),
        consecutive_gateway_failure: None,
        interval: Duration::from_millis(50),
        base_ejection_time: Duration::from_millis(base_ms),
        max_ejection_percent: max_pct,
    }
}

fn health(interval_ms: u64) -> HealthCheckSpec {
    HealthCheckSpec {
        path: "/healthz".into(),
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(500),
        healthy_threshold: 2,
        unhealthy_threshold: 2,
    }
}

#[tokio::test]
async fn consecutive_5xx_eject_an_endpoint_until_its_ejection_time_ends() {
    let (a, b) = (Upstream::start("a").await, Upstream::start("b").await);
    a.set_status(500);
    let mut spec = route("r", vec![endpoint(&a, "z", 1), endpoint(&b, "z", 1)]);
    spec.outlier = Some(outlier(600, 50));
    let (t, url) = start(spec).await;
    let mut events = t.subscribe();
    let c = client();
    // Until a has answered three 500s in a row it still gets its share.
    eventually("a ejected", 5, async || {
        get(&c, &url).await;
        t.route("r").unwrap().endpoints[0].ejected
    })
    .await;
    let st = t.route("r").unwrap();
    assert!(st.endpoints[0].ejected_until.is_some());
    assert_eq!(st.endpoints[0].times_ejected, 1);
    assert!(matches!(
        events.recv().await.unwrap(),
        TrafficEvent::EndpointEjected { .. }
    ));
    let hits = a.hits();
    let seen = tally(&c, &url, 20).await;
    assert_eq!(seen.get("b"), Some(&20), "{seen:?}");
    assert_eq!(a.hits(), hits, "an ejected endpoint gets no requests");
    a.set_status(200);
    // Back after base_ejection_time × 1 (600 ms), seen by the 50 ms sweep.
    eventually("a returned", 5, async || {
        !t.route("r").unwrap().endpoints[0].ejected
    })
    .await;
    assert!(matches!(
        events.recv().await.unwrap(),
        TrafficEvent::EndpointReturned { .. }
    ));
    let seen = tally(&c, &url, 40).await;
    assert!(seen.get("a").copied().unwrap_or(0) > 5, "{seen:?}");
    let m = t.metrics();
    let ejections = m
        .iter()
        .find(|m| {
            m.name == "homeostat_traffic_ejections_total"
                && m.labels.iter().any(|(_, v)| v == &a.addr.to_string())
        })
        .unwrap();
    assert_eq!(ejections.value, 1.0);
}

#[tokio::test]
async fn never_more_than_max_ejection_percent_of_the_pool() {
    let ups = [
        Upstream::start("a").await,
        Upstream::start("b").await,
        Upstream::start("c").await,
    ];
    for u in &ups {
        u.set_status(503);
    }
    let mut spec = route("r", ups.iter().map(|u| endpoint(u, "z", 1)).collect());
    spec.outlier = Some(outlier(60_000, 50));
    let (t, url) = start(spec).await;
    let c = client();
    for _ in 0..60 {
        assert_eq!(get(&c, &url).await.0, 503);
    }
    let ejected = t
        .route("r")
        .unwrap()
        .endpoints
        .iter()
        .filter(|e| e.ejected)
        .count();
    assert_eq!(ejected, 1, "2 of 3 would be over 50%");
}

#[tokio::test]
async fn weight_shifts_apply_to_the_next_requests() {
    let (a, b) = (Upstream::start("a").await, Upstream::start("b").await);
    let (t, url) = start(route(
        "checkout",
        vec![endpoint(&a, "za", 1), endpoint(&b, "zb", 1)],
    ))
    .await;
    let c = client();
    let seen = tally(&c, &url, 40).await;
    assert!(
        seen.get("a").copied().unwrap_or(0) > 5 && seen.get("b").copied().unwrap_or(0) > 5,
        "{seen:?}"
    );
    let update = Weights {
        zones: BTreeMap::from([("za".into(), 0), ("zb".into(), 100)]),
        endpoints: BTreeMap::new(),
    };
    let shifted_at = std::time::Instant::now();
    let (before, after) = t.set_weights("checkout", &update, "test").unwrap();
    assert!(before.zones.is_empty());
    assert_eq!(after.zones, update.zones);
    let seen = tally(&c, &url, 30).await;
    assert_eq!(seen.get("b"), Some(&30), "{seen:?}");
    assert!(shifted_at.elapsed() < Duration::from_secs(1));
    // Endpoint weights inside a zone; unknown names are refused.
    let err = t
        .set_weights(
            "checkout",
            &Weights {
                zones: BTreeMap::from([("zc".into(), 1)]),
                ..Default::default()
            },
            "test",
        )
        .unwrap_err();
    assert!(err.to_string().contains("zc"), "{err}");
    t.set_weights(
        "checkout",
        &Weights {
            zones: BTreeMap::from([("za".into(), 100)]),
            endpoints: BTreeMap::from([(b.addr.to_string(), 0)]),
        },
        "test",
    )
    .unwrap();
    assert_eq!(tally(&c, &url, 10).await.get("a"), Some(&10));
}

#[tokio::test]
async fn health_checks_mark_endpoints_down_and_up() {
    let (a, b) = (Upstream::start("a").await, Upstream::start("b").await);
    let mut spec = route("r", vec![endpoint(&a, "z", 1), endpoint(&b, "z", 1)]);
    spec.health_check = Some(health(30));
    let (t, url) = start(spec).await;
    let c = client();
    a.health.store(503, std::sync::atomic::Ordering::SeqCst);
    eventually("a unhealthy", 5, async || {
        !t.route("r").unwrap().endpoints[0].healthy
    })
    .await;
    assert_eq!(tally(&c, &url, 20).await.get("b"), Some(&20));
    a.health.store(200, std::sync::atomic::Ordering::SeqCst);
    eventually("a healthy", 5, async || {
        t.route("r").unwrap().endpoints[0].healthy
    })
    .await;
    let seen = tally(&c, &url, 40).await;
    assert!(seen.get("a").copied().unwrap_or(0) > 5, "{seen:?}");
}

#[tokio::test]
async fn static_fallback_when_every_endpoint_is_down() {
    let a = Upstream::start("a").await;
    let mut spec = route("r", vec![endpoint(&a, "z", 1)]);
    spec.health_check = Some(health(30));
    spec.fallback = FallbackSpec {
        stale_cache: false,
        static_answer: Some(StaticAnswer {
            status: 200,
            body: "sorry, later".into(),
            headers: vec![("retry-after".into(), "5".into())],
        }),
    };
    let (t, url) = start(spec).await;
    let c = client();
    assert_eq!(get(&c, &url).await, (200, "a".into()));
    a.health.store(500, std::sync::atomic::Ordering::SeqCst);
    eventually("a unhealthy", 5, async || {
        !t.route("r").unwrap().endpoints[0].available
    })
    .await;
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.headers()["x-homeostat-fallback"], "static");
    assert_eq!(r.headers()["retry-after"], "5");
    assert_eq!(r.text().await.unwrap(), "sorry, later");
}

#[tokio::test]
async fn stale_cache_serves_the_last_good_get_and_plain_503_otherwise() {
    let a = Upstream::start("a").await;
    let mut spec = route("r", vec![endpoint(&a, "z", 1)]);
    spec.health_check = Some(health(30));
    spec.fallback = FallbackSpec {
        stale_cache: true,
        static_answer: None,
    };
    let (t, url) = start(spec).await;
    let c = client();
    assert_eq!(get(&c, &format!("{url}/page?x=1")).await, (200, "a".into()));
    a.health.store(500, std::sync::atomic::Ordering::SeqCst);
    eventually("a unhealthy", 5, async || {
        !t.route("r").unwrap().endpoints[0].available
    })
    .await;
    let r = c.get(format!("{url}/page?x=1")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-homeostat-fallback"], "stale");
    assert_eq!(r.text().await.unwrap(), "a");
    // Never seen, or not a GET: nothing to serve.
    let (s, body) = get(&c, &format!("{url}/other")).await;
    assert_eq!((s, body.as_str()), (503, "no healthy upstream"));
    assert_eq!(
        c.post(format!("{url}/page?x=1"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
}

#[tokio::test]
async fn connect_failures_are_gateway_failures() {
    // A port nothing listens on: bind, read the port, close.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let b = Upstream::start("b").await;
    let mut spec = route(
        "r",
        vec![
            homeostat_traffic::EndpointSpec {
                address: dead.to_string(),
                zone: "z".into(),
                weight: 1,
            },
            endpoint(&b, "z", 1),
        ],
    );
    spec.outlier = Some(OutlierSpec {
        consecutive_5xx: None,
        consecutive_gateway_failure: Some(2),
        ..outlier(60_000, 50)
    });
    let (t, url) = start(spec).await;
    let c = client();
    eventually("dead endpoint ejected", 5, async || {
        get(&c, &url).await;
        t.route("r").unwrap().endpoints[0].ejected
    })
    .await;
    assert_eq!(tally(&c, &url, 10).await.get("b"), Some(&10));
}
