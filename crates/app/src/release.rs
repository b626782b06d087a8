//! Deploys as a service: recording a deploy (and putting it on the
//! timeline of its service's open incidents), listing them, and ranking
//! the deploys that may have caused an incident (suspects), following the
//! declared dependency graph.

use std::collections::BTreeMap;
use std::sync::Arc;

use homeostat_incident::{
    CORRELATION_WINDOW_MS, DependencyGraph, ExternalKind, IncidentError, IncidentService, Suspect,
    dependency_paths, rank_suspects,
};
use homeostat_model::{Clock, ErrorKind};
use homeostat_state::{Deploy, DeployFilter, DeployOutcome, IncidentId, State, StateError};
use serde_json::json;

use crate::Live;

/// A deploy as a CI/CD system reports it.
#[derive(Debug, Clone, Default)]
pub struct NewDeploy {
    pub service: String,
    pub version: String,
    pub commit: Option<String>,
    pub author: Option<String>,
    /// `production` when not given.
    pub environment: Option<String>,
    pub change_type: Option<String>,
    /// Now when not given.
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// When not given: succeeded if it finished, else in progress.
    pub outcome: Option<DeployOutcome>,
    pub labels: BTreeMap<String, String>,
}

/// Which dependencies to follow when ranking suspects.
#[derive(Debug, Clone, Default)]
pub struct SuspectQuery {
    /// Direct dependencies named by the caller, beside the declared ones.
    pub extra: Vec<String>,
    /// Whether to follow `services[].depends_on`.
    pub declared: bool,
}

/// The deploys that may have caused an incident.
#[derive(Debug, Clone)]
pub struct Suspects {
    pub incident: IncidentId,
    /// `None` when the incident names no service (then nothing is ranked).
    pub service: Option<String>,
    pub burn_started_at: i64,
    pub detected_at: i64,
    /// Each dependency with the shortest path that reaches it.
    pub dependencies: BTreeMap<String, Vec<String>>,
    /// Closest to the start of the burn first.
    pub suspects: Vec<Suspect>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Incident(#[from] IncidentError),
    #[error("deploy vanished after insert")]
    Vanished,
    #[error("release task failed: {0}")]
    Task(String),
}

impl ReleaseError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ReleaseError::State(e) => e.kind(),
            ReleaseError::Incident(e) => e.kind(),
            ReleaseError::Vanished | ReleaseError::Task(_) => ErrorKind::Internal,
        }
    }
}

/// Deploys and change correlation.
pub struct ReleaseService {
    state: State,
    clock: Arc<dyn Clock>,
    dependencies: Arc<Live<DependencyGraph>>,
}

impl ReleaseService {
    pub fn new(
        state: State,
        clock: Arc<dyn Clock>,
        dependencies: Arc<Live<DependencyGraph>>,
    ) -> Self {
        Self {
            state,
            clock,
            dependencies,
        }
    }

    /// Records a deploy and returns it as stored (with its id).
    pub async fn record(&self, d: NewDeploy) -> Result<Deploy, ReleaseError> {
        let now = self.clock.now_millis();
        let outcome = d.outcome.unwrap_or(if d.finished_at.is_some() {
            DeployOutcome::Succeeded
        } else {
            DeployOutcome::InProgress
        });
        let d = Deploy {
            id: 0,
            service: d.service,
            version: d.version,
            commit: d.commit,
            author: d.author,
            environment: d.environment.unwrap_or_else(|| "production".into()),
            change_type: d.change_type,
            started_at: d.started_at.unwrap_or(now),
            finished_at: d.finished_at,
            outcome,
            labels: d.labels,
            rollback: None,
        };
        let state = self.state.clone();
        blocking(move || {
            let id = state.deploys.record_deploy(&d)?;
            let saved = state
                .deploys
                .get_deploy(id)?
                .ok_or(ReleaseError::Vanished)?;
            // A deploy during an incident of its service is part of its story.
            IncidentService::new(state.incidents.clone()).record_on_open_incidents(
                &saved.service,
                ExternalKind::Deploy,
                &format!("deploy {} of {} {}", saved.id, saved.service, saved.version),
                json!({"deploy_id": saved.id, "author": saved.author, "change_type": saved.change_type}),
                saved.started_at,
            )?;
            Ok(saved)
        })
        .await
    }

    /// Deploys matching `filter`, newest first.
    pub async fn list(&self, filter: DeployFilter) -> Result<Vec<Deploy>, ReleaseError> {
        let store = self.state.deploys.clone();
        blocking(move || Ok(store.list_deploys(&filter)?)).await
    }

    /// The deploy with this id, if one was recorded.
    pub async fn get(&self, id: i64) -> Result<Option<Deploy>, ReleaseError> {
        let store = self.state.deploys.clone();
        blocking(move || Ok(store.get_deploy(id)?)).await
    }

    /// The last `limit` deploys of each of `services`, newest first.
    pub async fn latest_per_service(
        &self,
        services: Vec<String>,
        limit: usize,
    ) -> Result<BTreeMap<String, Vec<Deploy>>, ReleaseError> {
        let store = self.state.deploys.clone();
        blocking(move || {
            let mut out = BTreeMap::new();
            for service in services {
                let list = store.list_deploys(&DeployFilter {
                    service: Some(service.clone()),
                    limit,
                    ..Default::default()
                })?;
                out.insert(service, list);
            }
            Ok(out)
        })
        .await
    }

    /// Deploys of the incident's service and of its dependencies in the
    /// hour before it was detected, the closest to the start of the burn
    /// first.
    pub async fn suspects(
        &self,
        id: IncidentId,
        q: SuspectQuery,
    ) -> Result<Suspects, ReleaseError> {
        let graph = if q.declared {
            self.dependencies.get()
        } else {
            Default::default()
        };
        let state = self.state.clone();
        blocking(move || {
            let inc = state.incidents.get(id)?;
            let detected = inc.created_at;
            let burn = inc.detected_at.unwrap_or(detected);
            let Some(service) = inc.service.clone() else {
                return Ok(Suspects {
                    incident: id,
                    service: None,
                    burn_started_at: burn,
                    detected_at: detected,
                    dependencies: BTreeMap::new(),
                    suspects: Vec::new(),
                });
            };
            let deploys = state.deploys.list_deploys(&DeployFilter {
                since: Some(detected - CORRELATION_WINDOW_MS),
                until: Some(detected),
                ..Default::default()
            })?;
            let deps = dependency_paths(&service, &q.extra, &graph);
            let suspects = rank_suspects(&service, &deps, burn, detected, &deploys);
            Ok(Suspects {
                incident: id,
                service: Some(service),
                burn_started_at: burn,
                detected_at: detected,
                dependencies: deps,
                suspects,
            })
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ReleaseError> + Send + 'static,
) -> Result<T, ReleaseError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ReleaseError::Task(e.to_string()))?
}
