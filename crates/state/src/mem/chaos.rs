//! [`ChaosStore`] for [`MemState`].

use super::MemState;
use crate::error::{Result, StateError};
use crate::{ChaosRun, ChaosStore, NewTermination, RUN_RUNNING, Termination};

fn newest_first<T>(items: &mut [T], key: impl Fn(&T) -> (i64, String)) {
    items.sort_by_key(|b| std::cmp::Reverse(key(b)));
}

impl ChaosStore for MemState {
    fn insert_run(&self, run: &ChaosRun) -> Result<()> {
        run.validate()?;
        let mut g = self.inner.lock();
        if g.chaos_runs.iter().any(|r| r.id == run.id) {
            return Err(StateError::conflict(
                "experiment run",
                &run.id,
                "already exists",
            ));
        }
        g.chaos_runs.push(run.clone());
        Ok(())
    }

    fn update_run(&self, run: &ChaosRun) -> Result<()> {
        run.validate()?;
        let mut g = self.inner.lock();
        let slot = g
            .chaos_runs
            .iter_mut()
            .find(|r| r.id == run.id)
            .ok_or_else(|| StateError::not_found("experiment run", &run.id))?;
        *slot = run.clone();
        Ok(())
    }

    fn get_run(&self, id: &str) -> Result<Option<ChaosRun>> {
        Ok(self
            .inner
            .lock()
            .chaos_runs
            .iter()
            .find(|r| r.id == id)
            .cloned())
    }

    fn list_runs(&self, service: Option<&str>, since: i64, limit: usize) -> Result<Vec<ChaosRun>> {
        let mut out: Vec<ChaosRun> = self
            .inner
            .lock()
            .chaos_runs
            .iter()
            .filter(|r| r.started_at >= since)
            .filter(|r| service.is_none() || r.service.as_deref() == service)
            .cloned()
            .collect();
        newest_first(&mut out, |r| (r.started_at, r.id.clone()));
        out.truncate(limit);
        Ok(out)
    }

    fn running_runs(&self) -> Result<Vec<ChaosRun>> {
        let mut out: Vec<ChaosRun> = self
            .inner
            .lock()
            .chaos_runs
            .iter()
            .filter(|r| r.status == RUN_RUNNING)
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        Ok(out)
    }

    fn record_termination(&self, t: &NewTermination) -> Result<Termination> {
        t.validate()?;
        let mut g = self.inner.lock();
        let id = g.terminations.iter().map(|t| t.id).max().unwrap_or(0) + 1;
        let rec = Termination {
            id,
            group: t.group.clone(),
            service: t.service.clone(),
            target: t.target.clone(),
            at_ms: t.at_ms,
            action: t.action.clone(),
            outcome: t.outcome.clone(),
        };
        g.terminations.push(rec.clone());
        Ok(rec)
    }

    fn last_termination(&self, group: &str) -> Result<Option<Termination>> {
        Ok(self
            .inner
            .lock()
            .terminations
            .iter()
            .filter(|t| t.group == group)
            .max_by_key(|t| (t.at_ms, t.id))
            .cloned())
    }

    fn list_terminations(
        &self,
        group: Option<&str>,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<Termination>> {
        let mut out: Vec<Termination> = self
            .inner
            .lock()
            .terminations
            .iter()
            .filter(|t| t.at_ms >= since_ms)
            .filter(|t| group.is_none_or(|g| t.group == g))
            .cloned()
            .collect();
        out.sort_by_key(|t| std::cmp::Reverse((t.at_ms, t.id)));
        out.truncate(limit);
        Ok(out)
    }
}
