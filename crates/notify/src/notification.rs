//! The input of this crate: one notification for one alert group, as the
//! dispatcher hands it over. Plain Rust, no wire shape.

use homeostat_model::{Fingerprint, Timestamp};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// Firing or resolved, for one alert or a whole group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    /// The lowercase word used in every payload.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

impl std::fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert of the group.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertData {
    pub status: AlertStatus,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// A `DateTime` rather than the alert path's `model::Timestamp` (ms):
    /// this is the webhook's wire shape, and Alertmanager's v4 payload
    /// carries RFC 3339 times with up to nanosecond precision, which a
    /// receiver may compare byte for byte. Built from the ms timestamp once,
    /// by [`utc_from_millis`], where a notification is made.
    pub starts_at: DateTime<Utc>,
    /// `None` while the alert has no known end (Alertmanager then sends Go's
    /// zero time).
    pub ends_at: Option<DateTime<Utc>>,
    pub generator_url: String,
    pub fingerprint: Fingerprint,
}

/// Where a person acknowledges or resolves the page from the notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckLinks {
    pub ack_url: String,
    pub resolve_url: String,
}

/// A notification for one alert group to one receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupNotification {
    pub receiver: String,
    pub group_key: String,
    pub group_labels: BTreeMap<String, String>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    pub external_url: String,
    /// Firing when any alert is firing; [`GroupNotification::new_status`]
    /// computes it.
    pub status: AlertStatus,
    pub alerts: Vec<AlertData>,
    /// Alerts the dispatcher already left out (a group limit); payloads that
    /// truncate further add their own count to it.
    pub truncated_alerts: usize,
    pub links: Option<AckLinks>,
}

impl GroupNotification {
    /// The group status implied by `alerts`: firing if any alert fires.
    pub fn new_status(alerts: &[AlertData]) -> AlertStatus {
        if alerts.iter().any(|a| a.status == AlertStatus::Firing) {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        }
    }

    pub fn firing(&self) -> impl Iterator<Item = &AlertData> {
        self.alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Firing)
    }

    pub fn resolved(&self) -> impl Iterator<Item = &AlertData> {
        self.alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Resolved)
    }

    pub fn num_firing(&self) -> usize {
        self.firing().count()
    }

    pub fn num_resolved(&self) -> usize {
        self.resolved().count()
    }

    /// The links worth showing a person: none once the group is resolved,
    /// since there is nothing left to acknowledge.
    pub fn action_links(&self) -> Option<&AckLinks> {
        match self.status {
            AlertStatus::Firing => self.links.as_ref(),
            AlertStatus::Resolved => None,
        }
    }

    /// Keeps only the alerts `keep` accepts and recomputes the group status.
    pub fn retain_alerts(&mut self, keep: impl FnMut(&AlertData) -> bool) {
        self.alerts.retain(keep);
        self.status = Self::new_status(&self.alerts);
    }

    /// The one-line title every receiver shows, shaped like Alertmanager's
    /// default: `[FIRING:2] <group label values> (<other common label values>)`.
    pub fn title(&self) -> String {
        let mut out = match self.status {
            AlertStatus::Firing => format!("[FIRING:{}]", self.num_firing()),
            AlertStatus::Resolved => "[RESOLVED]".to_string(),
        };
        for value in self.group_labels.values() {
            out.push(' ');
            out.push_str(value);
        }
        let extra: Vec<&str> = self
            .common_labels
            .iter()
            .filter(|(k, _)| !self.group_labels.contains_key(*k))
            .map(|(_, v)| v.as_str())
            .collect();
        if !extra.is_empty() {
            out.push_str(" (");
            out.push_str(&extra.join(" "));
            out.push(')');
        }
        out
    }

    /// The receiver's view of its alerts in the console, like Alertmanager's
    /// `/#/alerts?receiver=` link.
    pub fn alerts_url(&self) -> String {
        let receiver: String = form_urlencoded::byte_serialize(self.receiver.as_bytes()).collect();
        format!(
            "{}/#/alerts?receiver={receiver}",
            self.external_url.trim_end_matches('/')
        )
    }
}

/// The one conversion from the alert path's ms timestamps to the
/// notification's `DateTime`; out-of-range values become the Unix epoch.
pub fn utc_from_millis(ms: Timestamp) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn group(status: AlertStatus, firing: usize) -> GroupNotification {
        let alert = AlertData {
            status: AlertStatus::Firing,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            starts_at: DateTime::<Utc>::UNIX_EPOCH,
            ends_at: None,
            generator_url: String::new(),
            fingerprint: Fingerprint(0xa),
        };
        GroupNotification {
            receiver: "team x".into(),
            group_key: "{}:{}".into(),
            group_labels: labels(&[("alertname", "HighLatency"), ("service", "api")]),
            common_labels: labels(&[
                ("alertname", "HighLatency"),
                ("env", "prod"),
                ("service", "api"),
                ("severity", "page"),
            ]),
            common_annotations: BTreeMap::new(),
            external_url: "http://h:9093/".into(),
            status,
            alerts: vec![alert; firing],
            truncated_alerts: 0,
            links: None,
        }
    }

    #[test]
    fn title_lists_group_then_other_common_values() {
        assert_eq!(
            group(AlertStatus::Firing, 2).title(),
            "[FIRING:2] HighLatency api (prod page)"
        );
        assert_eq!(
            group(AlertStatus::Resolved, 0).title(),
            "[RESOLVED] HighLatency api (prod page)"
        );
    }

    #[test]
    fn alerts_url_escapes_the_receiver() {
        assert_eq!(
            group(AlertStatus::Firing, 1).alerts_url(),
            "http://h:9093/#/alerts?receiver=team+x"
        );
    }

    #[test]
    fn retain_recomputes_status() {
        let mut g = group(AlertStatus::Firing, 1);
        g.retain_alerts(|_| false);
        assert_eq!(g.status, AlertStatus::Resolved);
    }
}
