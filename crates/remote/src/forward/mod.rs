//! [`Forwarder`]: a [`homeostat_storage::Appender`] that forwards to a
//! remote-write endpoint through a queue on local disk.
//!
//! `append` frames the batch into the current segment with one write(2) and
//! returns: accepted samples survive a kill of the process, like the tsdb's
//! WAL. One sender thread tails the queue in rounds: it reads up to
//! `shards * max_samples_per_send` samples, splits them by series hash into
//! shards, sends the shards in parallel (each shard's requests in order),
//! and only when every shard is done persists the read position and deletes
//! fully sent segments. A restart resumes from that position: nothing
//! accepted is lost; a round interrupted by the crash may be sent twice,
//! which remote-write receivers treat as duplicate samples.

mod segments;
mod sender;
mod stats;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use homeostat_model::TimeSeries;
use homeostat_storage::{AppendReport, Appender, RejectReason, StorageError};
use homeostat_wire::remote_write;
use reqwest::blocking::Client;

use segments::Cursor;
use sender::{Outcome, Sender};
pub use stats::ForwardSnapshot;
use stats::ForwardStats;

use crate::config::{RemoteConfigError, check_headers, check_url};

/// How the queue reaches the remote and how much it may hold.
#[derive(Clone)]
pub struct ForwardConfig {
    /// The queue's directory, e.g. `data_dir/remote-queue`.
    pub dir: PathBuf,
    /// Remote-write 1.0 endpoint, e.g. `http://vm:8428/api/v1/write`.
    pub write_url: String,
    /// Sent with every request (auth, tenant).
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    /// Parallel senders; a series always goes to the same one.
    pub shards: usize,
    pub max_samples_per_send: usize,
    /// Longest a partial batch waits for more samples before it is sent.
    pub batch_send_deadline: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Appends are refused (`queue_full`) while the segments take more.
    pub max_queue_bytes: u64,
    /// A segment is closed and a new one started past this size.
    pub segment_bytes: u64,
}

impl std::fmt::Debug for ForwardConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values are left out: they usually carry credentials.
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("ForwardConfig")
            .field("dir", &self.dir)
            .field("write_url", &self.write_url)
            .field("headers", &names)
            .field("timeout", &self.timeout)
            .field("shards", &self.shards)
            .field("max_samples_per_send", &self.max_samples_per_send)
            .field("batch_send_deadline", &self.batch_send_deadline)
            .field("min_backoff", &self.min_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("max_queue_bytes", &self.max_queue_bytes)
            .finish()
    }
}

impl ForwardConfig {
    pub fn new(dir: impl Into<PathBuf>, write_url: impl Into<String>) -> Self {
        Self {
            dir: dir.into(),
            write_url: write_url.into(),
            headers: Vec::new(),
            timeout: Duration::from_secs(30),
            shards: 4,
            max_samples_per_send: 2000,
            batch_send_deadline: Duration::from_secs(5),
            min_backoff: Duration::from_millis(30),
            max_backoff: Duration::from_secs(5),
            max_queue_bytes: 1 << 30,
            segment_bytes: 16 << 20,
        }
    }

    pub fn validate(&self) -> Result<(), RemoteConfigError> {
        check_url("write_url", &self.write_url)?;
        check_headers(&self.headers)?;
        let bad = |field: &str, detail: &str| RemoteConfigError {
            field: field.into(),
            detail: detail.into(),
        };
        if self.shards == 0 {
            return Err(bad("queue.shards", "must be at least 1"));
        }
        if self.max_samples_per_send == 0 {
            return Err(bad("queue.max_samples_per_send", "must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(bad("timeout", "must be greater than zero"));
        }
        if self.min_backoff.is_zero() || self.max_backoff < self.min_backoff {
            return Err(bad(
                "queue.max_backoff",
                "backoffs must be positive and max_backoff >= min_backoff",
            ));
        }
        if self.max_queue_bytes < 1 << 20 {
            return Err(bad("queue.max_queue_bytes", "must be at least 1MiB"));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error(transparent)]
    Config(#[from] RemoteConfigError),
    #[error("remote-write queue in {dir}: {source}")]
    Io {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error("remote-write queue: cannot create http client: {0}")]
    Client(String),
}

/// The writer's side, under one lock.
struct WriteSide {
    file: std::fs::File,
    seg: u64,
    len: u64,
    /// Bytes of every segment on disk.
    total: u64,
    closed: bool,
    /// The last append was refused for space; cleared when space is freed.
    full: bool,
}

struct Shared {
    dir: PathBuf,
    write: Mutex<WriteSide>,
    /// Signalled after each append and on stop.
    wake: Condvar,
    stats: Arc<ForwardStats>,
    stop: Arc<AtomicBool>,
    cfg: ForwardConfig,
}

/// The forwarding appender; see the module docs.
pub struct Forwarder {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("write_url", &self.shared.cfg.write_url)
            .finish_non_exhaustive()
    }
}

fn io_err(dir: &Path) -> impl Fn(std::io::Error) -> ForwardError + '_ {
    move |source| ForwardError::Io {
        dir: dir.display().to_string(),
        source,
    }
}

impl Forwarder {
    /// Opens (or creates) the queue, recovers its tail and starts the sender.
    pub fn open(cfg: ForwardConfig) -> Result<Self, ForwardError> {
        cfg.validate()?;
        let dir = cfg.dir.clone();
        let e = io_err(&dir);
        std::fs::create_dir_all(&dir).map_err(&e)?;
        let segs = segments::list(&dir).map_err(&e)?;
        let first = segs.first().copied().unwrap_or(1);
        let mut cursor = segments::load_position(&dir)
            .map_err(&e)?
            .unwrap_or(Cursor { seg: first, off: 0 });
        let seg = segs.last().map_or(first, |l| l + 1);
        if !segs.contains(&cursor.seg) {
            // Its segment is gone (sent and deleted, or removed by hand):
            // the next one on disk, or the one about to be written.
            cursor = Cursor {
                seg: segs
                    .iter()
                    .copied()
                    .find(|&s| s > cursor.seg)
                    .unwrap_or(seg),
                off: 0,
            };
        }
        let stats = Arc::new(ForwardStats::default());
        let mut total = 0u64;
        let mut pending = 0u64;
        for &s in &segs {
            let path = segments::seg_path(&dir, s);
            let (valid, samples) = if s < cursor.seg {
                (0, 0)
            } else {
                let from = if s == cursor.seg { cursor.off } else { 0 };
                segments::scan(&path, from).map_err(&e)?
            };
            let size = std::fs::metadata(&path).map_err(&e)?.len();
            if s >= cursor.seg && valid < size {
                // A torn record from a crash mid-write: the caller was
                // never told it was accepted.
                tracing::warn!(segment = %path.display(), valid, size, "cutting a torn record off the remote-write queue");
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(valid))
                    .map_err(&e)?;
            }
            total += if s >= cursor.seg { valid } else { size };
            pending += samples;
        }
        stats.pending_samples.store(pending, Ordering::Relaxed);
        let file = segments::create(&dir, seg).map_err(&e)?;
        stats.queue_bytes.store(total, Ordering::Relaxed);
        let client = Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .default_headers(check_headers(&cfg.headers)?)
            .build()
            .map_err(|e| ForwardError::Client(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            dir: dir.clone(),
            write: Mutex::new(WriteSide {
                file,
                seg,
                len: 0,
                total,
                closed: false,
                full: false,
            }),
            wake: Condvar::new(),
            stats: stats.clone(),
            stop: stop.clone(),
            cfg: cfg.clone(),
        });
        let sender = Sender {
            client,
            url: cfg.write_url.clone(),
            min_backoff: cfg.min_backoff,
            max_backoff: cfg.max_backoff,
            stats,
            stop,
        };
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("remote-write".into())
            .spawn(move || run(&worker, &sender, cursor))
            .map_err(&e)?;
        tracing::info!(write_url = %cfg.write_url, dir = %dir.display(), pending, "remote-write queue open");
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn write_url(&self) -> &str {
        &self.shared.cfg.write_url
    }

    pub fn stats(&self) -> ForwardSnapshot {
        self.shared.stats.snapshot()
    }

    /// Stops the sender (an unsent round stays on disk for the next start)
    /// and refuses further appends. Blocks until the sender thread exits.
    pub fn close(&self) {
        lock(&self.shared.write).closed = true;
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.close();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Appender for Forwarder {
    fn append(&self, batch: &[TimeSeries]) -> Result<AppendReport, StorageError> {
        let samples: u64 = batch.iter().map(|s| s.samples.len() as u64).sum();
        let mut report = AppendReport::default();
        if samples == 0 {
            return Ok(report);
        }
        let rec = segments::encode_record(
            u32::try_from(samples).unwrap_or(u32::MAX),
            &remote_write::encode(batch),
        );
        let cfg = &self.shared.cfg;
        let mut w = lock(&self.shared.write);
        if w.closed {
            return Err(StorageError::Closed);
        }
        if w.total + rec.len() as u64 > cfg.max_queue_bytes {
            w.full = true;
            for s in batch {
                for _ in &s.samples {
                    report.reject(RejectReason::QueueFull, || {
                        format!(
                            "remote-write queue to {} is full ({} bytes, max_queue_bytes {}); the remote is down or slower than ingest",
                            cfg.write_url, w.total, cfg.max_queue_bytes
                        )
                    });
                }
            }
            return Ok(report);
        }
        // Sent data leaves the disk a whole segment at a time, so segments
        // stay small against the cap: at most an eighth of it is sent data.
        if w.len >= cfg.segment_bytes.min(cfg.max_queue_bytes / 8) {
            let next = w.seg + 1;
            w.file = segments::create(&self.shared.dir, next)?;
            w.seg = next;
            w.len = 0;
        }
        use std::io::Write;
        if let Err(e) = w.file.write_all(&rec) {
            // A partial record would be cut off on the next open; later
            // records must not follow it, so start a new segment.
            let next = w.seg + 1;
            if let Ok(f) = segments::create(&self.shared.dir, next) {
                w.file = f;
                w.seg = next;
                w.len = 0;
            }
            return Err(StorageError::Io(e));
        }
        w.len += rec.len() as u64;
        w.total += rec.len() as u64;
        let st = &self.shared.stats;
        st.queue_bytes.store(w.total, Ordering::Relaxed);
        st.pending_samples.fetch_add(samples, Ordering::Relaxed);
        st.appended_samples.fetch_add(samples, Ordering::Relaxed);
        let newest = batch
            .iter()
            .filter_map(|s| s.samples.last().map(|x| x.t))
            .max()
            .unwrap_or(i64::MIN);
        st.highest_appended_ms.fetch_max(newest, Ordering::Relaxed);
        drop(w);
        self.shared.wake.notify_all();
        report.accepted = samples;
        Ok(report)
    }

    fn writable(&self) -> Result<(), StorageError> {
        let w = lock(&self.shared.write);
        if w.closed {
            return Err(StorageError::Closed);
        }
        if w.full || w.total >= self.shared.cfg.max_queue_bytes {
            return Err(StorageError::Unavailable(format!(
                "remote-write queue to {} is full ({} bytes)",
                self.shared.cfg.write_url, w.total
            )));
        }
        Ok(())
    }
}

/// The sender thread: rounds until stopped.
fn run(sh: &Shared, sender: &Sender, mut cursor: Cursor) {
    let cfg = &sh.cfg;
    let round_max = (cfg.shards * cfg.max_samples_per_send) as u64;
    let mut waiting_since: Option<Instant> = None;
    loop {
        let stopping = sh.stop.load(Ordering::Relaxed);
        if stopping {
            return;
        }
        let pending = sh.stats.pending_samples.load(Ordering::Relaxed);
        let since = *waiting_since.get_or_insert_with(Instant::now);
        let due = pending >= round_max || since.elapsed() >= cfg.batch_send_deadline;
        if pending == 0 || !due {
            if pending == 0 {
                waiting_since = None;
            }
            let wait = if pending == 0 {
                cfg.batch_send_deadline
            } else {
                cfg.batch_send_deadline.saturating_sub(since.elapsed())
            };
            let w = lock(&sh.write);
            let _ = sh.wake.wait_timeout(w, wait.max(Duration::from_millis(1)));
            continue;
        }
        waiting_since = None;
        match round(sh, sender, cursor, round_max) {
            Ok(Some(next)) => cursor = next,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, dir = %sh.dir.display(), "remote-write queue read failed; retrying");
                std::thread::sleep(cfg.max_backoff);
            }
        }
    }
}

/// Reads, sends and commits one round. `None` when stopped mid-round.
fn round(
    sh: &Shared,
    sender: &Sender,
    mut cursor: Cursor,
    max: u64,
) -> std::io::Result<Option<Cursor>> {
    let (wseg, wlen) = {
        let w = lock(&sh.write);
        (w.seg, w.len)
    };
    let mut records = Vec::new();
    let mut got = 0u64;
    while got < max {
        let limit = if cursor.seg == wseg {
            wlen
        } else if cursor.seg < wseg {
            match std::fs::metadata(segments::seg_path(&sh.dir, cursor.seg)) {
                Ok(m) => m.len(),
                // A gap (a segment removed by hand): skip ahead.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    cursor = Cursor {
                        seg: cursor.seg + 1,
                        off: 0,
                    };
                    continue;
                }
                Err(e) => return Err(e),
            }
        } else {
            break;
        };
        let (recs, next) = segments::read_from(&sh.dir, cursor, limit, max - got)?;
        got += recs.iter().map(|r| u64::from(r.samples)).sum::<u64>();
        records.extend(recs);
        cursor = next;
        if cursor.off >= limit && cursor.seg < wseg {
            cursor = Cursor {
                seg: cursor.seg + 1,
                off: 0,
            };
        } else if cursor.off >= limit {
            break;
        }
    }
    let shards = split(sh, records);
    let stopped = std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .iter()
            .filter(|reqs| !reqs.is_empty())
            .map(|reqs| s.spawn(move || reqs.iter().any(|r| sender.send(r) == Outcome::Stopped)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(true))
            .fold(false, |a, b| a | b)
    });
    if stopped {
        return Ok(None);
    }
    segments::store_position(&sh.dir, cursor)?;
    delete_sent(sh, cursor.seg);
    Ok(Some(cursor))
}

/// Decodes a round's records and splits them into per-shard requests of at
/// most `max_samples_per_send` samples, keeping each series' order.
fn split(sh: &Shared, records: Vec<segments::Record>) -> Vec<Vec<Vec<TimeSeries>>> {
    let cfg = &sh.cfg;
    let mut shards: Vec<Vec<Vec<TimeSeries>>> = vec![Vec::new(); cfg.shards];
    let mut fill = vec![0usize; cfg.shards];
    for rec in records {
        let series = match remote_write::decode(&rec.payload, usize::MAX) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "unreadable record in the remote-write queue; dropped");
                sh.stats
                    .drop_samples("corrupt_record", u64::from(rec.samples));
                continue;
            }
        };
        for ts in series {
            let mut h = DefaultHasher::new();
            ts.labels.hash(&mut h);
            let i = (h.finish() % cfg.shards as u64) as usize;
            for chunk in ts.samples.chunks(cfg.max_samples_per_send) {
                if shards[i].is_empty() || fill[i] + chunk.len() > cfg.max_samples_per_send {
                    shards[i].push(Vec::new());
                    fill[i] = 0;
                }
                fill[i] += chunk.len();
                if let Some(req) = shards[i].last_mut() {
                    req.push(TimeSeries {
                        labels: ts.labels.clone(),
                        samples: chunk.to_vec(),
                    });
                }
            }
        }
    }
    shards
}

fn delete_sent(sh: &Shared, below: u64) {
    let Ok(segs) = segments::list(&sh.dir) else {
        return;
    };
    let mut freed = 0u64;
    for s in segs.into_iter().filter(|&s| s < below) {
        let path = segments::seg_path(&sh.dir, s);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if std::fs::remove_file(&path).is_ok() {
            freed += size;
        }
    }
    if freed > 0 {
        let mut w = lock(&sh.write);
        w.total = w.total.saturating_sub(freed);
        w.full = false;
        sh.stats.queue_bytes.store(w.total, Ordering::Relaxed);
    }
}
