//! [`RemediationStore`] for [`MemState`].

use super::MemState;
use crate::error::{Result, StateError};
use crate::{RemediationFilter, RemediationRun, RemediationStore};

impl RemediationStore for MemState {
    fn insert_remediation(&self, run: &RemediationRun) -> Result<()> {
        run.validate()?;
        let mut g = self.inner.lock();
        if g.remediations.iter().any(|r| r.id == run.id) {
            return Err(StateError::conflict(
                "remediation run",
                &run.id,
                "already exists",
            ));
        }
        g.remediations.push(run.clone());
        Ok(())
    }

    fn update_remediation(&self, run: &RemediationRun) -> Result<()> {
        run.validate()?;
        let mut g = self.inner.lock();
        let slot = g
            .remediations
            .iter_mut()
            .find(|r| r.id == run.id)
            .ok_or_else(|| StateError::not_found("remediation run", &run.id))?;
        *slot = run.clone();
        Ok(())
    }

    fn get_remediation(&self, id: &str) -> Result<Option<RemediationRun>> {
        Ok(self
            .inner
            .lock()
            .remediations
            .iter()
            .find(|r| r.id == id)
            .cloned())
    }

    fn list_remediations(&self, filter: &RemediationFilter) -> Result<Vec<RemediationRun>> {
        let mut out: Vec<RemediationRun> = self
            .inner
            .lock()
            .remediations
            .iter()
            .filter(|r| filter.matches(r))
            .cloned()
            .collect();
        out.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
        out.truncate(filter.limit);
        Ok(out)
    }

    fn active_remediations(&self) -> Result<Vec<RemediationRun>> {
        let mut out: Vec<RemediationRun> = self
            .inner
            .lock()
            .remediations
            .iter()
            .filter(|r| r.ended_at.is_none())
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        Ok(out)
    }
}
