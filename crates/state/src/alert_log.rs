//! The shared alert intake: every replica writes the alerts it accepts
//! (from Prometheus, amtool or its own rules) to one log, and every replica
//! reads the others' entries in order, so that each has the same alerts and
//! the leader can notify for an alert whichever replica took it.

use std::collections::BTreeMap;

use homeostat_model::Fingerprint;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// An alert as accepted (validated, times resolved), as Alertmanager's API
/// describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedAlert {
    pub fingerprint: Fingerprint,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub generator_url: String,
    /// When a rule alert became pending (homeostat's own rules only).
    pub pending_since: Option<i64>,
    /// `ends_at` was not posted but set from `resolve_timeout`.
    pub timeout: bool,
    /// When the replica took it.
    pub updated_at: i64,
    /// The member id of the replica that took it; readers skip their own.
    pub origin: String,
}

/// Where the shared intake lives. Sequence numbers grow with every write
/// and are never reused.
pub trait AlertLog: Send + Sync {
    /// Appends `alerts` in order; returns the sequence number of the last
    /// (or the current highest when `alerts` is empty).
    fn append_alerts(&self, alerts: &[LoggedAlert]) -> Result<i64>;
    /// Up to `limit` entries with a sequence number above `after`, in order.
    fn alerts_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, LoggedAlert)>>;
    /// Deletes entries that ended before `ended_before`, and entries
    /// updated before `superseded_before` when a later entry has the same
    /// fingerprint; returns how many.
    fn gc_alerts(&self, ended_before: i64, superseded_before: i64) -> Result<usize>;
}
