//! `Tsdb`: the append path (validate → WAL → head), WAL replay on open, and
//! the read path over the head (and blocks, see `maintenance.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use homeostat_model::{Clock, Labels, Sample, TimeSeries, Timestamp};
use homeostat_storage::{
    AppendReport, Appender, Matcher, Querier, RejectReason, SelectRequest, Series, StorageError,
};
use parking_lot::{Mutex, RwLock};

use crate::blockset::BlockSet;
use crate::head::Head;
use crate::wal::Wal;
use crate::wal::record::{self, Record};
use crate::{TsdbError, TsdbOptions, TsdbStats};

pub struct Tsdb {
    pub(crate) opts: TsdbOptions,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) head: Head,
    /// Serializes appends and guards the WAL, so WAL order equals head order.
    pub(crate) wal: Mutex<Wal>,
    pub(crate) blocks: RwLock<BlockSet>,
    /// Samples older than this belong to persisted blocks and are refused.
    pub(crate) min_valid_time: AtomicI64,
    head_max_time: AtomicI64,
    appended: AtomicU64,
    rejected: Mutex<BTreeMap<RejectReason, u64>>,
    pub(crate) compactions: AtomicU64,
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
        let (wal, records) = Wal::open(
            &opts.dir.join("wal"),
            opts.wal_fsync,
            opts.wal_segment_bytes,
        )?;
        let db = Tsdb {
            opts,
            clock,
            head: Head::default(),
            wal: Mutex::new(wal),
            blocks: RwLock::new(blocks),
            min_valid_time: AtomicI64::new(min_valid),
            head_max_time: AtomicI64::new(i64::MIN),
            appended: AtomicU64::new(0),
            rejected: Mutex::new(BTreeMap::new()),
            compactions: AtomicU64::new(0),
            _lock: lock,
        };
        let started = std::time::Instant::now();
        let replayed = db.replay(records);
        tracing::info!(
            series = db.head.num_series(),
            samples = replayed,
            blocks = db.blocks.read().len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "tsdb opened"
        );
        Ok(db)
    }

    fn replay(&self, records: Vec<Record>) -> u64 {
        // WAL ids may repeat labels across a checkpoint boundary; map them all
        // to one head series.
        let mut remap: HashMap<u64, u64> = HashMap::new();
        let mut samples = 0u64;
        let min_valid = self.min_valid_time.load(Ordering::Relaxed);
        for rec in records {
            match rec {
                Record::Series(list) => {
                    for (id, labels) in list {
                        let s = match self.head.get(&labels) {
                            Some(s) => s,
                            None => self.head.create(labels, Some(id)),
                        };
                        remap.insert(id, s.id);
                    }
                }
                Record::Samples(list) => {
                    for (id, t, v) in list {
                        let Some(s) = remap.get(&id).and_then(|id| self.head.by_id(*id)) else {
                            tracing::warn!(
                                series_id = id,
                                "wal sample for an unknown series, skipped"
                            );
                            continue;
                        };
                        if t < min_valid {
                            continue; // already persisted in a block
                        }
                        let mut d = s.data.lock();
                        if d.last.is_none_or(|l| t > l.t) {
                            d.push(Sample::new(t, v));
                            samples += 1;
                            self.head_max_time.fetch_max(t, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
        self.head.gc();
        samples
    }

    pub fn sync_wal(&self) -> Result<(), TsdbError> {
        self.wal.lock().sync()
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
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now_millis()
    }
}

impl Appender for Tsdb {
    fn append(&self, batch: &[TimeSeries]) -> Result<AppendReport, StorageError> {
        let mut report = AppendReport::default();
        let mut wal = self.wal.lock();
        let min_valid = self.min_valid_time.load(Ordering::Relaxed);
        let mut new_series: Vec<Arc<crate::head::series::MemSeries>> = Vec::new();
        // Newest timestamp accepted per series within this batch, so a series
        // appearing twice in one request is validated against itself.
        let mut pending_last: HashMap<u64, Sample> = HashMap::new();
        let mut accepted: Vec<(Arc<crate::head::series::MemSeries>, Vec<Sample>)> = Vec::new();
        let mut wal_samples: Vec<(u64, i64, f64)> = Vec::new();
        for ts in batch {
            let series = match self.head.get(&ts.labels) {
                Some(s) => s,
                None => {
                    if ts.samples.iter().all(|s| s.t < min_valid) {
                        for s in &ts.samples {
                            report.reject(RejectReason::TooOld, || {
                                too_old(&ts.labels, s.t, min_valid)
                            });
                        }
                        continue;
                    }
                    if let Some(max) = self.opts.max_series
                        && self.head.num_series() >= max
                    {
                        for _ in &ts.samples {
                            report.reject(RejectReason::SeriesLimit, || {
                                format!("new series {} refused: active series limit max_active_series={max} reached", ts.labels)
                            });
                        }
                        continue;
                    }
                    let s = self.head.create(ts.labels.clone(), None);
                    new_series.push(s.clone());
                    s
                }
            };
            let mut last = pending_last
                .get(&series.id)
                .copied()
                .or_else(|| series.data.lock().last);
            let mut ok = Vec::with_capacity(ts.samples.len());
            for s in &ts.samples {
                if s.t < min_valid {
                    report.reject(RejectReason::TooOld, || too_old(&ts.labels, s.t, min_valid));
                    continue;
                }
                match last {
                    Some(l) if s.t < l.t => report.reject(RejectReason::OutOfOrder, || {
                        format!(
                            "{} sample at {} is older than the newest stored sample at {}",
                            ts.labels, s.t, l.t
                        )
                    }),
                    Some(l) if s.t == l.t => {
                        if l.v.to_bits() != s.v.to_bits() {
                            report.reject(RejectReason::DuplicateTimestamp, || {
                                format!("{} already has a different value at {}", ts.labels, s.t)
                            });
                        }
                    }
                    _ => {
                        ok.push(*s);
                        wal_samples.push((series.id, s.t, s.v));
                        last = Some(*s);
                    }
                }
            }
            if let Some(l) = last {
                pending_last.insert(series.id, l);
            }
            if !ok.is_empty() {
                accepted.push((series, ok));
            }
        }
        let mut buf = Vec::new();
        if !new_series.is_empty() {
            let refs: Vec<(u64, &Labels)> = new_series.iter().map(|s| (s.id, &s.labels)).collect();
            record::encode_series(&mut buf, &refs);
        }
        if !wal_samples.is_empty() {
            record::encode_samples(&mut buf, &wal_samples);
        }
        if let Err(e) = wal.write(&buf) {
            // Nothing was applied to the head; the new series stay empty and are
            // collected at the next cut. The sender may retry the whole request.
            tracing::error!(error = %e, "wal write failed");
            return Err(e.into());
        }
        let mut max_t = i64::MIN;
        for (series, samples) in accepted {
            let mut d = series.data.lock();
            for s in samples {
                d.push(s);
                max_t = max_t.max(s.t);
                report.accepted += 1;
            }
        }
        drop(wal);
        self.head_max_time.fetch_max(max_t, Ordering::Relaxed);
        self.appended.fetch_add(report.accepted, Ordering::Relaxed);
        if !report.rejected.is_empty() {
            let mut r = self.rejected.lock();
            for (reason, n) in &report.rejected {
                *r.entry(*reason).or_default() += n;
            }
        }
        Ok(report)
    }
}

fn too_old(labels: &Labels, t: i64, min_valid: i64) -> String {
    format!(
        "{labels} sample at {t} is older than the head's lower bound {min_valid} (already persisted in a block)"
    )
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
        let mut sources = Vec::new();
        let blocks = self.blocks.read();
        for b in blocks.overlapping(req.mint, req.maxt) {
            sources.push(b.select(req).map_err(StorageError::from)?);
        }
        drop(blocks);
        let mut head = self.head.select(&req.matchers, req.mint, req.maxt);
        head.sort_by(|a, b| a.labels.cmp(&b.labels));
        sources.insert(0, head);
        let out = merge_series(sources);
        if let Some(max) = req.max_samples {
            let n: usize = out.iter().map(|s| s.samples.len()).sum();
            if n > max {
                return Err(StorageError::LimitExceeded {
                    limit: "max_samples",
                    detail: format!("query would load {n} samples, more than the limit of {max}"),
                });
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

    fn label_names(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<String>, StorageError> {
        let names: BTreeSet<String> = self
            .series(matchers, mint, maxt)?
            .iter()
            .flat_map(|l| l.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
            .collect();
        Ok(names.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<String>, StorageError> {
        let values: BTreeSet<String> = self
            .series(matchers, mint, maxt)?
            .iter()
            .filter_map(|l| l.get(name).map(str::to_string))
            .collect();
        Ok(values.into_iter().collect())
    }
}
