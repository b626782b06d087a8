//! The seam between alert dispatching (Alertmanager-compatible routing and
//! notifications) and incident handling (incidents, escalation). The
//! dispatcher calls an [`IncidentHook`] when it is about to notify a
//! receiver about an alert group, and again with the outcome; the incident
//! side opens or joins an incident and answers with the links a person uses
//! to acknowledge or resolve it from the notification. Neither side knows
//! the other's types beyond this file.

use std::collections::BTreeMap;

use homeostat_model::Timestamp;

pub use homeostat_incident::AlertInfo;

/// One alert group about to be notified to one receiver.
#[derive(Debug, Clone)]
pub struct GroupFlush {
    pub receiver: String,
    /// Alertmanager's group key (`{}/{…}:{alertname="…"}`), stable for the
    /// group's lifetime; incidents are deduplicated by it.
    pub group_key: String,
    pub group_labels: BTreeMap<String, String>,
    /// Every alert of the group, firing and resolved (`ends_at` set and in
    /// the past for resolved ones).
    pub alerts: Vec<AlertInfo>,
    /// Notification time.
    pub at: Timestamp,
}

/// Links put into the notification so a person can act on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionLinks {
    pub incident_id: Option<String>,
    pub ack_url: Option<String>,
    pub resolve_url: Option<String>,
}

/// The outcome of one notification attempt sequence.
#[derive(Debug, Clone)]
pub struct NotificationOutcome {
    pub receiver: String,
    pub group_key: String,
    pub delivered: bool,
    pub attempts: u32,
    pub error: Option<String>,
    pub at: Timestamp,
}

/// Implemented by the incident side; called on a blocking thread (it may
/// touch the state store).
pub trait IncidentHook: Send + Sync {
    /// Before a group is notified: open or join the group's incident if the
    /// group pages, record firing/resolved alerts, and return the links.
    fn before_notify(&self, flush: &GroupFlush) -> ActionLinks;
    /// After the notification attempts: record them on the timeline.
    fn after_notify(&self, outcome: &NotificationOutcome);
}

/// No incidents: notifications carry no links.
#[derive(Debug, Default)]
pub struct NoIncidents;

impl IncidentHook for NoIncidents {
    fn before_notify(&self, _: &GroupFlush) -> ActionLinks {
        ActionLinks::default()
    }
    fn after_notify(&self, _: &NotificationOutcome) {}
}
