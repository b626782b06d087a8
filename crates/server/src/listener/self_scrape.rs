//! The self-scrape's own door: a plain-HTTP listener on an ephemeral
//! loopback port that answers `GET /metrics` and nothing else. The scraper
//! has no client certificate, no CA for a private server certificate and no
//! credentials, so scraping the public listener would fail as soon as TLS,
//! mTLS or authentication is configured; this keeps `up{job="homeostat"}`
//! and homeostat's own series flowing whatever the web config says.
//! `/metrics` carries no secrets (docs/security.md), and the port is
//! reachable from this host only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::{ListenerLimits, ListenerStats, Transport};

/// Set on requests that came through the self-scrape listener, so that
/// authentication can let the scraper read `/metrics` without credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelfScrape;

/// The bound self-scrape listener.
pub struct SelfScrapeListener {
    tcp: TcpListener,
    addr: SocketAddr,
}

impl SelfScrapeListener {
    /// Binds `127.0.0.1:0`.
    pub async fn bind() -> std::io::Result<Self> {
        let tcp = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = tcp.local_addr()?;
        Ok(Self { tcp, addr })
    }

    /// Where the self-scrape job scrapes.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `GET /metrics` of `app` until `stop`; other requests get 404.
    pub async fn serve(self, app: axum::Router, stop: watch::Receiver<bool>) {
        let app = axum::Router::new()
            .fallback_service(app)
            .layer(axum::middleware::from_fn(metrics_only));
        // One scraper, so a handful of connections is plenty; its own
        // counters stay out of the public listener's.
        let limits = ListenerLimits {
            max_connections: 4,
            drain_timeout: Duration::from_secs(1),
            ..ListenerLimits::default()
        };
        let (_keep, transport) = watch::channel(Arc::new(Transport::default()));
        let stats = Arc::new(ListenerStats::default());
        super::serve(self.tcp, app, transport, limits, stats, stop).await;
    }
}

async fn metrics_only(mut req: Request, next: Next) -> Response {
    if req.method() != Method::GET || req.uri().path() != "/metrics" {
        return StatusCode::NOT_FOUND.into_response();
    }
    req.extensions_mut().insert(SelfScrape);
    // Authentication trusts a principal only when server code put it here;
    // the scrape reads its own metrics and nothing else.
    let mut scopes = homeostat_model::Scopes::NONE;
    scopes.insert(homeostat_model::Scope::Read);
    req.extensions_mut().insert(homeostat_model::Principal {
        scopes,
        ..homeostat_model::Principal::system()
    });
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn serves_metrics_and_nothing_else() {
        let app = axum::Router::new()
            .route(
                "/metrics",
                axum::routing::get(|e: Option<axum::Extension<SelfScrape>>| async move {
                    format!("self_scrape {}", e.is_some())
                }),
            )
            .route("/api", axum::routing::get(|| async { "api" }));
        let l = SelfScrapeListener::bind().await.unwrap();
        let addr = l.addr();
        assert!(addr.ip().is_loopback());
        let (_stop, stop_rx) = watch::channel(false);
        tokio::spawn(l.serve(app, stop_rx));
        for (path, want) in [
            ("/metrics", "HTTP/1.1 200"),
            ("/api", "HTTP/1.1 404"),
            ("/metrics/../api", "HTTP/1.1 404"),
        ] {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            s.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            assert!(out.starts_with(want), "{path}: {out}");
            if path == "/metrics" {
                assert!(out.ends_with("self_scrape true"), "{out}");
            }
        }
    }
}
