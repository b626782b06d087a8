//! A page survives a restart: a webhook that answers 503 twice, then 200,
//! gets the page delivered exactly once, with backoff between attempts,
//! although the process "dies" during the first backoff. State is a SQLite
//! file reopened across the restart; the sleeper is injected, so no test
//! time is spent waiting.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use homeostat_model::{Clock, FakeClock};
use homeostat_notify::{
    AttemptOutcome, FixedJitter, Outbound, OutboundKind, OutboundMetrics, Retrier, RetryPolicy,
    Sleeper,
};
use homeostat_state::OutboxState;
use homeostat_state_sql::SqliteState;
use parking_lot::Mutex;

use super::{T0, alert, config, flush, hub_with};
use crate::alert_events::IncidentHook;

/// Every request the webhook got, with the status it answered.
type Seen = Arc<Mutex<Vec<(u16, Bytes)>>>;

/// A webhook that answers 503 to its first two requests, then 200.
async fn flaky_webhook() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route(
            "/{user}",
            axum::routing::post(|State(seen): State<Seen>, body: Bytes| async move {
                let mut seen = seen.lock();
                let status = if seen.len() < 2 { 503 } else { 200 };
                seen.push((status, body));
                StatusCode::from_u16(status).unwrap()
            }),
        )
        .with_state(seen.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, seen)
}

/// Records each backoff and moves the fake clock by it. With `crash`, the
/// first backoff never ends: the process dies while waiting.
#[derive(Debug, Clone)]
struct TestSleeper {
    clock: FakeClock,
    slept: Arc<Mutex<Vec<Duration>>>,
    crash: bool,
    crashed: Arc<AtomicBool>,
}

impl TestSleeper {
    fn new(clock: &FakeClock, crash: bool) -> Self {
        Self {
            clock: clock.clone(),
            slept: Arc::default(),
            crash,
            crashed: Arc::default(),
        }
    }
}

impl Sleeper for TestSleeper {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.slept.lock().push(d);
        self.clock.advance(d.as_millis() as i64);
        if self.crash {
            self.crashed.store(true, Ordering::SeqCst);
            return Box::pin(std::future::pending());
        }
        Box::pin(async {})
    }
}

fn outbound(clock: &FakeClock, sleeper: &TestSleeper) -> (Outbound, Arc<OutboundMetrics>) {
    let metrics = Arc::new(OutboundMetrics::default());
    let retrier = Retrier {
        policy: RetryPolicy::default(),
        clock: Arc::new(clock.clone()),
        sleeper: Arc::new(sleeper.clone()),
        jitter: Arc::new(FixedJitter(0.5)),
    };
    (Outbound::new(retrier, metrics.clone()).unwrap(), metrics)
}

fn open(path: &std::path::Path) -> homeostat_state::State {
    homeostat_state::State::from_backend(Arc::new(SqliteState::open_file(path).unwrap()))
}

#[tokio::test]
async fn a_page_to_a_flaky_webhook_is_delivered_once_across_a_restart() {
    let (url, seen) = flaky_webhook().await;
    let cfg = config(&url);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let clock = FakeClock::new(T0);

    // First life: a paging group opens INC-1; alice is paged, the webhook
    // answers 503, and the process dies during the backoff.
    {
        let state = open(&db);
        let sleeper = TestSleeper::new(&clock, true);
        let (out, metrics) = outbound(&clock, &sleeper);
        let hub = hub_with(&state, &cfg, &clock, out);
        let links = hub.before_notify(&flush(
            "{}:{a=\"d\"}",
            vec![alert("Down", "page", 2, None)],
            T0,
        ));
        assert_eq!(links.incident_id.as_deref(), Some("INC-1"));
        let (pages, _) = hub.due_pages(T0, None);
        assert_eq!(pages.len(), 1);
        let h = hub.clone();
        let page = pages.into_iter().next().unwrap();
        let task = tokio::spawn(async move { h.deliver(page).await });
        for _ in 0..500 {
            if sleeper.crashed.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(sleeper.crashed.load(Ordering::SeqCst), "never backed off");
        task.abort();
        let _ = task.await;
        assert_eq!(seen.lock().len(), 1);
        assert_eq!(*sleeper.slept.lock(), [Duration::from_millis(375)]);
        assert_eq!(
            metrics.count(OutboundKind::Page, AttemptOutcome::ServerError),
            1
        );
        let owed = state.nflog.pending("page").unwrap();
        assert_eq!(owed.len(), 1, "the page is owed across the restart");
    }

    // Second life: the escalation does not page alice again, but the owed
    // page is resumed: 503 once more, a backoff, then 200.
    clock.advance(1_000);
    {
        let state = open(&db);
        let sleeper = TestSleeper::new(&clock, false);
        let (out, metrics) = outbound(&clock, &sleeper);
        let hub = hub_with(&state, &cfg, &clock, out);
        let (pages, _) = hub.due_pages(clock.now_millis(), None);
        assert!(pages.is_empty(), "level 1 is not paged twice: {pages:?}");
        hub.resume_pages().await;
        let statuses: Vec<u16> = seen.lock().iter().map(|(s, _)| *s).collect();
        assert_eq!(statuses, [503, 503, 200]);
        assert_eq!(*sleeper.slept.lock(), [Duration::from_millis(375)]);
        assert_eq!(
            metrics.count(OutboundKind::Page, AttemptOutcome::Success),
            1
        );
        assert!(state.nflog.pending("page").unwrap().is_empty());
        let sent = seen.lock();
        assert_eq!(sent[0].1, sent[2].1, "the resumed page is the same page");
        let body: serde_json::Value = serde_json::from_slice(&sent[2].1).unwrap();
        assert_eq!(
            (body["user"].as_str(), body["level"].as_u64()),
            (Some("alice"), Some(1))
        );
        let key = format!("page/INC-1/{T0}/0/alice");
        let entry = state.nflog.outbox_entry(&key).unwrap().unwrap();
        assert_eq!(entry.state, OutboxState::Delivered);
        assert_eq!(entry.attempts, 2);
        let timeline = homeostat_http::IncidentApi::service(hub.as_ref())
            .timeline(homeostat_state::IncidentId(1))
            .unwrap();
        assert!(
            timeline.iter().any(|e| e.summary.contains("page alice")),
            "{timeline:?}"
        );
    }

    // Third life: nothing is owed, nothing is sent again.
    clock.advance(1_000);
    {
        let state = open(&db);
        let sleeper = TestSleeper::new(&clock, false);
        let (out, _) = outbound(&clock, &sleeper);
        let hub = hub_with(&state, &cfg, &clock, out);
        hub.resume_pages().await;
        let (pages, _) = hub.due_pages(clock.now_millis(), None);
        assert!(pages.is_empty());
        assert_eq!(seen.lock().len(), 3, "delivered exactly once");
    }
}
