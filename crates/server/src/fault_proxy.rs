//! The fault proxy in the server: its proxies from `fault_proxy:`, its
//! Toxiproxy API on its own listener, and its counters on `/metrics`.

use homeostat_faultproxy::FaultProxy;
use homeostat_http::{ExternalMetric, StatsSource};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::ServerError;
use crate::config::FaultProxyConfig;

/// A started fault proxy: the handle the rest of the server uses and the
/// API listener's task (it ends when `stop` turns true).
pub struct Started {
    pub handle: FaultProxy,
    pub api_addr: std::net::SocketAddr,
    pub task: JoinHandle<()>,
}

/// Starts the configured proxies (a populate) and the API; `None` when
/// `fault_proxy.enabled` is false.
pub async fn start(
    cfg: &FaultProxyConfig,
    mut stop: watch::Receiver<bool>,
) -> Result<Option<Started>, ServerError> {
    if !cfg.enabled {
        return Ok(None);
    }
    let handle = FaultProxy::new();
    handle
        .populate(cfg.proxies.clone())
        .await
        .map_err(|e| ServerError::FaultProxy(e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| ServerError::Listen {
            addr: format!("{} (fault_proxy.listen)", cfg.listen),
            source,
        })?;
    let api_addr = listener.local_addr().unwrap_or(cfg.listen);
    let api = handle.clone();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            while !*stop.borrow_and_update() {
                if stop.changed().await.is_err() {
                    return;
                }
            }
        };
        if let Err(e) = homeostat_faultproxy::serve(listener, api.clone(), shutdown).await {
            tracing::warn!(error = %e, "fault proxy API listener failed");
        }
        // The proxies close with the server: their listeners and connections.
        for p in api.list() {
            let _ = api.delete(&p.name).await;
        }
    });
    tracing::info!(api = %api_addr, proxies = cfg.proxies.len(), "fault proxy (Toxiproxy API) is serving");
    Ok(Some(Started {
        handle,
        api_addr,
        task,
    }))
}

/// `homeostat_fault_proxy_*{proxy}`: bytes by direction, connections, toxics.
pub struct FaultProxySource(pub FaultProxy);

impl StatsSource for FaultProxySource {
    fn collect(&self) -> Vec<ExternalMetric> {
        let mut out = Vec::new();
        for s in self.0.stats() {
            let proxy = || vec![("proxy", s.name.clone())];
            for (direction, v) in [
                ("upstream", s.bytes_upstream),
                ("downstream", s.bytes_downstream),
            ] {
                out.push(ExternalMetric {
                    name: "homeostat_fault_proxy_bytes_total",
                    help: "Bytes passed through a fault proxy, by direction (upstream: client to server).",
                    kind: "counter",
                    labels: vec![("direction", direction.to_string()), ("proxy", s.name.clone())],
                    value: v as f64,
                });
            }
            out.push(ExternalMetric {
                name: "homeostat_fault_proxy_connections_total",
                help: "Connections accepted by a fault proxy.",
                kind: "counter",
                labels: proxy(),
                value: s.connections_total as f64,
            });
            out.push(ExternalMetric {
                name: "homeostat_fault_proxy_connections_active",
                help: "Connections open through a fault proxy.",
                kind: "gauge",
                labels: proxy(),
                value: s.connections_active as f64,
            });
            out.push(ExternalMetric {
                name: "homeostat_fault_proxy_toxics_active",
                help: "Toxics set on a fault proxy.",
                kind: "gauge",
                labels: proxy(),
                value: s.toxics_active as f64,
            });
            out.push(ExternalMetric {
                name: "homeostat_fault_proxy_enabled",
                help: "1 when a fault proxy is listening, 0 when disabled.",
                kind: "gauge",
                labels: proxy(),
                value: if s.enabled { 1.0 } else { 0.0 },
            });
        }
        out
    }
}
