//! The dispatcher: alerts routed into aggregation groups (one per route and
//! group-label values), flushed on Alertmanager's timers. A group first
//! flushes `group_wait` after it is created (at once if its alert is older
//! than that), then every `group_interval`. Each flush carries the group's
//! alerts as they are at that instant, minus silenced and inhibited ones;
//! resolved alerts are carried by one flush and then leave the group, and a
//! group with no alerts left goes away. Whether a flush is worth a
//! notification (something changed, `repeat_interval` passed) is decided
//! downstream against the notification log, as Alertmanager does.
//!
//! Pure and tick-driven: `ingest` and `tick` take the instant.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use homeostat_model::{Labels, Timestamp};
use homeostat_state::Silence;
use regex::Regex;

use crate::config::Config;
use crate::matcher::Matchers;
use crate::route::RouteOpts;
use crate::silence::Silencer;
use crate::store::{Alert, AlertStore};
use homeostat_model::Fingerprint;

/// Resolved alerts stay this long after their end once no group has to
/// report them (Prometheus re-sends resolved alerts for 15 minutes; keeping
/// them that long makes those re-sends no news).
pub const RESOLVED_RETENTION: Duration = Duration::from_secs(15 * 60);

/// One aggregation group due for a notification.
#[derive(Debug, Clone)]
pub struct Flush {
    pub receiver: String,
    pub route_id: String,
    pub group_key: String,
    pub group_labels: Labels,
    pub repeat_interval: Duration,
    /// When the flush happened.
    pub at: Timestamp,
    /// Firing and resolved (at `at`) alerts, silenced and inhibited ones
    /// left out, sorted by labels.
    pub alerts: Vec<Arc<Alert>>,
}

/// Alertmanager's alert states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Active,
    Suppressed,
    Unprocessed,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Active => "active",
            AlertState::Suppressed => "suppressed",
            AlertState::Unprocessed => "unprocessed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertStatus {
    pub state: AlertState,
    /// Silence ids.
    pub silenced_by: Vec<String>,
    /// Fingerprints of the firing alerts that inhibit this one.
    pub inhibited_by: Vec<String>,
}

/// An alert as the API lists it.
#[derive(Debug, Clone)]
pub struct AlertView {
    pub alert: Arc<Alert>,
    pub receivers: Vec<String>,
    pub status: AlertStatus,
}

#[derive(Debug, Clone)]
pub struct GroupView {
    pub labels: Labels,
    pub receiver: String,
    pub alerts: Vec<AlertView>,
}

/// The filters of `GET /api/v2/alerts` and `/alerts/groups`.
#[derive(Debug, Clone)]
pub struct AlertQuery {
    pub matchers: Matchers,
    pub active: bool,
    pub silenced: bool,
    pub inhibited: bool,
    pub unprocessed: bool,
    /// Anchored; an alert passes when one of its receivers matches.
    pub receiver: Option<Regex>,
}

impl Default for AlertQuery {
    fn default() -> Self {
        Self {
            matchers: Matchers::default(),
            active: true,
            silenced: true,
            inhibited: true,
            unprocessed: true,
            receiver: None,
        }
    }
}

impl AlertQuery {
    fn wants(&self, status: &AlertStatus) -> bool {
        match status.state {
            AlertState::Active => self.active,
            AlertState::Unprocessed => self.unprocessed,
            AlertState::Suppressed => {
                (self.silenced || status.silenced_by.is_empty())
                    && (self.inhibited || status.inhibited_by.is_empty())
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Group {
    route_id: String,
    group_key: String,
    labels: Labels,
    opts: RouteOpts,
    alerts: HashSet<Fingerprint>,
    next_flush: i64,
    flushed: bool,
}

/// Routing state: the alert store, the aggregation groups, the silences in
/// force. One per process, behind a lock.
#[derive(Debug)]
pub struct Dispatcher {
    config: Arc<Config>,
    store: AlertStore,
    groups: HashMap<String, Group>,
    silencer: Silencer,
}

fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

impl Dispatcher {
    pub fn new(config: Arc<Config>) -> Self {
        Self {
            config,
            store: AlertStore::default(),
            groups: HashMap::new(),
            silencer: Silencer::default(),
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Swaps the routing configuration: groups are rebuilt from the stored
    /// alerts under the new routes and start their timers afresh (the
    /// notification log keeps that from repeating notifications).
    pub fn set_config(&mut self, config: Arc<Config>, now: i64) {
        self.config = config;
        self.groups.clear();
        self.store.clear_groups();
        let alerts: Vec<Arc<Alert>> = self.store.iter().cloned().collect();
        for a in alerts {
            self.route(&a, now);
        }
    }

    /// Replaces the silences in force (after any silence changed).
    pub fn set_silences(&mut self, silences: Vec<Silence>, now: i64) {
        self.silencer = Silencer::new(silences, now);
    }

    pub fn store(&self) -> &AlertStore {
        &self.store
    }

    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Stores validated alerts and routes them into their groups.
    pub fn ingest(&mut self, alerts: Vec<Alert>, now: i64) {
        for alert in alerts {
            let was_resolved = self
                .store
                .get(alert.fingerprint)
                .map(|a| a.is_resolved(now));
            let stored = self.store.put(alert, now);
            // A re-sent resolution of an alert already known resolved is no
            // news: routing it would only recreate a finished group.
            if was_resolved == Some(true) && stored.is_resolved(now) {
                continue;
            }
            self.route(&stored, now);
        }
    }

    fn route(&mut self, alert: &Arc<Alert>, now: i64) {
        let config = self.config.clone();
        for route in config.routes_for(&alert.labels) {
            let group_key = route.group_key(&alert.labels);
            let map_key = format!("{}\u{0}{}", route.id, group_key);
            let group = self.groups.entry(map_key).or_insert_with(|| Group {
                route_id: route.id.clone(),
                labels: route.group_labels(&alert.labels),
                group_key,
                opts: route.opts.clone(),
                alerts: HashSet::new(),
                next_flush: now.saturating_add(ms(route.opts.group_wait)),
                flushed: false,
            });
            // An alert that has fired for longer than group_wait already
            // waited enough (e.g. re-sent after a restart).
            if !group.flushed && alert.starts_at.saturating_add(ms(group.opts.group_wait)) < now {
                group.next_flush = group.next_flush.min(now);
            }
            if group.alerts.insert(alert.fingerprint) {
                self.store.join_group(alert.fingerprint);
            }
        }
    }

    /// The earliest instant a group is due, if any group exists.
    pub fn next_deadline(&self) -> Option<i64> {
        self.groups.values().map(|g| g.next_flush).min()
    }

    /// Flushes every group that is due at `now`.
    pub fn tick(&mut self, now: i64) -> Vec<Flush> {
        let due: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.next_flush <= now)
            .map(|(k, _)| k.clone())
            .collect();
        if due.is_empty() {
            return Vec::new();
        }
        let config = self.config.clone();
        let inhibition = Inhibition::new(&config, &self.store, now);
        let at = DateTime::<Utc>::from_timestamp_millis(now).unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let mut out = Vec::new();
        let mut left = Vec::new();
        for key in due {
            let Some(group) = self.groups.get_mut(&key) else {
                continue;
            };
            group.next_flush = now.saturating_add(ms(group.opts.group_interval));
            group.flushed = true;
            let mut alerts = Vec::with_capacity(group.alerts.len());
            let mut done = Vec::new();
            for fp in &group.alerts {
                let Some(a) = self.store.get(*fp) else {
                    done.push(*fp);
                    continue;
                };
                if a.is_resolved(now) {
                    done.push(*fp);
                }
                let muted = !self.silencer.silenced_by(&a.labels, now).is_empty()
                    || !inhibition.inhibited_by(a).is_empty();
                if !muted {
                    alerts.push(a.clone());
                }
            }
            for fp in done {
                group.alerts.remove(&fp);
                left.push(fp);
            }
            let time_muted = is_muted(&config, &group.opts, at);
            if !time_muted && !alerts.is_empty() {
                alerts.sort_by(|a, b| a.labels.cmp(&b.labels));
                out.push(Flush {
                    receiver: group.opts.receiver.clone(),
                    route_id: group.route_id.clone(),
                    group_key: group.group_key.clone(),
                    group_labels: group.labels.clone(),
                    repeat_interval: group.opts.repeat_interval,
                    at: now,
                    alerts,
                });
            }
            if group.alerts.is_empty() {
                self.groups.remove(&key);
            }
        }
        drop(inhibition);
        for fp in left {
            self.store.leave_group(fp);
        }
        out
    }

    /// Drops alerts resolved more than [`RESOLVED_RETENTION`] ago that no
    /// group still has to report; returns how many.
    pub fn gc(&mut self, now: i64) -> usize {
        self.store.gc(now.saturating_sub(ms(RESOLVED_RETENTION)))
    }

    /// The unresolved alerts passing `q`, by fingerprint.
    pub fn alerts(&self, q: &AlertQuery, now: i64) -> Vec<AlertView> {
        let inhibition = Inhibition::new(&self.config, &self.store, now);
        let mut out: Vec<AlertView> = self
            .store
            .iter()
            .filter(|a| !a.is_resolved(now) && q.matchers.matches(&a.labels))
            .filter_map(|a| self.view(a, q, &inhibition, now))
            .collect();
        out.sort_by_key(|v| v.alert.fingerprint);
        out
    }

    fn view(
        &self,
        a: &Arc<Alert>,
        q: &AlertQuery,
        inhibition: &Inhibition<'_>,
        now: i64,
    ) -> Option<AlertView> {
        let mut receivers: Vec<String> = Vec::new();
        for r in self.config.receivers_for(&a.labels) {
            if !receivers.iter().any(|x| x == r) {
                receivers.push(r.to_string());
            }
        }
        if let Some(re) = &q.receiver
            && !receivers.iter().any(|r| re.is_match(r))
        {
            return None;
        }
        let status = self.status(a, inhibition, now);
        q.wants(&status).then(|| AlertView {
            alert: a.clone(),
            receivers,
            status,
        })
    }

    fn status(&self, a: &Alert, inhibition: &Inhibition<'_>, now: i64) -> AlertStatus {
        let silenced_by = self.silencer.silenced_by(&a.labels, now);
        let inhibited_by = inhibition.inhibited_by(a);
        let state = if silenced_by.is_empty() && inhibited_by.is_empty() {
            AlertState::Active
        } else {
            AlertState::Suppressed
        };
        AlertStatus {
            state,
            silenced_by,
            inhibited_by,
        }
    }

    /// The aggregation groups with their unresolved alerts passing `q`;
    /// groups left empty by the filter are not listed.
    pub fn groups(&self, q: &AlertQuery, now: i64) -> Vec<GroupView> {
        let inhibition = Inhibition::new(&self.config, &self.store, now);
        let mut out = Vec::new();
        for g in self.groups.values() {
            if let Some(re) = &q.receiver
                && !re.is_match(&g.opts.receiver)
            {
                continue;
            }
            let mut alerts: Vec<AlertView> = g
                .alerts
                .iter()
                .filter_map(|fp| self.store.get(*fp))
                .filter(|a| !a.is_resolved(now) && q.matchers.matches(&a.labels))
                .filter_map(|a| {
                    let status = self.status(a, &inhibition, now);
                    q.wants(&status).then(|| AlertView {
                        alert: a.clone(),
                        receivers: vec![g.opts.receiver.clone()],
                        status,
                    })
                })
                .collect();
            if alerts.is_empty() {
                continue;
            }
            alerts.sort_by_key(|v| v.alert.fingerprint);
            out.push(GroupView {
                labels: g.labels.clone(),
                receiver: g.opts.receiver.clone(),
                alerts,
            });
        }
        out.sort_by(|a, b| (&a.receiver, &a.labels).cmp(&(&b.receiver, &b.labels)));
        out
    }
}

/// Whether a route's notifications are held back at `at` by its mute or
/// active time intervals.
fn is_muted(config: &Config, opts: &RouteOpts, at: DateTime<Utc>) -> bool {
    let ti = &config.time_intervals;
    opts.mute_time_intervals.iter().any(|n| ti.contains(n, at))
        || (!opts.active_time_intervals.is_empty()
            && !opts
                .active_time_intervals
                .iter()
                .any(|n| ti.contains(n, at)))
}

/// The firing alerts that can inhibit others, per inhibit rule, gathered
/// once per flush or query.
struct Inhibition<'a> {
    config: &'a Config,
    sources: Vec<Vec<&'a Arc<Alert>>>,
}

impl<'a> Inhibition<'a> {
    fn new(config: &'a Config, store: &'a AlertStore, now: i64) -> Self {
        let sources = config
            .inhibit_rules
            .iter()
            .map(|r| {
                store
                    .iter()
                    .filter(|a| !a.is_resolved(now) && r.source.matches(&a.labels))
                    .collect()
            })
            .collect();
        Self { config, sources }
    }

    /// Fingerprints of the alerts inhibiting `target`, sorted. An alert
    /// matching both sides of a rule is not inhibited by others that also
    /// do (they would mute each other), nor by itself.
    fn inhibited_by(&self, target: &Alert) -> Vec<String> {
        let mut out = Vec::new();
        for (rule, sources) in self.config.inhibit_rules.iter().zip(&self.sources) {
            if sources.is_empty() || !rule.target.matches(&target.labels) {
                continue;
            }
            let two_sided = rule.source.matches(&target.labels);
            for s in sources {
                if s.fingerprint != target.fingerprint
                    && rule.equal.iter().all(|n| {
                        s.labels.get(n).unwrap_or("") == target.labels.get(n).unwrap_or("")
                    })
                    && !(two_sided && rule.target.matches(&s.labels))
                {
                    out.push(s.fingerprint.to_string());
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;
