//! The hyper edge: a route's listener, one request's path through faults,
//! breakers, the pick and an upstream connection, and the answers the
//! proxy makes itself (overflow, fallback, timeouts).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;

use crate::breaker::{Overflow, Slot};
use crate::outlier::Outcome;
use crate::route::{CachedAnswer, Endpoint, Route};

pub(crate) type ProxyBody = Either<PooledBody, Full<Bytes>>;

/// Bodies up to this size are kept for the stale fallback.
const CACHE_BODY_LIMIT: u64 = 1 << 20;

const OVERFLOW_HEADER: &str = "x-homeostat-overflow";
const FALLBACK_HEADER: &str = "x-homeostat-fallback";

/// Accepts connections for one route until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, route: Arc<Route>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors and the like: wait instead of spinning.
                tracing::warn!(route = %route.spec.name, error = %e, "traffic: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let route = route.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let route = route.clone();
                async move { Ok::<_, Infallible>(handle(&route, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), svc);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "traffic: downstream connection ended");
            }
        });
    }
}

fn local(
    status: StatusCode,
    body: &'static str,
    extra: Option<(&'static str, &'static str)>,
) -> Response<ProxyBody> {
    let mut resp = Response::new(Either::Right(Full::new(Bytes::from_static(
        body.as_bytes(),
    ))));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    if let Some((k, v)) = extra {
        resp.headers_mut()
            .insert(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    resp
}

/// One request, start to response headers; counted on the route whoever answers.
pub(crate) async fn handle(route: &Arc<Route>, req: Request<Incoming>) -> Response<ProxyBody> {
    let start = Instant::now();
    let resp = answer(route, req).await;
    route.stats.responses.add(resp.status().as_u16());
    route.stats.latency.observe(start.elapsed().as_secs_f64());
    resp
}

async fn answer(route: &Arc<Route>, req: Request<Incoming>) -> Response<ProxyBody> {
    let slot = match route.breaker.enter(&route.spec.breakers) {
        Ok(s) => s,
        Err(o) => return overflow(route, o),
    };
    let faults = route.faults.read().clone();
    if !faults.is_empty() {
        let inj = crate::fault::decide(&faults, &req, || rand::random::<f64>() * 100.0);
        if !inj.delay.is_zero() {
            route.stats.fault_delays.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(inj.delay).await;
        }
        if let Some(status) = inj.abort {
            route.stats.fault_aborts.fetch_add(1, Ordering::Relaxed);
            return local(status, "fault filter abort", None);
        }
    }
    let Some(ep) = route.choose(rand::random::<f64>()).cloned() else {
        return fallback(route, &req);
    };
    let cache_key =
        (route.spec.fallback.stale_cache && req.method() == hyper::Method::GET).then(|| {
            req.uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string()
        });
    let deadline = tokio::time::Instant::now() + route.spec.timeout;
    let sent = tokio::time::timeout_at(deadline, forward(route, &ep, req)).await;
    let (resp, sender, permit, upstream_start) = match sent {
        Ok(Ok(ok)) => ok,
        Ok(Err(Refused::Overflow(o))) => return overflow(route, o),
        Ok(Err(Refused::Failed(why))) => {
            gateway_failure(route, &ep);
            tracing::debug!(route = %route.spec.name, endpoint = %ep.address, error = %why, "traffic: upstream failed");
            return local(
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream connect error or disconnect/reset before headers",
                None,
            );
        }
        Err(_) => {
            gateway_failure(route, &ep);
            return local(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream request timeout",
                None,
            );
        }
    };
    let status = resp.status();
    ep.stats.responses.add(status.as_u16());
    ep.stats
        .latency
        .observe(upstream_start.elapsed().as_secs_f64());
    route.record(&ep, Outcome::Status(status.as_u16()));
    let (mut parts, body) = resp.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let body = PooledBody {
        inner: body,
        done: false,
        returning: Some(Returning {
            ep: ep.clone(),
            sender,
            _permit: permit,
            _slot: slot,
            max_idle: route.spec.breakers.max_connections as usize,
        }),
    };
    match cache_key {
        Some(key) if status.is_success() && cacheable_len(&parts.headers) => {
            match Limited::new(body, CACHE_BODY_LIMIT as usize)
                .collect()
                .await
            {
                Ok(c) => {
                    let bytes = c.to_bytes();
                    route.cache_put(
                        &key,
                        CachedAnswer {
                            status,
                            headers: parts.headers.clone(),
                            body: bytes.clone(),
                        },
                    );
                    Response::from_parts(parts, Either::Right(Full::new(bytes)))
                }
                Err(_) => local(StatusCode::BAD_GATEWAY, "upstream body failed", None),
            }
        }
        _ => Response::from_parts(parts, Either::Left(body)),
    }
}

fn cacheable_len(h: &hyper::HeaderMap) -> bool {
    h.get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n <= CACHE_BODY_LIMIT)
}

fn gateway_failure(route: &Route, ep: &Endpoint) {
    ep.stats.gateway_failures.fetch_add(1, Ordering::Relaxed);
    route.record(ep, Outcome::GatewayFailure);
}

fn overflow(route: &Route, o: Overflow) -> Response<ProxyBody> {
    let c = match o {
        Overflow::Requests => &route.stats.overflow_requests,
        Overflow::Pending => &route.stats.overflow_pending,
    };
    c.fetch_add(1, Ordering::Relaxed);
    local(
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream overflow",
        Some((OVERFLOW_HEADER, o.as_str())),
    )
}

fn fallback<B>(route: &Route, req: &Request<B>) -> Response<ProxyBody> {
    let fb = &route.spec.fallback;
    if fb.stale_cache && req.method() == hyper::Method::GET {
        let key = req.uri().path_and_query().map_or("/", |p| p.as_str());
        if let Some(c) = route.cache_get(key) {
            route.stats.fallback_stale.fetch_add(1, Ordering::Relaxed);
            let mut resp = Response::new(Either::Right(Full::new(c.body)));
            *resp.status_mut() = c.status;
            *resp.headers_mut() = c.headers;
            resp.headers_mut().insert(
                HeaderName::from_static(FALLBACK_HEADER),
                HeaderValue::from_static("stale"),
            );
            return resp;
        }
    }
    if let Some(s) = &fb.static_answer {
        route.stats.fallback_static.fetch_add(1, Ordering::Relaxed);
        let mut resp = Response::new(Either::Right(Full::new(Bytes::from(s.body.clone()))));
        *resp.status_mut() =
            StatusCode::from_u16(s.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        for (k, v) in &s.headers {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                resp.headers_mut().append(k, v);
            }
        }
        resp.headers_mut().insert(
            HeaderName::from_static(FALLBACK_HEADER),
            HeaderValue::from_static("static"),
        );
        return resp;
    }
    route.stats.no_upstream.fetch_add(1, Ordering::Relaxed);
    local(StatusCode::SERVICE_UNAVAILABLE, "no healthy upstream", None)
}

fn strip_hop_by_hop(h: &mut hyper::HeaderMap) {
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
    ] {
        h.remove(name);
    }
}

enum Refused {
    Overflow(Overflow),
    Failed(String),
}

/// What goes back when the response body ends: the connection to the
/// endpoint's idle list, and the breaker places.
pub(crate) struct Returning {
    ep: Arc<Endpoint>,
    sender: SendRequest<Incoming>,
    _permit: OwnedSemaphorePermit,
    _slot: Slot,
    max_idle: usize,
}

/// Upstream connection permit, then a connection (idle or new), then the
/// request; a stale idle connection that refuses the request untouched is
/// replaced by a new one once.
async fn forward(
    route: &Arc<Route>,
    ep: &Arc<Endpoint>,
    mut req: Request<Incoming>,
) -> Result<
    (
        Response<Incoming>,
        SendRequest<Incoming>,
        OwnedSemaphorePermit,
        Instant,
    ),
    Refused,
> {
    let permit = match route.connections.clone().try_acquire_owned() {
        Ok(p) => p,
        Err(_) => {
            let _waiting = route
                .breaker
                .wait(&route.spec.breakers)
                .map_err(Refused::Overflow)?;
            route
                .connections
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| Refused::Failed(e.to_string()))?
        }
    };
    strip_hop_by_hop(req.headers_mut());
    loop {
        let (mut sender, fresh) = match idle(ep).await {
            Some(s) => (s, false),
            None => (connect(&ep.address).await.map_err(Refused::Failed)?, true),
        };
        let sent_at = Instant::now();
        match sender.try_send_request(req).await {
            Ok(resp) => return Ok((resp, sender, permit, sent_at)),
            Err(mut e) => match e.take_message() {
                Some(back) if !fresh => req = back,
                _ => return Err(Refused::Failed(e.error().to_string())),
            },
        }
    }
}

/// A ready idle connection, dropping closed ones.
async fn idle(ep: &Endpoint) -> Option<SendRequest<Incoming>> {
    loop {
        let mut s = ep.idle.lock().pop()?;
        if s.ready().await.is_ok() {
            return Some(s);
        }
    }
}

async fn connect(address: &str) -> Result<SendRequest<Incoming>, String> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "traffic: upstream connection ended");
        }
    });
    Ok(sender)
}

/// The upstream body, handing its connection back when it ends.
pub(crate) struct PooledBody {
    inner: Incoming,
    done: bool,
    returning: Option<Returning>,
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let p = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = p {
            self.done = true;
        }
        p
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        let Some(r) = self.returning.take() else {
            return;
        };
        if (self.done || self.inner.is_end_stream()) && !r.sender.is_closed() {
            let mut idle = r.ep.idle.lock();
            if idle.len() < r.max_idle {
                idle.push(r.sender);
            }
        }
    }
}
