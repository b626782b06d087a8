//! Scrapes a real HTTP target on loopback into the in-memory store.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use homeostat_ingest::{GlobalConfig, ScrapeConfig, ScrapeManager, TargetHealth};
use homeostat_model::{SystemClock, is_stale_nan};
use homeostat_storage::{Matcher, MemStorage, Querier, SelectRequest};

/// Serves `pages[n]` on the n-th request (the last one forever); `None` = 500.
async fn serve(pages: Vec<Option<&'static str>>) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let n = h.fetch_add(1, Ordering::SeqCst);
            let page = pages[n.min(pages.len() - 1)];
            async move {
                match page {
                    Some(p) => (axum::http::StatusCode::OK, p.to_string()),
                    None => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, String::new()),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, hits)
}

fn config(addr: &str, extra: &str) -> Vec<ScrapeConfig> {
    serde_norway::from_str(&format!(
        "- job_name: t\n  scrape_interval: 150ms\n  scrape_timeout: 100ms\n  static_configs: [{{targets: ['{addr}'], labels: {{env: test}}}}]\n{extra}"
    ))
    .unwrap()
}

fn series(store: &MemStorage, name: &str) -> Vec<homeostat_model::TimeSeries> {
    store
        .select(&SelectRequest::new(
            vec![Matcher::equal("__name__", name)],
            i64::MIN,
            i64::MAX,
        ))
        .unwrap()
}

async fn run_until(
    store: Arc<MemStorage>,
    cfg: Vec<ScrapeConfig>,
    hits: &AtomicUsize,
    n: usize,
) -> homeostat_ingest::ScrapeStatusHandle {
    let mgr =
        ScrapeManager::new(GlobalConfig::default(), cfg, store, Arc::new(SystemClock)).unwrap();
    let status = mgr.status();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(mgr.run(rx));
    for _ in 0..100 {
        if hits.load(Ordering::SeqCst) >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tx.send(true).unwrap();
    task.await.unwrap();
    status
}

#[tokio::test]
async fn scrapes_with_target_labels_synthetic_series_and_staleness() {
    let (addr, hits) = serve(vec![
        Some("a{job=\"inner\"} 1\nb 2\n"),
        Some("a{job=\"inner\"} 3\n"),
        None,
        Some("a{job=\"inner\"} 5\n"),
    ])
    .await;
    let store = Arc::new(MemStorage::new());
    let status = run_until(store.clone(), config(&addr, ""), &hits, 4).await;

    let a = series(&store, "a");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].labels.get("job"), Some("t"), "target label wins");
    assert_eq!(
        a[0].labels.get("exported_job"),
        Some("inner"),
        "scraped label moved aside"
    );
    assert_eq!(a[0].labels.get("instance"), Some(addr.as_str()));
    assert_eq!(a[0].labels.get("env"), Some("test"));
    let vals: Vec<f64> = a[0].samples.iter().map(|s| s.v).collect();
    assert_eq!(vals[..2], [1.0, 3.0]);
    assert!(
        is_stale_nan(vals[2]),
        "failed scrape stale-marks the series: {vals:?}"
    );
    assert_eq!(vals[3], 5.0);

    let b = series(&store, "b");
    assert!(
        is_stale_nan(b[0].samples[1].v),
        "vanished series gets a stale marker"
    );

    let up: Vec<f64> = series(&store, "up")[0]
        .samples
        .iter()
        .map(|s| s.v)
        .collect();
    assert_eq!(up[..4], [1.0, 1.0, 0.0, 1.0]);
    assert!(
        is_stale_nan(*up.last().unwrap()),
        "shutdown stale-marks the target"
    );
    for name in [
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ] {
        assert_eq!(series(&store, name).len(), 1, "{name}");
    }
    let scraped: Vec<f64> = series(&store, "scrape_samples_scraped")[0]
        .samples
        .iter()
        .map(|s| s.v)
        .collect();
    assert_eq!(scraped[..2], [2.0, 1.0]);
    let t = status.targets();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].health, TargetHealth::Up);
}

#[tokio::test]
async fn honor_labels_metric_relabel_and_sample_limit() {
    let (addr, hits) = serve(vec![Some("a{job=\"inner\"} 1\ndrop_me 2\n")]).await;
    let store = Arc::new(MemStorage::new());
    let extra = "  honor_labels: true\n  metric_relabel_configs: [{source_labels: [__name__], regex: drop_me, action: drop}]\n";
    run_until(store.clone(), config(&addr, extra), &hits, 2).await;
    assert_eq!(series(&store, "a")[0].labels.get("job"), Some("inner"));
    assert!(series(&store, "drop_me").is_empty());

    let (addr, hits) = serve(vec![Some("a 1\nb 2\nc 3\n")]).await;
    let store = Arc::new(MemStorage::new());
    let status = run_until(
        store.clone(),
        config(&addr, "  sample_limit: 2\n"),
        &hits,
        2,
    )
    .await;
    assert!(series(&store, "a").is_empty());
    assert_eq!(series(&store, "up")[0].samples[0].v, 0.0);
    assert!(
        status.targets()[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("sample_limit")
    );
}
