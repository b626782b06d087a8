//! One remote-write request, retried until the remote takes it, refuses it
//! for good (a 4xx other than 429), or the queue is stopped.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use homeostat_model::TimeSeries;
use homeostat_wire::remote_write;
use reqwest::StatusCode;
use reqwest::blocking::Client;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};

use super::stats::ForwardStats;

/// Retry-After longer than this is treated as this: a remote asking for an
/// hour would otherwise stall the queue past any operator's patience.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

pub(crate) struct Sender {
    pub client: Client,
    pub url: String,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub stats: Arc<ForwardStats>,
    pub stop: Arc<AtomicBool>,
}

/// How a request ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Sent,
    /// Refused for good; the samples are counted as dropped.
    Dropped,
    /// The queue is stopping; the request was not delivered and stays queued.
    Stopped,
}

enum Attempt {
    Ok,
    Retry(Option<Duration>, String),
    Refused(StatusCode, String),
}

impl Sender {
    /// Sends `series` (one shard's slice of a batch) until it is delivered
    /// or refused. Never returns early on a retryable error unless stopped.
    pub fn send(&self, series: &[TimeSeries]) -> Outcome {
        let samples: u64 = series.iter().map(|s| s.samples.len() as u64).sum();
        if samples == 0 {
            return Outcome::Sent;
        }
        let body = remote_write::encode(series);
        let mut backoff = self.min_backoff;
        let mut first = true;
        loop {
            if !first {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
            }
            first = false;
            match self.attempt(&body) {
                Attempt::Ok => {
                    self.stats.sent_requests.fetch_add(1, Ordering::Relaxed);
                    self.stats
                        .sent_samples
                        .fetch_add(samples, Ordering::Relaxed);
                    self.stats
                        .pending_samples
                        .fetch_sub(samples, Ordering::Relaxed);
                    let newest = series
                        .iter()
                        .filter_map(|s| s.samples.last().map(|x| x.t))
                        .max()
                        .unwrap_or(i64::MIN);
                    self.stats
                        .highest_sent_ms
                        .fetch_max(newest, Ordering::Relaxed);
                    return Outcome::Sent;
                }
                Attempt::Refused(status, body) => {
                    self.stats.failed_requests.fetch_add(1, Ordering::Relaxed);
                    self.stats
                        .drop_samples(&format!("http_{}", status.as_u16()), samples);
                    tracing::warn!(url = %self.url, %status, body = %body, samples, "remote write refused; samples dropped");
                    return Outcome::Dropped;
                }
                Attempt::Retry(after, why) => {
                    self.stats.failed_requests.fetch_add(1, Ordering::Relaxed);
                    let wait = match after {
                        Some(a) => a.min(MAX_RETRY_AFTER).max(backoff),
                        None => jitter(backoff),
                    };
                    tracing::debug!(url = %self.url, error = %why, ?wait, "remote write failed; retrying");
                    if !self.sleep(wait) {
                        return Outcome::Stopped;
                    }
                    backoff = (backoff * 2).min(self.max_backoff);
                }
            }
        }
    }

    fn attempt(&self, body: &[u8]) -> Attempt {
        let resp = self
            .client
            .post(&self.url)
            .header(CONTENT_TYPE, "application/x-protobuf")
            .header(CONTENT_ENCODING, "snappy")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .header(
                USER_AGENT,
                format!("homeostat/{}", env!("CARGO_PKG_VERSION")),
            )
            .body(body.to_vec())
            .send();
        let resp = match resp {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(None, e.to_string()),
        };
        let status = resp.status();
        if status.is_success() {
            return Attempt::Ok;
        }
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text: String = resp.text().unwrap_or_default().chars().take(300).collect();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Attempt::Retry(retry_after, format!("HTTP {status}: {}", text.trim()))
        } else {
            Attempt::Refused(status, text.trim().to_string())
        }
    }

    /// Sleeps in short slices so a stop is noticed; false when stopped.
    fn sleep(&self, total: Duration) -> bool {
        let slice = Duration::from_millis(50);
        let mut left = total;
        while !left.is_zero() {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            let d = left.min(slice);
            std::thread::sleep(d);
            left -= d;
        }
        !self.stop.load(Ordering::Relaxed)
    }
}

/// A delay in `[d/2, d]`, so shards that failed together do not retry in lockstep.
fn jitter(d: Duration) -> Duration {
    let r = std::collections::hash_map::RandomState::new().hash_one(d.as_nanos());
    let half = d / 2;
    let extra = half.as_nanos() as u64;
    half + Duration::from_nanos(if extra == 0 { 0 } else { r % (extra + 1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_half_and_whole() {
        for ms in [0u64, 1, 30, 5000] {
            let d = Duration::from_millis(ms);
            let j = jitter(d);
            assert!(j >= d / 2 && j <= d, "{d:?} -> {j:?}");
        }
    }
}
