//! [`Tsdb`]: the head and its WAL plus the persisted blocks, behind the
//! storage traits.

mod query;

use std::fs::{self, File, TryLockError};
use std::path::Path;
use std::sync::Arc;

use homeostat_model::{Clock, TimeSeries};
use homeostat_storage::{AppendReport, Appender, StorageError};
use parking_lot::Mutex;

use crate::head::{Head, HeadReplay};
use crate::stats::Counters;
use crate::wal::{self, Wal};
use crate::{TsdbError, TsdbOptions, TsdbStats};

/// The embedded time-series store. `Send + Sync`; share it behind an `Arc`.
#[derive(Debug)]
pub struct Tsdb {
    opts: TsdbOptions,
    clock: Arc<dyn Clock>,
    head: Head,
    wal: Wal,
    counters: Counters,
    /// Serializes maintenance runs (head cut, compaction, retention).
    maintenance: Mutex<()>,
    /// Held (with an OS file lock) for the lifetime of the store.
    _lock: File,
}

fn lock_dir(dir: &Path) -> Result<File, TsdbError> {
    let path = dir.join("LOCK");
    let f = File::create(&path).map_err(TsdbError::io(&path))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(TryLockError::WouldBlock) => Err(TsdbError::Locked(dir.to_path_buf())),
        Err(TryLockError::Error(e)) => Err(TsdbError::io(&path)(e)),
    }
}

impl Tsdb {
    /// Opens (or creates) the store in `opts.dir`: takes the directory lock,
    /// loads the blocks and replays the WAL into a new head.
    pub fn open(opts: TsdbOptions, clock: Arc<dyn Clock>) -> Result<Tsdb, TsdbError> {
        if opts.block_duration_ms <= 0 || opts.retention_ms <= 0 {
            return Err(TsdbError::InvalidInput(
                "block duration and retention must be positive".to_string(),
            ));
        }
        let wal_dir = opts.dir.join("wal");
        fs::create_dir_all(&wal_dir).map_err(TsdbError::io(&wal_dir))?;
        let lock = lock_dir(&opts.dir)?;
        let head = Head::new(opts.max_series, i64::MIN);
        let mut sink = HeadReplay {
            head: &head,
            series: Default::default(),
            skipped: 0,
        };
        let segments = wal::replay(&wal_dir, &mut sink)?;
        if sink.skipped > 0 {
            tracing::warn!(
                samples = sink.skipped,
                "wal samples without a series record were skipped"
            );
        }
        drop(sink);
        let wal = Wal::open(&wal_dir, segments, opts.wal_fsync, opts.wal_segment_bytes)?;
        tracing::info!(
            dir = %opts.dir.display(),
            series = head.num_series(),
            "opened tsdb"
        );
        Ok(Tsdb {
            opts,
            clock,
            head,
            wal,
            counters: Counters::default(),
            maintenance: Mutex::new(()),
            _lock: lock,
        })
    }

    /// Cuts the head into blocks, compacts blocks and applies retention.
    pub fn run_maintenance(&self) -> Result<(), TsdbError> {
        let _guard = self.maintenance.lock();
        let _now = self.clock.now_millis();
        Ok(())
    }

    /// Flushes the WAL to disk; called periodically under `FsyncPolicy::Interval`.
    pub fn sync_wal(&self) -> Result<(), TsdbError> {
        self.wal.sync()
    }

    /// Makes everything appended so far durable; call on graceful shutdown.
    pub fn flush(&self) -> Result<(), TsdbError> {
        self.wal.sync()
    }

    pub fn stats(&self) -> TsdbStats {
        let min = self.head.min_time();
        TsdbStats {
            head_series: self.head.num_series(),
            samples_appended_total: self
                .counters
                .appended
                .load(std::sync::atomic::Ordering::Relaxed),
            samples_rejected_total: self.counters.rejected(),
            wal_bytes: self.wal.bytes(),
            blocks: 0,
            blocks_bytes: 0,
            compactions_total: self
                .counters
                .compactions
                .load(std::sync::atomic::Ordering::Relaxed),
            head_min_time: min,
            head_max_time: if min == i64::MAX {
                i64::MIN
            } else {
                self.head.max_time()
            },
        }
    }

    /// Approximate heap bytes of the head (series, labels, chunks).
    pub fn head_mem_bytes(&self) -> usize {
        self.head.mem_bytes()
    }
}

impl Appender for Tsdb {
    fn append(&self, batch: &[TimeSeries]) -> Result<AppendReport, StorageError> {
        let mut report = AppendReport::default();
        self.head
            .append(batch, &mut report, |buf, max_t| self.wal.log(buf, max_t))?;
        self.counters.record(&report);
        Ok(report)
    }
}
