//! The head: the in-memory, mutable part of the store holding recent samples
//! of every active series. Series are found by label hash in sharded maps;
//! each series has its own lock, so appends to different series run in
//! parallel and a query holds a series lock only while copying its samples.

mod chunks;
mod postings;
mod series;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use homeostat_model::{Labels, Sample, TimeSeries};
use homeostat_storage::{AppendReport, Matcher, RejectReason};
use parking_lot::{MutexGuard, RwLock};

use crate::TsdbError;
use crate::wal::{self, ReplaySink};
use postings::Postings;
use series::{Interner, MemSeries, SeriesData};

const SHARDS: usize = 16;

type IdMap = HashMap<u64, Arc<MemSeries>>;

#[derive(Debug, Default)]
struct Shard {
    /// Label hash → series; more than one entry only on a hash collision.
    by_hash: HashMap<u64, Vec<Arc<MemSeries>>>,
}

#[derive(Debug)]
pub(crate) struct Head {
    by_hash: Box<[RwLock<Shard>]>,
    by_id: Box<[RwLock<IdMap>]>,
    postings: RwLock<Postings>,
    interner: Interner,
    next_id: AtomicU64,
    num_series: AtomicU64,
    max_series: Option<usize>,
    /// Samples older than this are rejected as too old: they would land in
    /// the time range of a block that is already persisted.
    min_valid_time: AtomicI64,
    max_time: AtomicI64,
}

/// A series handle plus the per-batch state used while validating.
struct Locked<'a> {
    series: &'a MemSeries,
    data: MutexGuard<'a, SeriesData>,
    pending_last: Option<Sample>,
    accepted: Vec<Sample>,
}

impl Head {
    pub fn new(max_series: Option<usize>, min_valid_time: i64) -> Head {
        Head {
            by_hash: (0..SHARDS).map(|_| RwLock::default()).collect(),
            by_id: (0..SHARDS).map(|_| RwLock::default()).collect(),
            postings: RwLock::default(),
            interner: Interner::default(),
            next_id: AtomicU64::new(1),
            num_series: AtomicU64::new(0),
            max_series,
            min_valid_time: AtomicI64::new(min_valid_time),
            max_time: AtomicI64::new(i64::MIN),
        }
    }

    pub fn num_series(&self) -> u64 {
        self.num_series.load(Ordering::Relaxed)
    }

    pub fn min_valid_time(&self) -> i64 {
        self.min_valid_time.load(Ordering::Relaxed)
    }

    pub fn max_time(&self) -> i64 {
        self.max_time.load(Ordering::Relaxed)
    }

    fn get(&self, labels: &Labels, hash: u64) -> Option<Arc<MemSeries>> {
        let shard = self.by_hash[hash as usize % SHARDS].read();
        shard
            .by_hash
            .get(&hash)?
            .iter()
            .find(|s| s.has_labels(labels))
            .cloned()
    }

    fn by_id(&self, id: u64) -> Option<Arc<MemSeries>> {
        self.by_id[id as usize % SHARDS].read().get(&id).cloned()
    }

    /// Finds or creates the series; `None` when creating it would exceed the
    /// series limit. `id` forces the id (WAL replay) instead of allocating one.
    fn get_or_create(&self, labels: &Labels, id: Option<u64>) -> Option<Arc<MemSeries>> {
        let hash = labels.stable_hash();
        if let Some(s) = self.get(labels, hash) {
            return Some(s);
        }
        let mut shard = self.by_hash[hash as usize % SHARDS].write();
        if let Some(s) = shard
            .by_hash
            .get(&hash)
            .and_then(|v| v.iter().find(|s| s.has_labels(labels)))
        {
            return Some(s.clone());
        }
        let n = self.num_series.fetch_add(1, Ordering::Relaxed);
        if id.is_none() && self.max_series.is_some_and(|max| n as usize >= max) {
            self.num_series.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        let id = match id {
            Some(id) => {
                self.next_id.fetch_max(id + 1, Ordering::Relaxed);
                id
            }
            None => self.next_id.fetch_add(1, Ordering::Relaxed),
        };
        let s = Arc::new(MemSeries::new(id, labels, &self.interner));
        shard.by_hash.entry(hash).or_default().push(s.clone());
        drop(shard);
        self.by_id[id as usize % SHARDS]
            .write()
            .insert(id, s.clone());
        self.postings.write().add(id, &s.labels);
        Some(s)
    }

    /// Validates a batch, logs the accepted samples (and unlogged series) to
    /// the WAL through `log`, then adds them to the head. The series locks
    /// are held from validation to insertion so that the WAL order of each
    /// series' samples equals their order in the head.
    pub fn append(
        &self,
        batch: &[TimeSeries],
        report: &mut AppendReport,
        log: impl FnOnce(&[u8], i64) -> Result<(), TsdbError>,
    ) -> Result<(), TsdbError> {
        let min_valid = self.min_valid_time();
        loop {
            // Resolve every series first: no series lock is held while shard
            // locks are taken.
            let mut handles: Vec<Option<Arc<MemSeries>>> = Vec::with_capacity(batch.len());
            for ts in batch {
                handles.push(if ts.samples.is_empty() {
                    None
                } else {
                    self.get_or_create(&ts.labels, None)
                });
            }
            let mut order: Vec<&Arc<MemSeries>> = handles.iter().flatten().collect();
            order.sort_by_key(|s| s.id);
            order.dedup_by_key(|s| s.id);
            // Lock in id order so that concurrent batches cannot deadlock.
            let mut locked: Vec<Locked<'_>> = order
                .iter()
                .map(|s| {
                    let data = s.data.lock();
                    Locked {
                        series: s,
                        pending_last: data.last,
                        data,
                        accepted: Vec::new(),
                    }
                })
                .collect();
            if locked.iter().any(|l| l.data.deleted) {
                continue;
            }
            let mut batch_report = AppendReport::default();
            let mut max_t = i64::MIN;
            for (ts, handle) in batch.iter().zip(&handles) {
                let Some(handle) = handle else {
                    for s in &ts.samples {
                        batch_report.reject(RejectReason::SeriesLimit, || {
                            format!("{} at {}: series limit reached", ts.labels, s.t)
                        });
                    }
                    continue;
                };
                let Ok(i) = locked.binary_search_by_key(&handle.id, |l| l.series.id) else {
                    continue;
                };
                let l = &mut locked[i];
                for s in &ts.samples {
                    let reason = if s.t < min_valid {
                        Some(RejectReason::TooOld)
                    } else {
                        match l.pending_last {
                            Some(last) if s.t < last.t => Some(RejectReason::OutOfOrder),
                            Some(last) if s.t == last.t && last.v.to_bits() == s.v.to_bits() => {
                                continue;
                            }
                            Some(last) if s.t == last.t => Some(RejectReason::DuplicateTimestamp),
                            _ => None,
                        }
                    };
                    match reason {
                        Some(r) => batch_report
                            .reject(r, || format!("{} at {}: {}", ts.labels, s.t, r.as_str())),
                        None => {
                            l.pending_last = Some(*s);
                            l.accepted.push(*s);
                            max_t = max_t.max(s.t);
                        }
                    }
                }
            }
            let mut series_payload = Vec::new();
            let mut samples_payload = Vec::new();
            for l in locked.iter().filter(|l| !l.accepted.is_empty()) {
                if !l.data.logged {
                    wal::encode_series(&mut series_payload, l.series.id, &l.series.labels);
                }
                for s in &l.accepted {
                    wal::encode_sample(&mut samples_payload, l.series.id, *s);
                    batch_report.accepted += 1;
                }
            }
            if !samples_payload.is_empty() {
                let mut buf = Vec::with_capacity(series_payload.len() + samples_payload.len() + 18);
                if !series_payload.is_empty() {
                    wal::frame(&mut buf, wal::TYPE_SERIES, &series_payload);
                }
                wal::frame(&mut buf, wal::TYPE_SAMPLES, &samples_payload);
                log(&buf, max_t)?;
                for l in &mut locked {
                    if l.accepted.is_empty() {
                        continue;
                    }
                    l.data.logged = true;
                    for s in l.accepted.drain(..) {
                        l.data.chunks.push(s);
                    }
                    l.data.last = l.pending_last;
                }
                self.max_time.fetch_max(max_t, Ordering::Relaxed);
            }
            report.merge(batch_report);
            return Ok(());
        }
    }

    /// Ids of the series matching `matchers`, with the series handles.
    fn matching(&self, matchers: &[Matcher]) -> Vec<Arc<MemSeries>> {
        let ids = self.postings.read().select(matchers);
        ids.into_iter().filter_map(|id| self.by_id(id)).collect()
    }

    /// Matching series with their samples in `[mint, maxt]`, unsorted.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<TimeSeries> {
        let mut out = Vec::new();
        for s in self.matching(matchers) {
            let mut samples = Vec::new();
            s.data.lock().chunks.collect(mint, maxt, &mut samples);
            if !samples.is_empty() {
                out.push(TimeSeries {
                    labels: s.labels(),
                    samples,
                });
            }
        }
        out
    }

    /// Every series with samples in `[mint, maxt)`, sorted by labels: the
    /// content of a block about to be written.
    pub fn snapshot(&self, mint: i64, maxt_exclusive: i64) -> Vec<TimeSeries> {
        let mut out = self.select(&[], mint, maxt_exclusive.saturating_sub(1));
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// Drops samples older than `t` (now persisted in a block), raises the
    /// lower bound for appends and garbage-collects series left empty.
    pub fn truncate(&self, t: i64) {
        self.min_valid_time.fetch_max(t, Ordering::Relaxed);
        let mut removed = Vec::new();
        for shard in self.by_hash.iter() {
            let mut shard = shard.write();
            shard.by_hash.retain(|_, list| {
                list.retain(|s| {
                    let mut d = s.data.lock();
                    d.chunks.drop_before(t);
                    if d.chunks.is_empty() && d.last.is_none_or(|l| l.t < t) {
                        d.deleted = true;
                        removed.push(s.clone());
                        false
                    } else {
                        true
                    }
                });
                !list.is_empty()
            });
        }
        for s in &removed {
            self.by_id[s.id as usize % SHARDS].write().remove(&s.id);
        }
        if !removed.is_empty() {
            let mut p = self.postings.write();
            for s in &removed {
                p.remove(s.id, &s.labels);
            }
        }
        self.num_series
            .fetch_sub(removed.len() as u64, Ordering::Relaxed);
        drop(removed);
        self.interner.gc();
    }

    /// The oldest sample time in the head (`i64::MAX` when empty).
    pub fn min_time(&self) -> i64 {
        let mut min = i64::MAX;
        for shard in self.by_id.iter() {
            for s in shard.read().values() {
                min = min.min(s.data.lock().chunks.min_time());
            }
        }
        min
    }

    /// Framed series records for every series in the head (WAL checkpoint).
    pub fn series_records(&self) -> Vec<u8> {
        let mut payload = Vec::new();
        for shard in self.by_id.iter() {
            for s in shard.read().values() {
                wal::encode_series(&mut payload, s.id, &s.labels);
            }
        }
        let mut buf = Vec::new();
        if !payload.is_empty() {
            wal::frame(&mut buf, wal::TYPE_SERIES, &payload);
        }
        buf
    }

    /// Approximate heap bytes held by series, labels and samples.
    pub fn mem_bytes(&self) -> usize {
        let mut total = 0;
        for shard in self.by_id.iter() {
            for s in shard.read().values() {
                total += std::mem::size_of::<MemSeries>()
                    + s.labels.len() * 32
                    + s.data.lock().chunks.mem_bytes();
            }
        }
        total
    }
}

/// Rebuilds the head from the WAL with the same append rules, silently.
pub(crate) struct HeadReplay<'a> {
    pub head: &'a Head,
    pub series: HashMap<u64, Arc<MemSeries>>,
    pub skipped: u64,
}

impl ReplaySink for HeadReplay<'_> {
    fn series(&mut self, id: u64, labels: Labels) {
        if let Some(s) = self.head.get_or_create(&labels, Some(id)) {
            s.data.lock().logged = true;
            self.series.insert(id, s);
        }
    }

    fn sample(&mut self, id: u64, s: Sample) {
        let Some(series) = self.series.get(&id) else {
            self.skipped += 1;
            return;
        };
        if s.t < self.head.min_valid_time() {
            return;
        }
        let mut d = series.data.lock();
        if d.last.is_some_and(|l| s.t <= l.t) {
            return;
        }
        d.chunks.push(s);
        d.last = Some(s);
        self.head.max_time.fetch_max(s.t, Ordering::Relaxed);
    }
}
