//! The analysis runs of a server: started over the API, judged by the
//! server's ticker, read by the status endpoints. Plain data behind a lock;
//! the caller brings the time and does the judging.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::analysis::{AnalysisRun, Phase, RunSpec};
use crate::judge::Judgment;
use crate::source::{JudgeRequest, PreparedJudge};

/// What a run is about, for rollbacks and listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunTarget {
    pub service: Option<String>,
    /// The deploy to roll back if the run fails.
    pub deploy_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct RunEntry {
    pub run: AnalysisRun,
    pub target: RunTarget,
    pub request: JudgeRequest,
    pub prepared: PreparedJudge,
    pub last: Option<Judgment>,
}

/// Runs by id; finished runs are kept (newest `KEEP`) for their status.
#[derive(Debug, Default)]
pub struct AnalysisRegistry {
    runs: Mutex<BTreeMap<String, RunEntry>>,
    next: Mutex<u64>,
}

const KEEP: usize = 1_000;

impl AnalysisRegistry {
    /// Registers a run (validated by the caller); returns its id.
    pub fn start(
        &self,
        spec: RunSpec,
        target: RunTarget,
        request: JudgeRequest,
        prepared: PreparedJudge,
        now: i64,
    ) -> String {
        let id = {
            let mut n = self.next.lock();
            *n += 1;
            format!("run-{}", *n)
        };
        let mut runs = self.runs.lock();
        if runs.len() >= KEEP {
            let done: Vec<String> = runs
                .iter()
                .filter(|(_, e)| e.run.phase.is_done())
                .map(|(k, _)| k.clone())
                .take(runs.len() + 1 - KEEP)
                .collect();
            for k in done {
                runs.remove(&k);
            }
        }
        runs.insert(
            id.clone(),
            RunEntry {
                run: AnalysisRun::new(id.clone(), spec, now),
                target,
                request,
                prepared,
                last: None,
            },
        );
        id
    }

    pub fn get(&self, id: &str) -> Option<RunEntry> {
        self.runs.lock().get(id).cloned()
    }

    pub fn list(&self) -> Vec<RunEntry> {
        self.runs.lock().values().cloned().collect()
    }

    /// Runs whose next judgment is due at `now`, with what to judge.
    pub fn due(&self, now: i64) -> Vec<(String, PreparedJudge)> {
        self.runs
            .lock()
            .iter()
            .filter(|(_, e)| e.run.next_due().is_some_and(|t| t <= now))
            .map(|(k, e)| (k.clone(), e.prepared.clone()))
            .collect()
    }

    /// Records a judgment; returns the run after it, and whether this
    /// judgment ended it.
    pub fn record(&self, id: &str, at: i64, j: Judgment) -> Option<(RunEntry, bool)> {
        let mut runs = self.runs.lock();
        let e = runs.get_mut(id)?;
        let was_done = e.run.phase.is_done();
        e.run.record(at, &j);
        e.last = Some(j);
        Some((e.clone(), !was_done && e.run.phase.is_done()))
    }

    pub fn terminate(&self, id: &str, at: i64, why: &str) -> Option<Phase> {
        let mut runs = self.runs.lock();
        let e = runs.get_mut(id)?;
        e.run.terminate(at, why);
        Some(e.run.phase)
    }
}
