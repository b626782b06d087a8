//! Remediation runs (issue 17): one record per run of a policy on a
//! target, its steps as JSON (the engine's run, owned by the app layer and
//! rewritten as the run moves on). The history rate limits and cooldowns
//! are counted from, and what the console lists.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StateError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationRun {
    /// Unique, chosen by the caller.
    pub id: String,
    pub policy: String,
    /// The target key (`service=checkout,instance=a`).
    pub target: String,
    pub service: String,
    /// The incident the run's steps are written to.
    pub incident: Option<i64>,
    /// `pending-approval`, `acting`, `verifying`, `recovered`, `exhausted`,
    /// `denied`, `dry-run`.
    pub state: String,
    pub started_at: i64,
    /// `None` while the run is going on.
    pub ended_at: Option<i64>,
    /// The engine's run, steps included.
    pub run: serde_json::Value,
}

impl RemediationRun {
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("id", &self.id),
            ("policy", &self.policy),
            ("state", &self.state),
        ] {
            if v.trim().is_empty() {
                return Err(StateError::invalid(field, "a remediation run needs one"));
            }
        }
        Ok(())
    }
}

/// Which runs to list; newest first (by start, then id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemediationFilter {
    pub policy: Option<String>,
    pub target: Option<String>,
    /// Started at or after.
    pub since: i64,
    pub limit: usize,
}

impl Default for RemediationFilter {
    fn default() -> Self {
        Self {
            policy: None,
            target: None,
            since: i64::MIN,
            limit: 100,
        }
    }
}

impl RemediationFilter {
    pub fn matches(&self, r: &RemediationRun) -> bool {
        r.started_at >= self.since
            && self.policy.as_ref().is_none_or(|p| *p == r.policy)
            && self.target.as_ref().is_none_or(|t| *t == r.target)
    }
}

pub trait RemediationStore: Send + Sync {
    /// Stores a new run; a conflict when its id is taken.
    fn insert_remediation(&self, run: &RemediationRun) -> Result<()>;
    /// Replaces a stored run; not found when there is none with its id.
    fn update_remediation(&self, run: &RemediationRun) -> Result<()>;
    fn get_remediation(&self, id: &str) -> Result<Option<RemediationRun>>;
    fn list_remediations(&self, filter: &RemediationFilter) -> Result<Vec<RemediationRun>>;
    /// Every run not yet ended, oldest first (by start, then id).
    fn active_remediations(&self) -> Result<Vec<RemediationRun>>;
}
