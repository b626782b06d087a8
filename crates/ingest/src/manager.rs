//! Runs one scrape loop per target, applies config reloads (start new
//! targets, stop removed ones with stale markers, restart changed jobs
//! without a staleness gap) and exposes status and counters.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use homeostat_model::{Clock, Labels};
use homeostat_storage::Appender;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::IngestError;
use crate::config::{GlobalConfig, Job, ScrapeConfig, validate};
use crate::scrape::{ScrapeLoop, SeriesState, Stop};
use crate::target::{Target, build_all, targets_of};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetHealth {
    Unknown,
    Up,
    Down,
}

impl TargetHealth {
    /// Prometheus's spelling in `/api/v1/targets`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetHealth::Unknown => "unknown",
            TargetHealth::Up => "up",
            TargetHealth::Down => "down",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TargetStatus {
    pub job: String,
    pub url: String,
    pub labels: Labels,
    pub discovered_labels: Labels,
    pub health: TargetHealth,
    pub last_error: Option<String>,
    /// Scrape time (ms) of the last scrape, 0 before the first.
    pub last_scrape_ms: i64,
    pub last_duration_seconds: f64,
}

/// Counters for /metrics; all monotonic.
#[derive(Debug, Default)]
pub struct ScrapeStats {
    pub scrapes_total: AtomicU64,
    pub scrape_failures_total: AtomicU64,
    pub samples_scraped_total: AtomicU64,
    pub samples_appended_total: AtomicU64,
    pub samples_rejected_total: AtomicU64,
    /// Appends that failed outright (storage error), not per-sample rejections.
    pub append_errors_total: AtomicU64,
}

/// A cheap, cloneable view of the scrapers' state, valid across reloads.
#[derive(Debug, Clone, Default)]
pub struct ScrapeStatusHandle {
    targets: Arc<RwLock<Vec<Arc<Mutex<TargetStatus>>>>>,
    pub stats: Arc<ScrapeStats>,
}

impl ScrapeStatusHandle {
    /// Every current target, in config order.
    pub fn targets(&self) -> Vec<TargetStatus> {
        self.targets
            .read()
            .iter()
            .map(|t| t.lock().clone())
            .collect()
    }
}

/// Sends new configs to a running [`ScrapeManager`]; cheap to clone.
#[derive(Debug, Clone)]
pub struct ScrapeReloader {
    tx: Arc<watch::Sender<Arc<Vec<Arc<Job>>>>>,
}

impl ScrapeReloader {
    /// Validates and applies a new config. An invalid config is rejected and
    /// the running one stays; the latest valid config wins.
    pub fn apply(
        &self,
        global: &GlobalConfig,
        configs: &[ScrapeConfig],
    ) -> Result<(), IngestError> {
        let jobs = validate(global, configs)?;
        self.tx
            .send(Arc::new(jobs.into_iter().map(Arc::new).collect()))
            .map_err(|_| IngestError::Stopped)
    }
}

/// Identifies a target across reloads.
type TargetKey = (String, String, Labels);

struct Running {
    job: Arc<Job>,
    stop: watch::Sender<Stop>,
    task: JoinHandle<Option<(SeriesState, Option<i64>)>>,
    status: Arc<Mutex<TargetStatus>>,
}

pub struct ScrapeManager {
    appender: Arc<dyn Appender>,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    handle: ScrapeStatusHandle,
    config_tx: Arc<watch::Sender<Arc<Vec<Arc<Job>>>>>,
    config_rx: watch::Receiver<Arc<Vec<Arc<Job>>>>,
}

impl ScrapeManager {
    pub fn new(
        global: GlobalConfig,
        configs: Vec<ScrapeConfig>,
        appender: Arc<dyn Appender>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, IngestError> {
        let jobs: Vec<Arc<Job>> = validate(&global, &configs)?
            .into_iter()
            .map(Arc::new)
            .collect();
        let client = reqwest::Client::builder()
            .no_proxy()
            .user_agent(concat!("homeostat/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| IngestError::Client(e.to_string()))?;
        let handle = ScrapeStatusHandle::default();
        // Targets show up as unknown before `run` starts scraping them.
        *handle.targets.write() = jobs
            .iter()
            // Invalid targets are logged once, when `run` starts them.
            .flat_map(|j| build_all(j).0)
            .map(|t| Arc::new(Mutex::new(initial_status(&t))))
            .collect();
        let (tx, rx) = watch::channel(Arc::new(jobs));
        Ok(Self {
            appender,
            clock,
            client,
            handle,
            config_tx: Arc::new(tx),
            config_rx: rx,
        })
    }

    pub fn status(&self) -> ScrapeStatusHandle {
        self.handle.clone()
    }

    /// A handle to apply new configs while [`ScrapeManager::run`] runs.
    pub fn reloader(&self) -> ScrapeReloader {
        ScrapeReloader {
            tx: self.config_tx.clone(),
        }
    }

    /// Scrapes until `shutdown` becomes true (or its sender is dropped), then
    /// writes stale markers for every target's series and returns.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut running: HashMap<TargetKey, Running> = HashMap::new();
        let jobs = self.config_rx.borrow_and_update().clone();
        self.sync(&mut running, &jobs).await;
        loop {
            if *shutdown.borrow_and_update() {
                break;
            }
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                // `self.config_tx` keeps the channel open, so this never errors.
                Ok(()) = self.config_rx.changed() => {
                    let jobs = self.config_rx.borrow_and_update().clone();
                    tracing::info!(jobs = jobs.len(), "applying new scrape config");
                    self.sync(&mut running, &jobs).await;
                }
            }
        }
        tracing::info!(targets = running.len(), "stopping scrapes");
        let stopping: Vec<Running> = running.into_values().collect();
        for r in &stopping {
            let _ = r.stop.send(Stop::Remove);
        }
        for r in stopping {
            let _ = r.task.await;
        }
    }

    /// Makes the running loops match `jobs`.
    async fn sync(&self, running: &mut HashMap<TargetKey, Running>, jobs: &[Arc<Job>]) {
        let mut wanted: Vec<(Arc<Job>, Target)> = Vec::new();
        for job in jobs {
            for t in targets_of(job) {
                wanted.push((job.clone(), t));
            }
        }
        let key = |t: &Target| -> TargetKey { (t.job.clone(), t.url.clone(), t.labels.clone()) };
        let wanted_keys: HashMap<TargetKey, &Arc<Job>> =
            wanted.iter().map(|(j, t)| (key(t), j)).collect();

        // Stop loops whose target is gone (stale markers) or whose job
        // changed (state handed to the replacement).
        let ending: Vec<(TargetKey, Stop)> = running
            .iter()
            .filter_map(|(k, r)| match wanted_keys.get(k) {
                Some(job) if r.job.same_as(job) => None,
                Some(_) => Some((k.clone(), Stop::Handover)),
                None => Some((k.clone(), Stop::Remove)),
            })
            .collect();
        let mut stopped = Vec::with_capacity(ending.len());
        for (k, how) in ending {
            if let Some(r) = running.remove(&k) {
                let _ = r.stop.send(how);
                stopped.push((k, r));
            }
        }
        let mut handed = HashMap::new();
        for (k, r) in stopped {
            if let Ok(Some((state, last_t))) = r.task.await {
                handed.insert(k, (state, last_t, r.status));
            }
        }

        let mut statuses = Vec::with_capacity(wanted.len());
        for (job, target) in wanted {
            let k = key(&target);
            if let Some(r) = running.get(&k) {
                statuses.push(r.status.clone());
                continue;
            }
            let (state, last_t, status) = match handed.remove(&k) {
                Some((s, t, status)) => (s, t, status),
                None => (
                    SeriesState::default(),
                    None,
                    Arc::new(Mutex::new(initial_status(&target))),
                ),
            };
            tracing::info!(job = %job.name, url = %target.url, interval = ?target.interval, "scraping target");
            let (stop, stop_rx) = watch::channel(Stop::Running);
            let l = ScrapeLoop {
                job: job.clone(),
                target,
                client: self.client.clone(),
                appender: self.appender.clone(),
                clock: self.clock.clone(),
                status: status.clone(),
                stats: self.handle.stats.clone(),
                state,
                last_t,
            };
            let task = tokio::spawn(l.run(stop_rx));
            statuses.push(status.clone());
            running.insert(
                k,
                Running {
                    job,
                    stop,
                    task,
                    status,
                },
            );
        }
        *self.handle.targets.write() = statuses;
    }
}

fn initial_status(t: &Target) -> TargetStatus {
    TargetStatus {
        job: t.job.clone(),
        url: t.url.clone(),
        labels: t.labels.clone(),
        discovered_labels: t.discovered.clone(),
        health: TargetHealth::Unknown,
        last_error: None,
        last_scrape_ms: 0,
        last_duration_seconds: 0.0,
    }
}
