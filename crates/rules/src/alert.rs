//! Alert state and what is handed to the notifier.

use std::collections::BTreeMap;

use homeostat_model::Timestamp;

/// Prometheus's alert states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of an alerting rule, keyed by its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Sample labels without `__name__`, plus group and rule labels and `alertname`.
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    pub value: f64,
    pub active_at: Timestamp,
    pub fired_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub last_sent_at: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
    pub keep_firing_since: Option<Timestamp>,
}

impl Alert {
    /// Prometheus's `needsSending`: never pending alerts; resolved ones once
    /// more after resolution; others when the resend delay has passed.
    pub(crate) fn needs_sending(&self, ts: Timestamp, resend_delay_ms: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        match (self.resolved_at, self.last_sent_at) {
            (_, None) => true,
            (Some(r), Some(s)) if r > s => true,
            (_, Some(s)) => s + resend_delay_ms < ts,
        }
    }
}

/// An alert as sent to an Alertmanager (firing or resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Alert labels with the external labels added (alert labels win).
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// When the alert fired (after its `for`), as Prometheus sends
    /// `startsAt`; what Alertmanager, its clients and incidents show.
    pub starts_at: Timestamp,
    /// When the alert became active (pending). Never on the wire, where
    /// Prometheus has no field for it; the in-process path hands it to the
    /// built-in Alertmanager so an incident can say how long it pended.
    pub pending_since: Timestamp,
    /// The resolution time, or a validity horizon a few evaluations ahead.
    pub ends_at: Timestamp,
    pub generator_url: String,
}
