//! The threads that do write work: decoding remote-write and OTLP payloads
//! and appending them to the store.
//!
//! Why not tokio's blocking pool: under full-speed ingest that pool keeps
//! every core busy, and the small reads an operator or a CI job is waiting
//! on (the deploy gate, an SLO page) queue behind it. Write work runs here
//! instead, on a fixed number of threads at a raised nice value, so the
//! kernel prefers request threads whenever both want a core while ingest
//! still gets every cycle nobody else wants. Raising one's own nice value
//! needs no privilege; on systems where it fails the threads run at normal
//! priority and a warning says so.

use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

/// How the pool is sized; `limits.write_threads` / `limits.write_nice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WritePoolOptions {
    pub threads: usize,
    /// Added to the threads' nice value (0 = same priority as requests).
    pub nice: i32,
}

impl Default for WritePoolOptions {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            nice: 5,
        }
    }
}

type Job = Box<dyn FnOnce() + Send + 'static>;

struct Pool {
    tx: Mutex<mpsc::Sender<Job>>,
    options: WritePoolOptions,
}

static POOL: OnceLock<Pool> = OnceLock::new();

/// Sizes the process's write pool. Only the first call (or first use)
/// decides; returns the options in force, so a caller can tell when its own
/// were not applied (a second server in one test process).
pub fn configure(options: WritePoolOptions) -> WritePoolOptions {
    pool_with(options).options
}

fn pool_with(options: WritePoolOptions) -> &'static Pool {
    POOL.get_or_init(|| start(options))
}

fn start(options: WritePoolOptions) -> Pool {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = std::sync::Arc::new(Mutex::new(rx));
    let threads = options.threads.max(1);
    for i in 0..threads {
        let rx = rx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("homeostat-write-{i}"))
            .spawn(move || {
                lower_priority(options.nice);
                loop {
                    // The lock is held only while waiting for the next job,
                    // never while running one.
                    let job = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a write thread");
        }
    }
    Pool {
        tx: Mutex::new(tx),
        options: WritePoolOptions { threads, ..options },
    }
}

#[cfg(target_os = "linux")]
fn lower_priority(nice: i32) {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
    };
    if nice <= 0 {
        return;
    }
    // On Linux a thread id names one thread here, not the whole process.
    let tid = rustix::thread::gettid();
    let current = rustix::process::getpriority_process(Some(tid)).unwrap_or(0);
    let target = (current + nice).clamp(-20, 19);
    // SCHED_BATCH keeps the thread's fair share (set by its nice value) but
    // tells the scheduler it is throughput work, so a request thread waking
    // up does not wait for a write thread's time slice to run out. Measured
    // under full-speed ingest (bench/gate.sh), a nice value alone left the
    // gate's p99 above 5 ms.
    let batch = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch);
    // The crate takes a portable 0..=99 priority; pick the one that maps to
    // the nice value wanted (or the nearest lower priority).
    let priority = (0u8..=99)
        .rev()
        .filter_map(|p| ThreadPriorityValue::try_from(p).ok())
        .map(ThreadPriority::Crossplatform)
        .find(|p| p.to_posix(batch).is_ok_and(|n| n >= target));
    let set = priority
        .ok_or_else(|| "no priority maps to the nice value".to_string())
        .and_then(|p| {
            thread_priority::set_thread_priority_and_policy(
                thread_priority::thread_native_id(),
                p,
                batch,
            )
            .map_err(|e| format!("{e:?}"))
        });
    if let Err(e) = set {
        tracing::debug!(error = %e, "SCHED_BATCH not available for write threads; using nice only");
        if let Err(e) = rustix::process::setpriority_process(Some(tid), target) {
            tracing::warn!(error = %e, "cannot lower the write threads' priority; they compete with requests");
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_nice: i32) {}

/// The write pool has stopped (a job panicked while the pool was shutting
/// down, or the threads could not start).
#[derive(Debug, thiserror::Error)]
#[error("write work failed: {0}")]
pub struct WriteTaskError(String);

/// Runs `f` on a write thread and waits for its result without blocking the
/// async runtime.
pub async fn run<F, R>(f: F) -> Result<R, WriteTaskError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let pool = pool_with(WritePoolOptions::default());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(out);
    });
    pool.tx
        .lock()
        .map_err(|_| WriteTaskError("write pool lock poisoned".into()))?
        .send(job)
        .map_err(|_| WriteTaskError("no write thread is running".into()))?;
    match rx.await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(_)) => Err(WriteTaskError("write task panicked".into())),
        Err(_) => Err(WriteTaskError("write thread went away".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_reports_panics() {
        assert_eq!(run(|| 2 + 2).await.ok(), Some(4));
        let r: Result<(), _> = run(|| panic!("boom")).await;
        assert!(r.is_err());
        // The pool survives a panicking job.
        assert_eq!(run(|| "still here").await.ok(), Some("still here"));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn write_threads_run_at_a_raised_nice_value() {
        let opts = configure(WritePoolOptions::default());
        let main = rustix::process::getpriority_process(None).unwrap_or(0);
        let (on_pool, policy) = run(|| {
            (
                rustix::process::getpriority_process(Some(rustix::thread::gettid())).ok(),
                thread_priority::thread_schedule_policy().ok(),
            )
        })
        .await
        .unwrap_or((None, None));
        if opts.nice > 0 {
            // The portable priority scale has 100 steps over 40 nice values.
            let got = on_pool.unwrap_or(main);
            assert!(
                (main + opts.nice..=main + opts.nice + 1).contains(&got),
                "write thread nice {got}, process {main}"
            );
            assert_eq!(
                policy,
                Some(thread_priority::ThreadSchedulePolicy::Normal(
                    thread_priority::NormalThreadSchedulePolicy::Batch
                ))
            );
        }
    }
}
