//! Alertmanager's webhook payload, version "4", byte-compatible with what
//! Alertmanager's Go encoder writes (field order, time format, escaping).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::PayloadError;
use crate::gojson;
use crate::notification::{AlertData, GroupNotification};
use crate::payload::{ACK_URL_ANNOTATION, RESOLVE_URL_ANNOTATION};

/// The payload version; receivers switch on it.
pub const VERSION: &str = "4";

// Field order is the order Alertmanager emits.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookMessage<'a> {
    pub receiver: &'a str,
    pub status: &'static str,
    pub alerts: Vec<WebhookAlert<'a>>,
    pub group_labels: &'a BTreeMap<String, String>,
    pub common_labels: &'a BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    pub external_url: &'a str,
    pub version: &'static str,
    pub group_key: &'a str,
    pub truncated_alerts: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert<'a> {
    pub status: &'static str,
    pub labels: &'a BTreeMap<String, String>,
    pub annotations: &'a BTreeMap<String, String>,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: &'a str,
    /// [`Fingerprint`](homeostat_model::Fingerprint)'s hex rendering.
    pub fingerprint: String,
}

/// The message for `n`, keeping at most `max_alerts` alerts (0: all).
pub fn message(n: &GroupNotification, max_alerts: usize) -> WebhookMessage<'_> {
    let keep = if max_alerts == 0 {
        n.alerts.len()
    } else {
        max_alerts.min(n.alerts.len())
    };
    let mut common_annotations = n.common_annotations.clone();
    if let Some(links) = &n.links {
        // An annotation the rules set themselves wins over ours.
        common_annotations
            .entry(ACK_URL_ANNOTATION.to_string())
            .or_insert_with(|| links.ack_url.clone());
        common_annotations
            .entry(RESOLVE_URL_ANNOTATION.to_string())
            .or_insert_with(|| links.resolve_url.clone());
    }
    WebhookMessage {
        receiver: &n.receiver,
        status: n.status.as_str(),
        alerts: n.alerts[..keep].iter().map(alert).collect(),
        group_labels: &n.group_labels,
        common_labels: &n.common_labels,
        common_annotations,
        external_url: &n.external_url,
        version: VERSION,
        group_key: &n.group_key,
        truncated_alerts: n.truncated_alerts + (n.alerts.len() - keep),
    }
}

fn alert(a: &AlertData) -> WebhookAlert<'_> {
    WebhookAlert {
        status: a.status.as_str(),
        labels: &a.labels,
        annotations: &a.annotations,
        starts_at: gojson::rfc3339_nano(&a.starts_at),
        ends_at: gojson::rfc3339_nano_or_zero(a.ends_at.as_ref()),
        generator_url: &a.generator_url,
        fingerprint: a.fingerprint.to_string(),
    }
}

/// The request body: JSON as Go's encoder writes it, newline included.
pub fn body(n: &GroupNotification, max_alerts: usize) -> Result<Vec<u8>, PayloadError> {
    Ok(gojson::to_vec(&message(n, max_alerts))?)
}
