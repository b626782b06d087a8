//! Opening the process's storage per `storage.mode`.

use std::sync::Arc;

use homeostat_model::Clock;
use homeostat_storage::{Appender, Querier, Storage};
use homeostat_tsdb::{Tsdb, TsdbOptions};

use crate::{Config, ServerError, build_querier, config, remote_store};

/// The process's storage: the embedded tsdb, or (`storage.mode: remote`)
/// the forwarding queue plus the remote querier, with no tsdb opened.
pub(crate) struct Store {
    pub tsdb: Option<Arc<Tsdb>>,
    pub forwarder: Option<Arc<homeostat_remote::Forwarder>>,
    /// The one appender every writer shares.
    pub appender: Arc<dyn Appender>,
    /// The one querier every reader shares.
    pub querier: Arc<dyn Querier>,
    pub storage: Arc<dyn Storage>,
}

pub(crate) async fn open(cfg: &Config, clock: Arc<dyn Clock>) -> Result<Store, ServerError> {
    if let config::StorageMode::Remote(remote) = &cfg.storage_mode {
        let wc = remote.write.clone();
        let fwd = tokio::task::spawn_blocking(move || homeostat_remote::Forwarder::open(wc))
            .await
            .map_err(|e| ServerError::Task(e.to_string()))??;
        let fwd = Arc::new(fwd);
        // Not opened at all, so no series from an earlier embedded run
        // answer queries or take memory.
        let placeholder: Arc<dyn Querier> = Arc::new(homeostat_storage::MemStorage::new());
        let querier = build_querier(&cfg.query_backend, placeholder)?;
        tracing::info!(write_url = %fwd.write_url(), tenant = ?remote.tenant, "storage.mode remote: samples are forwarded, the embedded store is not opened");
        let storage = Arc::new(remote_store::ForwardingStore {
            forwarder: fwd.clone(),
            querier: querier.clone(),
        });
        return Ok(Store {
            tsdb: None,
            forwarder: Some(fwd.clone()),
            appender: fwd,
            querier,
            storage,
        });
    }
    let opts = TsdbOptions {
        dir: cfg.data_dir.clone(),
        block_duration_ms: cfg.block_duration.as_millis() as i64,
        retention_ms: cfg.retention.as_millis() as i64,
        wal_fsync: cfg.wal_fsync,
        max_series: cfg.max_active_series,
        ..Default::default()
    };
    let dir = cfg.data_dir.display().to_string();
    let tsdb = tokio::task::spawn_blocking(move || Tsdb::open(opts, clock))
        .await
        .map_err(|e| ServerError::Task(e.to_string()))?
        .map_err(|source| ServerError::Storage { dir, source })?;
    let tsdb = Arc::new(tsdb);
    let querier = build_querier(&cfg.query_backend, tsdb.clone())?;
    Ok(Store {
        tsdb: Some(tsdb.clone()),
        forwarder: None,
        appender: tsdb.clone(),
        querier,
        storage: tsdb,
    })
}

impl Store {
    /// Flushes the tsdb, or stops the queue's sender (unsent samples stay
    /// queued on disk for the next start).
    pub(crate) async fn close(self) {
        if let Some(f) = self.forwarder {
            let _ = tokio::task::spawn_blocking(move || f.close()).await;
        }
        if let Some(flush_db) = self.tsdb {
            match tokio::task::spawn_blocking(move || flush_db.flush()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "flushing storage failed"),
                Err(e) => tracing::error!(error = %e, "flush task failed"),
            }
        }
    }
}
