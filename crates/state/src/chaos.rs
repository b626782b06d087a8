//! Chaos engineering's records: experiment runs with their journal (JSON
//! in Chaos Toolkit's shape, owned by the app layer, rewritten as the run
//! progresses), and the Chaos Monkey's termination log, which holds the
//! minimum interval between terminations across restarts.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StateError};

/// The status of a run still in progress; a restart turns it into
/// [`RUN_INTERRUPTED`].
pub const RUN_RUNNING: &str = "running";
pub const RUN_INTERRUPTED: &str = "interrupted";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChaosRun {
    /// Unique, chosen by the caller.
    pub id: String,
    pub title: String,
    pub service: Option<String>,
    /// `running`, `completed`, `failed`, `aborted`, `interrupted`.
    pub status: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// Who started it.
    pub principal: String,
    pub journal: serde_json::Value,
}

impl ChaosRun {
    pub fn validate(&self) -> Result<()> {
        if self.id.trim().is_empty() {
            return Err(StateError::invalid("id", "an experiment run needs an id"));
        }
        if self.status.trim().is_empty() {
            return Err(StateError::invalid(
                "status",
                "an experiment run needs a status",
            ));
        }
        Ok(())
    }
}

/// A termination to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTermination {
    /// The Chaos Monkey group.
    pub group: String,
    /// The group's service: whose timeline and incidents it concerns.
    pub service: String,
    /// What was terminated (instance, pod, endpoint).
    pub target: String,
    pub at_ms: i64,
    /// The action taken (`command:/usr/local/bin/kill-node`, `webhook`).
    pub action: String,
    /// `ok`, or what went wrong.
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Termination {
    /// Assigned by the store, increasing.
    pub id: i64,
    pub group: String,
    pub service: String,
    pub target: String,
    pub at_ms: i64,
    pub action: String,
    pub outcome: String,
}

impl NewTermination {
    pub fn validate(&self) -> Result<()> {
        if self.group.trim().is_empty() {
            return Err(StateError::invalid("group", "a termination needs a group"));
        }
        if self.target.trim().is_empty() {
            return Err(StateError::invalid(
                "target",
                "a termination needs a target",
            ));
        }
        Ok(())
    }
}

pub trait ChaosStore: Send + Sync {
    /// Stores a new run; a conflict when its id is taken.
    fn insert_run(&self, run: &ChaosRun) -> Result<()>;
    /// Replaces a stored run (status, finish, journal); not found when
    /// there is none with its id.
    fn update_run(&self, run: &ChaosRun) -> Result<()>;
    fn get_run(&self, id: &str) -> Result<Option<ChaosRun>>;
    /// Runs started at or after `since`, of `service` when given, newest
    /// first (by start, then id), at most `limit`.
    fn list_runs(&self, service: Option<&str>, since: i64, limit: usize) -> Result<Vec<ChaosRun>>;
    /// Every run still `running`, oldest first.
    fn running_runs(&self) -> Result<Vec<ChaosRun>>;

    /// Appends a termination; returns it with its id.
    fn record_termination(&self, t: &NewTermination) -> Result<Termination>;
    /// The latest termination of `group` (by time, then id).
    fn last_termination(&self, group: &str) -> Result<Option<Termination>>;
    /// Terminations at or after `since_ms`, of `group` when given, newest
    /// first (by time, then id), at most `limit`.
    fn list_terminations(
        &self,
        group: Option<&str>,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<Termination>>;
}
