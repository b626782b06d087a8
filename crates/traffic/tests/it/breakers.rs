//! Circuit breakers: max requests and max pending requests refuse at once
//! with 503 and `x-homeostat-overflow`; the route timeout answers 504.

use std::sync::atomic::Ordering;
use std::time::Duration;

use homeostat_traffic::BreakerSpec;

use crate::upstream::{Upstream, client, endpoint, get, route, start};

/// Fires `n` GETs at once; the statuses and overflow headers.
async fn burst(url: &str, n: usize) -> Vec<(u16, Option<String>)> {
    let c = client();
    let reqs = (0..n).map(|_| {
        let c = c.clone();
        let url = url.to_string();
        tokio::spawn(async move {
            let r = c.get(&url).send().await.unwrap();
            let h = r
                .headers()
                .get("x-homeostat-overflow")
                .map(|v| v.to_str().unwrap().to_string());
            (r.status().as_u16(), h)
        })
    });
    let mut out = Vec::new();
    for r in reqs.collect::<Vec<_>>() {
        out.push(r.await.unwrap());
    }
    out.sort();
    out
}

#[tokio::test]
async fn max_requests_overflow_answers_503_at_once() {
    let a = Upstream::start("a").await;
    a.delay_ms.store(400, Ordering::SeqCst);
    let mut spec = route("r", vec![endpoint(&a, "z", 1)]);
    spec.breakers = BreakerSpec {
        max_connections: 100,
        max_pending_requests: 100,
        max_requests: 2,
    };
    let (t, url) = start(spec).await;
    let got = burst(&url, 5).await;
    let ok = got.iter().filter(|(s, _)| *s == 200).count();
    let over: Vec<_> = got.iter().filter(|(s, _)| *s == 503).collect();
    assert_eq!(ok, 2, "{got:?}");
    assert_eq!(over.len(), 3, "{got:?}");
    assert!(
        over.iter()
            .all(|(_, h)| h.as_deref() == Some("max_requests"))
    );
    let m = t.metrics();
    let v = m
        .iter()
        .find(|m| {
            m.name == "homeostat_traffic_overflow_total"
                && m.labels.contains(&("breaker", "max_requests".into()))
        })
        .unwrap();
    assert_eq!(v.value, 3.0);
    assert_eq!(
        t.route("r").unwrap().breakers.requests,
        0,
        "slots are freed"
    );
}

#[tokio::test]
async fn pending_requests_wait_for_a_connection_up_to_the_limit() {
    let a = Upstream::start("a").await;
    a.delay_ms.store(300, Ordering::SeqCst);
    let mut spec = route("r", vec![endpoint(&a, "z", 1)]);
    spec.breakers = BreakerSpec {
        max_connections: 1,
        max_pending_requests: 1,
        max_requests: 100,
    };
    let (_t, url) = start(spec).await;
    let got = burst(&url, 3).await;
    assert_eq!(
        got,
        vec![
            (200, None),
            (200, None),
            (503, Some("max_pending_requests".into()))
        ],
        "one in flight, one waiting, one refused"
    );
}

#[tokio::test]
async fn route_timeout_answers_504() {
    let a = Upstream::start("a").await;
    a.delay_ms.store(2_000, Ordering::SeqCst);
    let mut spec = route("r", vec![endpoint(&a, "z", 1)]);
    spec.timeout = Duration::from_millis(200);
    let (_t, url) = start(spec).await;
    let t0 = std::time::Instant::now();
    assert_eq!(
        get(&client(), &url).await,
        (504, "upstream request timeout".into())
    );
    assert!(t0.elapsed() < Duration::from_millis(1_500));
}
