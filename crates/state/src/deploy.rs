//! Deploy events and error-budget gate overrides: what shipped when, what
//! was rolled back, and who lifted a freeze.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::AuditEntry;
use crate::error::{Result, StateError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DeployOutcome {
    #[default]
    InProgress,
    Succeeded,
    Failed,
    RolledBack,
}

impl DeployOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployOutcome::InProgress => "in_progress",
            DeployOutcome::Succeeded => "succeeded",
            DeployOutcome::Failed => "failed",
            DeployOutcome::RolledBack => "rolled_back",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            DeployOutcome::InProgress,
            DeployOutcome::Succeeded,
            DeployOutcome::Failed,
            DeployOutcome::RolledBack,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// The one automatic (or manual) rollback of a deploy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackRecord {
    pub at: i64,
    /// Why: the failed analysis run, the burn alert.
    pub reason: String,
    /// What was called: a webhook URL or a command.
    pub action: String,
    /// `None` until the action answered.
    pub ok: Option<bool>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    /// Assigned by the store on insert (ignored on input), increasing.
    pub id: i64,
    pub service: String,
    pub version: String,
    pub commit: Option<String>,
    pub author: Option<String>,
    pub environment: String,
    /// `rollback`, `security`, `feature`… as the gate saw it.
    pub change_type: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub outcome: DeployOutcome,
    pub labels: BTreeMap<String, String>,
    pub rollback: Option<RollbackRecord>,
    /// For a rollback deploy: the deploy it replaced, which storing this
    /// one marks rolled back. Absent in records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolls_back: Option<i64>,
}

impl Deploy {
    pub fn validate(&self) -> Result<()> {
        if self.service.trim().is_empty() {
            return Err(StateError::invalid("service", "a deploy needs a service"));
        }
        if self.version.trim().is_empty() {
            return Err(StateError::invalid("version", "a deploy needs a version"));
        }
        if self.environment.trim().is_empty() {
            return Err(StateError::invalid(
                "environment",
                "a deploy needs an environment",
            ));
        }
        if let Some(f) = self.finished_at
            && f < self.started_at
        {
            return Err(StateError::invalid(
                "finished_at",
                "a deploy cannot finish before it started",
            ));
        }
        Ok(())
    }

    /// Applies a finish to this deploy, the one rule both backends share.
    /// `Ok(true)` when it changed the deploy, `Ok(false)` when it already
    /// had this outcome (a retried finish is not an error). An unfinished
    /// deploy takes any final outcome and `at` as its end; a finished one
    /// may still be rolled back (its end stays); any other change of a
    /// final outcome is a conflict, because a pipeline that reports
    /// `failed` after `succeeded` has a bug the caller must see.
    pub fn finish(&mut self, outcome: DeployOutcome, at: i64) -> Result<bool> {
        if outcome == DeployOutcome::InProgress {
            return Err(StateError::invalid(
                "outcome",
                "a finished deploy is succeeded, failed or rolled_back",
            ));
        }
        if self.outcome == outcome {
            return Ok(false);
        }
        match (self.outcome, outcome) {
            (DeployOutcome::InProgress, _) => {
                if at < self.started_at {
                    return Err(StateError::invalid(
                        "finished_at",
                        "a deploy cannot finish before it started",
                    ));
                }
                self.outcome = outcome;
                self.finished_at = Some(at);
            }
            (DeployOutcome::Succeeded | DeployOutcome::Failed, DeployOutcome::RolledBack) => {
                self.outcome = outcome;
                self.finished_at.get_or_insert(at);
            }
            (done, _) => {
                return Err(StateError::conflict(
                    "deploy",
                    self.id,
                    format!(
                        "already finished as {}; only a rollback may follow",
                        done.as_str()
                    ),
                ));
            }
        }
        Ok(true)
    }
}

/// Which deploys to list, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeployFilter {
    pub service: Option<String>,
    /// Started at or after.
    pub since: Option<i64>,
    /// Started at or before.
    pub until: Option<i64>,
    /// 0: no limit.
    pub limit: usize,
}

impl DeployFilter {
    pub fn matches(&self, d: &Deploy) -> bool {
        self.service.as_ref().is_none_or(|s| &d.service == s)
            && self.since.is_none_or(|t| d.started_at >= t)
            && self.until.is_none_or(|t| d.started_at <= t)
    }
}

pub trait DeployStore: Send + Sync {
    /// Stores a new deploy; returns its id. When it names the deploy it
    /// replaced (`rolls_back`), that deploy is marked rolled back in the
    /// same write ([`Deploy::finish`], ended at this deploy's start);
    /// NotFound (and nothing stored) if there is no such deploy.
    fn record_deploy(&self, deploy: &Deploy) -> Result<i64>;
    fn get_deploy(&self, id: i64) -> Result<Option<Deploy>>;
    fn list_deploys(&self, filter: &DeployFilter) -> Result<Vec<Deploy>>;
    /// Replaces the deploy's fields (outcome, finish) except its rollback,
    /// which only [`DeployStore::claim_rollback`] sets.
    fn update_deploy(&self, deploy: &Deploy) -> Result<()>;
    /// Ends a deploy with `outcome` by the rule of [`Deploy::finish`],
    /// atomically (two racing finishes cannot both win); returns the
    /// deploy as stored. NotFound for an unknown id.
    fn finish_deploy(&self, id: i64, outcome: DeployOutcome, at: i64) -> Result<Deploy>;
    /// Sets the deploy's rollback if it has none, atomically: `Ok(true)`
    /// the first time, `Ok(false)` ever after. This is what guarantees a
    /// rollback action is called at most once per deploy, across restarts
    /// and racing triggers.
    fn claim_rollback(&self, id: i64, record: &RollbackRecord) -> Result<bool>;
    /// Records the answer of the rollback action.
    fn finish_rollback(&self, id: i64, ok: bool, detail: &serde_json::Value) -> Result<()>;
}

/// A manual override of an error-budget freeze.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateOverride {
    pub id: String,
    pub service: String,
    pub reason: String,
    pub author: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// Overrides are audited: every change takes its [`AuditEntry`] and stores
/// both in one transaction, so there is never an override the audit log
/// does not explain, nor an audit line for an override that was not stored.
pub trait OverrideStore: Send + Sync {
    /// Stores a new override (`id` must be unique) and `audit`, both or
    /// neither.
    fn create_override(&self, o: &GateOverride, audit: &AuditEntry) -> Result<()>;
    /// Every override of `service` (all services when `None`), newest first,
    /// expired and revoked ones included (they are the audit trail).
    fn list_overrides(&self, service: Option<&str>) -> Result<Vec<GateOverride>>;
    /// Revokes an override and appends `audit`, both or neither;
    /// `Ok(false)` (and nothing written) when it was already revoked.
    fn revoke_override(&self, id: &str, at: i64, audit: &AuditEntry) -> Result<bool>;
}
