//! Chaos Toolkit experiments run natively: validated, started (audited,
//! at most `max_concurrent_experiments` at once), followed through their
//! journal in the state store, aborted by a person or by their SLO guard.
//! Runs still `running` when the server stops become `interrupted` at the
//! next start ([`ChaosService::recover`]).

mod providers;
mod runner;
mod signals;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use homeostat_chaos::{
    Experiment, ExperimentError, Format, Journal, Provider, Resolved, RunStatus, iso,
    parse_experiment,
};
use homeostat_model::{Clock, ErrorKind};
use homeostat_state::{AuditEntry, AuditLog, ChaosRun, RUN_INTERRUPTED, StateError};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::json;
use tokio::sync::{Semaphore, broadcast, oneshot, watch};

pub use providers::{
    BoxFuture, ChaosSignals, FaultControl, NoFaultControl, Providers, prometheus_data, single_value,
};
use runner::{RunCtx, Runner};
pub use signals::MeterSignals;

/// `chaos:` in the server config.
#[derive(Debug, Clone)]
pub struct ChaosConfig {
    /// Executables a `process` provider may run, by exact path.
    pub process_allowlist: Vec<PathBuf>,
    pub max_concurrent_experiments: usize,
    /// A guard without `check_every` is checked this often.
    pub default_guard_check_every: Duration,
    /// An activity without a timeout of its own is stopped after this.
    pub default_activity_timeout: Duration,
}

impl Default for ChaosConfig {
    fn default() -> Self {
        ChaosConfig {
            process_allowlist: Vec::new(),
            max_concurrent_experiments: 4,
            default_guard_check_every: Duration::from_secs(5),
            default_activity_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChaosEventKind {
    Started,
    Finished,
}

/// Experiments starting and finishing, for timelines and suspects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChaosEvent {
    pub kind: ChaosEventKind,
    pub id: String,
    pub title: String,
    pub service: Option<String>,
    pub status: RunStatus,
    pub deviated: bool,
    /// Why it deviated or stopped, when it did.
    pub reason: Option<String>,
    pub at: i64,
    pub principal: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error("{0}")]
    Invalid(#[from] ExperimentError),
    #[error("{0}")]
    Config(#[from] homeostat_chaos::ResolveError),
    #[error(
        "{running} experiments are running, the most chaos.max_concurrent_experiments allows; wait for one to finish"
    )]
    Busy { running: usize },
    #[error("experiment run {0:?} not found")]
    NotFound(String),
    #[error("experiment run {0:?} is not running")]
    NotRunning(String),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("experiment task failed: {0}")]
    Task(String),
}

impl ChaosError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ChaosError::Invalid(_) | ChaosError::Config(_) => ErrorKind::InvalidInput,
            ChaosError::Busy { .. } => ErrorKind::Unavailable,
            ChaosError::NotFound(_) => ErrorKind::NotFound,
            ChaosError::NotRunning(_) => ErrorKind::Conflict,
            ChaosError::State(e) => e.kind(),
            ChaosError::Task(_) => ErrorKind::Internal,
        }
    }
}

/// A run just started.
#[derive(Debug)]
pub struct Started {
    pub id: String,
    pub status: RunStatus,
    /// The finished journal, once the run ends.
    pub finished: oneshot::Receiver<Journal>,
}

type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

pub struct ChaosService {
    ctx: Arc<RunCtx>,
    config: ChaosConfig,
    audit: Arc<dyn AuditLog>,
    /// Run id → its abort switch, while it runs.
    running: Arc<Mutex<HashMap<String, watch::Sender<Option<String>>>>>,
    slots: Arc<Semaphore>,
    events: broadcast::Sender<ChaosEvent>,
    env: Arc<EnvLookup>,
    platform: String,
    node: String,
}

impl ChaosService {
    pub fn new(
        config: ChaosConfig,
        faults: Arc<dyn FaultControl>,
        signals: Arc<dyn ChaosSignals>,
        clock: Arc<dyn Clock>,
        state: &homeostat_state::State,
    ) -> Self {
        let providers = Providers {
            http: reqwest::Client::new(),
            faults,
            signals,
            process_allowlist: Arc::new(config.process_allowlist.clone()),
            default_timeout: config.default_activity_timeout,
        };
        let (events, _) = broadcast::channel(256);
        ChaosService {
            ctx: Arc::new(RunCtx {
                providers,
                clock,
                store: state.chaos.clone(),
                default_check_every: config.default_guard_check_every,
            }),
            slots: Arc::new(Semaphore::new(config.max_concurrent_experiments.max(1))),
            config,
            audit: state.audit.clone(),
            running: Arc::new(Mutex::new(HashMap::new())),
            events,
            env: Arc::new(|k| std::env::var(k).ok()),
            platform: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            node: std::env::var("HOSTNAME").unwrap_or_else(|_| "homeostat".into()),
        }
    }

    /// Where `{"type": "env"}` configuration is read from (tests).
    #[must_use]
    pub fn with_env(
        mut self,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Arc::new(env);
        self
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ChaosEvent> {
        self.events.subscribe()
    }

    /// Parses and validates a document, including what only this server
    /// knows (the process allow-list).
    pub fn validate(&self, text: &str, format: Format) -> Result<Experiment, ChaosError> {
        let exp = parse_experiment(text, format)?;
        self.check_allowlist(&exp)?;
        Ok(exp)
    }

    fn check_allowlist(&self, exp: &Experiment) -> Result<(), ExperimentError> {
        let hyp = exp.hypothesis.iter().flat_map(|h| {
            h.probes
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("steady-state-hypothesis.probes[{i}]"), a))
        });
        let method = exp
            .method
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("method[{i}]"), a));
        let rollbacks = exp
            .rollbacks
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("rollbacks[{i}]"), a));
        for (path, a) in hyp.chain(method).chain(rollbacks) {
            if let Provider::Process(p) = &a.provider
                && !self
                    .config
                    .process_allowlist
                    .contains(&PathBuf::from(&p.path))
            {
                return Err(ExperimentError {
                    path: format!("{path}.provider.path"),
                    problem: format!(
                        "{} is not in chaos.process_allowlist; add it to the server config to allow it",
                        p.path
                    ),
                });
            }
        }
        Ok(())
    }

    /// Starts a validated experiment; the run goes on in the background.
    pub async fn start(&self, exp: Experiment, principal: &str) -> Result<Started, ChaosError> {
        self.check_allowlist(&exp)?;
        let resolved = Resolved::resolve(&exp, self.env.as_ref())?;
        let permit = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| ChaosError::Busy {
                running: self.config.max_concurrent_experiments,
            })?;
        let now = self.ctx.clock.now_millis();
        let id = format!("exp-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut journal = Journal::new(exp.document.clone(), &self.platform, &self.node, iso(now));
        journal.homeostat.run_id = Some(id.clone());
        journal.homeostat.service = exp.service().map(str::to_string);
        journal.homeostat.notes = exp.notes.clone();
        let record = ChaosRun {
            id: id.clone(),
            title: exp.title.clone(),
            service: exp.service().map(str::to_string),
            status: RunStatus::Running.as_str().into(),
            started_at: now,
            finished_at: None,
            principal: principal.to_string(),
            journal: serde_json::to_value(&journal).unwrap_or_default(),
        };
        let audit = AuditEntry {
            seq: 0,
            at: now,
            actor: principal.to_string(),
            action: "chaos.experiment.start".into(),
            object: format!("chaos/{id}"),
            detail: json!({"title": exp.title, "service": exp.service()}),
        };
        let (store, log) = (self.ctx.store.clone(), self.audit.clone());
        let rec = record.clone();
        tokio::task::spawn_blocking(move || -> Result<(), StateError> {
            log.append(&audit)?;
            store.insert_run(&rec)
        })
        .await
        .map_err(|e| ChaosError::Task(e.to_string()))??;

        let (abort_tx, abort_rx) = watch::channel(None);
        self.running.lock().insert(id.clone(), abort_tx);
        let event = |kind, status, deviated, reason: Option<String>, at| ChaosEvent {
            kind,
            id: id.clone(),
            title: exp.title.clone(),
            service: exp.service().map(str::to_string),
            status,
            deviated,
            reason,
            at,
            principal: principal.to_string(),
        };
        let _ = self.events.send(event(
            ChaosEventKind::Started,
            RunStatus::Running,
            false,
            None,
            now,
        ));
        let finished_event = event(ChaosEventKind::Finished, RunStatus::Running, false, None, 0);
        let runner = Arc::new(Runner {
            ctx: self.ctx.clone(),
            exp: Arc::new(exp),
            resolved,
            journal: Mutex::new(journal),
            record: Mutex::new(record),
        });
        let (done_tx, done_rx) = oneshot::channel();
        let (running, events, clock) = (
            self.running.clone(),
            self.events.clone(),
            self.ctx.clock.clone(),
        );
        let run_id = id.clone();
        tokio::spawn(async move {
            let journal = runner.run(abort_rx).await;
            running.lock().remove(&run_id);
            drop(permit);
            let _ = events.send(ChaosEvent {
                status: journal.status,
                deviated: journal.deviated,
                reason: journal.homeostat.deviation.clone(),
                at: clock.now_millis(),
                ..finished_event
            });
            let _ = done_tx.send(journal);
        });
        Ok(Started {
            id,
            status: RunStatus::Running,
            finished: done_rx,
        })
    }

    pub async fn get(&self, id: &str) -> Result<ChaosRun, ChaosError> {
        let store = self.ctx.store.clone();
        let key = id.to_string();
        tokio::task::spawn_blocking(move || store.get_run(&key))
            .await
            .map_err(|e| ChaosError::Task(e.to_string()))??
            .ok_or_else(|| ChaosError::NotFound(id.to_string()))
    }

    pub async fn list(
        &self,
        service: Option<String>,
        since: i64,
        limit: usize,
    ) -> Result<Vec<ChaosRun>, ChaosError> {
        let store = self.ctx.store.clone();
        Ok(
            tokio::task::spawn_blocking(move || store.list_runs(service.as_deref(), since, limit))
                .await
                .map_err(|e| ChaosError::Task(e.to_string()))??,
        )
    }

    /// Stops a running experiment: its method stops, its rollbacks run.
    pub async fn abort(&self, id: &str, principal: &str) -> Result<(), ChaosError> {
        let run = self.get(id).await?;
        let Some(switch) = self.running.lock().get(id).cloned() else {
            return Err(ChaosError::NotRunning(run.id));
        };
        let now = self.ctx.clock.now_millis();
        let audit = AuditEntry {
            seq: 0,
            at: now,
            actor: principal.to_string(),
            action: "chaos.experiment.abort".into(),
            object: format!("chaos/{id}"),
            detail: json!({"title": run.title}),
        };
        let log = self.audit.clone();
        tokio::task::spawn_blocking(move || log.append(&audit))
            .await
            .map_err(|e| ChaosError::Task(e.to_string()))??;
        let _ = switch.send(Some(format!("aborted by {principal}")));
        Ok(())
    }

    /// Marks the runs a previous process left `running` as `interrupted`;
    /// returns how many. Call once at start, before any run starts.
    pub async fn recover(&self) -> Result<usize, ChaosError> {
        let store = self.ctx.store.clone();
        let now = self.ctx.clock.now_millis();
        Ok(
            tokio::task::spawn_blocking(move || -> Result<usize, StateError> {
                let runs = store.running_runs()?;
                for mut run in runs.iter().cloned() {
                    run.status = RUN_INTERRUPTED.into();
                    run.finished_at = Some(now);
                    if let Some(j) = run.journal.as_object_mut() {
                        j.insert("status".into(), json!(RUN_INTERRUPTED));
                        j.insert("end".into(), json!(iso(now)));
                    }
                    store.update_run(&run)?;
                }
                Ok(runs.len())
            })
            .await
            .map_err(|e| ChaosError::Task(e.to_string()))??,
        )
    }

    /// Whether a run is in progress in this process.
    pub fn is_running(&self, id: &str) -> bool {
        self.running.lock().contains_key(id)
    }
}
