//! Whether the store accepts writes. Shared between the WAL (which changes
//! it) and readers such as `/-/ready` and `/metrics` (which must not wait
//! behind the WAL lock to learn it).

use std::sync::Arc;

use parking_lot::RwLock;

use crate::TsdbError;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WriteState {
    #[default]
    Writable,
    /// Out of space: nothing is acknowledged, and writing resumes on its own
    /// once a new WAL segment can be created and the old one fsynced.
    ReadOnly(String),
    /// An fsync or write failed in a way that may have lost acknowledged
    /// data from the page cache; retrying could pretend it is on disk, so
    /// only a restart (which replays and re-verifies the WAL) clears it.
    Failed(String),
}

#[derive(Debug, Clone, Default)]
pub struct WriteHealth(Arc<RwLock<WriteState>>);

impl WriteHealth {
    pub fn get(&self) -> WriteState {
        self.0.read().clone()
    }

    /// `Ok` while writable, else the error an append answers.
    pub fn check(&self) -> Result<(), TsdbError> {
        match &*self.0.read() {
            WriteState::Writable => Ok(()),
            WriteState::ReadOnly(why) => Err(TsdbError::ReadOnly(why.clone())),
            WriteState::Failed(why) => Err(TsdbError::WriteFailed(why.clone())),
        }
    }

    /// Records out-of-space; a failure already recorded stays.
    pub(crate) fn read_only(&self, why: String) {
        let mut s = self.0.write();
        if *s == WriteState::Writable {
            tracing::error!(reason = %why, "storage is read-only; writes are refused");
            *s = WriteState::ReadOnly(why);
        }
    }

    pub(crate) fn failed(&self, why: String) {
        let mut s = self.0.write();
        if !matches!(*s, WriteState::Failed(_)) {
            tracing::error!(reason = %why, "storage write failed; writes are refused until restart");
            *s = WriteState::Failed(why);
        }
    }

    /// Back to writable after out-of-space; never clears a failure.
    pub(crate) fn resumed(&self) {
        let mut s = self.0.write();
        if matches!(*s, WriteState::ReadOnly(_)) {
            tracing::info!("storage is writable again");
            *s = WriteState::Writable;
        }
    }
}
