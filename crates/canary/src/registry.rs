//! The analysis runs of a server: started over the API, judged by the
//! server's ticker, read by the status endpoints. Plain data behind a lock;
//! the caller brings the time and does the judging.
//!
//! With a store ([`AnalysisRegistry::restore`]) every change is written
//! through before the call returns, under the same lock, so the store never
//! holds an older state than one a caller has seen. After a restart,
//! finished runs read as they were and running ones resume from their last
//! measurement: the judgments that fell due while the server was down are
//! taken at their scheduled times from the stored metrics (see
//! [`AnalysisRegistry::due`]). Calls that write do blocking I/O; async
//! callers run them on a blocking thread.

use std::collections::BTreeMap;
use std::sync::Arc;

use homeostat_state::{AnalysisStore, StateError};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::analysis::{AnalysisRun, Phase, RunSpec};
use crate::judge::Judgment;
use crate::persist::{from_record, to_record};
use crate::source::{JudgeRequest, PreparedJudge};

// Followers' view and the leader's adoption of runs started elsewhere.
mod replicas;

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
    /// `None` for a restored run whose request no longer validates (it was
    /// ended with the reason, never judged again).
    pub prepared: Option<PreparedJudge>,
    pub last: Option<Judgment>,
    /// The run failed with a deploy whose rollback is still to be tried;
    /// cleared by [`AnalysisRegistry::rollback_settled`].
    pub rollback_pending: bool,
}

/// A judgment recorded by [`AnalysisRegistry::record`].
#[derive(Debug)]
pub struct Recorded {
    pub entry: RunEntry,
    /// This judgment ended the run.
    pub ended: bool,
    /// Writing it through failed: it is kept in memory and written with the
    /// run's next change.
    pub persist_error: Option<StateError>,
}

/// What [`AnalysisRegistry::restore`] found, for the server's log.
#[derive(Debug, Default)]
pub struct Restored {
    pub finished: usize,
    /// Running runs that continue, with the judgments they are owed.
    pub resumed: Vec<(String, usize)>,
    /// Running runs ended because they cannot continue, with why.
    pub interrupted: Vec<(String, String)>,
    /// Stored runs this build cannot read, with why; left in the store.
    pub unreadable: Vec<(String, String)>,
}

/// Runs by id; finished runs are kept (newest `KEEP`) for their status.
#[derive(Default)]
pub struct AnalysisRegistry {
    runs: Mutex<BTreeMap<String, RunEntry>>,
    next: Mutex<u64>,
    store: Option<Arc<dyn AnalysisStore>>,
}

impl std::fmt::Debug for AnalysisRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalysisRegistry")
            .field("runs", &self.runs.lock().len())
            .field("persistent", &self.store.is_some())
            .finish()
    }
}

const KEEP: usize = 1_000;

/// Most analyses running at once: each is judged on a timer and holds its
/// measurements, and finished runs are what [`KEEP`] trims, so running
/// ones must be bounded on their own. A start beyond is refused.
pub const MAX_RUNNING: usize = 100;

/// The message of a run that resumes after a restart, until its next
/// judgment replaces it.
pub const RESUMED: &str = "resumed after a restart; judgments due while homeostat was down are taken at their scheduled times from the stored metrics";

fn id_number(id: &str) -> u64 {
    id.strip_prefix("run-")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

impl AnalysisRegistry {
    /// A registry that writes every change to `store`, starting with the
    /// runs already in it.
    pub fn restore(
        store: Arc<dyn AnalysisStore>,
        now: i64,
    ) -> Result<(AnalysisRegistry, Restored), StateError> {
        let mut report = Restored::default();
        let mut runs = BTreeMap::new();
        let mut next = 0;
        for record in store.list_analyses()? {
            let id = record.id.clone();
            next = next.max(id_number(&id));
            let d = match from_record(record) {
                Ok(d) => d,
                Err(why) => {
                    report.unreadable.push((id, why));
                    continue;
                }
            };
            let prepared = d
                .request
                .as_ref()
                .map_err(|e| format!("its judge request does not read: {e}"))
                .and_then(|r| {
                    r.prepare()
                        .map_err(|e| format!("its judge request no longer validates: {e}"))
                });
            let mut entry = RunEntry::decoded(d);
            if entry.run.phase.is_done() {
                report.finished += 1;
            } else {
                match prepared {
                    Ok(_) => {
                        let left = (entry.run.spec.count as usize)
                            .saturating_sub(entry.run.measurements.len());
                        let owed = match entry.run.next_due() {
                            Some(first) if first <= now => {
                                let every = entry.run.spec.interval.as_millis().max(1) as i64;
                                usize::try_from((now - first) / every + 1)
                                    .unwrap_or(0)
                                    .min(left)
                            }
                            _ => 0,
                        };
                        entry.run.message = RESUMED.into();
                        report.resumed.push((id.clone(), owed));
                    }
                    Err(why) => {
                        let why = format!("interrupted by restart: {why}");
                        entry.run.terminate(now, &why);
                        report.interrupted.push((id.clone(), why));
                    }
                }
                store.save_analysis(&to_record(&entry))?;
            }
            runs.insert(id, entry);
        }
        let registry = AnalysisRegistry {
            runs: Mutex::new(runs),
            next: Mutex::new(next),
            store: Some(store),
        };
        Ok((registry, report))
    }

    /// Replaces the runs in memory with those in the store, as at a
    /// restart: a replica that starts leading takes over the runs the old
    /// leader judged. A no-op without a store.
    pub fn reload(&self, now: i64) -> Result<Restored, StateError> {
        let Some(store) = self.store.clone() else {
            return Ok(Restored::default());
        };
        let (fresh, report) = Self::restore(store, now)?;
        *self.runs.lock() = fresh.runs.into_inner();
        *self.next.lock() = fresh.next.into_inner();
        Ok(report)
    }

    fn persist(&self, e: &RunEntry) -> Result<(), StateError> {
        match &self.store {
            Some(s) => s.save_analysis(&to_record(e)),
            None => Ok(()),
        }
    }

    /// Registers a run (validated by the caller); returns its id. With a
    /// store, the run exists once it is written.
    pub fn start(
        &self,
        spec: RunSpec,
        target: RunTarget,
        request: JudgeRequest,
        prepared: PreparedJudge,
        now: i64,
    ) -> Result<String, StateError> {
        let mut runs = self.runs.lock();
        let running = runs.values().filter(|e| !e.run.phase.is_done()).count();
        if running >= MAX_RUNNING {
            return Err(StateError::Conflict {
                what: "analysis",
                id: String::new(),
                reason: format!(
                    "{running} analyses are running, the limit ({MAX_RUNNING}); wait for one to finish or abort one"
                ),
            });
        }
        let id = self.next_id()?;
        let entry = RunEntry {
            run: AnalysisRun::new(id.clone(), spec, now),
            target,
            request,
            prepared: Some(prepared),
            last: None,
            rollback_pending: false,
        };
        self.persist(&entry)?;
        if runs.len() >= KEEP {
            // The oldest finished runs make room.
            let mut done: Vec<(i64, String)> = runs
                .iter()
                .filter(|(_, e)| e.run.phase.is_done())
                .map(|(k, e)| (e.run.started_at, k.clone()))
                .collect();
            done.sort();
            for (_, k) in done.into_iter().take(runs.len() + 1 - KEEP) {
                if let Some(s) = &self.store {
                    s.delete_analysis(&k)?;
                }
                runs.remove(&k);
            }
        }
        runs.insert(id.clone(), entry);
        Ok(id)
    }

    pub fn get(&self, id: &str) -> Option<RunEntry> {
        self.runs.lock().get(id).cloned()
    }

    pub fn list(&self) -> Vec<RunEntry> {
        self.runs.lock().values().cloned().collect()
    }

    /// Runs whose next judgment is due at `now`: the id, the time the
    /// judgment is due (judge as of then, not `now`: a run resumed after a
    /// restart catches up at its scheduled times), and what to judge.
    pub fn due(&self, now: i64) -> Vec<(String, i64, PreparedJudge)> {
        self.runs
            .lock()
            .iter()
            .filter_map(|(k, e)| {
                let at = e.run.next_due().filter(|&t| t <= now)?;
                Some((k.clone(), at, e.prepared.clone()?))
            })
            .collect()
    }

    /// Records a judgment taken as of `at`; returns the run after it. A run
    /// that this judgment failed, with a deploy, is marked rollback-pending
    /// in the same write.
    pub fn record(&self, id: &str, at: i64, j: Judgment) -> Option<Recorded> {
        let mut runs = self.runs.lock();
        let e = runs.get_mut(id)?;
        let was_done = e.run.phase.is_done();
        e.run.record(at, &j);
        e.last = Some(j);
        let ended = !was_done && e.run.phase.is_done();
        if ended && e.run.phase == Phase::Failed && e.target.deploy_id.is_some() {
            e.rollback_pending = true;
        }
        let persist_error = self.persist(e).err();
        Some(Recorded {
            entry: e.clone(),
            ended,
            persist_error,
        })
    }

    /// Ends a running run without a verdict; `Ok(None)` for an unknown id.
    pub fn terminate(&self, id: &str, at: i64, why: &str) -> Result<Option<Phase>, StateError> {
        let mut runs = self.runs.lock();
        let Some(e) = runs.get_mut(id) else {
            return Ok(None);
        };
        e.run.terminate(at, why);
        self.persist(e)?;
        Ok(Some(e.run.phase))
    }

    /// Failed runs whose deploy's rollback is still to be tried (after a
    /// restart: the process stopped between the verdict and the rollback).
    pub fn pending_rollbacks(&self) -> Vec<RunEntry> {
        self.runs
            .lock()
            .values()
            .filter(|e| e.rollback_pending)
            .cloned()
            .collect()
    }

    /// The run's rollback was claimed, found claimed already, or decided
    /// against: it is never tried again.
    pub fn rollback_settled(&self, id: &str) -> Result<(), StateError> {
        let mut runs = self.runs.lock();
        let Some(e) = runs.get_mut(id) else {
            return Ok(());
        };
        if e.rollback_pending {
            e.rollback_pending = false;
            self.persist(e)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use homeostat_state::MemState;

    use super::*;
    use crate::judge::Verdict;

    fn request() -> JudgeRequest {
        serde_json::from_value(serde_json::json!({
            "metrics": [{"name": "errors", "query": "errors{track=\"{{.group}}\"}"}],
        }))
        .unwrap()
    }

    fn judgment(verdict: Verdict) -> Judgment {
        Judgment {
            verdict,
            score: 50.0,
            reason: format!("{verdict:?}"),
            groups: vec![],
            metrics: vec![],
        }
    }

    fn start(r: &AnalysisRegistry, count: u32, deploy_id: Option<i64>) -> String {
        let req = request();
        let prepared = req.prepare().unwrap();
        let spec = RunSpec {
            interval: Duration::from_secs(10),
            count,
            failure_limit: 0,
            inconclusive_limit: 0,
        };
        let target = RunTarget {
            service: Some("checkout".into()),
            deploy_id,
        };
        r.start(spec, target, req, prepared, 1_000).unwrap()
    }

    #[test]
    fn replicas_see_each_others_runs_and_never_reuse_an_id() {
        let store = Arc::new(MemState::default());
        let (leader, _) = AnalysisRegistry::restore(store.clone(), 0).unwrap();
        let (follower, _) = AnalysisRegistry::restore(store.clone(), 0).unwrap();
        let a = start(&leader, 3, None);
        assert_eq!(follower.mirror().unwrap(), 1);
        assert_eq!(follower.get(&a).unwrap().run, leader.get(&a).unwrap().run);
        // Started through the follower: numbered past the leader's run.
        let b = start(&follower, 3, None);
        assert_eq!((a.as_str(), b.as_str()), ("run-1", "run-2"));
        assert_eq!(leader.adopt().unwrap(), vec![b.clone()]);
        assert!(leader.adopt().unwrap().is_empty(), "adopted once");
        assert_eq!(leader.due(11_000).len(), 2, "the leader judges both");
        // The leader's judgment reaches the follower's view.
        leader.record(&a, 11_000, judgment(Verdict::Pass)).unwrap();
        follower.mirror().unwrap();
        assert_eq!(follower.get(&a).unwrap().run.measurements.len(), 1);
    }

    #[test]
    fn runs_survive_a_restart_and_resume_where_they_stopped() {
        let store = Arc::new(MemState::default());
        let (r, _) = AnalysisRegistry::restore(store.clone(), 0).unwrap();
        let done = start(&r, 1, None);
        let running = start(&r, 3, Some(7));
        r.record(&done, 11_000, judgment(Verdict::Pass)).unwrap();
        r.record(&running, 11_000, judgment(Verdict::Pass)).unwrap();
        let before = r.get(&done).unwrap();
        drop(r);

        // Down from 12 s to 45 s: the judgments due at 21 s, 31 s and 41 s
        // are owed and taken at those times.
        let (r, report) = AnalysisRegistry::restore(store.clone(), 45_000).unwrap();
        assert_eq!(report.finished, 1);
        assert_eq!(report.resumed, vec![(running.clone(), 2)]);
        let after = r.get(&done).unwrap();
        assert_eq!(after.run, before.run);
        assert_eq!(after.last, before.last);
        assert_eq!(r.get(&running).unwrap().run.message, RESUMED);
        let due = r.due(45_000);
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].0.as_str(), due[0].1), (running.as_str(), 21_000));
        r.record(&running, 21_000, judgment(Verdict::Pass)).unwrap();
        assert_eq!(r.due(45_000)[0].1, 31_000);
        let last = r.record(&running, 31_000, judgment(Verdict::Fail)).unwrap();
        assert!(last.ended && last.entry.rollback_pending);
        let ats: Vec<i64> = last.entry.run.measurements.iter().map(|m| m.at).collect();
        assert_eq!(ats, [11_000, 21_000, 31_000]);

        // A new run does not reuse an id.
        assert_eq!(start(&r, 1, None), "run-3");

        // The pending rollback outlives another restart, until settled.
        drop(r);
        let (r, _) = AnalysisRegistry::restore(store.clone(), 50_000).unwrap();
        let pending = r.pending_rollbacks();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].target.deploy_id, Some(7));
        r.rollback_settled(&running).unwrap();
        drop(r);
        let (r, _) = AnalysisRegistry::restore(store, 60_000).unwrap();
        assert!(r.pending_rollbacks().is_empty());
    }

    #[test]
    fn a_run_that_cannot_resume_is_ended_with_the_reason_not_dropped() {
        let store = Arc::new(MemState::default());
        let (r, _) = AnalysisRegistry::restore(store.clone(), 0).unwrap();
        let id = start(&r, 3, None);
        drop(r);
        // The stored request no longer validates (say, a newer rule).
        let mut rec = store.get_analysis(&id).unwrap().unwrap();
        rec.request["step"] = serde_json::json!("0s");
        store.save_analysis(&rec).unwrap();
        let (r, report) = AnalysisRegistry::restore(store.clone(), 5_000).unwrap();
        assert_eq!(report.interrupted.len(), 1);
        let e = r.get(&id).unwrap();
        assert_eq!(e.run.phase, Phase::Error);
        assert!(
            e.run.message.contains("interrupted by restart"),
            "{}",
            e.run.message
        );
        assert!(r.due(1_000_000).is_empty());
        let stored = store.get_analysis(&id).unwrap().unwrap();
        assert_eq!(stored.phase, "Error");
    }
}
