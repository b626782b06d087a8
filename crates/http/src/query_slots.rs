//! The query concurrency limit of `/api/v1/query` and `/api/v1/query_range`:
//! at most `query.max_concurrency` evaluations at once, at most
//! `query.max_queued` waiting for a slot, each for at most
//! `query.queue_timeout`; beyond that the request is answered 503 at once,
//! so a flood of expensive queries queues a bounded amount of work instead
//! of every blocking thread. The rule engine, SLO meter and guardrails run
//! their own evaluations and never wait here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use homeostat_model::{ErrorKind, format_duration};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ApiError;
use crate::telemetry::{ExternalMetric, StatsSource};

/// `query.max_concurrency`, `query.max_queued`, `query.queue_timeout`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySlotOptions {
    pub max_concurrency: usize,
    pub max_queued: usize,
    pub queue_timeout: Duration,
}

impl Default for QuerySlotOptions {
    fn default() -> Self {
        Self {
            max_concurrency: 20,
            max_queued: 100,
            queue_timeout: Duration::from_secs(10),
        }
    }
}

/// The slots; shared by every request of the process.
#[derive(Debug)]
pub struct QuerySlots {
    opts: QuerySlotOptions,
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
    rejected: AtomicU64,
}

/// A slot held for one evaluation; released when dropped, so a query that
/// outlives its HTTP answer (timed out while the engine finishes) still
/// counts until it stops.
#[derive(Debug)]
pub struct QuerySlot(#[allow(dead_code)] OwnedSemaphorePermit);

/// Decrements the queue length however the wait ends (a slot, a timeout,
/// or the client going away and the future being dropped).
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl QuerySlots {
    pub fn new(opts: QuerySlotOptions) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(opts.max_concurrency)),
            opts,
            queued: AtomicUsize::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    pub fn options(&self) -> &QuerySlotOptions {
        &self.opts
    }

    /// Evaluations running now.
    pub fn running(&self) -> usize {
        self.opts.max_concurrency - self.slots.available_permits()
    }

    /// Requests waiting for a slot now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// A slot, at once or after waiting in the queue; 503 naming the limit
    /// when the queue is full or the wait runs out.
    pub async fn acquire(&self) -> Result<QuerySlot, ApiError> {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Ok(QuerySlot(p));
        }
        if self.queued.fetch_add(1, Ordering::Relaxed) >= self.opts.max_queued {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(self.refuse(format!(
                "too many concurrent queries: {} running and {} queued (limits query.max_concurrency and query.max_queued); retry later",
                self.opts.max_concurrency, self.opts.max_queued
            )));
        }
        let _queued = Queued(&self.queued);
        match tokio::time::timeout(self.opts.queue_timeout, self.slots.clone().acquire_owned())
            .await
        {
            Ok(Ok(p)) => Ok(QuerySlot(p)),
            // The semaphore is never closed; treat it like a full queue.
            Ok(Err(_)) | Err(_) => Err(self.refuse(format!(
                "too many concurrent queries: no query slot free within {} (limits query.max_concurrency = {} and query.queue_timeout); retry later",
                format_duration(self.opts.queue_timeout),
                self.opts.max_concurrency
            ))),
        }
    }

    fn refuse(&self, message: String) -> ApiError {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            running = self.running(),
            queued = self.queued(),
            "query refused: no slot"
        );
        ApiError::new(ErrorKind::Unavailable, message)
    }
}

impl StatsSource for Arc<QuerySlots> {
    fn collect(&self) -> Vec<ExternalMetric> {
        let gauge = |name: &'static str, help: &'static str, value: f64| ExternalMetric {
            name,
            help,
            kind: "gauge",
            labels: Vec::new(),
            value,
        };
        vec![
            gauge(
                "homeostat_queries_running",
                "PromQL API queries evaluating now.",
                self.running() as f64,
            ),
            gauge(
                "homeostat_queries_queued",
                "PromQL API queries waiting for a slot (query.max_concurrency).",
                self.queued() as f64,
            ),
            gauge(
                "homeostat_queries_max_concurrency",
                "The query.max_concurrency limit.",
                self.opts.max_concurrency as f64,
            ),
            ExternalMetric {
                kind: "counter",
                ..gauge(
                    "homeostat_queries_rejected_total",
                    "PromQL API queries answered 503 because no slot was free.",
                    self.rejected.load(Ordering::Relaxed) as f64,
                )
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(max_concurrency: usize, max_queued: usize, wait_ms: u64) -> Arc<QuerySlots> {
        Arc::new(QuerySlots::new(QuerySlotOptions {
            max_concurrency,
            max_queued,
            queue_timeout: Duration::from_millis(wait_ms),
        }))
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once_and_a_slot_freed_is_taken() {
        let s = slots(1, 1, 5_000);
        let first = s.acquire().await.expect("free slot");
        assert_eq!(s.running(), 1);
        let waiter = tokio::spawn({
            let s = s.clone();
            async move { s.acquire().await.map(|_| ()) }
        });
        while s.queued() == 0 {
            tokio::task::yield_now().await;
        }
        let e = s.acquire().await.expect_err("queue full");
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert!(e.message.contains("query.max_queued"), "{}", e.message);
        drop(first);
        waiter
            .await
            .expect("joins")
            .expect("the waiter gets the slot");
        assert_eq!((s.running(), s.queued()), (0, 0));
    }

    #[tokio::test]
    async fn a_wait_longer_than_the_limit_is_refused() {
        let s = slots(1, 10, 20);
        let _held = s.acquire().await.expect("free slot");
        let e = s.acquire().await.expect_err("waited too long");
        assert!(e.message.contains("query.queue_timeout"), "{}", e.message);
        assert_eq!(s.queued(), 0);
        let rejected = s
            .collect()
            .into_iter()
            .find(|m| m.name == "homeostat_queries_rejected_total")
            .map(|m| m.value);
        assert_eq!(rejected, Some(1.0));
    }
}
