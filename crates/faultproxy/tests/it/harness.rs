//! Tiny loopback servers and a proxy in front of them.

use std::time::{Duration, Instant};

use homeostat_faultproxy::{FaultProxy, NewToxic, ProxySpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Echoes every byte back until the client closes.
pub async fn echo_server() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// Writes `n` bytes to every client, then closes.
pub async fn source_server(n: usize) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let _ = s.write_all(&vec![b'x'; n]).await;
                let _ = s.shutdown().await;
            });
        }
    });
    addr
}

pub async fn proxy_to(upstream: &str) -> (FaultProxy, String) {
    let fp = FaultProxy::new();
    let v = fp
        .create(ProxySpec {
            name: "p".into(),
            listen: "127.0.0.1:0".into(),
            upstream: upstream.into(),
            enabled: true,
        })
        .await
        .unwrap();
    (fp, v.listen)
}

pub fn toxic(kind: &str, stream: &str, toxicity: f32, attributes: serde_json::Value) -> NewToxic {
    NewToxic {
        name: None,
        kind: Some(kind.into()),
        stream: Some(stream.into()),
        toxicity: Some(toxicity),
        attributes: Some(attributes),
    }
}

pub async fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// One 16-byte round trip through an echo.
pub async fn round_trip(s: &mut TcpStream) -> Duration {
    let msg = [7u8; 16];
    let t = Instant::now();
    s.write_all(&msg).await.unwrap();
    let mut got = [0u8; 16];
    s.read_exact(&mut got).await.unwrap();
    t.elapsed()
}

pub async fn median_round_trip(s: &mut TcpStream, n: usize) -> Duration {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(round_trip(s).await);
    }
    v.sort();
    v[n / 2]
}

/// Reads until EOF (or an error); the bytes and when the end came.
pub async fn read_to_end(s: &mut TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match s.read(&mut buf).await {
            Ok(0) => return (out, Ok(())),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return (out, Err(e)),
        }
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
