//! Config reloads over HTTP (`POST /-/reload`, as Prometheus's lifecycle
//! API); the values a reload swaps live in `homeostat_app::Live`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use homeostat_model::Timestamp;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

/// The answer to one reload request: a summary of what changed, or why the
/// new config was refused (the running one stays).
pub type ReloadReply = oneshot::Sender<Result<String, String>>;

/// The outcome of the last reload, for `/api/v1/status/runtimeinfo` and
/// `/metrics`.
#[derive(Debug)]
pub struct ReloadStatus {
    success: AtomicBool,
    last_success_at: AtomicI64,
    last_error: Mutex<Option<String>>,
}

impl ReloadStatus {
    /// The config loaded at start counts as the first successful load.
    pub fn new(loaded_at: Timestamp) -> Self {
        Self {
            success: AtomicBool::new(true),
            last_success_at: AtomicI64::new(loaded_at),
            last_error: Mutex::new(None),
        }
    }
    pub fn succeeded(&self, at: Timestamp) {
        self.success.store(true, Ordering::Relaxed);
        self.last_success_at.store(at, Ordering::Relaxed);
        *self.last_error.lock() = None;
    }
    pub fn failed(&self, error: String) {
        self.success.store(false, Ordering::Relaxed);
        *self.last_error.lock() = Some(error);
    }
    pub fn last_successful(&self) -> bool {
        self.success.load(Ordering::Relaxed)
    }
    pub fn last_success_at(&self) -> Timestamp {
        self.last_success_at.load(Ordering::Relaxed)
    }
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().clone()
    }
}

/// How the HTTP layer asks the server to reload; the server owns the loop
/// that does it (the same one SIGHUP triggers).
#[derive(Debug, Clone)]
pub struct ReloadHandle {
    tx: Option<mpsc::Sender<ReloadReply>>,
    pub status: Arc<ReloadStatus>,
}

impl ReloadHandle {
    pub fn new(tx: mpsc::Sender<ReloadReply>, status: Arc<ReloadStatus>) -> Self {
        Self {
            tx: Some(tx),
            status,
        }
    }

    /// A handle with nothing behind it (tests, embedded uses).
    pub fn disabled(loaded_at: Timestamp) -> Self {
        Self {
            tx: None,
            status: Arc::new(ReloadStatus::new(loaded_at)),
        }
    }

    /// Requests a reload and waits for its outcome.
    pub async fn reload(&self) -> Result<String, String> {
        let Some(tx) = &self.tx else {
            return Err("this server was started without a reloadable config".into());
        };
        let (reply, rx) = oneshot::channel();
        tx.send(reply)
            .await
            .map_err(|_| "the server is shutting down".to_string())?;
        rx.await
            .map_err(|_| "the reload was interrupted".to_string())?
    }
}
