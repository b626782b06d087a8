//! Deploys as a service: recording a deploy (and putting it on the
//! timeline of its service's open incidents), listing them, and ranking
//! the deploys that may have caused an incident (suspects), following the
//! declared dependency graph.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use homeostat_incident::{
    CORRELATION_WINDOW_MS, ChaosChange, ChaosKind, ChaosSuspect, DependencyGraph, ExternalKind,
    IncidentError, IncidentService, Suspect, began_at, dependency_paths, rank_chaos_suspects,
    rank_suspects,
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
    /// For a rollback: the id of the deploy it replaces. When not given, a
    /// rollback (`change_type: rollback`) replaces the newest earlier
    /// deploy of the same service and environment.
    pub rolls_back: Option<i64>,
}

/// Which services deploys may be recorded for (`deploys:` in the config
/// with the services it declares).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeployAdmission {
    /// Names under `services:` and `rollback.actions`; the services of the
    /// loaded SLOs, gate policies and dependencies are known too, read when
    /// a deploy arrives.
    pub declared_services: BTreeSet<String>,
    /// `deploys.allow_unknown_services`: record deploys of any service.
    pub allow_unknown_services: bool,
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
    /// Chaos experiments and Chaos Monkey terminations on the service or
    /// its dependencies around the burn: running ones first.
    pub chaos: Vec<ChaosSuspect>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Incident(#[from] IncidentError),
    /// A deploy for a service nobody declared: most often a typo in a
    /// pipeline, which would otherwise file deploys no page ever shows.
    #[error(
        "unknown service {service:?}: no `services:` entry, SLO, gate policy or rollback action declares it (known: {}); declare it, fix the name, or set deploys.allow_unknown_services: true",
        if known.is_empty() { "none".to_string() } else { known.join(", ") }
    )]
    UnknownService { service: String, known: Vec<String> },
    #[error("deploy {0} not found")]
    NotFound(i64),
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
            ReleaseError::UnknownService { .. } | ReleaseError::NotFound(_) => ErrorKind::NotFound,
            ReleaseError::Vanished | ReleaseError::Task(_) => ErrorKind::Internal,
        }
    }
}

/// Deploys and change correlation.
pub struct ReleaseService {
    state: State,
    clock: Arc<dyn Clock>,
    dependencies: Arc<Live<DependencyGraph>>,
    admission: Arc<Live<DeployAdmission>>,
    slos: Arc<Live<Vec<homeostat_slo::SloSpec>>>,
    policies: Arc<Live<Vec<homeostat_gate::Policy>>>,
}

/// The config cells the release service reads at each request.
pub struct ReleaseConfig {
    pub dependencies: Arc<Live<DependencyGraph>>,
    pub admission: Arc<Live<DeployAdmission>>,
    pub slos: Arc<Live<Vec<homeostat_slo::SloSpec>>>,
    pub policies: Arc<Live<Vec<homeostat_gate::Policy>>>,
}

impl ReleaseService {
    pub fn new(state: State, clock: Arc<dyn Clock>, config: ReleaseConfig) -> Self {
        Self {
            state,
            clock,
            dependencies: config.dependencies,
            admission: config.admission,
            slos: config.slos,
            policies: config.policies,
        }
    }

    /// Refuses a deploy of a service nobody declared, naming the known
    /// ones, unless the config allows any service.
    fn admit(&self, service: &str) -> Result<(), ReleaseError> {
        let admission = self.admission.get();
        if admission.allow_unknown_services || service.trim().is_empty() {
            // An empty name is the store's to refuse, as invalid input.
            return Ok(());
        }
        let mut known = admission.declared_services.clone();
        known.extend(self.slos.get().iter().map(|s| s.service.clone()));
        known.extend(self.policies.get().iter().map(|p| p.service.clone()));
        for (svc, deps) in self.dependencies.get().iter() {
            known.insert(svc.clone());
            known.extend(deps.iter().cloned());
        }
        if known.contains(service) {
            return Ok(());
        }
        Err(ReleaseError::UnknownService {
            service: service.to_string(),
            known: known.into_iter().collect(),
        })
    }

    /// Records a deploy and returns it as stored (with its id). A rollback
    /// marks the deploy it replaced as rolled back.
    pub async fn record(&self, d: NewDeploy) -> Result<Deploy, ReleaseError> {
        self.admit(&d.service)?;
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
            rolls_back: d.rolls_back,
        };
        let state = self.state.clone();
        blocking(move || {
            let mut d = d;
            if d.rolls_back.is_none() && d.change_type.as_deref() == Some("rollback") {
                d.rolls_back = replaced_by(state.deploys.as_ref(), &d)?;
            }
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

    /// Ends a deploy: `outcome` (succeeded, failed, rolled_back) at
    /// `finished_at` (now when not given). A repeat of the same outcome
    /// changes nothing; a finished deploy may still be rolled back; any
    /// other change of a final outcome is a conflict.
    pub async fn finish(
        &self,
        id: i64,
        outcome: DeployOutcome,
        finished_at: Option<i64>,
    ) -> Result<Deploy, ReleaseError> {
        let at = finished_at.unwrap_or_else(|| self.clock.now_millis());
        let state = self.state.clone();
        blocking(move || {
            let before = state
                .deploys
                .get_deploy(id)?
                .ok_or(ReleaseError::NotFound(id))?;
            let after = state.deploys.finish_deploy(id, outcome, at)?;
            if after.outcome != before.outcome {
                IncidentService::new(state.incidents.clone()).record_on_open_incidents(
                    &after.service,
                    ExternalKind::Deploy,
                    &format!(
                        "deploy {} of {} {} {}",
                        after.id,
                        after.service,
                        after.version,
                        after.outcome.as_str().replace('_', " ")
                    ),
                    json!({"deploy_id": after.id, "outcome": after.outcome.as_str()}),
                    after.finished_at.unwrap_or(at),
                )?;
            }
            Ok(after)
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
            // The burn began when the first alert became pending, when the
            // source said; else when it fired. A deploy between the two
            // cannot have started it.
            let began = began_at(&state.incidents.timeline(id)?);
            let burn = began
                .into_iter()
                .chain(inc.detected_at)
                .min()
                .unwrap_or(detected);
            let Some(service) = inc.service.clone() else {
                return Ok(Suspects {
                    incident: id,
                    service: None,
                    burn_started_at: burn,
                    detected_at: detected,
                    dependencies: BTreeMap::new(),
                    suspects: Vec::new(),
                    chaos: Vec::new(),
                });
            };
            let deploys = state.deploys.list_deploys(&DeployFilter {
                since: Some(detected - CORRELATION_WINDOW_MS),
                until: Some(detected),
                ..Default::default()
            })?;
            let deps = dependency_paths(&service, &q.extra, &graph);
            let suspects = rank_suspects(&service, &deps, burn, detected, &deploys);
            let changes = chaos_changes(&state, detected - CORRELATION_WINDOW_MS)?;
            let chaos = rank_chaos_suspects(&service, &deps, burn, detected, &changes);
            Ok(Suspects {
                incident: id,
                service: Some(service),
                burn_started_at: burn,
                detected_at: detected,
                dependencies: deps,
                suspects,
                chaos,
            })
        })
        .await
    }
}

/// Experiment runs and terminations that may overlap `[since, …]`, as
/// correlation sees them. A run still going (or finished after `since`)
/// may have started long before, so runs are read from a day earlier;
/// callers filter precisely.
pub fn chaos_changes(state: &State, since: i64) -> Result<Vec<ChaosChange>, StateError> {
    let runs = state.chaos.list_runs(None, since - 86_400_000, 1000)?;
    let terminations = state.chaos.list_terminations(None, since, 1000)?;
    let mut out: Vec<ChaosChange> = runs
        .into_iter()
        .filter_map(|r| {
            Some(ChaosChange {
                kind: ChaosKind::Experiment,
                id: r.id,
                title: r.title,
                service: r.service?,
                started_at: r.started_at,
                finished_at: r.finished_at,
                status: r.status,
            })
        })
        .collect();
    out.extend(terminations.into_iter().map(|t| ChaosChange {
        kind: ChaosKind::Termination,
        id: t.id.to_string(),
        title: format!("{}/{}", t.group, t.target),
        service: t.service,
        started_at: t.at_ms,
        finished_at: Some(t.at_ms),
        status: t.outcome,
    }));
    Ok(out)
}

/// The deploy a rollback replaces: the newest deploy of the same service
/// and environment that started before it (or at the same time), whatever
/// its outcome — the one that was running when the rollback began.
fn replaced_by(
    store: &dyn homeostat_state::DeployStore,
    rollback: &Deploy,
) -> Result<Option<i64>, ReleaseError> {
    // Deploys to other environments interleave; a page of them is plenty.
    let recent = store.list_deploys(&DeployFilter {
        service: Some(rollback.service.clone()),
        until: Some(rollback.started_at),
        limit: 200,
        ..Default::default()
    })?;
    Ok(recent
        .iter()
        .find(|d| d.environment == rollback.environment)
        .map(|d| d.id))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ReleaseError> + Send + 'static,
) -> Result<T, ReleaseError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ReleaseError::Task(e.to_string()))?
}
