//! Homeostat's persisted state, the contract: plain records (silences, the
//! notification log, incidents with their timelines and action items,
//! escalation state, the audit log, deploys, gate overrides, canary
//! analysis runs, API tokens, used action links, chaos and remediation runs) and one repository trait per kind of
//! record. No SQL here: `homeostat-state-sql` implements the traits on
//! SQLite, [`MemState`] in memory for engine tests, and the conformance
//! suite (feature `testing`) checks that every backend behaves alike.
//!
//! The traits are synchronous and bounded: async callers run them on
//! `spawn_blocking`. Times are milliseconds since the epoch and always come
//! from the caller; no backend reads the clock.
//!
//! ```
//! use homeostat_model::Fingerprint;
//! use homeostat_state::{MemState, NflogEntry, State};
//! let state = State::from_backend(std::sync::Arc::new(MemState::default()));
//! let entry = NflogEntry {
//!     receiver: "pager".into(),
//!     group_key: "{}:{alertname=\"Down\"}".into(),
//!     firing_fingerprints: vec![Fingerprint(1), Fingerprint(2)],
//!     resolved_fingerprints: vec![],
//!     sent_at: 1_000,
//!     expires_at: 5_000,
//! };
//! state.nflog.record(&entry, None).unwrap();
//! assert_eq!(state.nflog.last("pager", &entry.group_key).unwrap(), Some(entry));
//! ```

mod alert_log;
mod analysis;
mod audit;
mod chaos;
mod cluster;
mod deploy;
mod dump;
mod error;
mod escalation;
mod incident;
mod mem;
mod nflog;
mod remediation;
mod silence;
pub mod stored;
mod toil;
mod token;

#[cfg(any(test, feature = "testing"))]
pub mod conformance;

use std::sync::Arc;

pub use alert_log::{AlertLog, LoggedAlert};
pub use analysis::{AnalysisMeasurement, AnalysisRecord, AnalysisStore};
pub use audit::{AuditEntry, AuditLog};
pub use chaos::{ChaosRun, ChaosStore, NewTermination, RUN_INTERRUPTED, RUN_RUNNING, Termination};
pub use cluster::{ClusterStore, Fence, LEADER_LEASE, Lease, Member};
pub use deploy::{
    Deploy, DeployFilter, DeployOutcome, DeployStore, GateOverride, OverrideStore, RollbackRecord,
};
pub use dump::{Dump, StateDump, UsedLink};
pub use error::{Result, StateError};
pub use escalation::{EscalationRecord, EscalationStore};
pub use incident::{
    ActionItem, ActionItemState, EventKind, Incident, IncidentFilter, IncidentId, IncidentState,
    IncidentStore, Role, Severity, TimelineEvent, validate_action_item, validate_incident,
};
pub use mem::MemState;
pub use nflog::{NflogEntry, NotificationLog, OutboxEntry, OutboxState};
pub use remediation::{RemediationFilter, RemediationRun, RemediationStore};
pub use silence::{Silence, SilenceMatcher, SilenceStore, expired_at, new_silence_id};
pub use toil::{TOIL_MAX_MINUTES, ToilEntry, ToilFilter, ToilSource, ToilStore};
pub use token::{TokenRecord, TokenStore, UsedLinkStore};

/// Everything a backend implements.
pub trait StateBackend:
    SilenceStore
    + NotificationLog
    + IncidentStore
    + EscalationStore
    + AuditLog
    + DeployStore
    + OverrideStore
    + AnalysisStore
    + TokenStore
    + UsedLinkStore
    + ClusterStore
    + AlertLog
    + ChaosStore
    + ToilStore
    + RemediationStore
{
}

impl<T> StateBackend for T where
    T: SilenceStore
        + NotificationLog
        + IncidentStore
        + EscalationStore
        + AuditLog
        + DeployStore
        + OverrideStore
        + AnalysisStore
        + TokenStore
        + UsedLinkStore
        + ClusterStore
        + AlertLog
        + ChaosStore
        + ToilStore
        + RemediationStore
{
}

/// The stores an engine is handed, each behind its trait. The server builds
/// it from the backend it chose; engines never see which one.
#[derive(Clone)]
pub struct State {
    pub silences: Arc<dyn SilenceStore>,
    pub nflog: Arc<dyn NotificationLog>,
    pub incidents: Arc<dyn IncidentStore>,
    pub escalations: Arc<dyn EscalationStore>,
    pub audit: Arc<dyn AuditLog>,
    pub deploys: Arc<dyn DeployStore>,
    pub overrides: Arc<dyn OverrideStore>,
    pub analyses: Arc<dyn AnalysisStore>,
    pub tokens: Arc<dyn TokenStore>,
    pub used_links: Arc<dyn UsedLinkStore>,
    pub cluster: Arc<dyn ClusterStore>,
    pub alert_log: Arc<dyn AlertLog>,
    pub chaos: Arc<dyn ChaosStore>,
    pub toil: Arc<dyn ToilStore>,
    pub remediation: Arc<dyn RemediationStore>,
}

impl State {
    pub fn from_backend<B: StateBackend + 'static>(backend: Arc<B>) -> State {
        State {
            silences: backend.clone(),
            nflog: backend.clone(),
            incidents: backend.clone(),
            escalations: backend.clone(),
            audit: backend.clone(),
            deploys: backend.clone(),
            overrides: backend.clone(),
            analyses: backend.clone(),
            tokens: backend.clone(),
            used_links: backend.clone(),
            cluster: backend.clone(),
            alert_log: backend.clone(),
            chaos: backend.clone(),
            toil: backend.clone(),
            remediation: backend,
        }
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").finish_non_exhaustive()
    }
}
