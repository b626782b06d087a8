//! Delivers the built-in Alertmanager's flushes. A task ticks the
//! dispatcher; each due group is handed to its own task, so a slow receiver
//! never holds up the others. Per receiver target the notification log
//! (`state.nflog`, persisted) and `homeostat_notify::decide` (the one
//! place the send decision lives) say whether there is news — a new firing
//! alert, a resolution the receiver saw firing, or `repeat_interval`
//! passed — so that a restart sends nothing twice and loses nothing. The incident hook sees every group
//! before it is sent (its ack/resolve links go into the notification) and
//! the outcome after.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use homeostat_alerting::{Alert, Alertmanager, Flush};
use homeostat_app::Leadership;
use homeostat_http::{ExternalMetric, StatsSource};
use homeostat_model::Fingerprint;
use homeostat_notify::{
    AckLinks, AlertData, AlertStatus, GroupNotification, LastSent, Notifier, SentRecord, Target,
    utc_from_millis,
};
use homeostat_state::{Fence, NflogEntry, NotificationLog, StateError};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::alert_events::{GroupFlush, IncidentHook, NotificationOutcome};

/// How often the dispatcher is ticked; group timers are this precise.
const TICK: Duration = Duration::from_millis(500);

/// Notifications by (receiver, integration, outcome), and intake counts.
#[derive(Default)]
pub struct DeliveryStats {
    notifications: Mutex<BTreeMap<(String, &'static str, &'static str), u64>>,
}

impl DeliveryStats {
    fn count(&self, receiver: &str, integration: &'static str, outcome: &'static str) {
        *self
            .notifications
            .lock()
            .entry((receiver.to_string(), integration, outcome))
            .or_default() += 1;
    }

    pub fn total(&self, outcome: &str) -> u64 {
        self.notifications
            .lock()
            .iter()
            .filter(|((_, _, o), _)| *o == outcome)
            .map(|(_, n)| n)
            .sum()
    }
}

/// `/metrics` for the built-in Alertmanager.
pub struct AlertmanagerSource {
    pub am: Arc<Alertmanager>,
    pub stats: Arc<DeliveryStats>,
}

impl StatsSource for AlertmanagerSource {
    fn collect(&self) -> Vec<ExternalMetric> {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &self.am.stats;
        let (alerts, groups) = self.am.counts();
        let m =
            |name, help, kind, labels: Vec<(&'static str, String)>, value: f64| ExternalMetric {
                name,
                help,
                kind,
                labels,
                value,
            };
        let mut out = vec![
            m(
                "homeostat_alerts_received_total",
                "Alerts accepted by the built-in Alertmanager.",
                "counter",
                vec![("status", "firing".into())],
                s.received_firing.load(Relaxed) as f64,
            ),
            m(
                "homeostat_alerts_received_total",
                "Alerts accepted by the built-in Alertmanager.",
                "counter",
                vec![("status", "resolved".into())],
                s.received_resolved.load(Relaxed) as f64,
            ),
            m(
                "homeostat_alerts_invalid_total",
                "Posted alerts refused as invalid.",
                "counter",
                vec![],
                s.invalid.load(Relaxed) as f64,
            ),
            m(
                "homeostat_alerts",
                "Alerts held by the built-in Alertmanager, firing or recently resolved.",
                "gauge",
                vec![],
                alerts as f64,
            ),
            m(
                "homeostat_alert_groups",
                "Aggregation groups of the built-in Alertmanager.",
                "gauge",
                vec![],
                groups as f64,
            ),
        ];
        for ((receiver, integration, outcome), n) in self.stats.notifications.lock().iter() {
            out.push(m(
                "homeostat_notifications_total",
                "Notifications by receiver, integration and outcome (sent, failed).",
                "counter",
                vec![
                    ("receiver", receiver.clone()),
                    ("integration", (*integration).to_string()),
                    ("outcome", (*outcome).to_string()),
                ],
                *n as f64,
            ));
        }
        out
    }
}

/// Everything a delivery needs; cheap to clone into tasks.
#[derive(Clone)]
pub struct Delivery {
    pub am: Arc<Alertmanager>,
    /// Receiver name → targets; swapped by a reload.
    pub targets: Arc<Mutex<BTreeMap<String, Vec<Target>>>>,
    pub notifier: Notifier,
    pub nflog: Arc<dyn NotificationLog>,
    pub hook: Arc<dyn IncidentHook>,
    pub stats: Arc<DeliveryStats>,
    pub external_url: String,
    /// How long notification-log entries are kept.
    pub retention: Duration,
    /// Whether groups of a receiver without integrations still reach the
    /// incident hook: set for the built-in default route (whose one
    /// receiver only records alerts), not for a configured file, where
    /// such a receiver drops everything; swapped by a reload.
    pub incidents_without_targets: Arc<AtomicBool>,
    /// Only the leader delivers; every replica takes in the shared alerts.
    pub leadership: Leadership,
    in_flight: Arc<Mutex<HashSet<(String, String)>>>,
}

impl Delivery {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        am: Arc<Alertmanager>,
        targets: BTreeMap<String, Vec<Target>>,
        notifier: Notifier,
        nflog: Arc<dyn NotificationLog>,
        hook: Arc<dyn IncidentHook>,
        external_url: String,
        retention: Duration,
    ) -> Self {
        Self {
            am,
            targets: Arc::new(Mutex::new(targets)),
            notifier,
            nflog,
            hook,
            stats: Arc::default(),
            external_url,
            retention,
            incidents_without_targets: Arc::default(),
            leadership: Leadership::single(),
            in_flight: Arc::default(),
        }
    }

    /// Ticks the dispatcher until `stop`. Every replica takes in the alerts
    /// the others accepted; only the leader delivers flushes. A follower
    /// still ticks (so resolved alerts are dropped) but its flushes go
    /// nowhere, and a replica that starts leading rebuilds its groups, so
    /// their timers start from the alerts themselves.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut since_gc = 0u32;
        let mut leading = false;
        let clustered = !matches!(self.leadership.role(), homeostat_app::Role::Single);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            let acting = self.leadership.acting();
            let starts = acting.is_some() && !leading;
            leading = acting.is_some();
            // Silences set through another replica reach this one's
            // dispatcher within a second (its own apply at once).
            let reread_silences = clustered && since_gc.is_multiple_of(2);
            let am = self.am.clone();
            let flushes = match tokio::task::spawn_blocking(move || {
                if let Err(e) = am.sync_shared() {
                    tracing::warn!(error = %e, "reading the shared alert intake failed");
                }
                if reread_silences && let Err(e) = am.refresh() {
                    tracing::warn!(error = %e, "reading the silences failed");
                }
                if starts {
                    am.regroup();
                }
                am.tick()
            })
            .await
            {
                Ok(f) => f,
                Err(e) => {
                    tracing::error!(error = %e, "alert dispatcher tick failed");
                    continue;
                }
            };
            if let Some(acting) = acting {
                for flush in flushes {
                    let d = self.clone();
                    let fence = acting.fence().cloned();
                    tokio::spawn(async move { d.deliver_flush(flush, fence).await });
                }
            }
            since_gc += 1;
            // Every 10 minutes: expired silences and nflog entries go.
            if since_gc >= 1200 {
                since_gc = 0;
                self.gc(leading).await;
            }
        }
    }

    async fn gc(&self, leading: bool) {
        if leading {
            let am = self.am.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || am.gc_shared()).await {
                tracing::warn!(error = %e, "trimming the shared alert intake failed");
            }
        }
        let nflog = self.nflog.clone();
        let am = self.am.clone();
        let now = am.now();
        let retention = self.retention.as_millis() as i64;
        let _ = tokio::task::spawn_blocking(move || {
            if let Err(e) = nflog.gc(now) {
                tracing::warn!(error = %e, "notification log gc failed");
            }
            if let Err(e) = am.gc_silences(now.saturating_sub(retention)) {
                tracing::warn!(error = %e, "silence gc failed");
            }
        })
        .await;
    }

    /// Sends one flushed group to its receiver's targets, as needed.
    /// Delivers one flush. Each notification is claimed in the
    /// notification log (with `fence`, checked in the same transaction)
    /// before it is sent, and the claim given back if sending fails, so a
    /// deposed leader sends nothing and a new leader does not repeat what
    /// the old one sent.
    pub async fn deliver_flush(&self, flush: Flush, fence: Option<Fence>) {
        let key = (flush.receiver.clone(), flush.group_key.clone());
        // A delivery still retrying owns the group's log entry; the next
        // flush (group_interval later) will catch up.
        if !self.in_flight.lock().insert(key.clone()) {
            return;
        }
        self.deliver_inner(&flush, fence.as_ref()).await;
        self.in_flight.lock().remove(&key);
    }

    async fn deliver_inner(&self, flush: &Flush, fence: Option<&Fence>) {
        let targets = self
            .targets
            .lock()
            .get(&flush.receiver)
            .cloned()
            .unwrap_or_default();
        if targets.is_empty() {
            if self.incidents_without_targets.load(Ordering::Relaxed) {
                // Nothing to send and no log to keep: the hook opens, joins
                // or resolves the group's incident, which ignores repeats.
                let hook = self.hook.clone();
                let group_flush = group_flush(flush);
                let _ = tokio::task::spawn_blocking(move || hook.before_notify(&group_flush)).await;
            }
            return;
        }
        let firing: BTreeSet<Fingerprint> = flush
            .alerts
            .iter()
            .filter(|a| !a.is_resolved(flush.at))
            .map(|a| a.fingerprint)
            .collect();
        let resolved: BTreeSet<Fingerprint> = flush
            .alerts
            .iter()
            .filter(|a| a.is_resolved(flush.at))
            .map(|a| a.fingerprint)
            .collect();

        // Decide per target against its log entry.
        let mut sends = Vec::new();
        for (i, target) in targets.iter().enumerate() {
            let log_key = format!("{}/{}/{i}", flush.receiver, target.kind());
            let nflog = self.nflog.clone();
            let (gk, lk) = (flush.group_key.clone(), log_key.clone());
            let stored = tokio::task::spawn_blocking(move || nflog.last(&lk, &gk))
                .await
                .ok()
                .and_then(|r| {
                    r.map_err(|e| tracing::warn!(error = %e, "reading the notification log failed"))
                        .ok()
                })
                .flatten();
            let prev = stored.clone().filter(|e| e.expires_at > flush.at);
            let last = prev.as_ref().map(last_sent);
            let decision = homeostat_notify::decide(
                target.send_resolved(),
                last.as_ref(),
                &firing,
                &resolved,
                flush.at,
                flush.repeat_interval,
            );
            if decision.send {
                // Claimed before sending: a leader that cannot claim (it
                // was deposed) does not send.
                let entry = self.entry(
                    &log_key,
                    &flush.group_key,
                    flush.at,
                    &decision.record,
                    flush.at,
                );
                if self.write(entry, fence).await {
                    sends.push((i, target.clone(), log_key, decision, stored));
                }
            } else if let Some(p) = last
                && decision.record != p.record
            {
                // Nothing to say, but forget what stopped firing so that
                // firing again is news.
                let entry = self.entry(
                    &log_key,
                    &flush.group_key,
                    flush.at,
                    &decision.record,
                    p.sent_at,
                );
                self.write(entry, fence).await;
            }
        }
        if sends.is_empty() {
            return;
        }

        let hook = self.hook.clone();
        let group_flush = group_flush(flush);
        let links = tokio::task::spawn_blocking(move || hook.before_notify(&group_flush))
            .await
            .unwrap_or_default();
        let links = match (links.ack_url, links.resolve_url) {
            (Some(ack_url), Some(resolve_url)) => Some(AckLinks {
                ack_url,
                resolve_url,
            }),
            _ => None,
        };

        let mut tasks = Vec::new();
        for (_, target, log_key, decision, stored) in sends {
            let mut n = notification(flush, &self.external_url, links.clone());
            n.retain_alerts(|a| {
                a.status == AlertStatus::Firing
                    || decision.resolved_to_report.contains(&a.fingerprint)
            });
            let d = self.clone();
            let receiver = flush.receiver.clone();
            let group_key = flush.group_key.clone();
            let fence = fence.cloned();
            tasks.push(tokio::spawn(async move {
                let outcome = d.notifier.deliver(&target, &n).await;
                let label = if outcome.delivered { "sent" } else { "failed" };
                d.stats.count(&receiver, target.kind(), label);
                if !outcome.delivered {
                    tracing::warn!(receiver = %receiver, integration = target.kind(), group_key = %group_key, error = ?outcome.last_error, "notification failed");
                    // Give the claim back, so the next flush tries again.
                    d.restore(&log_key, &group_key, stored, fence.as_ref()).await;
                }
                outcome
            }));
        }
        let mut delivered = true;
        let mut attempts = 0;
        let mut error = None;
        for t in tasks {
            match t.await {
                Ok(o) => {
                    delivered &= o.delivered;
                    attempts += o.attempts;
                    if let Some(e) = o.last_error.filter(|_| !o.delivered) {
                        error = Some(e.to_string());
                    }
                }
                Err(e) => {
                    delivered = false;
                    error = Some(e.to_string());
                }
            }
        }
        let outcome = NotificationOutcome {
            receiver: flush.receiver.clone(),
            group_key: flush.group_key.clone(),
            delivered,
            attempts,
            error,
            at: self.am.now(),
        };
        let hook = self.hook.clone();
        let _ = tokio::task::spawn_blocking(move || hook.after_notify(&outcome)).await;
    }

    fn entry(
        &self,
        log_key: &str,
        group_key: &str,
        flush_at: i64,
        record: &SentRecord,
        sent_at: i64,
    ) -> NflogEntry {
        NflogEntry {
            receiver: log_key.to_string(),
            group_key: group_key.to_string(),
            firing_fingerprints: record.firing.iter().copied().collect(),
            resolved_fingerprints: record.resolved.iter().copied().collect(),
            sent_at,
            expires_at: flush_at.saturating_add(self.retention.as_millis() as i64),
        }
    }

    /// Writes a notification-log entry under `fence`; whether it was
    /// written. Without a fence (a single replica) a failing database does
    /// not stop the notification: sending twice beats not paging.
    async fn write(&self, entry: NflogEntry, fence: Option<&Fence>) -> bool {
        let nflog = self.nflog.clone();
        let f = fence.cloned();
        match tokio::task::spawn_blocking(move || nflog.record(&entry, f.as_ref())).await {
            Ok(Ok(())) => true,
            Ok(Err(e @ StateError::Fenced { .. })) => {
                tracing::warn!(error = %e, "not sending: this replica no longer leads");
                false
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "writing the notification log failed");
                fence.is_none()
            }
            Err(e) => {
                tracing::error!(error = %e, "notification log task failed");
                fence.is_none()
            }
        }
    }

    /// Puts back the entry a failed send had claimed over.
    async fn restore(
        &self,
        log_key: &str,
        group_key: &str,
        stored: Option<NflogEntry>,
        fence: Option<&Fence>,
    ) {
        let nflog = self.nflog.clone();
        let (lk, gk, f) = (log_key.to_string(), group_key.to_string(), fence.cloned());
        let r = tokio::task::spawn_blocking(move || match stored {
            Some(e) => nflog.record(&e, f.as_ref()),
            None => nflog.forget(&lk, &gk, f.as_ref()),
        })
        .await;
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "giving back a failed notification's claim failed; it is retried at the repeat interval")
            }
            Err(e) => tracing::error!(error = %e, "notification log task failed"),
        }
    }
}

/// The notification log's entry as the send decision reads it.
fn last_sent(e: &NflogEntry) -> LastSent {
    LastSent {
        record: SentRecord {
            firing: e.firing_fingerprints.iter().copied().collect(),
            resolved: e.resolved_fingerprints.iter().copied().collect(),
        },
        sent_at: e.sent_at,
    }
}

fn label_map(l: &homeostat_model::Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

fn alert_data(a: &Alert, at: i64) -> AlertData {
    let resolved = a.is_resolved(at);
    AlertData {
        status: if resolved {
            AlertStatus::Resolved
        } else {
            AlertStatus::Firing
        },
        labels: label_map(&a.labels),
        annotations: a.annotations.clone(),
        starts_at: utc_from_millis(a.starts_at),
        // Alertmanager reports the end only once the alert has resolved.
        ends_at: resolved.then(|| utc_from_millis(a.ends_at)),
        generator_url: a.generator_url.clone(),
        fingerprint: a.fingerprint,
    }
}

/// The notification for a flush: common labels and annotations are those
/// every alert shares, as in Alertmanager.
pub fn notification(
    flush: &Flush,
    external_url: &str,
    links: Option<AckLinks>,
) -> GroupNotification {
    let alerts: Vec<AlertData> = flush
        .alerts
        .iter()
        .map(|a| alert_data(a, flush.at))
        .collect();
    let common = |f: fn(&AlertData) -> &BTreeMap<String, String>| {
        let mut it = alerts.iter();
        let mut out = it.next().map(|a| f(a).clone()).unwrap_or_default();
        for a in it {
            out.retain(|k, v| f(a).get(k) == Some(v));
        }
        out
    };
    let common_labels = common(|a| &a.labels);
    let common_annotations = common(|a| &a.annotations);
    GroupNotification {
        receiver: flush.receiver.clone(),
        group_key: flush.group_key.clone(),
        group_labels: label_map(&flush.group_labels),
        common_labels,
        common_annotations,
        external_url: external_url.to_string(),
        status: GroupNotification::new_status(&alerts),
        alerts,
        truncated_alerts: 0,
        links,
    }
}

fn group_flush(flush: &Flush) -> GroupFlush {
    GroupFlush {
        receiver: flush.receiver.clone(),
        group_key: flush.group_key.clone(),
        group_labels: label_map(&flush.group_labels),
        alerts: flush
            .alerts
            .iter()
            .map(|a| homeostat_incident::AlertInfo {
                labels: label_map(&a.labels),
                annotations: a.annotations.clone(),
                starts_at: a.starts_at,
                pending_since: a.pending_since,
                ends_at: a.is_resolved(flush.at).then_some(a.ends_at),
                fingerprint: a.fingerprint,
            })
            .collect(),
        at: flush.at,
    }
}

#[cfg(test)]
#[path = "alert_delivery_tests.rs"]
mod tests;
