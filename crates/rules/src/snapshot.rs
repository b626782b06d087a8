//! Plain read-only views of groups, rules and alerts for the HTTP API.

use std::collections::BTreeMap;
use std::time::Duration;

use homeostat_model::Timestamp;

use crate::alert::{Alert, AlertState};
use crate::file::RuleKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Ok,
    Err,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertSnapshot {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    pub active_at: Timestamp,
    /// When it went from pending to firing; `None` while pending.
    pub fired_at: Option<Timestamp>,
    pub keep_firing_since: Option<Timestamp>,
    pub value: f64,
}

impl From<&Alert> for AlertSnapshot {
    fn from(a: &Alert) -> Self {
        Self {
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            state: a.state,
            active_at: a.active_at,
            fired_at: a.fired_at,
            keep_firing_since: a.keep_firing_since,
            value: a.value,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleSnapshot {
    pub kind: RuleKind,
    pub name: String,
    pub query: String,
    /// `for` (alerting rules).
    pub duration: Duration,
    pub keep_firing_for: Duration,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The highest state among the rule's alerts.
    pub state: AlertState,
    pub alerts: Vec<AlertSnapshot>,
    pub health: Health,
    pub last_error: Option<String>,
    pub last_evaluation: Option<Timestamp>,
    pub evaluation_seconds: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupSnapshot {
    pub name: String,
    pub file: String,
    pub interval: Duration,
    pub limit: usize,
    pub last_evaluation: Option<Timestamp>,
    pub evaluation_seconds: f64,
    pub rules: Vec<RuleSnapshot>,
}

/// What the HTTP API reads: implemented by [`crate::RuleManager`], and by
/// [`NoRules`] when nothing is loaded.
pub trait RulesView: Send + Sync {
    fn groups(&self) -> Vec<GroupSnapshot>;
    fn alerts(&self) -> Vec<AlertSnapshot>;
}

/// No rules loaded.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRules;

impl RulesView for NoRules {
    fn groups(&self) -> Vec<GroupSnapshot> {
        Vec::new()
    }
    fn alerts(&self) -> Vec<AlertSnapshot> {
        Vec::new()
    }
}
