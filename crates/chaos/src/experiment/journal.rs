//! The journal in Chaos Toolkit's shape (chaoslib's `initialize_run_journal`
//! and activity run results), so the tools that read `chaos run`'s
//! journal.json read homeostat's. Homeostat adds one key, `homeostat`,
//! with the guard's readings and the reason of an abort.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::guard::{GuardDecision, GuardReading};

/// The chaoslib release whose journal shape this follows.
pub const CHAOSLIB_VERSION: &str = "1.44.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Only while the run is in progress; never in a finished journal.
    Running,
    Completed,
    Failed,
    Aborted,
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Aborted => "aborted",
            RunStatus::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        [
            RunStatus::Running,
            RunStatus::Completed,
            RunStatus::Failed,
            RunStatus::Aborted,
            RunStatus::Interrupted,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    pub fn is_finished(self) -> bool {
        self != RunStatus::Running
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivityStatus {
    Succeeded,
    Failed,
}

/// One activity's run, as chaoslib records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRun {
    pub activity: Value,
    pub output: Value,
    pub status: ActivityStatus,
    /// ISO 8601 UTC, as chaoslib writes it.
    pub start: String,
    pub end: String,
    /// Seconds.
    pub duration: f64,
    /// The error, as lines (chaoslib writes a traceback there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<Vec<String>>,
    /// Steady-state probes only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance_met: Option<bool>,
}

/// A steady-state hypothesis checked once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HypothesisRun {
    pub steady_state_met: bool,
    pub probes: Vec<ActivityRun>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SteadyStates {
    pub before: Option<HypothesisRun>,
    pub after: Option<HypothesisRun>,
    pub during: Vec<HypothesisRun>,
}

/// What homeostat adds to the journal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HomeostatJournal {
    /// The run's id (`chaos-<n>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The guard's reading at the start of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_baseline: Option<GuardReading>,
    /// The last guard reading taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_last: Option<GuardReading>,
    /// How many times the guard was checked.
    #[serde(default)]
    pub guard_checks: u64,
    /// Why the run deviated or stopped, in words: the guard's numbers, the
    /// hypothesis not met, an abort by a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deviation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_decision: Option<GuardDecision>,
    /// Accepted but not acted on (e.g. `controls`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    #[serde(rename = "chaoslib-version")]
    pub chaoslib_version: String,
    pub platform: String,
    pub node: String,
    pub experiment: Value,
    pub start: String,
    pub status: RunStatus,
    pub deviated: bool,
    pub steady_states: SteadyStates,
    pub run: Vec<ActivityRun>,
    pub rollbacks: Vec<ActivityRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Seconds, once finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    #[serde(default)]
    pub homeostat: HomeostatJournal,
}

impl Journal {
    pub fn new(experiment: Value, platform: &str, node: &str, start: String) -> Journal {
        Journal {
            chaoslib_version: CHAOSLIB_VERSION.to_string(),
            platform: platform.to_string(),
            node: node.to_string(),
            experiment,
            start,
            status: RunStatus::Running,
            deviated: false,
            steady_states: SteadyStates::default(),
            run: Vec::new(),
            rollbacks: Vec::new(),
            end: None,
            duration: None,
            homeostat: HomeostatJournal::default(),
        }
    }
}

/// A timestamp (ms since the epoch) as chaoslib writes one:
/// `2026-12-07T21:05:04.123000` (UTC, no offset).
pub fn iso(ms: i64) -> String {
    let full = homeostat_model::rfc3339::rfc3339(ms);
    // rfc3339 gives `...T21:05:04.123Z`; chaoslib has microseconds and no Z.
    let base = full.trim_end_matches('Z');
    match base.split_once('.') {
        Some((secs, frac)) => format!("{secs}.{frac:0<6}"),
        None => format!("{base}.000000"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn timestamps_look_like_chaoslib() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000000");
        assert_eq!(iso(1_500), "1970-01-01T00:00:01.500000");
    }

    #[test]
    fn journal_has_chaos_toolkit_keys() {
        let mut j = Journal::new(json!({"title": "t"}), "Linux", "node-1", iso(0));
        j.status = RunStatus::Completed;
        j.end = Some(iso(2_000));
        j.duration = Some(2.0);
        j.run.push(ActivityRun {
            activity: json!({"type": "action", "name": "a"}),
            output: Value::Null,
            status: ActivityStatus::Succeeded,
            start: iso(0),
            end: iso(1_000),
            duration: 1.0,
            exception: None,
            tolerance_met: None,
        });
        let v = serde_json::to_value(&j).expect("journal");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(|k| k.as_str())
            .collect();
        for k in [
            "chaoslib-version",
            "platform",
            "node",
            "experiment",
            "start",
            "end",
            "duration",
            "status",
            "deviated",
            "steady_states",
            "run",
            "rollbacks",
        ] {
            assert!(keys.contains(&k), "missing {k}: {keys:?}");
        }
        assert_eq!(v["status"], "completed");
        assert_eq!(v["run"][0]["status"], "succeeded");
        assert!(v["run"][0].get("exception").is_none());
        assert_eq!(
            v["steady_states"],
            json!({"before": null, "after": null, "during": []})
        );
        let back: Journal = serde_json::from_value(v).expect("round trip");
        assert_eq!(back, j);
    }
}
