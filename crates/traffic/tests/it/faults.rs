//! HTTP faults: abort and delay by percentage and matchers, added and
//! removed while the route serves.

use std::time::{Duration, Instant};

use homeostat_traffic::FaultSpec;

use crate::upstream::{Upstream, client, endpoint, get, route, start};

fn fault(json: &str) -> FaultSpec {
    serde_json::from_str(json).unwrap()
}

#[tokio::test]
async fn abort_by_header_and_by_percentage() {
    let a = Upstream::start("a").await;
    let (t, url) = start(route("r", vec![endpoint(&a, "z", 1)])).await;
    let c = client();
    t.add_fault(
        "r",
        fault(r#"{"name":"teapot","match":{"headers":[{"name":"x-chaos","exact":"yes"}]},"abort":{"http_status":418}}"#),
        "test",
    )
    .unwrap();
    let r = c.get(&url).header("x-chaos", "yes").send().await.unwrap();
    assert_eq!(r.status(), 418);
    assert_eq!(
        get(&c, &url).await,
        (200, "a".into()),
        "no header, no fault"
    );
    t.add_fault(
        "r",
        fault(r#"{"name":"half","abort":{"http_status":503,"percentage":50}}"#),
        "test",
    )
    .unwrap();
    let mut aborted = 0;
    for _ in 0..200 {
        if get(&c, &url).await.0 == 503 {
            aborted += 1;
        }
    }
    assert!((60..=140).contains(&aborted), "{aborted} of 200 at 50%");
    assert_eq!(t.remove_fault("r", "half", "test").unwrap().name, "half");
    assert_eq!(get(&c, &url).await.0, 200);
    assert!(
        t.remove_fault("r", "half", "test")
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(t.faults("r").unwrap().len(), 1);
}

#[tokio::test]
async fn delay_by_path_and_method() {
    let a = Upstream::start("a").await;
    let (t, url) = start(route("r", vec![endpoint(&a, "z", 1)])).await;
    let c = client();
    t.add_fault(
        "r",
        fault(r#"{"name":"slow","match":{"path_prefix":"/slow","methods":["GET"]},"delay":{"fixed_delay":"300ms"}}"#),
        "test",
    )
    .unwrap();
    let t0 = Instant::now();
    assert_eq!(get(&c, &format!("{url}/slow/x")).await.0, 200);
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let t0 = Instant::now();
    assert_eq!(get(&c, &format!("{url}/fast")).await.0, 200);
    assert_eq!(
        c.post(format!("{url}/slow")).send().await.unwrap().status(),
        200
    );
    assert!(
        t0.elapsed() < Duration::from_millis(300),
        "unmatched requests are not delayed"
    );
    let err = t
        .add_fault(
            "r",
            fault(r#"{"name":"bad","abort":{"http_status":700}}"#),
            "test",
        )
        .unwrap_err();
    assert!(err.to_string().contains("abort.http_status"), "{err}");
}
