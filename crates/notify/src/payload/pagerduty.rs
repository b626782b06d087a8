//! PagerDuty Events API v2: a trigger while the group fires, a resolve once
//! it is resolved, an acknowledge when a person acknowledged it here. The
//! dedup key is stable per group so the three events meet the same incident.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::PayloadError;
use crate::gojson;
use crate::notification::{AlertData, AlertStatus, GroupNotification};
use crate::payload::SUMMARY;
use crate::target::{PagerDutyTarget, Severity};

/// PagerDuty rejects longer summaries.
pub const MAX_SUMMARY_CHARS: usize = 1024;
/// `client` of every trigger event.
pub const CLIENT: &str = "homeostat";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventAction {
    Trigger,
    Acknowledge,
    Resolve,
}

#[derive(Debug, Serialize)]
pub struct PagerDutyEvent<'a> {
    pub routing_key: &'a str,
    pub event_action: EventAction,
    pub dedup_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<EventPayload<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link<'a>>,
}

#[derive(Debug, Serialize)]
pub struct EventPayload<'a> {
    pub summary: String,
    pub source: &'a str,
    pub severity: Severity,
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<&'a str>,
    pub custom_details: BTreeMap<&'static str, String>,
}

impl Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Debug, Serialize)]
pub struct Link<'a> {
    pub href: &'a str,
    pub text: &'static str,
}

/// The group's dedup key: SHA-256 of the group key in lowercase hex, as
/// Alertmanager computes it, so switching between the two keeps incidents.
pub fn dedup_key(group_key: &str) -> String {
    let digest = Sha256::digest(group_key.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The event for `n`: trigger while any alert fires, resolve otherwise.
pub fn event<'a>(n: &'a GroupNotification, target: &'a PagerDutyTarget) -> PagerDutyEvent<'a> {
    if n.status == AlertStatus::Resolved {
        return bare(target, &n.group_key, EventAction::Resolve);
    }
    let source = target
        .source
        .as_deref()
        .or_else(|| n.common_labels.get("instance").map(String::as_str))
        .unwrap_or(CLIENT);
    let severity = target
        .severity_label
        .as_ref()
        .and_then(|l| n.common_labels.get(l))
        .and_then(|v| Severity::parse(v))
        .unwrap_or(target.severity);
    // The oldest firing alert dates the incident.
    let timestamp = n
        .firing()
        .map(|a| a.starts_at)
        .min()
        .map(|t| gojson::rfc3339_nano(&t))
        .unwrap_or_default();
    let mut custom_details = BTreeMap::new();
    custom_details.insert("firing", instances(n.firing()));
    custom_details.insert("resolved", instances(n.resolved()));
    custom_details.insert("num_firing", n.num_firing().to_string());
    custom_details.insert("num_resolved", n.num_resolved().to_string());
    let links = n
        .links
        .as_ref()
        .map(|l| {
            vec![
                Link {
                    href: &l.ack_url,
                    text: "Acknowledge in homeostat",
                },
                Link {
                    href: &l.resolve_url,
                    text: "Resolve in homeostat",
                },
            ]
        })
        .unwrap_or_default();
    PagerDutyEvent {
        routing_key: &target.routing_key,
        event_action: EventAction::Trigger,
        dedup_key: dedup_key(&n.group_key),
        payload: Some(EventPayload {
            summary: summary(n),
            source,
            severity,
            timestamp,
            component: target.component.as_deref(),
            group: target.group.as_deref(),
            class: target.class.as_deref(),
            custom_details,
        }),
        client: Some(CLIENT),
        client_url: Some(&n.external_url),
        links,
    }
}

/// The acknowledge event for a group a person acknowledged in homeostat.
pub fn acknowledge<'a>(target: &'a PagerDutyTarget, group_key: &str) -> PagerDutyEvent<'a> {
    bare(target, group_key, EventAction::Acknowledge)
}

// Resolve and acknowledge carry only the key and the action: PagerDuty
// ignores a payload on them.
fn bare<'a>(
    target: &'a PagerDutyTarget,
    group_key: &str,
    action: EventAction,
) -> PagerDutyEvent<'a> {
    PagerDutyEvent {
        routing_key: &target.routing_key,
        event_action: action,
        dedup_key: dedup_key(group_key),
        payload: None,
        client: None,
        client_url: None,
        links: Vec::new(),
    }
}

pub fn body(n: &GroupNotification, target: &PagerDutyTarget) -> Result<Vec<u8>, PayloadError> {
    Ok(serde_json::to_vec(&event(n, target))?)
}

pub fn acknowledge_body(
    target: &PagerDutyTarget,
    group_key: &str,
) -> Result<Vec<u8>, PayloadError> {
    Ok(serde_json::to_vec(&acknowledge(target, group_key))?)
}

/// The title, cut to PagerDuty's limit with an ellipsis.
fn summary(n: &GroupNotification) -> String {
    truncate_chars(&n.title(), MAX_SUMMARY_CHARS)
}

pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One line per alert: its summary (or name) and its labels.
fn instances<'a>(alerts: impl Iterator<Item = &'a AlertData>) -> String {
    let mut out = String::new();
    for a in alerts {
        let name = a
            .annotations
            .get(SUMMARY)
            .or_else(|| a.labels.get("alertname"))
            .map_or("alert", String::as_str);
        let labels: Vec<String> = a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(out, "{name} [{}]", labels.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_key_is_sha256_hex() {
        assert_eq!(
            dedup_key(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn truncation_keeps_the_limit_with_an_ellipsis() {
        let long = "é".repeat(2000);
        let cut = truncate_chars(&long, MAX_SUMMARY_CHARS);
        assert_eq!(cut.chars().count(), MAX_SUMMARY_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate_chars("short", 10), "short");
    }
}
