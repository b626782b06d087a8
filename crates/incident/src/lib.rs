//! Incidents, the pure core: the lifecycle (Triggered → Acknowledged →
//! Mitigated → Resolved → Postmortem, see [`lifecycle`]), alert groups
//! turned into incidents with deduplication, a timeline line for every
//! change, and blameless postmortems rendered as Markdown.
//!
//! Everything goes through [`IncidentService`] over an
//! [`homeostat_state::IncidentStore`]; no SQL, no HTTP, no clock: every
//! operation takes its timestamp (milliseconds since the epoch).
//!
//! ```
//! use std::sync::Arc;
//! use homeostat_incident::IncidentService;
//! use homeostat_state::{IncidentState, MemState, Severity};
//!
//! let incidents = IncidentService::new(Arc::new(MemState::default()));
//! let i = incidents.declare("checkout is down", Severity::Sev1, Some("checkout"), "ana", 1_000).unwrap();
//! let i = incidents.acknowledge(i.id, "bo", 61_000).unwrap();
//! assert_eq!(i.state, IncidentState::Acknowledged);
//! assert_eq!(incidents.timeline(i.id).unwrap().len(), 2);
//! ```

mod alerts;
mod chaos_suspects;
mod correlate;
mod error;
pub mod lifecycle;
mod links;
mod postmortem;
mod service;

pub use alerts::AlertInfo;
pub use chaos_suspects::{ChaosChange, ChaosKind, ChaosSuspect, rank_chaos_suspects};
pub use correlate::{
    CORRELATION_WINDOW_MS, DependencyGraph, Suspect, dependency_paths, rank_suspects,
};
pub use error::{IncidentError, Result};
pub use lifecycle::check_transition;
pub use links::{DEFAULT_LINK_TTL_MS, LinkAction, LinkRefusal, LinkSigner};
pub use postmortem::{DeployInfo, Impact, SloImpact, began_at, render_postmortem};
pub use service::{ExternalKind, IncidentOptions, IncidentService};
