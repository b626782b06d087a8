//! Alerts as Alertmanager keeps them: keyed by the fingerprint of their
//! labels, merged when the same alert is posted again, resolved when their
//! `endsAt` passes. Posted alerts are validated here (one error per bad
//! alert, naming its index) so every intake — HTTP or the in-process rule
//! engine — applies the same rules.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use homeostat_model::{Label, Labels, Timestamp, is_valid_label_name};

use homeostat_model::Fingerprint;

/// An alert as a client posts it. Times are ms since the epoch; `None` is
/// Alertmanager's zero time ("not given").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostableAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub generator_url: String,
    /// When the alert became active (pending), before it fired at
    /// `starts_at`. Alertmanager's API has no such field: only homeostat's
    /// own rule engine fills it, in process, for incident timelines.
    pub pending_since: Option<Timestamp>,
}

/// An accepted alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub fingerprint: Fingerprint,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub generator_url: String,
    /// See [`PostableAlert::pending_since`].
    pub pending_since: Option<Timestamp>,
    pub updated_at: Timestamp,
    /// `endsAt` was not given: it is `updated_at + resolve_timeout`, and an
    /// explicit end posted later wins over it.
    pub timeout: bool,
}

impl Alert {
    /// Resolved once its end has passed (`endsAt <= now`).
    pub fn is_resolved(&self, now: i64) -> bool {
        self.ends_at <= now
    }

    /// Alertmanager's merge of an existing alert `self` with a re-post
    /// `newer`: the earliest start is kept; the end comes from the newer
    /// post unless the older one carried a later explicit end.
    fn merge(&self, newer: &Alert, now: i64) -> Alert {
        let (old, new) = if newer.updated_at < self.updated_at {
            (newer, self)
        } else {
            (self, newer)
        };
        let mut out = new.clone();
        out.starts_at = old.starts_at.min(new.starts_at);
        out.pending_since = match (old.pending_since, new.pending_since) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if new.is_resolved(now) {
            if old.is_resolved(now) && old.ends_at > new.ends_at {
                out.ends_at = old.ends_at;
            }
        } else if old.ends_at > new.ends_at && !old.timeout {
            out.ends_at = old.ends_at;
            out.timeout = false;
        }
        out
    }
}

/// Why one posted alert was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alerts[{index}]: {message}")]
pub struct AlertError {
    /// Position in the posted array.
    pub index: usize,
    pub message: String,
}

/// Furthest ahead a posted alert may end (`endsAt - now`): the store keeps
/// an alert until it ends, so an alert ending in a century would stay
/// firing (and held in memory) that long. Prometheus sends minutes.
pub const MAX_ALERT_HORIZON_MS: i64 = 31 * 86_400_000;

/// Largest alert: label and annotation names and values and the generator
/// URL, in bytes.
pub const MAX_ALERT_BYTES: usize = 64 << 10;

/// Checks a posted alert and fills Alertmanager's defaults: a missing start
/// is `now` (or the end, when only the end is given); a missing end is
/// `now + resolve_timeout`.
pub fn validate(
    index: usize,
    posted: PostableAlert,
    now: i64,
    resolve_timeout: Duration,
) -> Result<Alert, AlertError> {
    let err = |message: String| AlertError { index, message };
    let size: usize = posted
        .labels
        .iter()
        .chain(posted.annotations.iter())
        .map(|(k, v)| k.len() + v.len())
        .sum::<usize>()
        + posted.generator_url.len();
    if size > MAX_ALERT_BYTES {
        return Err(err(format!(
            "{size} bytes of labels, annotations and generatorURL; the limit is {MAX_ALERT_BYTES}"
        )));
    }
    for name in posted.labels.keys() {
        if !is_valid_label_name(name) {
            return Err(err(format!(
                "invalid label name {name:?} (must match [a-zA-Z_][a-zA-Z0-9_]*)"
            )));
        }
    }
    for name in posted.annotations.keys() {
        if !is_valid_label_name(name) {
            return Err(err(format!(
                "invalid annotation name {name:?} (must match [a-zA-Z_][a-zA-Z0-9_]*)"
            )));
        }
    }
    let labels = Labels::new(
        posted
            .labels
            .iter()
            .map(|(n, v)| Label::new(n.as_str(), v.as_str()))
            .collect(),
    )
    .map_err(|e| err(e.to_string()))?;
    if labels.is_empty() {
        return Err(err(
            "at least one label pair required (an alert with no labels, or only empty values, cannot be routed)".into(),
        ));
    }
    let starts_at = posted.starts_at.or(posted.ends_at).unwrap_or(now);
    let (ends_at, timeout) = match posted.ends_at {
        Some(e) => (e, false),
        None => (now.saturating_add(resolve_timeout.as_millis() as i64), true),
    };
    if ends_at < starts_at {
        return Err(err("endsAt is before startsAt".into()));
    }
    if ends_at.saturating_sub(now) > MAX_ALERT_HORIZON_MS {
        return Err(err(format!(
            "endsAt is more than {} days from now (the limit); post the alert again to keep it firing",
            MAX_ALERT_HORIZON_MS / 86_400_000
        )));
    }
    Ok(Alert {
        fingerprint: Fingerprint::of(&labels),
        labels,
        annotations: posted.annotations,
        starts_at,
        ends_at,
        generator_url: posted.generator_url,
        // Only meaningful before the start; anything else is ignored.
        pending_since: posted.pending_since.filter(|p| *p <= starts_at),
        updated_at: now,
        timeout,
    })
}

#[derive(Debug, Clone)]
struct Entry {
    alert: Arc<Alert>,
    /// Aggregation groups that still list the alert; it is not collected
    /// while any does, so a resolved alert is notified before it goes.
    groups: u32,
}

/// Every known alert, firing or recently resolved.
#[derive(Debug, Default, Clone)]
pub struct AlertStore {
    alerts: HashMap<Fingerprint, Entry>,
}

impl AlertStore {
    /// Adds or merges an alert; returns the alert as stored. A post that
    /// does not overlap the stored alert in time (it fired again after it
    /// resolved) replaces it instead of merging.
    pub fn put(&mut self, alert: Alert, now: i64) -> Arc<Alert> {
        let fp = alert.fingerprint;
        match self.alerts.get_mut(&fp) {
            Some(e) => {
                let old = &e.alert;
                let overlaps = (alert.ends_at > old.starts_at && alert.ends_at < old.ends_at)
                    || (alert.starts_at >= old.starts_at && alert.starts_at <= old.ends_at);
                let merged = if overlaps {
                    old.merge(&alert, now)
                } else {
                    alert
                };
                e.alert = Arc::new(merged);
                e.alert.clone()
            }
            None => {
                let a = Arc::new(alert);
                self.alerts.insert(
                    fp,
                    Entry {
                        alert: a.clone(),
                        groups: 0,
                    },
                );
                a
            }
        }
    }

    pub fn get(&self, fp: Fingerprint) -> Option<&Arc<Alert>> {
        self.alerts.get(&fp).map(|e| &e.alert)
    }

    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Alert>> {
        self.alerts.values().map(|e| &e.alert)
    }

    pub(crate) fn join_group(&mut self, fp: Fingerprint) {
        if let Some(e) = self.alerts.get_mut(&fp) {
            e.groups += 1;
        }
    }

    pub(crate) fn leave_group(&mut self, fp: Fingerprint) {
        if let Some(e) = self.alerts.get_mut(&fp) {
            e.groups = e.groups.saturating_sub(1);
        }
    }

    pub(crate) fn clear_groups(&mut self) {
        for e in self.alerts.values_mut() {
            e.groups = 0;
        }
    }

    /// Drops alerts that resolved before `resolved_before` and that no
    /// group still has to report; returns how many went.
    pub fn gc(&mut self, resolved_before: i64) -> usize {
        let before = self.alerts.len();
        self.alerts
            .retain(|_, e| e.groups > 0 || e.alert.ends_at > resolved_before);
        before - self.alerts.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const RT: Duration = Duration::from_secs(300);

    fn posted(labels: &[(&str, &str)]) -> PostableAlert {
        PostableAlert {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn alerts_ending_too_far_ahead_or_too_large_are_refused() {
        let far = PostableAlert {
            ends_at: Some(1_000 + MAX_ALERT_HORIZON_MS + 1),
            ..posted(&[("alertname", "Down")])
        };
        let e = validate(0, far, 1_000, RT).unwrap_err();
        assert!(e.message.contains("more than 31 days"), "{e}");
        let edge = PostableAlert {
            ends_at: Some(1_000 + MAX_ALERT_HORIZON_MS),
            ..posted(&[("alertname", "Down")])
        };
        assert!(validate(0, edge, 1_000, RT).is_ok());
        let big = "x".repeat(MAX_ALERT_BYTES);
        let e = validate(0, posted(&[("alertname", "Down"), ("big", &big)]), 0, RT).unwrap_err();
        assert!(e.message.contains("the limit is 65536"), "{e}");
    }

    #[test]
    fn defaults_and_validation() {
        let a = validate(0, posted(&[("alertname", "Down")]), 1_000, RT).unwrap();
        assert_eq!((a.starts_at, a.ends_at, a.timeout), (1_000, 301_000, true));
        let only_end = PostableAlert {
            ends_at: Some(500),
            ..posted(&[("alertname", "Down")])
        };
        let a = validate(0, only_end, 1_000, RT).unwrap();
        assert_eq!((a.starts_at, a.ends_at, a.timeout), (500, 500, false));
        assert!(a.is_resolved(1_000));

        let e = validate(3, posted(&[]), 0, RT).unwrap_err();
        assert_eq!(e.index, 3);
        assert!(e.to_string().starts_with("alerts[3]: at least one label"));
        let e = validate(0, posted(&[("a", "")]), 0, RT).unwrap_err();
        assert!(e.message.contains("at least one label"), "{e}");
        let e = validate(1, posted(&[("0x", "y")]), 0, RT).unwrap_err();
        assert!(e.message.contains("invalid label name \"0x\""), "{e}");
        let backwards = PostableAlert {
            starts_at: Some(10),
            ends_at: Some(5),
            ..posted(&[("a", "b")])
        };
        let e = validate(0, backwards, 0, RT).unwrap_err();
        assert!(e.message.contains("endsAt is before startsAt"), "{e}");
    }

    #[test]
    fn repost_keeps_earliest_start_and_takes_the_new_end() {
        let mut s = AlertStore::default();
        let first = PostableAlert {
            starts_at: Some(100),
            ..posted(&[("alertname", "Down")])
        };
        s.put(validate(0, first, 1_000, RT).unwrap(), 1_000);
        let again = PostableAlert {
            starts_at: Some(900),
            ends_at: Some(5_000),
            ..posted(&[("alertname", "Down")])
        };
        let a = s.put(validate(0, again, 2_000, RT).unwrap(), 2_000);
        assert_eq!((a.starts_at, a.ends_at, a.updated_at), (100, 5_000, 2_000));
        assert_eq!(s.len(), 1);
        // A timeout end does not override a later explicit one.
        let mut s = AlertStore::default();
        let explicit = PostableAlert {
            starts_at: Some(100),
            ends_at: Some(900_000),
            ..posted(&[("alertname", "Down")])
        };
        s.put(validate(0, explicit, 1_000, RT).unwrap(), 1_000);
        let a = s.put(
            validate(0, posted(&[("alertname", "Down")]), 2_000, RT).unwrap(),
            2_000,
        );
        assert_eq!(a.ends_at, 900_000);
    }

    #[test]
    fn refiring_after_resolution_replaces_and_gc_spares_grouped() {
        let mut s = AlertStore::default();
        let done = PostableAlert {
            starts_at: Some(100),
            ends_at: Some(200),
            ..posted(&[("alertname", "Down")])
        };
        let fp = s
            .put(validate(0, done, 1_000, RT).unwrap(), 1_000)
            .fingerprint;
        let refire = PostableAlert {
            starts_at: Some(5_000),
            ..posted(&[("alertname", "Down")])
        };
        let a = s.put(validate(0, refire, 5_000, RT).unwrap(), 5_000);
        assert_eq!(a.starts_at, 5_000);
        assert!(!a.is_resolved(5_000));

        let mut s = AlertStore::default();
        let done = PostableAlert {
            ends_at: Some(200),
            ..posted(&[("alertname", "Down")])
        };
        s.put(validate(0, done, 1_000, RT).unwrap(), 1_000);
        s.join_group(fp);
        assert_eq!(s.gc(10_000), 0);
        s.leave_group(fp);
        assert_eq!(s.gc(100), 0, "resolved after the cut-off");
        assert_eq!(s.gc(10_000), 1);
        assert!(s.is_empty());
    }
}
