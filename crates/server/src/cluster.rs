//! The leader election at run time: one task per replica steps the
//! [`Elector`] on a blocking thread, checks the [`Watchdog`] while a step
//! hangs on an unreachable database, and resigns at shutdown.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use homeostat_app::{ClusterView, ElectionStats, Elector, Leadership, Role};
use homeostat_http::{ExternalMetric, StatsSource};
use homeostat_model::Clock;
use homeostat_state::{ClusterStore, Member};
use tokio::sync::watch;

use crate::config::ClusterConfig;

/// What the rest of the server needs from the election.
pub struct Cluster {
    pub leadership: Leadership,
    pub view: ClusterView,
    /// `None` without `cluster.enabled`.
    elector: Option<Elector>,
}

/// This replica's member id: the configured one, else host and port.
pub(crate) fn member_id(cfg: &ClusterConfig, listen: std::net::SocketAddr) -> String {
    if let Some(id) = &cfg.member_id {
        return id.clone();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", listen.port())
}

impl Cluster {
    pub fn new(
        cfg: &ClusterConfig,
        store: Arc<dyn ClusterStore>,
        member_id: String,
        address: String,
        now: i64,
    ) -> Self {
        if !cfg.enabled {
            return Cluster {
                leadership: Leadership::single(),
                view: ClusterView::single(member_id),
                elector: None,
            };
        }
        let member = Member {
            id: member_id.clone(),
            address,
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: now,
            last_seen: now,
        };
        let (elector, leadership) = Elector::new(store.clone(), member, cfg.timing.clone());
        Cluster {
            view: ClusterView::new(store, member_id, cfg.timing.lease, leadership.clone()),
            leadership,
            elector: Some(elector),
        }
    }

    /// `/metrics` for the election.
    pub fn source(&self) -> LeaderSource {
        LeaderSource {
            leadership: self.leadership.clone(),
            stats: self.elector.as_ref().map(|e| e.stats.clone()),
        }
    }

    /// Runs the election until `stop`; a no-op without a cluster. The
    /// first step runs before this returns, so that a replica that finds
    /// the lease free leads from its first second.
    pub async fn spawn(
        &mut self,
        clock: Arc<dyn Clock>,
        stop: watch::Receiver<bool>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let mut elector = self.elector.take()?;
        let now = clock.now_millis();
        let first = tokio::task::spawn_blocking(move || {
            let wait = elector.step(now);
            (elector, wait)
        })
        .await;
        let (elector, wait) = first.ok()?;
        Some(tokio::spawn(run(elector, wait, clock, stop)))
    }
}

async fn run(
    mut elector: Elector,
    mut wait: Duration,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) {
    let watchdog = elector.watchdog();
    let retry = elector.timing().retry;
    loop {
        // Followers spread their attempts so that they do not all ask at once.
        let jitter = if wait == retry {
            let spread = (retry / 2).as_millis().max(1) as u64;
            Duration::from_millis(u64::from(clock.now_millis().unsigned_abs() as u32) % spread)
        } else {
            Duration::ZERO
        };
        tokio::select! {
            _ = tokio::time::sleep(wait + jitter) => {}
            _ = stop.changed() => break,
        }
        let now = clock.now_millis();
        let mut step = tokio::task::spawn_blocking(move || {
            let wait = elector.step(now);
            (elector, wait)
        });
        let mut check = tokio::time::interval(Duration::from_millis(250));
        let done = loop {
            tokio::select! {
                r = &mut step => break r,
                _ = check.tick() => {
                    watchdog.check(clock.now_millis(), &"the state database does not answer");
                }
            }
        };
        match done {
            Ok((e, w)) => {
                elector = e;
                wait = w;
            }
            Err(e) => {
                tracing::error!(error = %e, "leader election task failed; this replica stops acting");
                watchdog.check(i64::MAX, &"the election task failed");
                return;
            }
        }
    }
    let _ = tokio::task::spawn_blocking(move || elector.resign()).await;
}

pub struct LeaderSource {
    leadership: Leadership,
    stats: Option<Arc<ElectionStats>>,
}

impl StatsSource for LeaderSource {
    fn collect(&self) -> Vec<ExternalMetric> {
        let leading = matches!(self.leadership.role(), Role::Single | Role::Leader(_));
        let mut out = vec![ExternalMetric {
            name: "homeostat_leader",
            help: "1 while this replica leads (evaluates rules, sends notifications, escalates, judges analysis runs); always 1 without a cluster.",
            kind: "gauge",
            labels: vec![],
            value: if leading { 1.0 } else { 0.0 },
        }];
        if let Some(s) = &self.stats {
            out.push(ExternalMetric {
                name: "homeostat_leader_terms_total",
                help: "Times this replica started leading.",
                kind: "counter",
                labels: vec![],
                value: s.terms.load(Ordering::Relaxed) as f64,
            });
            out.push(ExternalMetric {
                name: "homeostat_leader_lease_failures_total",
                help: "Lease renewals or attempts that failed because the state database did not answer.",
                kind: "counter",
                labels: vec![],
                value: s.failures.load(Ordering::Relaxed) as f64,
            });
        }
        out
    }
}

/// Waits until this replica may act; `None` once the server stops. The
/// acting loops call it at the top of each round, so a follower sleeps
/// here until it is elected.
pub(crate) async fn until_acting(
    leadership: &Leadership,
    roles: &mut watch::Receiver<Role>,
    stop: &mut watch::Receiver<bool>,
) -> Option<homeostat_app::Acting> {
    loop {
        if *stop.borrow() {
            return None;
        }
        if let Some(a) = leadership.acting() {
            return Some(a);
        }
        tokio::select! {
            r = roles.changed() => {
                if r.is_err() {
                    // The election ended (shutdown): wait for the stop.
                    let _ = stop.changed().await;
                    return None;
                }
            }
            _ = stop.changed() => return None,
        }
    }
}
