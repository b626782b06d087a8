//! The head: recent samples in memory, indexed for matcher lookups. Lookups
//! take the index lock shared (only series creation and garbage collection
//! take it exclusively); samples are guarded by a lock per series, so appends
//! to different series and queries proceed in parallel.

pub mod postings;
pub mod series;

use std::collections::HashMap;
use std::sync::Arc;

use homeostat_model::{Labels, Sample, TimeSeries};
use homeostat_storage::Matcher;
use parking_lot::RwLock;

use postings::Postings;
use series::{Interner, MemSeries};

#[derive(Debug, Default)]
struct Index {
    by_hash: HashMap<u64, Vec<u64>>,
    series: HashMap<u64, Arc<MemSeries>>,
    postings: Postings,
    interner: Interner,
    next_id: u64,
}

#[derive(Debug, Default)]
pub struct Head {
    index: RwLock<Index>,
}

impl Head {
    pub fn get(&self, labels: &Labels) -> Option<Arc<MemSeries>> {
        let idx = self.index.read();
        let ids = idx.by_hash.get(&labels.stable_hash())?;
        ids.iter()
            .filter_map(|id| idx.series.get(id))
            .find(|s| s.has_labels(labels))
            .cloned()
    }

    pub fn by_id(&self, id: u64) -> Option<Arc<MemSeries>> {
        self.index.read().series.get(&id).cloned()
    }

    /// Creates a series; `id` is given on WAL replay, allocated otherwise.
    pub fn create(&self, labels: Labels, id: Option<u64>) -> Arc<MemSeries> {
        Self::insert(&mut self.index.write(), labels, id)
    }

    fn insert(idx: &mut Index, labels: Labels, id: Option<u64>) -> Arc<MemSeries> {
        let id = id.unwrap_or(idx.next_id);
        idx.next_id = idx.next_id.max(id + 1);
        let s = Arc::new(MemSeries::new(id, &labels, &mut idx.interner));
        idx.by_hash.entry(s.hash).or_default().push(id);
        idx.postings.add_pairs(id, s.label_pairs());
        idx.series.insert(id, s.clone());
        s
    }

    /// Finds or creates the series; `None` when a new series would exceed
    /// `max_series`. The limit is checked under the index lock, so concurrent
    /// appenders cannot overshoot it.
    pub fn get_or_create(
        &self,
        labels: &Labels,
        max_series: Option<usize>,
    ) -> Option<Arc<MemSeries>> {
        if let Some(s) = self.get(labels) {
            return Some(s);
        }
        let mut idx = self.index.write();
        if let Some(s) = idx
            .by_hash
            .get(&labels.stable_hash())
            .into_iter()
            .flatten()
            .filter_map(|id| idx.series.get(id))
            .find(|s| s.has_labels(labels))
        {
            return Some(s.clone());
        }
        if max_series.is_some_and(|max| idx.series.len() >= max) {
            return None;
        }
        Some(Self::insert(&mut idx, labels.clone(), None))
    }

    pub fn num_series(&self) -> usize {
        self.index.read().series.len()
    }

    pub fn all_series(&self) -> Vec<Arc<MemSeries>> {
        self.index.read().series.values().cloned().collect()
    }

    fn matching(&self, matchers: &[Matcher]) -> Vec<Arc<MemSeries>> {
        let idx = self.index.read();
        idx.postings
            .select(matchers)
            .iter()
            .filter_map(|id| idx.series.get(id).cloned())
            .collect()
    }

    /// Matching series with their samples in range (series without any omitted).
    /// Samples of matching series in `[mint, maxt]`. Stops decoding as soon
    /// as more than `max_samples` are loaded and returns how many were, so an
    /// oversized query fails before it can exhaust memory.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        max_samples: Option<usize>,
    ) -> Result<Vec<TimeSeries>, usize> {
        let mut out = Vec::new();
        let mut loaded = 0usize;
        for s in self.matching(matchers) {
            let mut samples: Vec<Sample> = Vec::new();
            s.data.lock().samples(mint, maxt, &mut samples);
            loaded += samples.len();
            if max_samples.is_some_and(|max| loaded > max) {
                return Err(loaded);
            }
            if !samples.is_empty() {
                out.push(TimeSeries {
                    labels: s.labels(),
                    samples,
                });
            }
        }
        Ok(out)
    }

    /// Label sets of matching series with data overlapping the range.
    pub fn series_in_range(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        self.matching(matchers)
            .into_iter()
            .filter(|s| {
                let d = s.data.lock();
                d.min_time().is_some_and(|lo| lo <= maxt) && d.last.is_some_and(|l| l.t >= mint)
            })
            .map(|s| s.labels())
            .collect()
    }

    /// Removes series that hold no samples any more (after a cut).
    pub fn gc(&self) -> usize {
        let mut idx = self.index.write();
        let dead: Vec<Arc<MemSeries>> = idx
            .series
            .values()
            .filter(|s| {
                let mut d = s.data.lock();
                d.deleted = d.chunk_count() == 0;
                d.deleted
            })
            .cloned()
            .collect();
        for s in &dead {
            idx.series.remove(&s.id);
            idx.postings.remove(s.id, s.label_pairs());
            let h = s.hash;
            if let Some(ids) = idx.by_hash.get_mut(&h) {
                ids.retain(|&i| i != s.id);
                if ids.is_empty() {
                    idx.by_hash.remove(&h);
                }
            }
        }
        let removed = dead.len();
        drop(dead);
        idx.interner.gc();
        removed
    }

    pub fn time_range(&self) -> Option<(i64, i64)> {
        let idx = self.index.read();
        let mut range: Option<(i64, i64)> = None;
        for s in idx.series.values() {
            let d = s.data.lock();
            if let (Some(lo), Some(last)) = (d.min_time(), d.last) {
                range = Some(match range {
                    None => (lo, last.t),
                    Some((a, b)) => (a.min(lo), b.max(last.t)),
                });
            }
        }
        range
    }

    pub fn chunk_count(&self) -> usize {
        self.index
            .read()
            .series
            .values()
            .map(|s| s.data.lock().chunk_count())
            .sum()
    }
}
