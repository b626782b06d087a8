//! Scrapes real HTTP targets on loopback into the in-memory store, with short
//! intervals and the system clock (the loop's timers are tokio's, so real
//! time here keeps the test honest about the HTTP path).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use homeostat_ingest::{
    GlobalConfig, ScrapeConfig, ScrapeManager, ScrapeStatusHandle, TargetHealth,
};
use homeostat_model::{SystemClock, TimeSeries, is_stale_nan};
use homeostat_storage::{
    AppendReport, Appender, Matcher, MemStorage, Querier, SelectRequest, StorageError,
};
use parking_lot::Mutex;
use tokio::sync::watch;

#[derive(Clone)]
enum Page {
    Text(&'static str),
    OpenMetrics(&'static str),
    Status(u16),
    Slow(Duration),
}

/// What the target saw of a request.
#[derive(Debug, Clone)]
struct Seen {
    accept: String,
    timeout_header: String,
    query: String,
}

/// A target serving `pages[n]` on the n-th request (the last one forever).
struct TestTarget {
    addr: String,
    hits: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestTarget {
    async fn start(pages: Vec<Page>) -> TestTarget {
        let hits = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (h, s) = (hits.clone(), seen.clone());
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(
                move |headers: axum::http::HeaderMap, uri: axum::http::Uri| {
                    let header = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    s.lock().push(Seen {
                        accept: header("accept"),
                        timeout_header: header("x-prometheus-scrape-timeout-seconds"),
                        query: uri.query().unwrap_or("").to_string(),
                    });
                    let n = h.fetch_add(1, Ordering::SeqCst);
                    let page = pages[n.min(pages.len() - 1)].clone();
                    async move { respond(page).await }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap()
        });
        TestTarget {
            addr,
            hits,
            seen,
            stop: Some(stop),
            task,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Stops listening and closes kept-alive connections: the target is down.
    async fn shut_down(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task).await.unwrap();
    }
}

async fn respond(page: Page) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    match page {
        Page::Text(p) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            p,
        )
            .into_response(),
        Page::OpenMetrics(p) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            p,
        )
            .into_response(),
        Page::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Page::Slow(d) => {
            tokio::time::sleep(d).await;
            "late 1\n".into_response()
        }
    }
}

/// One job `t` scraping `targets` every 100ms; `extra` is more YAML for the job.
fn config(targets: &[&str], extra: &str) -> Vec<ScrapeConfig> {
    let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
    serde_norway::from_str(&format!(
        "- job_name: t\n  scrape_interval: 100ms\n  scrape_timeout: 80ms\n  static_configs: [{{targets: [{}], labels: {{env: test}}}}]\n{extra}",
        list.join(", ")
    ))
    .unwrap()
}

fn select(store: &MemStorage, matchers: Vec<Matcher>) -> Vec<TimeSeries> {
    store
        .select(&SelectRequest::new(matchers, i64::MIN, i64::MAX))
        .unwrap()
}

fn series(store: &MemStorage, name: &str) -> Vec<TimeSeries> {
    select(store, vec![Matcher::equal("__name__", name)])
}

fn values(ts: &TimeSeries) -> Vec<f64> {
    ts.samples.iter().map(|s| s.v).collect()
}

fn is_stale_last(ts: &TimeSeries) -> bool {
    ts.samples.last().is_some_and(|s| is_stale_nan(s.v))
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A manager running in the background until `stop` is called.
struct Running {
    status: ScrapeStatusHandle,
    reloader: homeostat_ingest::ScrapeReloader,
    tx: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    fn start(appender: Arc<dyn Appender>, cfg: Vec<ScrapeConfig>) -> Running {
        let mgr = ScrapeManager::new(
            GlobalConfig::default(),
            cfg,
            appender,
            Arc::new(SystemClock),
        )
        .unwrap();
        let status = mgr.status();
        let reloader = mgr.reloader();
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(mgr.run(rx));
        Running {
            status,
            reloader,
            tx,
            task,
        }
    }

    async fn stop(self) -> ScrapeStatusHandle {
        self.tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("manager stops promptly")
            .unwrap();
        self.status
    }
}

#[tokio::test]
async fn scrapes_with_target_labels_synthetic_series_and_staleness() {
    let target = TestTarget::start(vec![
        Page::Text("a{job=\"inner\"} 1\nb 2\n"),
        Page::Text("a{job=\"inner\"} 3\n"),
        Page::Status(500),
        Page::Text("a{job=\"inner\"} 5\n"),
    ])
    .await;
    let store = Arc::new(MemStorage::new());
    let run = Running::start(store.clone(), config(&[&target.addr], ""));
    assert_eq!(run.status.targets()[0].health, TargetHealth::Unknown);
    wait_until("4 scrapes", || target.hits() >= 4).await;
    wait_until("the 4th scrape stored", || {
        series(&store, "up")
            .first()
            .is_some_and(|s| s.samples.len() >= 4)
    })
    .await;
    let status = run.stop().await;

    let a = series(&store, "a");
    assert_eq!(a.len(), 1);
    let labels = &a[0].labels;
    assert_eq!(labels.get("job"), Some("t"), "target label wins");
    assert_eq!(
        labels.get("exported_job"),
        Some("inner"),
        "scraped label moved aside"
    );
    assert_eq!(labels.get("instance"), Some(target.addr.as_str()));
    assert_eq!(labels.get("env"), Some("test"));
    let vals = values(&a[0]);
    assert_eq!(vals[..2], [1.0, 3.0]);
    assert!(is_stale_nan(vals[2]), "failed scrape stale-marks: {vals:?}");
    assert_eq!(vals[3], 5.0);
    assert!(is_stale_last(&a[0]), "shutdown stale-marks: {vals:?}");

    let b = series(&store, "b");
    assert_eq!(values(&b[0]).len(), 2);
    assert!(
        is_stale_nan(values(&b[0])[1]),
        "vanished series gets a stale marker"
    );
    assert_eq!(
        b[0].samples[1].t, a[0].samples[1].t,
        "marker at the next scrape's time"
    );

    let up = values(&series(&store, "up")[0]);
    assert_eq!(up[..4], [1.0, 1.0, 0.0, 1.0]);
    assert!(is_stale_nan(*up.last().unwrap()), "shutdown stale-marks up");
    for name in [
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ] {
        let s = series(&store, name);
        assert_eq!(s.len(), 1, "{name}");
        assert_eq!(s[0].labels.get("instance"), Some(target.addr.as_str()));
        assert_eq!(s[0].labels.get("env"), Some("test"));
    }
    assert_eq!(
        values(&series(&store, "scrape_samples_scraped")[0])[..4],
        [2.0, 1.0, 0.0, 1.0]
    );
    assert_eq!(
        values(&series(&store, "scrape_series_added")[0])[..2],
        [2.0, 0.0]
    );
    assert!(values(&series(&store, "scrape_duration_seconds")[0])[0] > 0.0);

    // Timestamps of one scrape are equal and increase between scrapes.
    let up_t: Vec<i64> = series(&store, "up")[0]
        .samples
        .iter()
        .map(|s| s.t)
        .collect();
    assert!(up_t.windows(2).all(|w| w[0] < w[1]), "{up_t:?}");
    assert_eq!(a[0].samples[0].t, up_t[0]);

    let t = status.targets();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].health, TargetHealth::Up);
    assert_eq!(t[0].url, format!("http://{}/metrics", target.addr));
    assert_eq!(t[0].labels.get("job"), Some("t"));
    assert!(t[0].last_scrape_ms > 0);
    let s = &status.stats;
    assert!(s.scrapes_total.load(Ordering::Relaxed) >= 4);
    assert!(s.scrape_failures_total.load(Ordering::Relaxed) >= 1);
    assert!(s.samples_scraped_total.load(Ordering::Relaxed) >= 4);
}

#[tokio::test]
async fn request_negotiates_formats_and_sends_timeout_and_params() {
    let target = TestTarget::start(vec![Page::OpenMetrics(
        "# TYPE c counter\nc_total{x=\"1\"} 7 1700000000.5\n# EOF\n",
    )])
    .await;
    let store = Arc::new(MemStorage::new());
    let run = Running::start(
        store.clone(),
        config(&[&target.addr], "  params: {module: [a b]}\n"),
    );
    wait_until("a scrape", || !series(&store, "up").is_empty()).await;
    run.stop().await;
    let seen = target.seen.lock()[0].clone();
    assert!(
        seen.accept.starts_with("application/openmetrics-text"),
        "{seen:?}"
    );
    assert!(seen.accept.contains("text/plain;version=0.0.4"), "{seen:?}");
    assert_eq!(seen.timeout_header, "0.08");
    assert_eq!(seen.query, "module=a+b");
    let c = series(&store, "c_total");
    assert_eq!(c.len(), 1, "openmetrics body parsed");
    assert_eq!(
        c[0].samples[0].t, 1_700_000_000_500,
        "exposed timestamp honoured"
    );
    assert_eq!(c[0].samples[0].v, 7.0);
    assert!(
        !c[0].samples.iter().any(|s| is_stale_nan(s.v)),
        "series with explicit timestamps are not stale-marked"
    );
}

#[tokio::test]
async fn honor_labels_metric_relabel_and_sample_limit() {
    let target = TestTarget::start(vec![Page::Text("a{job=\"inner\"} 1\ndrop_me 2\n")]).await;
    let store = Arc::new(MemStorage::new());
    let extra = "  honor_labels: true\n  metric_relabel_configs: [{source_labels: [__name__], regex: drop_me, action: drop}]\n";
    let run = Running::start(store.clone(), config(&[&target.addr], extra));
    wait_until("2 scrapes", || target.hits() >= 2).await;
    run.stop().await;
    let a = series(&store, "a");
    assert_eq!(a[0].labels.get("job"), Some("inner"), "scraped label wins");
    assert_eq!(a[0].labels.get("exported_job"), None);
    assert!(series(&store, "drop_me").is_empty());
    assert_eq!(
        values(&series(&store, "scrape_samples_post_metric_relabeling")[0])[0],
        1.0
    );
    assert_eq!(values(&series(&store, "scrape_samples_scraped")[0])[0], 2.0);

    let target = TestTarget::start(vec![Page::Text("a 1\nb 2\nc 3\n")]).await;
    let store = Arc::new(MemStorage::new());
    let run = Running::start(
        store.clone(),
        config(&[&target.addr], "  sample_limit: 2\n"),
    );
    wait_until("2 scrapes", || target.hits() >= 2).await;
    let status = run.stop().await;
    assert!(
        series(&store, "a").is_empty(),
        "nothing from a failed scrape is kept"
    );
    assert_eq!(values(&series(&store, "up")[0])[0], 0.0);
    let t = &status.targets()[0];
    assert_eq!(t.health, TargetHealth::Down);
    assert!(
        t.last_error
            .as_deref()
            .unwrap_or("")
            .contains("sample_limit"),
        "{t:?}"
    );
}

#[tokio::test]
async fn target_going_down_stale_marks_its_series() {
    let mut target = TestTarget::start(vec![Page::Text("m{k=\"1\"} 1\nm{k=\"2\"} 2\n")]).await;
    let store = Arc::new(MemStorage::new());
    let run = Running::start(store.clone(), config(&[&target.addr], ""));
    wait_until("2 scrapes", || target.hits() >= 2).await;
    target.shut_down().await;
    wait_until("a failed scrape", || {
        series(&store, "up")
            .first()
            .is_some_and(|s| s.samples.last().is_some_and(|x| x.v == 0.0))
    })
    .await;
    let m = series(&store, "m");
    assert_eq!(m.len(), 2);
    for s in &m {
        assert!(is_stale_last(s), "{}: {:?}", s.labels, values(s));
    }
    let status = run.status.targets();
    assert_eq!(status[0].health, TargetHealth::Down);
    let err = status[0].last_error.clone().unwrap_or_default();
    assert!(!err.is_empty());
    // A second failure writes no second marker.
    let n: Vec<usize> = m.iter().map(|s| s.samples.len()).collect();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let again: Vec<usize> = series(&store, "m")
        .iter()
        .map(|s| s.samples.len())
        .collect();
    assert_eq!(n, again);
    run.stop().await;
}

#[tokio::test]
async fn slow_target_times_out() {
    let target = TestTarget::start(vec![Page::Slow(Duration::from_millis(300))]).await;
    let store = Arc::new(MemStorage::new());
    let run = Running::start(store.clone(), config(&[&target.addr], ""));
    wait_until("a failed scrape", || !series(&store, "up").is_empty()).await;
    let status = run.stop().await;
    assert_eq!(values(&series(&store, "up")[0])[0], 0.0);
    let err = status.targets()[0].last_error.clone().unwrap_or_default();
    assert!(err.contains("timed out"), "{err}");
    assert!(series(&store, "late").is_empty());
}

#[tokio::test]
async fn reload_stops_removed_targets_and_restarts_changed_jobs_without_gaps() {
    let a = TestTarget::start(vec![Page::Text("keep 1\ngone 2\n")]).await;
    let b = TestTarget::start(vec![Page::Text("bm 1\n")]).await;
    let store = Arc::new(MemStorage::new());
    let run = Running::start(store.clone(), config(&[&a.addr, &b.addr], ""));
    assert_eq!(run.status.targets().len(), 2);
    wait_until("both scraped twice", || a.hits() >= 2 && b.hits() >= 2).await;

    let drop_gone =
        "  metric_relabel_configs: [{source_labels: [__name__], regex: gone, action: drop}]\n";
    run.reloader
        .apply(&GlobalConfig::default(), &config(&[&a.addr], drop_gone))
        .unwrap();
    wait_until("one target left", || run.status.targets().len() == 1).await;
    let after = a.hits();
    wait_until("a scraped twice more", || a.hits() >= after + 2).await;
    wait_until("the new config's scrape stored", || {
        series(&store, "gone").first().is_some_and(is_stale_last)
    })
    .await;

    let bm = series(&store, "bm");
    assert!(
        is_stale_last(&bm[0]),
        "removed target's series are stale-marked"
    );
    let b_up = select(
        &store,
        vec![
            Matcher::equal("__name__", "up"),
            Matcher::equal("instance", &b.addr),
        ],
    );
    assert!(is_stale_last(&b_up[0]));
    let keep = series(&store, "keep");
    assert!(
        !keep[0].samples.iter().any(|s| is_stale_nan(s.v)),
        "a continuing series has no gap across the reload: {:?}",
        values(&keep[0])
    );
    let a_up = select(
        &store,
        vec![
            Matcher::equal("__name__", "up"),
            Matcher::equal("instance", &a.addr),
        ],
    );
    assert!(!a_up[0].samples.iter().any(|s| is_stale_nan(s.v)));

    // An invalid config is refused and the running one stays.
    let mut bad = config(&[&a.addr], "");
    bad[0].scrape_timeout = Some("1s".into());
    let e = run
        .reloader
        .apply(&GlobalConfig::default(), &bad)
        .unwrap_err();
    assert!(e.to_string().contains("scrape_timeout"), "{e}");
    assert_eq!(run.status.targets().len(), 1);
    run.stop().await;
}

/// Fails every append: the loop must keep scraping and count the failures.
#[derive(Default)]
struct BrokenStorage {
    calls: AtomicUsize,
}

impl Appender for BrokenStorage {
    fn append(&self, _: &[TimeSeries]) -> Result<AppendReport, StorageError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(StorageError::Unavailable("disk on fire".into()))
    }
}

#[tokio::test]
async fn append_failures_are_counted_not_fatal() {
    let target = TestTarget::start(vec![Page::Text("a 1\n")]).await;
    let store = Arc::new(BrokenStorage::default());
    let run = Running::start(store.clone(), config(&[&target.addr], ""));
    wait_until("3 scrapes", || target.hits() >= 3).await;
    let status = run.stop().await;
    assert!(store.calls.load(Ordering::SeqCst) >= 3);
    assert!(status.stats.append_errors_total.load(Ordering::Relaxed) >= 3);
    assert_eq!(
        status.targets()[0].health,
        TargetHealth::Up,
        "the scrape itself worked"
    );
}

#[tokio::test]
async fn targets_are_spread_over_the_interval() {
    // Two targets of one job get different slots (deterministic offsets).
    let a = TestTarget::start(vec![Page::Text("x 1\n")]).await;
    let b = TestTarget::start(vec![Page::Text("x 1\n")]).await;
    let store = Arc::new(MemStorage::new());
    let cfg: Vec<ScrapeConfig> = serde_norway::from_str(&format!(
        "- job_name: t\n  scrape_interval: 1s\n  static_configs: [{{targets: ['{}', '{}']}}]\n",
        a.addr, b.addr
    ))
    .unwrap();
    let run = Running::start(store.clone(), cfg);
    wait_until("both scraped", || a.hits() >= 1 && b.hits() >= 1).await;
    run.stop().await;
    let t: Vec<i64> = series(&store, "up")
        .iter()
        .map(|s| s.samples[0].t % 1000)
        .collect();
    assert_eq!(t.len(), 2);
    assert_ne!(t[0], t[1], "different phases within the interval");
}

#[tokio::test]
async fn timestamps_come_from_the_injected_clock() {
    let target = TestTarget::start(vec![Page::Text("a 1\n")]).await;
    let store = Arc::new(MemStorage::new());
    let clock = Arc::new(homeostat_model::FakeClock::new(1_700_000_000_000));
    let mgr = ScrapeManager::new(
        GlobalConfig::default(),
        config(&[&target.addr], ""),
        store.clone(),
        clock.clone(),
    )
    .unwrap();
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(mgr.run(rx));
    wait_until("a scrape", || target.hits() >= 1).await;
    wait_until("stored", || !series(&store, "a").is_empty()).await;
    clock.set(1_700_000_005_000);
    wait_until("a scrape at the new time", || {
        series(&store, "a")[0]
            .samples
            .iter()
            .any(|s| s.t == 1_700_000_005_000)
    })
    .await;
    tx.send(true).unwrap();
    task.await.unwrap();
    let a = series(&store, "a");
    let t: Vec<i64> = a[0].samples.iter().map(|s| s.t).collect();
    assert_eq!(t[0], 1_700_000_000_000);
    // A clock that did not move still yields increasing timestamps.
    assert!(t.windows(2).all(|w| w[0] < w[1]), "{t:?}");
    assert!(t.contains(&1_700_000_005_000), "{t:?}");
}
