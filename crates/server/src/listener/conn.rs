//! One client connection: the TLS handshake, HTTP/1.1 with hyper, and a
//! watchdog that closes the connection when the client is too slow to send
//! its headers or leaves a keep-alive connection unused for too long.
//! hyper's own header timeout is not used: it also runs while a keep-alive
//! connection waits for its next request, which would make the idle
//! timeout the header timeout.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{Request, Response};
use homeostat_auth::Peer;
use http_body::Frame;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use super::{Shared, Transport};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where a connection is between requests, for the watchdog.
#[derive(Debug)]
struct Activity {
    /// Requests being handled (headers received, response not yet sent).
    inflight: usize,
    /// When the connection was accepted or last became idle.
    since: Instant,
    /// Whether a request has been received on this connection.
    served: bool,
    /// The first byte received while idle: a new request has begun.
    first_byte: Option<Instant>,
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Keep,
    HeaderTimeout,
    IdleTimeout,
}

impl Activity {
    fn new(now: Instant) -> Self {
        Self {
            inflight: 0,
            since: now,
            served: false,
            first_byte: None,
        }
    }

    fn verdict(&self, now: Instant, header: Duration, idle: Duration) -> Verdict {
        if self.inflight > 0 {
            return Verdict::Keep;
        }
        // The first request's headers (and the TLS handshake) are timed
        // from the accept; a keep-alive request's from its first byte.
        let header_start = if self.served {
            self.first_byte
        } else {
            Some(self.since)
        };
        match header_start {
            Some(t) if now.duration_since(t) >= header => Verdict::HeaderTimeout,
            Some(_) => Verdict::Keep,
            None if now.duration_since(self.since) >= idle => Verdict::IdleTimeout,
            None => Verdict::Keep,
        }
    }
}

type SharedActivity = Arc<Mutex<Activity>>;

/// Marks a request in flight until the response body is dropped (sent or
/// abandoned).
struct InFlight(SharedActivity);

impl InFlight {
    fn begin(a: &SharedActivity) -> Self {
        let mut s = a.lock();
        s.inflight += 1;
        s.served = true;
        s.first_byte = None;
        drop(s);
        Self(a.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.inflight = s.inflight.saturating_sub(1);
        if s.inflight == 0 {
            s.since = Instant::now();
            s.first_byte = None;
        }
    }
}

/// The TCP stream, noting when bytes of a new request arrive.
struct Watched {
    inner: TcpStream,
    activity: SharedActivity,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            let mut s = this.activity.lock();
            if s.inflight == 0 && s.first_byte.is_none() {
                s.first_byte = Some(Instant::now());
            }
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Decrements the open-connection gauge however the task ends.
struct OpenGuard(Arc<super::ListenerStats>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves one accepted connection; `_slot` holds its place under
/// `web.max_connections` until it ends.
pub(super) async fn serve(
    stream: TcpStream,
    addr: SocketAddr,
    transport: Arc<Transport>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let stats = shared.stats.clone();
    stats.accepted.fetch_add(1, Ordering::Relaxed);
    stats.open.fetch_add(1, Ordering::Relaxed);
    let _open = OpenGuard(stats.clone());
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Mutex::new(Activity::new(Instant::now())));
    let io = Watched {
        inner: stream,
        activity: activity.clone(),
    };
    let Some(tls) = &transport.tls else {
        let peer = Peer {
            addr: Some(addr),
            tls: false,
            client_cert_name: None,
        };
        return http(io, peer, activity, transport.clone(), shared, stop).await;
    };
    let limit = shared.limits.header_timeout;
    let stream = match tokio::time::timeout(limit, tls.acceptor.accept(io)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            stats.tls_handshake_failures.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(peer = %addr, error = %e, "tls handshake failed");
            return;
        }
        Err(_) => {
            stats.tls_handshake_failures.fetch_add(1, Ordering::Relaxed);
            stats.closed_header_timeout.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(peer = %addr, "tls handshake not done within web.header_timeout");
            return;
        }
    };
    let client_cert_name = if tls.verifies_clients {
        stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(super::client_cert_name)
    } else {
        None
    };
    let peer = Peer {
        addr: Some(addr),
        tls: true,
        client_cert_name,
    };
    http(stream, peer, activity, transport.clone(), shared, stop).await;
}

async fn http<I>(
    io: I,
    peer: Peer,
    activity: SharedActivity,
    transport: Arc<Transport>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = shared.limits.clone();
    let svc_activity = activity.clone();
    let svc_shared = shared.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let in_flight = InFlight::begin(&svc_activity);
        let shared = svc_shared.clone();
        let transport = transport.clone();
        let peer = peer.clone();
        async move {
            let (mut parts, body) = req.into_parts();
            parts.extensions.insert(peer);
            let body = Body::new(TimedBody {
                inner: body,
                deadline: Box::pin(tokio::time::sleep(shared.limits.body_timeout)),
                stats: shared.stats.clone(),
                expired: false,
            });
            let resp = shared
                .app
                .clone()
                .oneshot(Request::from_parts(parts, body))
                .await;
            let Ok(resp) = resp;
            let (mut parts, body) = resp.into_parts();
            // The operator's headers win over the handler's own.
            for (name, value) in &transport.headers {
                parts.headers.insert(name.clone(), value.clone());
            }
            Ok::<_, Infallible>(Response::from_parts(
                parts,
                Tracked {
                    inner: body,
                    _in_flight: in_flight,
                },
            ))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.header_read_timeout(None);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    // Checked often enough that a timeout closes within a quarter of it.
    let tick = (limits.header_timeout.min(limits.idle_timeout) / 4)
        .clamp(Duration::from_millis(20), Duration::from_secs(1));
    let mut watchdog = tokio::time::interval(tick);
    watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut draining = *stop.borrow();
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = watchdog.tick() => {
                let v = activity
                    .lock()
                    .verdict(Instant::now(), limits.header_timeout, limits.idle_timeout);
                match v {
                    Verdict::Keep => {}
                    Verdict::HeaderTimeout => {
                        shared.stats.closed_header_timeout.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Verdict::IdleTimeout => {
                        shared.stats.closed_idle_timeout.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
            r = stop.changed(), if !draining => {
                draining = true;
                if r.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// The request body, failing once `web.body_timeout` has passed since the
/// headers arrived, so a trickled body cannot hold a handler.
struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    stats: Arc<super::ListenerStats>,
    expired: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("request body not received within web.body_timeout")]
struct BodyTimeout;

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.expired {
            return Poll::Ready(Some(Err(Box::new(BodyTimeout))));
        }
        if let Poll::Ready(f) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(f.map(|r| r.map_err(Into::into)));
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.expired = true;
            this.stats.body_timeouts.fetch_add(1, Ordering::Relaxed);
            return Poll::Ready(Some(Err(Box::new(BodyTimeout))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The response body, keeping its request counted as in flight until hyper
/// has written (or dropped) it.
struct Tracked {
    inner: Body,
    _in_flight: InFlight,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_verdicts() {
        let t0 = Instant::now();
        let (h, i) = (Duration::from_secs(10), Duration::from_secs(120));
        let mut a = Activity::new(t0);
        assert_eq!(a.verdict(t0 + Duration::from_secs(9), h, i), Verdict::Keep);
        // The first request's headers are timed from the accept.
        assert_eq!(
            a.verdict(t0 + Duration::from_secs(10), h, i),
            Verdict::HeaderTimeout
        );
        a.inflight = 1;
        a.served = true;
        assert_eq!(
            a.verdict(t0 + Duration::from_secs(500), h, i),
            Verdict::Keep
        );
        a.inflight = 0;
        a.since = t0 + Duration::from_secs(500);
        // Idle keep-alive: only the idle timeout applies...
        assert_eq!(
            a.verdict(t0 + Duration::from_secs(600), h, i),
            Verdict::Keep
        );
        assert_eq!(
            a.verdict(t0 + Duration::from_secs(620), h, i),
            Verdict::IdleTimeout
        );
        // ...until a byte of the next request arrives.
        a.first_byte = Some(t0 + Duration::from_secs(600));
        assert_eq!(
            a.verdict(t0 + Duration::from_secs(610), h, i),
            Verdict::HeaderTimeout
        );
    }
}
