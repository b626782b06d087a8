//! One target's scrape loop: wait for the target's slot in the interval,
//! fetch, parse, turn samples into series (`samples`), append off the async
//! runtime, record status. On stop it either stale-marks everything it wrote
//! (target removed, shutdown) or hands its series state to its successor
//! (job config reloaded), so continuing series get no spurious gap.

mod samples;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use homeostat_model::{Clock, Sample, TimeSeries, stale_nan};
use homeostat_storage::Appender;
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::config::Job;
use crate::manager::{ScrapeStats, TargetHealth, TargetStatus};
use crate::target::Target;
pub(crate) use samples::SeriesState;
use samples::{Outcome, SYNTHETIC, push_synthetic, synthetic_labels};

/// OpenMetrics first, then the Prometheus text format, as Prometheus asks.
const ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Largest scrape body read; a bigger one fails the scrape with a clear error
/// instead of growing memory without bound.
pub(crate) const MAX_BODY_BYTES: usize = 64 << 20;

/// How a loop is told to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Running,
    /// Target gone or shutting down: stale-mark every series written.
    Remove,
    /// Replaced by a loop with a new config: hand the series state over.
    Handover,
}

pub(crate) struct ScrapeLoop {
    pub job: Arc<Job>,
    pub target: Target,
    pub client: reqwest::Client,
    pub appender: Arc<dyn Appender>,
    pub clock: Arc<dyn Clock>,
    pub status: Arc<Mutex<TargetStatus>>,
    pub stats: Arc<ScrapeStats>,
    pub state: SeriesState,
    /// Time of the last scrape written, None before the first.
    pub last_t: Option<i64>,
}

/// Delay until the target's slot: `hash mod interval` past each multiple of
/// the interval since the epoch, so a target keeps its phase across restarts
/// and targets of a job spread over the interval instead of firing together.
pub(crate) fn offset(hash: u64, interval: Duration, now_ms: i64) -> Duration {
    let iv = interval.as_millis().clamp(1, u64::MAX as u128) as u64;
    let slot = hash % iv;
    let now_phase = now_ms.rem_euclid(iv as i64) as u64;
    Duration::from_millis((slot + iv - now_phase) % iv)
}

impl ScrapeLoop {
    /// Runs until told to stop; returns the series state on handover.
    pub async fn run(
        mut self,
        mut stop: watch::Receiver<Stop>,
    ) -> Option<(SeriesState, Option<i64>)> {
        let interval = self.target.interval;
        let first = offset(self.target.hash(), interval, self.clock.now_millis());
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + first, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let how = loop {
            let how = *stop.borrow_and_update();
            if how != Stop::Running {
                break how;
            }
            tokio::select! {
                _ = ticker.tick() => self.scrape_once().await,
                changed = stop.changed() => {
                    if changed.is_err() {
                        break Stop::Remove;
                    }
                }
            }
        };
        match how {
            Stop::Handover => Some((self.state, self.last_t)),
            _ => {
                self.mark_all_stale().await;
                None
            }
        }
    }

    async fn fetch(&self) -> Result<(Vec<u8>, Option<String>), String> {
        let timeout = self.target.timeout;
        let resp = self
            .client
            .get(&self.target.url)
            .header(reqwest::header::ACCEPT, ACCEPT)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                timeout.as_secs_f64().to_string(),
            )
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| describe(&e, timeout))?;
        if !resp.status().is_success() {
            return Err(format!("server returned HTTP status {}", resp.status()));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(format!("body larger than {MAX_BODY_BYTES} bytes"));
        }
        let ct = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e, timeout))? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(format!("body larger than {MAX_BODY_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, ct))
    }

    async fn scrape_once(&mut self) {
        // Never write at or before the previous scrape's time, even if the
        // clock stepped back: storage would reject the samples as out of order.
        let now = self.clock.now_millis();
        let t = self.last_t.map_or(now, |last| now.max(last + 1));
        let started = Instant::now();
        let fetched = self.fetch().await;
        let duration = started.elapsed().as_secs_f64();
        let parsed = fetched.and_then(|(body, ct)| {
            homeostat_wire::exposition::parse(&body, ct.as_deref())
                .map_err(|e| format!("parsing the scrape body: {e}"))
        });
        let mut outcome: Outcome = match parsed {
            Ok(samples) => self.state.scraped(&self.job, &self.target, samples, t),
            Err(e) => self.state.failed(e, t),
        };
        push_synthetic(&mut outcome, &self.target.labels, duration, t);
        self.last_t = Some(t);

        self.stats.scrapes_total.fetch_add(1, Ordering::Relaxed);
        self.stats
            .samples_scraped_total
            .fetch_add(outcome.scraped as u64, Ordering::Relaxed);
        if outcome.duplicates > 0 {
            tracing::debug!(job = %self.job.name, target_url = %self.target.url,
                duplicates = outcome.duplicates, "scrape exposed duplicate series, kept the first");
        }
        if let Some(e) = &outcome.error {
            self.stats
                .scrape_failures_total
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!(job = %self.job.name, target_url = %self.target.url, error = %e, "scrape failed");
        }
        let series = std::mem::take(&mut outcome.series);
        self.append(series).await;
        let mut st = self.status.lock();
        st.health = if outcome.error.is_none() {
            TargetHealth::Up
        } else {
            TargetHealth::Down
        };
        st.last_error = outcome.error;
        st.last_scrape_ms = t;
        st.last_duration_seconds = duration;
    }

    /// Stale markers for every series this target wrote, including the
    /// synthetic ones, once it is no longer scraped.
    async fn mark_all_stale(&mut self) {
        let Some(last) = self.last_t else {
            return;
        };
        let t = self.clock.now_millis().max(last + 1);
        let mut series = self.state.drain_stale(t);
        for name in SYNTHETIC {
            if let Some(labels) = synthetic_labels(&self.target.labels, name) {
                series.push(TimeSeries {
                    labels,
                    samples: vec![Sample::new(t, stale_nan())],
                });
            }
        }
        self.append(series).await;
    }

    /// Appends on the blocking pool. Rejections and errors are logged with
    /// the target and counted; they never stop the loop.
    async fn append(&self, series: Vec<TimeSeries>) {
        if series.is_empty() {
            return;
        }
        let appender = self.appender.clone();
        let res = tokio::task::spawn_blocking(move || appender.append(&series)).await;
        let url = &self.target.url;
        let stats = &self.stats;
        match res {
            Ok(Ok(report)) => {
                stats
                    .samples_appended_total
                    .fetch_add(report.accepted, Ordering::Relaxed);
                let rejected = report.rejected_total();
                if rejected > 0 {
                    stats
                        .samples_rejected_total
                        .fetch_add(rejected, Ordering::Relaxed);
                    tracing::debug!(job = %self.job.name, target_url = %url, rejected,
                        first = report.first_rejection.as_deref().unwrap_or(""), "scraped samples rejected");
                }
            }
            Ok(Err(e)) => {
                stats.append_errors_total.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(job = %self.job.name, target_url = %url, error = %e, "appending scraped samples failed");
            }
            Err(e) => {
                stats.append_errors_total.fetch_add(1, Ordering::Relaxed);
                tracing::error!(job = %self.job.name, target_url = %url, error = %e, "append task failed");
            }
        }
    }
}

/// A reqwest error as a short, lowercase reason naming the cause.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!(
            "scrape timed out after {}",
            homeostat_model::format_duration(timeout)
        );
    }
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_phase_aligned_and_within_the_interval() {
        let iv = Duration::from_secs(10);
        for (hash, now, want) in [
            (3_000, 0, 3_000),
            (3_000, 1_000, 2_000),
            (3_000, 3_000, 0),
            (3_000, 4_000, 9_000),
            (13_000, 4_000, 9_000),
            (3_000, 1_700_000_004_000, 9_000),
        ] {
            assert_eq!(
                offset(hash, iv, now),
                Duration::from_millis(want),
                "{hash} {now}"
            );
        }
        for h in [0, 1, u64::MAX, 123_456_789] {
            assert!(offset(h, iv, 777) < iv);
        }
    }
}
