//! `Tsdb`: the append path (validate → WAL → head), WAL replay on open, and
//! the read path over the head (and blocks, see `maintenance.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use homeostat_model::{Clock, Labels, Sample, TimeSeries, Timestamp};
use homeostat_storage::{Matcher, Querier, RejectReason, SelectRequest, Series, StorageError};
use parking_lot::{Mutex, RwLock};

use crate::blockset::BlockSet;
use crate::head::Head;
use crate::wal::record::Record;
use crate::wal::{Wal, WalOptions};
use crate::{TsdbError, TsdbOptions, TsdbStats, WriteHealth, WriteState};

pub struct Tsdb {
    pub(crate) opts: TsdbOptions,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) head: Head,
    /// Held only around the WAL write (and by head cuts); see `append.rs`.
    pub(crate) wal: Mutex<Wal>,
    pub(crate) blocks: RwLock<BlockSet>,
    /// Samples older than this belong to persisted blocks and are refused.
    pub(crate) min_valid_time: AtomicI64,
    pub(crate) head_max_time: AtomicI64,
    pub(crate) appended: AtomicU64,
    pub(crate) rejected: Mutex<BTreeMap<RejectReason, u64>>,
    pub(crate) compactions: AtomicU64,
    /// Serializes `run_maintenance` (head cuts, checkpoints, compaction).
    pub(crate) maintenance: Mutex<()>,
    /// Whether writes are accepted; read without the WAL lock.
    pub(crate) health: WriteHealth,
    /// When an append last tried to leave the read-only state (clock ms).
    pub(crate) resume_tried: AtomicI64,
    _lock: File,
}

impl std::fmt::Debug for Tsdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tsdb")
            .field("dir", &self.opts.dir)
            .finish_non_exhaustive()
    }
}

fn lock_dir(dir: &Path) -> Result<File, TsdbError> {
    let path = dir.join("lock");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| TsdbError::io(&path, e))?;
    // An advisory lock dies with the process, so a kill -9 never leaves a stale lock.
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(TsdbError::Locked(dir.display().to_string())),
        Err(std::fs::TryLockError::Error(e)) => Err(TsdbError::io(&path, e)),
    }
}

impl Tsdb {
    /// Opens (or creates) the store in `opts.dir`: loads blocks, replays the WAL.
    pub fn open(opts: TsdbOptions, clock: Arc<dyn Clock>) -> Result<Tsdb, TsdbError> {
        if opts.block_duration_ms <= 0 || opts.retention_ms <= 0 {
            return Err(TsdbError::InvalidOption(
                "block duration and retention must be positive".into(),
            ));
        }
        fs::create_dir_all(&opts.dir).map_err(|e| TsdbError::io(&opts.dir, e))?;
        let lock = lock_dir(&opts.dir)?;
        let blocks = BlockSet::load(&opts.dir)?;
        let min_valid = blocks.max_time().unwrap_or(i64::MIN);
        let head = Head::default();
        let head_max_time = AtomicI64::new(i64::MIN);
        let started = std::time::Instant::now();
        let mut replay = Replay {
            head: &head,
            min_valid,
            head_max_time: &head_max_time,
            remap: HashMap::new(),
            samples: 0,
            unknown: 0,
        };
        let health = WriteHealth::default();
        let wal = Wal::open_with(
            &opts.dir.join("wal"),
            WalOptions {
                policy: opts.wal_fsync,
                max_segment_bytes: opts.wal_segment_bytes,
                faults: opts.faults.clone(),
                health: health.clone(),
            },
            |rec| replay.apply(rec),
        )?;
        let replayed = replay.samples;
        if replay.unknown > 0 {
            tracing::warn!(
                samples = replay.unknown,
                "wal samples for unknown series were skipped"
            );
        }
        head.gc();
        let db = Tsdb {
            opts,
            clock,
            head,
            wal: Mutex::new(wal),
            blocks: RwLock::new(blocks),
            min_valid_time: AtomicI64::new(min_valid),
            head_max_time,
            appended: AtomicU64::new(0),
            rejected: Mutex::new(BTreeMap::new()),
            compactions: AtomicU64::new(0),
            maintenance: Mutex::new(()),
            health,
            resume_tried: AtomicI64::new(i64::MIN),
            _lock: lock,
        };
        tracing::info!(
            series = db.head.num_series(),
            samples = replayed,
            blocks = db.blocks.read().len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "tsdb opened"
        );
        Ok(db)
    }

    pub fn sync_wal(&self) -> Result<(), TsdbError> {
        self.wal.lock().sync()
    }

    /// Whether writes are accepted, and if not, why.
    pub fn write_state(&self) -> WriteState {
        self.health.get()
    }

    /// Leaves the read-only state if a new WAL segment can be written now.
    pub fn try_resume_writes(&self) -> Result<(), TsdbError> {
        if matches!(self.health.get(), WriteState::ReadOnly(_)) {
            self.resume_tried
                .store(self.clock.now_millis(), Ordering::Relaxed);
            self.wal.lock().try_resume()?;
        }
        Ok(())
    }

    /// Makes everything durable before a graceful shutdown.
    pub fn flush(&self) -> Result<(), TsdbError> {
        self.sync_wal()
    }

    pub fn stats(&self) -> TsdbStats {
        let (wal_bytes, wal_segments, fsyncs) = {
            let w = self.wal.lock();
            (w.size_bytes(), w.segment_count(), w.fsyncs)
        };
        let blocks = self.blocks.read();
        let head_range = self.head.time_range();
        TsdbStats {
            head_series: self.head.num_series() as u64,
            head_chunks: self.head.chunk_count() as u64,
            samples_appended_total: self.appended.load(Ordering::Relaxed),
            samples_rejected_total: self.rejected.lock().clone(),
            wal_bytes,
            wal_segments,
            wal_fsyncs_total: fsyncs,
            blocks: blocks.len() as u64,
            blocks_bytes: blocks.size_bytes(),
            compactions_total: self.compactions.load(Ordering::Relaxed),
            head_min_time: head_range.map(|r| r.0).unwrap_or(0),
            head_max_time: head_range.map(|r| r.1).unwrap_or(0),
            write_state: self.health.get(),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now_millis()
    }
}

/// Rebuilds the head from WAL records on open.
struct Replay<'a> {
    head: &'a Head,
    min_valid: i64,
    head_max_time: &'a AtomicI64,
    /// WAL ids may repeat labels across a checkpoint boundary; all of them
    /// map to one head series.
    remap: HashMap<u64, u64>,
    samples: u64,
    /// Samples whose series record is missing (only possible after damage).
    unknown: u64,
}

impl Replay<'_> {
    fn apply(&mut self, rec: Record) {
        match rec {
            Record::Series(list) => {
                for (id, labels) in list {
                    let s = match self.head.get(&labels) {
                        Some(s) => s,
                        None => self.head.create(labels, Some(id)),
                    };
                    s.data.lock().logged = true;
                    self.remap.insert(id, s.id);
                }
            }
            Record::Samples(list) => {
                for (id, t, v) in list {
                    let Some(s) = self.remap.get(&id).and_then(|id| self.head.by_id(*id)) else {
                        self.unknown += 1;
                        continue;
                    };
                    if t < self.min_valid {
                        continue; // already persisted in a block
                    }
                    let mut d = s.data.lock();
                    if d.last.is_none_or(|l| t > l.t) {
                        d.push(Sample::new(t, v));
                        self.samples += 1;
                        self.head_max_time.fetch_max(t, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

/// Merges per-source series lists (each sorted by labels) into one, with
/// samples merged by time and identical timestamps deduplicated (first source wins).
pub(crate) fn merge_series(sources: Vec<Vec<Series>>) -> Vec<Series> {
    let mut by_labels: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
    for src in sources {
        for s in src {
            let e = by_labels.entry(s.labels).or_default();
            if e.is_empty() {
                *e = s.samples;
            } else {
                e.extend(s.samples);
                e.sort_by_key(|s| s.t);
                e.dedup_by_key(|s| s.t);
            }
        }
    }
    by_labels
        .into_iter()
        .map(|(labels, samples)| TimeSeries { labels, samples })
        .collect()
}

impl Querier for Tsdb {
    fn select(&self, req: &SelectRequest) -> Result<Vec<Series>, StorageError> {
        // Head before blocks: a head cut adds the block before dropping the
        // samples from the head, so in this order no sample is ever missed.
        let too_many = |n: usize, max: usize| StorageError::LimitExceeded {
            limit: "max_samples",
            detail: format!("query would load {n} samples, more than the limit of {max}"),
        };
        let mut head = self
            .head
            .select(&req.matchers, req.mint, req.maxt, req.max_samples)
            .map_err(|n| too_many(n, req.max_samples.unwrap_or(0)))?;
        head.sort_by(|a, b| a.labels.cmp(&b.labels));
        // Stop as soon as the sources together exceed the limit; each block
        // gets the remaining budget (duplicates are removed only when merging,
        // so this may refuse slightly early when head and blocks overlap).
        let mut loaded: usize = head.iter().map(|s| s.samples.len()).sum();
        if let Some(max) = req.max_samples
            && loaded > max
        {
            return Err(too_many(loaded, max));
        }
        let mut sources = vec![head];
        let blocks = self.blocks.read();
        for b in blocks.overlapping(req.mint, req.maxt) {
            let mut sub = req.clone();
            sub.max_samples = req.max_samples.map(|max| max - loaded);
            let got = b.select(&sub).map_err(StorageError::from)?;
            loaded += got.iter().map(|s| s.samples.len()).sum::<usize>();
            sources.push(got);
        }
        drop(blocks);
        let out = merge_series(sources);
        if let Some(max) = req.max_samples {
            let n: usize = out.iter().map(|s| s.samples.len()).sum();
            if n > max {
                return Err(too_many(n, max));
            }
        }
        Ok(out)
    }

    fn series(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<Labels>, StorageError> {
        let mut set: BTreeSet<Labels> = self
            .head
            .series_in_range(matchers, mint, maxt)
            .into_iter()
            .collect();
        for b in self.blocks.read().overlapping(mint, maxt) {
            set.extend(b.series(matchers, mint, maxt).map_err(StorageError::from)?);
        }
        Ok(set.into_iter().collect())
    }
}
