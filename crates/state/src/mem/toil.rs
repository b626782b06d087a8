//! [`ToilStore`] for [`MemState`].

use super::MemState;
use crate::error::{Result, StateError};
use crate::{ToilEntry, ToilFilter, ToilStore};

impl ToilStore for MemState {
    fn record_toil(&self, entry: &ToilEntry) -> Result<()> {
        entry.validate()?;
        let mut g = self.inner.lock();
        if g.toil.iter().any(|e| e.id == entry.id) {
            return Err(StateError::conflict(
                "toil entry",
                &entry.id,
                "already exists",
            ));
        }
        g.toil.push(entry.clone());
        Ok(())
    }

    fn list_toil(&self, filter: &ToilFilter) -> Result<Vec<ToilEntry>> {
        let mut out: Vec<ToilEntry> = self
            .inner
            .lock()
            .toil
            .iter()
            .filter(|e| filter.matches(e))
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
        Ok(out)
    }
}
