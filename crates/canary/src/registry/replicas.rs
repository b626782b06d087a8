//! Replicas sharing one state: followers answer for runs the leader judges,
//! and the leader takes up runs started through a follower.

use homeostat_state::StateError;

use super::{AnalysisRegistry, RunEntry, id_number};
use crate::persist::{Decoded, from_record};
use crate::source::JudgeRequest;

impl RunEntry {
    /// A stored run as it was stored; its judge prepared again when its
    /// request still validates.
    pub(super) fn decoded(d: Decoded) -> RunEntry {
        let prepared = d.request.as_ref().ok().and_then(|r| r.prepare().ok());
        RunEntry {
            run: d.run,
            target: d.target,
            request: d.request.unwrap_or_else(|_| JudgeRequest {
                metrics: Vec::new(),
                baseline: String::new(),
                canary: String::new(),
                lookback: String::new(),
                step: String::new(),
                config: Default::default(),
            }),
            prepared,
            last: d.last,
            rollback_pending: d.rollback_pending,
        }
    }
}

impl AnalysisRegistry {
    /// A follower's view: the runs exactly as stored (the leader writes
    /// them), nothing written back. Returns how many.
    pub fn mirror(&self) -> Result<usize, StateError> {
        let Some(store) = &self.store else {
            return Ok(0);
        };
        let mut runs = std::collections::BTreeMap::new();
        let mut next = 0;
        for record in store.list_analyses()? {
            next = next.max(id_number(&record.id));
            if let Ok(d) = from_record(record) {
                runs.insert(d.run.id.clone(), RunEntry::decoded(d));
            }
        }
        let n = runs.len();
        *self.runs.lock() = runs;
        let mut own = self.next.lock();
        *own = (*own).max(next);
        Ok(n)
    }

    /// The leader takes up runs started through other replicas since it
    /// last looked; returns their ids. Runs it already has are its own.
    pub fn adopt(&self) -> Result<Vec<String>, StateError> {
        let Some(store) = &self.store else {
            return Ok(Vec::new());
        };
        let records = store.list_analyses()?;
        let mut runs = self.runs.lock();
        let mut adopted = Vec::new();
        for record in records {
            if runs.contains_key(&record.id) {
                continue;
            }
            let mut own = self.next.lock();
            *own = (*own).max(id_number(&record.id));
            if let Ok(d) = from_record(record) {
                let id = d.run.id.clone();
                runs.insert(id.clone(), RunEntry::decoded(d));
                adopted.push(id);
            }
        }
        Ok(adopted)
    }

    /// The next free run number, past every run in the store too: another
    /// replica may have started runs this one has not seen.
    pub(super) fn next_id(&self) -> Result<String, StateError> {
        let stored = match &self.store {
            Some(s) => s
                .list_analyses()?
                .iter()
                .map(|r| id_number(&r.id))
                .max()
                .unwrap_or(0),
            None => 0,
        };
        let mut n = self.next.lock();
        *n = (*n).max(stored) + 1;
        Ok(format!("run-{}", *n))
    }
}
