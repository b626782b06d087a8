//! The sockets: a proxy's accept loop and each connection's two streams,
//! every chunk passed through the stream's current toxics (`plan`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::plan::{ChainToxic, ConnToxics, Outcome, Step};

/// A stream's toxics as published to its live connections.
pub(crate) type ChainRx = watch::Receiver<Arc<Vec<ChainToxic>>>;

/// Counters of one proxy, shared by its connections.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub bytes_upstream: AtomicU64,
    pub bytes_downstream: AtomicU64,
    pub connections_total: AtomicU64,
    pub connections_active: AtomicU64,
}

/// Everything a connection needs from its proxy.
#[derive(Clone)]
pub(crate) struct ProxyLink {
    pub upstream: String,
    pub up: ChainRx,
    pub down: ChainRx,
    pub counters: Arc<Counters>,
    /// Dropped (or changed) when the proxy is disabled or deleted.
    pub stop: watch::Receiver<()>,
}

const READ_BUF: usize = 32 * 1024;

pub(crate) async fn accept_loop(listener: TcpListener, link: ProxyLink) {
    let mut stop = link.stop.clone();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            r = listener.accept() => match r {
                Ok((client, _)) => {
                    tokio::spawn(connection(client, link.clone()));
                }
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "fault proxy accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

struct Active(Arc<Counters>);
impl Drop for Active {
    fn drop(&mut self) {
        self.0.connections_active.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn connection(client: TcpStream, link: ProxyLink) {
    link.counters
        .connections_total
        .fetch_add(1, Ordering::Relaxed);
    link.counters
        .connections_active
        .fetch_add(1, Ordering::Relaxed);
    let _active = Active(link.counters.clone());
    let mut stop = link.stop.clone();
    let server = tokio::select! {
        _ = stop.changed() => return,
        r = TcpStream::connect(&link.upstream) => match r {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(upstream = %link.upstream, error = %e, "fault proxy upstream connect failed");
                return;
            }
        },
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_r, mut client_w) = client.into_split();
    let (mut server_r, mut server_w) = server.into_split();
    let outcome = {
        let up = pump(
            &mut client_r,
            &mut server_w,
            link.up.clone(),
            &link.counters.bytes_upstream,
        );
        let down = pump(
            &mut server_r,
            &mut client_w,
            link.down.clone(),
            &link.counters.bytes_downstream,
        );
        tokio::pin!(up, down);
        let (mut up_done, mut down_done) = (false, false);
        loop {
            if up_done && down_done {
                break Outcome::Eof;
            }
            let o = tokio::select! {
                _ = stop.changed() => break Outcome::Close,
                o = &mut up, if !up_done => { up_done = true; o }
                o = &mut down, if !down_done => { down_done = true; o }
            };
            if o != Outcome::Eof {
                break o;
            }
        }
    };
    if outcome == Outcome::Reset {
        // SO_LINGER 0: the close sends RST and the peer reads ECONNRESET. The
        // halves are put back together first: dropping a write half would
        // send a FIN ahead of the RST.
        for (r, w) in [(client_r, client_w), (server_r, server_w)] {
            if let Ok(s) = r.reunite(w) {
                #[allow(deprecated)]
                let _ = s.set_linger(Some(Duration::ZERO));
            }
        }
    } else {
        let _ = client_w.shutdown().await;
        let _ = server_w.shutdown().await;
    }
}

/// Copies `from` to `to` through the stream's toxics until the source ends
/// or a toxic ends the connection. Half-closes `to` on a clean end.
async fn pump(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    mut chain: ChainRx,
    bytes: &AtomicU64,
) -> Outcome {
    // The reader runs ahead of the writer so latency delays each chunk from
    // its arrival (pipelined), not one after another.
    let (tx, mut rx) = mpsc::channel::<Option<(Bytes, Instant)>>(16);
    let reader = async move {
        let mut buf = vec![0u8; READ_BUF];
        loop {
            let msg = match from.read(&mut buf).await {
                Ok(0) | Err(_) => None,
                Ok(n) => Some((Bytes::copy_from_slice(&buf[..n]), Instant::now())),
            };
            let end = msg.is_none();
            if tx.send(msg).await.is_err() || end {
                break;
            }
        }
        std::future::pending::<()>().await;
    };
    let writer = async move {
        let mut rng = StdRng::from_os_rng();
        let mut conn = ConnToxics::default();
        loop {
            let current = chain.borrow_and_update().clone();
            conn.reconcile(&current, Instant::now(), &mut rng);
            let deadline = conn.deadline(&current);
            let timer = async {
                match deadline {
                    Some((at, _)) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = timer => return deadline.map_or(Outcome::Close, |(_, o)| o),
                changed = chain.changed() => {
                    if changed.is_err() {
                        return Outcome::Close;
                    }
                }
                msg = rx.recv() => match msg {
                    Some(Some((data, arrived))) => {
                        let steps = conn.plan(&current, data, arrived, Instant::now(), &mut rng);
                        if let Some(o) = run(steps, to, bytes).await {
                            return o;
                        }
                    }
                    _ => {
                        let hold = conn.slow_close(&current);
                        if !hold.is_zero() {
                            tokio::time::sleep(hold).await;
                        }
                        let _ = to.shutdown().await;
                        return Outcome::Eof;
                    }
                },
            }
        }
    };
    tokio::select! {
        o = writer => o,
        _ = reader => Outcome::Eof,
    }
}

async fn run(steps: Vec<Step>, to: &mut OwnedWriteHalf, bytes: &AtomicU64) -> Option<Outcome> {
    for step in steps {
        match step {
            Step::SleepUntil(at) => tokio::time::sleep_until(at).await,
            Step::Sleep(d) => tokio::time::sleep(d).await,
            Step::Write(b) => {
                if to.write_all(&b).await.is_err() {
                    return Some(Outcome::Close);
                }
                bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
            }
            Step::Close => return Some(Outcome::Close),
        }
    }
    None
}
