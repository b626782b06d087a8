//! Circuit breaker counters (Envoy's thresholds, not a tripping state
//! machine): a request over `max_requests`, or one that would wait for a
//! connection beyond `max_pending_requests`, is refused at once with 503.
//! The connection limit itself is a semaphore in the proxy; this module
//! holds the counters and their guards.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::spec::BreakerSpec;

/// Which threshold refused a request (the `x-homeostat-overflow` value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    Requests,
    Pending,
}

impl Overflow {
    pub fn as_str(self) -> &'static str {
        match self {
            Overflow::Requests => "max_requests",
            Overflow::Pending => "max_pending_requests",
        }
    }
}

#[derive(Debug, Default)]
pub struct Breaker {
    requests: AtomicU32,
    pending: AtomicU32,
}

/// Holds one place under a threshold until dropped.
#[derive(Debug)]
pub struct Slot {
    counter: Arc<Breaker>,
    pending: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let c = if self.pending {
            &self.counter.pending
        } else {
            &self.counter.requests
        };
        c.fetch_sub(1, Ordering::AcqRel);
    }
}

fn take(c: &AtomicU32, limit: u32) -> bool {
    c.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
        (n < limit).then_some(n + 1)
    })
    .is_ok()
}

impl Breaker {
    /// A place among the outstanding requests.
    pub fn enter(self: &Arc<Self>, spec: &BreakerSpec) -> Result<Slot, Overflow> {
        if take(&self.requests, spec.max_requests) {
            Ok(Slot {
                counter: self.clone(),
                pending: false,
            })
        } else {
            Err(Overflow::Requests)
        }
    }

    /// A place in the queue for a connection.
    pub fn wait(self: &Arc<Self>, spec: &BreakerSpec) -> Result<Slot, Overflow> {
        if take(&self.pending, spec.max_pending_requests) {
            Ok(Slot {
                counter: self.clone(),
                pending: true,
            })
        } else {
            Err(Overflow::Pending)
        }
    }

    /// (outstanding requests, pending requests) now.
    pub fn counts(&self) -> (u32, u32) {
        (
            self.requests.load(Ordering::Acquire),
            self.pending.load(Ordering::Acquire),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_and_slots_free_on_drop() {
        let spec = BreakerSpec {
            max_connections: 1,
            max_pending_requests: 1,
            max_requests: 2,
        };
        let b = Arc::new(Breaker::default());
        let a = b.enter(&spec).unwrap();
        let _c = b.enter(&spec).unwrap();
        assert_eq!(b.enter(&spec).unwrap_err(), Overflow::Requests);
        let p = b.wait(&spec).unwrap();
        assert_eq!(b.wait(&spec).unwrap_err(), Overflow::Pending);
        assert_eq!(b.counts(), (2, 1));
        drop(a);
        drop(p);
        assert_eq!(b.counts(), (1, 0));
        assert!(b.enter(&spec).is_ok());
    }
}
