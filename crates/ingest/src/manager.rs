//! Runs one scrape loop per target and exposes their status.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use homeostat_model::{Clock, Labels};
use homeostat_storage::Appender;
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::IngestError;
use crate::config::{GlobalConfig, Job, ScrapeConfig, validate};
use crate::scrape::ScrapeLoop;
use crate::target::{Target, targets_of};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetHealth {
    Unknown,
    Up,
    Down,
}

#[derive(Debug, Clone)]
pub struct TargetStatus {
    pub job: String,
    pub url: String,
    pub labels: Labels,
    pub health: TargetHealth,
    pub last_error: Option<String>,
    pub last_scrape_ms: i64,
    pub last_duration_seconds: f64,
}

/// Counters for /metrics.
#[derive(Debug, Default)]
pub struct ScrapeStats {
    pub scrapes_total: AtomicU64,
    pub scrape_failures_total: AtomicU64,
    pub samples_scraped_total: AtomicU64,
    pub samples_appended_total: AtomicU64,
    pub samples_rejected_total: AtomicU64,
}

/// A cheap, cloneable view of the scrapers' state.
#[derive(Debug, Clone, Default)]
pub struct ScrapeStatusHandle {
    targets: Arc<Vec<Arc<Mutex<TargetStatus>>>>,
    pub stats: Arc<ScrapeStats>,
}

impl ScrapeStatusHandle {
    pub fn targets(&self) -> Vec<TargetStatus> {
        self.targets.iter().map(|t| t.lock().clone()).collect()
    }
}

pub struct ScrapeManager {
    loops: Vec<(Arc<Job>, Target, Arc<Mutex<TargetStatus>>)>,
    appender: Arc<dyn Appender>,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    handle: ScrapeStatusHandle,
}

impl ScrapeManager {
    pub fn new(
        global: GlobalConfig,
        configs: Vec<ScrapeConfig>,
        appender: Arc<dyn Appender>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, IngestError> {
        let jobs = validate(&global, &configs)?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .user_agent(concat!("homeostat/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| IngestError::Client(e.to_string()))?;
        let mut loops = Vec::new();
        for job in jobs {
            let job = Arc::new(job);
            for t in targets_of(&job) {
                let status = Arc::new(Mutex::new(TargetStatus {
                    job: t.job.clone(),
                    url: t.url.clone(),
                    labels: t.labels.clone(),
                    health: TargetHealth::Unknown,
                    last_error: None,
                    last_scrape_ms: 0,
                    last_duration_seconds: 0.0,
                }));
                loops.push((job.clone(), t, status));
            }
        }
        let handle = ScrapeStatusHandle {
            targets: Arc::new(loops.iter().map(|(_, _, s)| s.clone()).collect()),
            stats: Arc::new(ScrapeStats::default()),
        };
        Ok(Self {
            loops,
            appender,
            clock,
            client,
            handle,
        })
    }

    pub fn status(&self) -> ScrapeStatusHandle {
        self.handle.clone()
    }

    /// Scrapes until `shutdown` changes, then writes stale markers for every
    /// target's series and returns.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let mut set = tokio::task::JoinSet::new();
        for (job, target, status) in self.loops {
            tracing::info!(job = %job.name, url = %target.url, interval = ?job.interval, "scraping target");
            let l = ScrapeLoop::new(
                job,
                target,
                self.client.clone(),
                self.appender.clone(),
                self.clock.clone(),
                status,
                self.handle.stats.clone(),
            );
            set.spawn(l.run(shutdown.clone()));
        }
        while set.join_next().await.is_some() {}
    }
}
