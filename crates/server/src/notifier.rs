//! Sends alerts to Alertmanager-compatible endpoints: a bounded queue (the
//! oldest alerts are dropped when it is full, as Prometheus does) drained by
//! one task that posts batches to every configured `<url>/api/v2/alerts`
//! through the process's outbound delivery path.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use homeostat_notify::{Outbound, OutboundKind, RetryPolicy};
use homeostat_rules::Notification;
use parking_lot::Mutex;
use tokio::sync::{Notify, watch};

use crate::config::AlertmanagerConfig;

/// Most alerts posted in one request.
const MAX_BATCH: usize = 64;

/// Retries of a push to an Alertmanager: short, since newer alerts queue
/// behind it and firing alerts are sent again at the next evaluation.
pub const PUSH_RETRY: RetryPolicy = RetryPolicy {
    initial: Duration::from_millis(500),
    factor: 2.0,
    max: Duration::from_secs(5),
    deadline: Duration::from_secs(10),
};

#[derive(Debug, Default)]
pub struct NotifierStats {
    pub sent_total: AtomicU64,
    pub errors_total: AtomicU64,
    pub dropped_total: AtomicU64,
}

#[derive(Debug)]
pub struct Notifier {
    queue: Mutex<VecDeque<Notification>>,
    capacity: usize,
    wake: Notify,
    pub stats: NotifierStats,
}

impl Notifier {
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            queue: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            wake: Notify::new(),
            stats: NotifierStats::default(),
        })
    }

    /// Queues alerts for sending; beyond capacity the oldest are dropped.
    pub fn enqueue(&self, alerts: Vec<Notification>) {
        if alerts.is_empty() {
            return;
        }
        let mut q = self.queue.lock();
        q.extend(alerts);
        let over = q.len().saturating_sub(self.capacity);
        if over > 0 {
            q.drain(..over);
            self.stats
                .dropped_total
                .fetch_add(over as u64, Ordering::Relaxed);
            tracing::warn!(
                dropped = over,
                "alert queue full, dropped the oldest alerts"
            );
        }
        drop(q);
        self.wake.notify_one();
    }

    pub fn queued(&self) -> usize {
        self.queue.lock().len()
    }

    fn next_batch(&self) -> Vec<Notification> {
        let mut q = self.queue.lock();
        let n = q.len().min(MAX_BATCH);
        q.drain(..n).collect()
    }

    /// Drains the queue to every Alertmanager until `stop` changes, through
    /// the process's outbound path (retried for at most
    /// [`PUSH_RETRY`]'s deadline: the rule engine sends firing alerts again
    /// at its next evaluation anyway). Without Alertmanagers configured,
    /// alerts are discarded.
    pub async fn run(
        self: Arc<Self>,
        targets: Vec<AlertmanagerConfig>,
        local: Option<Arc<homeostat_alerting::Alertmanager>>,
        outbound: Outbound,
        mut stop: watch::Receiver<bool>,
    ) {
        let outbound = outbound.with_policy(PUSH_RETRY);
        loop {
            let batch = self.next_batch();
            if batch.is_empty() {
                tokio::select! {
                    _ = self.wake.notified() => continue,
                    _ = stop.changed() => return,
                }
            }
            if let Some(am) = &local {
                self.post_local(am, batch.clone()).await;
            }
            if targets.is_empty() {
                continue;
            }
            let body = homeostat_http::alertmanager_v2_body(&batch);
            // Concurrently: a slow or retrying Alertmanager does not hold
            // up the others.
            let sends: Vec<_> = targets
                .iter()
                .map(|am| {
                    let outbound = outbound.clone();
                    let url = format!("{}/api/v2/alerts", am.url);
                    let body = body.clone().into_bytes();
                    let timeout = am.timeout;
                    tokio::spawn(async move {
                        outbound
                            .post_json(OutboundKind::Alertmanager, &url, body, timeout)
                            .await
                    })
                })
                .collect();
            for send in sends {
                match send.await {
                    Ok(o) if o.delivered => {
                        self.stats
                            .sent_total
                            .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    }
                    // The outbound path logged the target and why.
                    _ => {
                        self.stats.errors_total.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

impl Notifier {
    /// Hands a batch to the built-in Alertmanager, as if it had been posted.
    async fn post_local(
        &self,
        am: &Arc<homeostat_alerting::Alertmanager>,
        batch: Vec<Notification>,
    ) {
        let n = batch.len() as u64;
        let alerts: Vec<homeostat_alerting::PostableAlert> = batch
            .into_iter()
            .map(|a| homeostat_alerting::PostableAlert {
                labels: a.labels,
                annotations: a.annotations,
                starts_at: Some(a.starts_at),
                ends_at: Some(a.ends_at),
                generator_url: a.generator_url,
                pending_since: Some(a.pending_since),
            })
            .collect();
        let am = am.clone();
        match tokio::task::spawn_blocking(move || am.post_alerts(alerts)).await {
            Ok(Ok(())) => {
                self.stats.sent_total.fetch_add(n, Ordering::Relaxed);
            }
            Ok(Err(e)) => {
                self.stats.errors_total.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "built-in alertmanager refused alerts");
            }
            Err(e) => {
                self.stats.errors_total.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "posting alerts in-process failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use axum::Router;
    use axum::extract::State;
    use axum::routing::post;

    use super::*;

    fn outbound() -> Outbound {
        crate::outbound::outbound(Arc::new(homeostat_model::SystemClock))
            .unwrap_or_else(|e| panic!("{e}"))
            .0
    }

    fn alert(name: &str) -> Notification {
        Notification {
            labels: BTreeMap::from([("alertname".to_string(), name.to_string())]),
            annotations: BTreeMap::from([("summary".to_string(), "s".to_string())]),
            starts_at: 1_700_000_040_000,
            pending_since: 1_700_000_000_000,
            ends_at: 1_700_000_280_000,
            generator_url: "http://h:9797/graph?g0.expr=up&g0.tab=1".into(),
        }
    }

    #[test]
    fn queue_is_bounded_and_drops_the_oldest() {
        let n = Notifier::new(2);
        n.enqueue(vec![alert("a"), alert("b"), alert("c")]);
        assert_eq!(n.queued(), 2);
        assert_eq!(n.stats.dropped_total.load(Ordering::Relaxed), 1);
        let batch = n.next_batch();
        assert_eq!(batch[0].labels["alertname"], "b");
    }

    #[tokio::test]
    async fn built_in_alertmanager_gets_alerts_in_process() {
        let config =
            homeostat_alerting::Config::parse("route: {receiver: a}\nreceivers: [{name: a}]")
                .unwrap_or_else(|e| panic!("{e}"));
        let clock = homeostat_model::FakeClock::new(1_700_000_100_000);
        let am = Arc::new(
            homeostat_alerting::Alertmanager::new(
                homeostat_alerting::Running {
                    config: Arc::new(config),
                    original: String::new(),
                    resolve_timeout: Duration::from_secs(300),
                },
                Arc::new(homeostat_state::MemState::default()),
                Arc::new(clock),
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let n = Notifier::new(10);
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(n.clone().run(vec![], Some(am.clone()), outbound(), stop_rx));
        n.enqueue(vec![alert("Down"), alert("Up")]);
        for _ in 0..100 {
            if am.counts().0 == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = stop_tx.send(true);
        let _ = task.await;
        let views = am.alerts(&homeostat_alerting::AlertQuery::default());
        assert_eq!(views.len(), 2);
        assert_eq!(views[0].alert.starts_at, 1_700_000_040_000);
        assert_eq!(views[0].alert.pending_since, Some(1_700_000_000_000));
        assert_eq!(
            views[0].alert.generator_url,
            "http://h:9797/graph?g0.expr=up&g0.tab=1"
        );
        assert_eq!(n.stats.sent_total.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn posts_alertmanager_v2_json() {
        type Seen = Arc<Mutex<Vec<serde_json::Value>>>;
        async fn receive(State(seen): State<Seen>, body: String) -> &'static str {
            if let Ok(v) = serde_json::from_str(&body) {
                seen.lock().push(v);
            }
            ""
        }
        let seen: Seen = Arc::default();
        let app = Router::new()
            .route("/api/v2/alerts", post(receive))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move { axum::serve(listener, app).await });

        let n = Notifier::new(10);
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(n.clone().run(
            vec![AlertmanagerConfig {
                url: format!("http://{addr}"),
                timeout: Duration::from_secs(5),
            }],
            None,
            outbound(),
            stop_rx,
        ));
        n.enqueue(vec![alert("Down")]);
        for _ in 0..100 {
            if !seen.lock().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = stop_tx.send(true);
        let _ = task.await;
        let got = seen.lock().clone();
        assert_eq!(got.len(), 1, "{got:?}");
        let a = &got[0][0];
        assert_eq!(a["labels"]["alertname"], "Down");
        assert_eq!(a["annotations"]["summary"], "s");
        assert_eq!(a["startsAt"], "2023-11-14T22:14:00Z");
        assert_eq!(a["endsAt"], "2023-11-14T22:18:00Z");
        assert_eq!(a["generatorURL"], "http://h:9797/graph?g0.expr=up&g0.tab=1");
        assert_eq!(n.stats.sent_total.load(Ordering::Relaxed), 1);
    }
}
