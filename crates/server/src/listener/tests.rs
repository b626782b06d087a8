//! The listener end to end on a loopback port: the peer each request sees,
//! the configured response headers, the slowloris and idle timeouts, the
//! connection cap and TLS with and without client certificates. The
//! certificates in testdata/ are a throwaway CA's (valid until 2126).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use homeostat_auth::{ClientAuthType, Peer, TlsServerConfig, WebConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::*;

const CA: &str = include_str!("testdata/ca.pem");
const SERVER_CERT: &str = include_str!("testdata/server.pem");
const SERVER_KEY: &str = include_str!("testdata/server.key");
const CLIENT_CERT: &str = include_str!("testdata/client.pem");
const CLIENT_KEY: &str = include_str!("testdata/client.key");

/// Answers with the peer it was handed, as `addr tls name`.
fn app() -> axum::Router {
    axum::Router::new().route(
        "/peer",
        axum::routing::get(|ext: Option<axum::Extension<Peer>>| async move {
            match ext {
                Some(axum::Extension(p)) => format!(
                    "{} {} {}",
                    p.addr.map(|a| a.to_string()).unwrap_or_default(),
                    p.tls,
                    p.client_cert_name.unwrap_or_else(|| "-".into())
                ),
                None => "no peer".into(),
            }
        }),
    )
}

struct Running {
    addr: SocketAddr,
    stats: Arc<ListenerStats>,
    stop: watch::Sender<bool>,
    _transport: watch::Sender<Arc<Transport>>,
}

async fn start(transport: Transport, limits: ListenerLimits) -> Running {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let stats = Arc::new(ListenerStats::default());
    let (stop, stop_rx) = watch::channel(false);
    let (ttx, trx) = watch::channel(Arc::new(transport));
    tokio::spawn(serve(tcp, app(), trx, limits, stats.clone(), stop_rx));
    Running {
        addr,
        stats,
        stop,
        _transport: ttx,
    }
}

fn fast() -> ListenerLimits {
    ListenerLimits {
        max_connections: 16,
        header_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(1),
        drain_timeout: Duration::from_secs(1),
    }
}

/// Sends `req` and reads until the server closes the connection.
async fn raw(addr: SocketAddr, req: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads until EOF or error; `Some(elapsed)` once the server closed it.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let t0 = std::time::Instant::now();
    let mut buf = [0u8; 512];
    let r = tokio::time::timeout(limit, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    r.ok().map(|_| t0.elapsed())
}

#[tokio::test]
async fn plain_requests_see_their_peer_and_the_configured_headers() {
    let web: WebConfig = serde_norway::from_str(
        "http_server_config:\n  headers:\n    X-Frame-Options: DENY\n    Strict-Transport-Security: max-age=63072000\n",
    )
    .unwrap();
    let r = start(Transport::build(&web).unwrap(), fast()).await;
    let out = raw(
        r.addr,
        "GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("x-frame-options: DENY"), "{out}");
    assert!(
        out.contains("strict-transport-security: max-age=63072000"),
        "{out}"
    );
    assert!(out.contains(" false -"), "{out}");
    assert!(out.contains("127.0.0.1:"), "{out}");
    // The 404 of an unknown path carries them too.
    let out = raw(
        r.addr,
        "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.contains("x-frame-options: DENY"), "{out}");
    assert_eq!(r.stats.accepted.load(Ordering::Relaxed), 2);
}

#[test]
fn headers_outside_the_allowed_set_are_refused() {
    let web: WebConfig =
        serde_norway::from_str("http_server_config:\n  headers:\n    Set-Cookie: a=b\n").unwrap();
    let e = Transport::build(&web).unwrap_err();
    assert!(e.contains("Set-Cookie"), "{e}");
}

#[tokio::test]
async fn slowloris_connections_are_closed_within_the_header_timeout() {
    let r = start(Transport::default(), fast()).await;
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(r.addr).await.unwrap();
        s.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\nX-a: ")
            .await
            .unwrap();
        slow.push(s);
    }
    // A trickle of header bytes does not extend the deadline.
    let mut trickle = TcpStream::connect(r.addr).await.unwrap();
    let trickler = tokio::spawn(async move {
        for _ in 0..20 {
            if trickle.write_all(b"a").await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    });
    // Meanwhile a well-behaved client is served.
    let out = raw(
        r.addr,
        "GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    for s in &mut slow {
        let t = closed_within(s, Duration::from_secs(3)).await;
        assert!(t.is_some(), "a slow client was not disconnected");
    }
    assert!(
        trickler.await.unwrap(),
        "a trickling client was not disconnected"
    );
    assert!(r.stats.closed_header_timeout.load(Ordering::Relaxed) >= 21);
}

#[tokio::test]
async fn keep_alive_connections_idle_out_but_are_not_header_timed() {
    let r = start(Transport::default(), fast()).await;
    let mut s = TcpStream::connect(r.addr).await.unwrap();
    s.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // Idle longer than the header timeout but shorter than the idle one:
    // still open, and a second request is served.
    tokio::time::sleep(Duration::from_millis(600)).await;
    s.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let n = s.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let t = closed_within(&mut s, Duration::from_secs(3)).await;
    assert!(t.is_some_and(|t| t >= Duration::from_millis(900)), "{t:?}");
    assert_eq!(r.stats.closed_idle_timeout.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_slot() {
    let limits = ListenerLimits {
        max_connections: 1,
        ..fast()
    };
    let r = start(Transport::default(), limits).await;
    let mut first = TcpStream::connect(r.addr).await.unwrap();
    first
        .write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(r.stats.open.load(Ordering::Relaxed), 1);
    // The second is accepted only once the first is closed by its timeout.
    let t0 = std::time::Instant::now();
    let out = raw(
        r.addr,
        "GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(
        t0.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let r = start(Transport::default(), fast()).await;
    r.stop.send_replace(true);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(TcpStream::connect(r.addr).await.is_err());
}

fn tls_config(auth: ClientAuthType) -> TlsServerConfig {
    TlsServerConfig {
        cert: Some(SERVER_CERT.into()),
        key: Some(SERVER_KEY.into()),
        client_ca: Some(CA.into()),
        client_auth_type: auth,
        ..Default::default()
    }
}

fn tls_transport(t: TlsServerConfig) -> Transport {
    Transport {
        tls: Some(tls::build(&t).unwrap()),
        headers: HeaderMap::new(),
    }
}

fn client(with_cert: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(CA.as_bytes()).unwrap());
    if with_cert {
        let pem = format!("{CLIENT_CERT}{CLIENT_KEY}");
        b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

#[tokio::test]
async fn tls_without_client_certificates() {
    let r = start(
        tls_transport(tls_config(ClientAuthType::NoClientCert)),
        fast(),
    )
    .await;
    let url = format!("https://localhost:{}/peer", r.addr.port());
    let body = client(false)
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.ends_with(" true -"), "{body}");
    // Plain HTTP on the TLS port gets no answer.
    let plain = format!("http://127.0.0.1:{}/peer", r.addr.port());
    assert!(client(false).get(&plain).send().await.is_err());
}

#[tokio::test]
async fn mtls_requires_a_certificate_from_the_client_ca() {
    let t = tls_config(ClientAuthType::RequireAndVerifyClientCert);
    let r = start(tls_transport(t), fast()).await;
    let url = format!("https://localhost:{}/peer", r.addr.port());
    assert!(client(false).get(&url).send().await.is_err());
    let body = client(true)
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.ends_with(" true ci-runner"), "{body}");
    assert!(r.stats.tls_handshake_failures.load(Ordering::Relaxed) >= 1);
}

#[tokio::test]
async fn verify_if_given_names_the_client_only_when_it_sent_one() {
    let mut t = tls_config(ClientAuthType::VerifyClientCertIfGiven);
    t.client_allowed_sans = vec!["ci-runner.example".into()];
    let r = start(tls_transport(t), fast()).await;
    let url = format!("https://localhost:{}/peer", r.addr.port());
    let body = client(false)
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.ends_with(" true -"), "{body}");
    let body = client(true)
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.ends_with(" true ci-runner"), "{body}");
}

#[tokio::test]
async fn a_client_certificate_without_an_allowed_san_is_refused() {
    let mut t = tls_config(ClientAuthType::RequireAndVerifyClientCert);
    t.client_allowed_sans = vec!["someone-else.example".into()];
    let r = start(tls_transport(t), fast()).await;
    let url = format!("https://localhost:{}/peer", r.addr.port());
    assert!(client(true).get(&url).send().await.is_err());
}

#[test]
fn bad_certificates_fail_the_build_naming_the_field() {
    let mut t = tls_config(ClientAuthType::NoClientCert);
    t.key = Some(CLIENT_KEY.into());
    let e = tls::build(&t).unwrap_err();
    assert!(e.contains("do not make a usable pair"), "{e}");
    let t = TlsServerConfig {
        cert_file: Some("/nonexistent/cert.pem".into()),
        key: Some(SERVER_KEY.into()),
        ..Default::default()
    };
    let e = tls::build(&t).unwrap_err();
    assert!(
        e.contains("tls_server_config.cert_file /nonexistent/cert.pem"),
        "{e}"
    );
    let mut t = tls_config(ClientAuthType::RequireAndVerifyClientCert);
    t.client_ca = None;
    let e = tls::build(&t).unwrap_err();
    assert!(e.contains("client_ca_file"), "{e}");
}
