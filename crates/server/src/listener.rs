//! The HTTP listener: our own accept loop instead of `axum::serve`, so that
//! no client can hold the server. It caps open connections (beyond the cap,
//! new ones wait in the kernel's listen backlog: a refused or reset
//! connection makes clients retry at once, a queued one is simply served
//! when a slot frees, and the timeouts guarantee slots do free), bounds the
//! time to send headers and a body and the time a keep-alive connection may
//! sit idle, terminates TLS per the web config file, adds its response
//! headers, and hands each request the [`Peer`] it came from.

mod conn;
mod self_scrape;
mod tls;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use homeostat_auth::WebConfig;
use homeostat_http::{ExternalMetric, StatsSource};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

pub use crate::config::ListenerLimits;
pub use self_scrape::{SelfScrape, SelfScrapeListener};
pub use tls::{Tls, client_cert_name};

/// What the web config file asks of the listener, built and checked when
/// the file is loaded: a reload applies it to connections accepted after.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    pub tls: Option<Tls>,
    /// `http_server_config.headers`, set on every response.
    pub headers: HeaderMap,
}

/// The response headers the web config file may set, as exporter-toolkit
/// allows them.
const ALLOWED_HEADERS: [&str; 5] = [
    "Strict-Transport-Security",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

impl Transport {
    /// Builds the TLS acceptor and checks the response headers; the error
    /// names the field (and the file, for certificates and keys).
    pub fn build(web: &WebConfig) -> Result<Transport, String> {
        let tls = web.tls_server_config.as_ref().map(tls::build).transpose()?;
        let mut headers = HeaderMap::new();
        let configured = web.http_server_config.iter().flat_map(|h| &h.headers);
        for (name, value) in configured {
            if !ALLOWED_HEADERS.iter().any(|a| a.eq_ignore_ascii_case(name)) {
                return Err(format!(
                    "http_server_config.headers: {name:?} may not be set (allowed: {})",
                    ALLOWED_HEADERS.join(", ")
                ));
            }
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| format!("http_server_config.headers: {name:?}: {e}"))?;
            let v = HeaderValue::from_str(value).map_err(|_| {
                format!(
                    "http_server_config.headers: the value of {name} is not a valid header value"
                )
            })?;
            headers.insert(n, v);
        }
        Ok(Transport { tls, headers })
    }
}

/// Connection counters for `/metrics`.
#[derive(Debug, Default)]
pub struct ListenerStats {
    pub open: AtomicU64,
    pub accepted: AtomicU64,
    pub closed_header_timeout: AtomicU64,
    pub closed_idle_timeout: AtomicU64,
    pub body_timeouts: AtomicU64,
    pub tls_handshake_failures: AtomicU64,
    pub max_connections: AtomicU64,
}

/// [`ListenerStats`] as a `/metrics` source.
pub struct StatsHandle(pub Arc<ListenerStats>);

impl StatsSource for StatsHandle {
    fn collect(&self) -> Vec<ExternalMetric> {
        self.0.collect()
    }
}

impl ListenerStats {
    fn collect(&self) -> Vec<ExternalMetric> {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        let closed = "homeostat_http_connections_closed_by_timeout_total";
        let closed_help = "Connections the server closed because the client was too slow (header: headers or TLS handshake not done in time; idle: keep-alive connection unused).";
        let timeout = |phase: &str, v: &AtomicU64| ExternalMetric {
            name: closed,
            help: closed_help,
            kind: "counter",
            labels: vec![("phase", phase.to_string())],
            value: get(v),
        };
        let plain = |name, help, kind, v: &AtomicU64| ExternalMetric {
            name,
            help,
            kind,
            labels: vec![],
            value: get(v),
        };
        vec![
            plain(
                "homeostat_http_open_connections",
                "Client connections open now.",
                "gauge",
                &self.open,
            ),
            plain(
                "homeostat_http_max_connections",
                "Most connections served at once (web.max_connections).",
                "gauge",
                &self.max_connections,
            ),
            plain(
                "homeostat_http_connections_accepted_total",
                "Client connections accepted.",
                "counter",
                &self.accepted,
            ),
            timeout("header", &self.closed_header_timeout),
            timeout("idle", &self.closed_idle_timeout),
            plain(
                "homeostat_http_request_body_timeouts_total",
                "Request bodies not received within web.body_timeout.",
                "counter",
                &self.body_timeouts,
            ),
            plain(
                "homeostat_http_tls_handshake_failures_total",
                "TLS handshakes that failed or timed out.",
                "counter",
                &self.tls_handshake_failures,
            ),
        ]
    }
}

/// Shared by every connection task.
struct Shared {
    app: axum::Router,
    limits: ListenerLimits,
    stats: Arc<ListenerStats>,
}

/// Serves `app` on `tcp` until `stop` turns true, then stops accepting,
/// lets in-flight requests finish for up to `limits.drain_timeout` and
/// closes what is left.
pub async fn serve(
    tcp: TcpListener,
    app: axum::Router,
    transport: watch::Receiver<Arc<Transport>>,
    limits: ListenerLimits,
    stats: Arc<ListenerStats>,
    mut stop: watch::Receiver<bool>,
) {
    stats
        .max_connections
        .store(limits.max_connections as u64, Ordering::Relaxed);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let shared = Arc::new(Shared {
        app,
        limits: limits.clone(),
        stats,
    });
    let mut conns = JoinSet::new();
    loop {
        if *stop.borrow_and_update() {
            break;
        }
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => break,
            },
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let (stream, addr) = tokio::select! {
            r = tcp.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let transport = transport.borrow().clone();
        conns.spawn(conn::serve(
            stream,
            addr,
            transport,
            shared.clone(),
            stop.clone(),
            slot,
        ));
    }
    drop(tcp);
    let drained = tokio::time::timeout(limits.drain_timeout, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = conns.len(),
            "closing connections still busy after web.drain_timeout"
        );
        conns.shutdown().await;
    }
}

#[cfg(test)]
mod tests;
