//! Replicas sharing one alert intake: what one replica accepts, every
//! replica reads back from the state's [`AlertLog`], so that the leader
//! notifies for an alert whichever replica Prometheus sent it to, and a new
//! leader knows every alert the old one knew.

use std::sync::Arc;

use homeostat_model::{Label, Labels};
use homeostat_state::{AlertLog, LoggedAlert, StateError};
use parking_lot::Mutex;

use crate::store::Alert;

/// How many log entries one read takes.
const BATCH: usize = 1_000;

pub(crate) struct SharedIntake {
    log: Arc<dyn AlertLog>,
    /// This replica's member id: its own entries are already in its store.
    origin: String,
    /// The last sequence number read.
    cursor: Mutex<i64>,
}

impl SharedIntake {
    pub(crate) fn new(log: Arc<dyn AlertLog>, origin: String) -> Self {
        Self {
            log,
            origin,
            cursor: Mutex::new(0),
        }
    }

    pub(crate) fn append(&self, alerts: &[Alert]) -> Result<(), StateError> {
        if alerts.is_empty() {
            return Ok(());
        }
        let logged: Vec<LoggedAlert> = alerts.iter().map(|a| self.logged(a)).collect();
        self.log.append_alerts(&logged).map(|_| ())
    }

    /// Entries other replicas wrote since the last call, in order. The
    /// cursor moves only past entries returned, so a failed read is retried.
    pub(crate) fn read_new(&self) -> Result<(Vec<Alert>, u64), StateError> {
        let mut cursor = self.cursor.lock();
        let mut out = Vec::new();
        let mut skipped = 0;
        loop {
            let batch = self.log.alerts_after(*cursor, BATCH)?;
            let Some((last, _)) = batch.last() else {
                break;
            };
            *cursor = *last;
            let full = batch.len() == BATCH;
            for (_, a) in batch {
                if a.origin == self.origin {
                    continue;
                }
                match alert(a) {
                    Some(a) => out.push(a),
                    None => skipped += 1,
                }
            }
            if !full {
                break;
            }
        }
        Ok((out, skipped))
    }

    pub(crate) fn gc(
        &self,
        ended_before: i64,
        superseded_before: i64,
    ) -> Result<usize, StateError> {
        self.log.gc_alerts(ended_before, superseded_before)
    }

    fn logged(&self, a: &Alert) -> LoggedAlert {
        LoggedAlert {
            fingerprint: a.fingerprint,
            labels: a
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect(),
            annotations: a.annotations.clone(),
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            generator_url: a.generator_url.clone(),
            pending_since: a.pending_since,
            timeout: a.timeout,
            updated_at: a.updated_at,
            origin: self.origin.clone(),
        }
    }
}

/// Back to an accepted alert; an entry whose labels no longer validate
/// (written by another build) is skipped rather than stopping the intake;
/// the skipped ones are counted as invalid.
fn alert(a: LoggedAlert) -> Option<Alert> {
    let labels = Labels::new(
        a.labels
            .into_iter()
            .map(|(name, value)| Label { name, value })
            .collect(),
    )
    .ok()?;
    Some(Alert {
        fingerprint: a.fingerprint,
        labels,
        annotations: a.annotations,
        starts_at: a.starts_at,
        ends_at: a.ends_at,
        generator_url: a.generator_url,
        pending_since: a.pending_since,
        updated_at: a.updated_at,
        timeout: a.timeout,
    })
}
