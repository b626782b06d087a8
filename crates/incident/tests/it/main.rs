//! Integration tests on `MemState` with fixed timestamps: lifecycle rules,
//! alert-group deduplication and reopening, and a full incident ending in a
//! golden postmortem (`UPDATE_GOLDEN=1` regenerates `golden/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alerts;
mod lifecycle;
mod scenario;

use std::collections::BTreeMap;
use std::sync::Arc;

use homeostat_incident::{AlertInfo, IncidentService};
use homeostat_state::{EventKind, IncidentId, MemState};

/// 2026-11-30 14:00:00 UTC.
pub const T0: i64 = 1_796_047_200_000;
pub const MIN: i64 = 60_000;

pub fn service() -> IncidentService {
    IncidentService::new(Arc::new(MemState::default()))
}

pub fn alert(fingerprint: u64, name: &str, extra: &[(&str, &str)], starts_at: i64) -> AlertInfo {
    let mut labels: BTreeMap<String, String> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.insert("alertname".into(), name.into());
    AlertInfo {
        labels,
        annotations: BTreeMap::new(),
        starts_at,
        pending_since: None,
        ends_at: None,
        fingerprint: homeostat_model::Fingerprint(fingerprint),
    }
}

pub fn kinds(s: &IncidentService, id: IncidentId) -> Vec<EventKind> {
    s.timeline(id)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}
