//! One target's scrape loop: fetch, parse, attach target labels, relabel,
//! stale-mark what vanished, add the synthetic series, append.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use homeostat_model::{Clock, Labels, Sample, TimeSeries, stale_nan};
use homeostat_storage::Appender;
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::config::Job;
use crate::manager::{ScrapeStats, TargetHealth, TargetStatus};
use crate::relabel;
use crate::target::Target;

const ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// Largest scrape body read; bigger targets fail the scrape with a clear error.
const MAX_BODY_BYTES: usize = 64 << 20;

pub(crate) struct ScrapeLoop {
    pub job: Arc<Job>,
    pub target: Target,
    pub client: reqwest::Client,
    pub appender: Arc<dyn Appender>,
    pub clock: Arc<dyn Clock>,
    pub status: Arc<Mutex<TargetStatus>>,
    pub stats: Arc<ScrapeStats>,
    /// Series written by the last successful scrape, for staleness.
    prev: HashSet<Labels>,
}

const SYNTHETIC: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

impl ScrapeLoop {
    pub fn new(
        job: Arc<Job>,
        target: Target,
        client: reqwest::Client,
        appender: Arc<dyn Appender>,
        clock: Arc<dyn Clock>,
        status: Arc<Mutex<TargetStatus>>,
        stats: Arc<ScrapeStats>,
    ) -> Self {
        Self {
            job,
            target,
            client,
            appender,
            clock,
            status,
            stats,
            prev: HashSet::new(),
        }
    }

    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        // Spread targets over the interval, deterministically per target.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.target.url.hash(&mut h);
        let interval = self.job.interval;
        let offset = Duration::from_millis(h.finish() % (interval.as_millis().max(1) as u64));
        tokio::select! {
            _ = tokio::time::sleep(offset) => {}
            _ = shutdown.changed() => return,
        }
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = ticker.tick() => self.scrape_once().await,
                _ = shutdown.changed() => break,
            }
        }
        self.mark_all_stale().await;
    }

    async fn fetch(&self) -> Result<(Vec<u8>, Option<String>), String> {
        let resp = self
            .client
            .get(&self.target.url)
            .header("Accept", ACCEPT)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", self.job.timeout.as_secs_f64()),
            )
            .timeout(self.job.timeout)
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("server returned HTTP status {}", resp.status()));
        }
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| format!("reading body: {e}"))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(format!("body larger than {MAX_BODY_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, ct))
    }

    /// Attaches target labels to a scraped label set.
    fn with_target_labels(&self, scraped: &Labels) -> Option<Labels> {
        let mut b = scraped.builder();
        for tl in self.target.labels.iter() {
            match scraped.get(&tl.name) {
                Some(v) if self.job.honor_labels => {
                    let _ = v;
                }
                Some(v) => {
                    // Keep the target's label; the scraped one moves aside.
                    let mut name = format!("exported_{}", tl.name);
                    while scraped.get(&name).is_some() {
                        name = format!("exported_{name}");
                    }
                    b.set(&name, v);
                    b.set(&tl.name, &tl.value);
                }
                None => {
                    b.set(&tl.name, &tl.value);
                }
            }
        }
        b.build().ok()
    }

    async fn scrape_once(&mut self) {
        let start = self.clock.now_millis();
        let t0 = Instant::now();
        let fetched = self.fetch().await;
        let duration = t0.elapsed().as_secs_f64();
        let mut series: Vec<TimeSeries> = Vec::new();
        let parsed = fetched.and_then(|(body, ct)| {
            homeostat_wire::exposition::parse(&body, ct.as_deref())
                .map_err(|e| format!("parse error: {e}"))
        });
        let (up, scraped, post, added, error) = match parsed {
            Ok(samples) if self.job.sample_limit > 0 && samples.len() > self.job.sample_limit => {
                let n = samples.len();
                self.stale_all_prev(start, &mut series);
                (
                    0.0,
                    n,
                    0,
                    0,
                    Some(format!(
                        "sample_limit exceeded: {n} samples > limit {}",
                        self.job.sample_limit
                    )),
                )
            }
            Ok(samples) => {
                let scraped = samples.len();
                let mut current = HashSet::with_capacity(scraped);
                for s in samples {
                    let Some(labels) = self.with_target_labels(&s.labels) else {
                        continue;
                    };
                    let Some(labels) = relabel::process(&labels, &self.job.metric_relabel) else {
                        continue;
                    };
                    if labels.metric_name().is_none() {
                        continue;
                    }
                    if self.job.label_limit > 0 && labels.len() > self.job.label_limit {
                        continue;
                    }
                    let t = if self.job.honor_timestamps {
                        s.timestamp_ms.unwrap_or(start)
                    } else {
                        start
                    };
                    current.insert(labels.clone());
                    series.push(TimeSeries {
                        labels,
                        samples: vec![Sample::new(t, s.value)],
                    });
                }
                let post = series.len();
                let added = current.difference(&self.prev).count();
                for gone in self.prev.difference(&current) {
                    series.push(TimeSeries {
                        labels: gone.clone(),
                        samples: vec![Sample::new(start, stale_nan())],
                    });
                }
                self.prev = current;
                (1.0, scraped, post, added, None)
            }
            Err(e) => {
                self.stale_all_prev(start, &mut series);
                (0.0, 0, 0, 0, Some(e))
            }
        };
        for (name, v) in
            SYNTHETIC
                .iter()
                .zip([up, duration, scraped as f64, post as f64, added as f64])
        {
            if let Some(labels) = self.synthetic(name) {
                series.push(TimeSeries {
                    labels,
                    samples: vec![Sample::new(start, v)],
                });
            }
        }
        self.stats.scrapes_total.fetch_add(1, Ordering::Relaxed);
        self.stats
            .samples_scraped_total
            .fetch_add(scraped as u64, Ordering::Relaxed);
        if error.is_some() {
            self.stats
                .scrape_failures_total
                .fetch_add(1, Ordering::Relaxed);
        }
        self.append(series).await;
        let mut st = self.status.lock();
        st.health = if error.is_none() {
            TargetHealth::Up
        } else {
            TargetHealth::Down
        };
        if let Some(e) = &error {
            tracing::debug!(target_url = %self.target.url, error = %e, "scrape failed");
        }
        st.last_error = error;
        st.last_scrape_ms = start;
        st.last_duration_seconds = duration;
    }

    fn synthetic(&self, name: &str) -> Option<Labels> {
        let mut b = self.target.labels.builder();
        b.set("__name__", name);
        b.build().ok()
    }

    fn stale_all_prev(&mut self, t: i64, series: &mut Vec<TimeSeries>) {
        for gone in self.prev.drain() {
            series.push(TimeSeries {
                labels: gone,
                samples: vec![Sample::new(t, stale_nan())],
            });
        }
    }

    /// On shutdown: stale markers for every series this target produced.
    async fn mark_all_stale(&mut self) {
        let t = self.clock.now_millis();
        let mut series = Vec::new();
        self.stale_all_prev(t, &mut series);
        for name in SYNTHETIC {
            if let Some(labels) = self.synthetic(name) {
                series.push(TimeSeries {
                    labels,
                    samples: vec![Sample::new(t, stale_nan())],
                });
            }
        }
        self.append(series).await;
    }

    async fn append(&self, series: Vec<TimeSeries>) {
        let appender = self.appender.clone();
        let url = self.target.url.clone();
        let stats = self.stats.clone();
        let res = tokio::task::spawn_blocking(move || appender.append(&series)).await;
        match res {
            Ok(Ok(report)) => {
                stats
                    .samples_appended_total
                    .fetch_add(report.accepted, Ordering::Relaxed);
                if report.rejected_total() > 0 {
                    stats
                        .samples_rejected_total
                        .fetch_add(report.rejected_total(), Ordering::Relaxed);
                    tracing::debug!(target_url = %url, rejected = report.rejected_total(),
                        first = report.first_rejection.as_deref().unwrap_or(""), "scraped samples rejected");
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(target_url = %url, error = %e, "appending scraped samples failed")
            }
            Err(e) => tracing::error!(target_url = %url, error = %e, "append task panicked"),
        }
    }
}
