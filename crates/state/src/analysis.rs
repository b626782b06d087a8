//! Canary analysis runs, so a restart neither loses a finished verdict nor
//! forgets a run in progress. The run itself (spec, phase, message) and the
//! judge request it was started with are JSON owned by the canary engine;
//! the measurements are rows of their own, appended one per judgment.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StateError};

/// One judgment of a run, in the order taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisMeasurement {
    pub at: i64,
    /// The verdict's name (`Pass`, `Marginal`, `Fail`, `NoData`).
    pub verdict: String,
    pub score: f64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisRecord {
    /// `run-<n>`, unique.
    pub id: String,
    pub service: Option<String>,
    /// The deploy the run judges, rolled back if it fails.
    pub deploy_id: Option<i64>,
    /// The phase's name (`Running`, `Successful`, `Failed`…), beside the
    /// run document so listings need not decode it.
    pub phase: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// The run failed and its deploy's rollback has not been claimed yet:
    /// a restart must still try it (once, `DeployStore::claim_rollback`).
    pub rollback_pending: bool,
    /// The run without its measurements, as the canary engine serialises it.
    pub run: serde_json::Value,
    /// The judge request (metrics, groups, lookback) the run was started with.
    pub request: serde_json::Value,
    /// The latest judgment in full.
    pub last: Option<serde_json::Value>,
    /// Append-only: a save never rewrites a measurement already stored.
    pub measurements: Vec<AnalysisMeasurement>,
}

impl AnalysisRecord {
    pub fn validate(&self) -> Result<()> {
        if self.id.trim().is_empty() {
            return Err(StateError::invalid("id", "an analysis run needs an id"));
        }
        if self.phase.trim().is_empty() {
            return Err(StateError::invalid(
                "phase",
                "an analysis run needs a phase",
            ));
        }
        Ok(())
    }
}

pub trait AnalysisStore: Send + Sync {
    /// Creates or replaces the run, in one transaction: the header fields
    /// are overwritten and the measurements beyond those already stored are
    /// appended (earlier ones are never rewritten). Saving the same record
    /// twice is a no-op the second time.
    fn save_analysis(&self, run: &AnalysisRecord) -> Result<()>;
    fn get_analysis(&self, id: &str) -> Result<Option<AnalysisRecord>>;
    /// Every stored run, oldest first (by start, then insertion).
    fn list_analyses(&self) -> Result<Vec<AnalysisRecord>>;
    /// Deletes a run and its measurements; `Ok(false)` when there was none.
    fn delete_analysis(&self, id: &str) -> Result<bool>;
}
