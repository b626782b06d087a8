//! Counters of one forwarding queue, read by `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Debug)]
pub(crate) struct ForwardStats {
    pub pending_samples: AtomicU64,
    pub appended_samples: AtomicU64,
    pub sent_samples: AtomicU64,
    pub sent_requests: AtomicU64,
    pub retries: AtomicU64,
    pub failed_requests: AtomicU64,
    pub queue_bytes: AtomicU64,
    pub highest_appended_ms: AtomicI64,
    pub highest_sent_ms: AtomicI64,
    pub dropped: Mutex<BTreeMap<String, u64>>,
}

impl Default for ForwardStats {
    fn default() -> Self {
        Self {
            pending_samples: AtomicU64::new(0),
            appended_samples: AtomicU64::new(0),
            sent_samples: AtomicU64::new(0),
            sent_requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            failed_requests: AtomicU64::new(0),
            queue_bytes: AtomicU64::new(0),
            highest_appended_ms: AtomicI64::new(i64::MIN),
            highest_sent_ms: AtomicI64::new(i64::MIN),
            dropped: Mutex::new(BTreeMap::new()),
        }
    }
}

impl ForwardStats {
    pub fn drop_samples(&self, reason: &str, n: u64) {
        self.pending_samples.fetch_sub(n, Ordering::Relaxed);
        let mut d = self.dropped.lock().unwrap_or_else(|p| p.into_inner());
        *d.entry(reason.to_string()).or_default() += n;
    }

    pub fn snapshot(&self) -> ForwardSnapshot {
        let ts = |a: &AtomicI64| match a.load(Ordering::Relaxed) {
            i64::MIN => None,
            t => Some(t),
        };
        ForwardSnapshot {
            pending_samples: self.pending_samples.load(Ordering::Relaxed),
            appended_samples: self.appended_samples.load(Ordering::Relaxed),
            sent_samples: self.sent_samples.load(Ordering::Relaxed),
            sent_requests: self.sent_requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            failed_requests: self.failed_requests.load(Ordering::Relaxed),
            queue_bytes: self.queue_bytes.load(Ordering::Relaxed),
            highest_appended_ms: ts(&self.highest_appended_ms),
            highest_sent_ms: ts(&self.highest_sent_ms),
            dropped: self
                .dropped
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

/// A point-in-time copy of a queue's counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForwardSnapshot {
    /// Accepted by `append` and not yet sent or dropped.
    pub pending_samples: u64,
    pub appended_samples: u64,
    /// Acknowledged (2xx) by the remote.
    pub sent_samples: u64,
    pub sent_requests: u64,
    /// Requests sent again after a 5xx, 429 or connection error.
    pub retries: u64,
    /// Requests that failed (each failed attempt counts).
    pub failed_requests: u64,
    /// Segment bytes on disk, sent or not.
    pub queue_bytes: u64,
    /// Newest sample timestamp accepted, milliseconds.
    pub highest_appended_ms: Option<i64>,
    /// Newest sample timestamp the remote acknowledged, milliseconds.
    pub highest_sent_ms: Option<i64>,
    /// Samples given up on, by reason (`http_400`, `corrupt_record`, ...).
    pub dropped: BTreeMap<String, u64>,
}
