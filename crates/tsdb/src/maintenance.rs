//! Periodic work driven by the server: cut the head into blocks, checkpoint
//! the WAL, compact blocks, apply retention. Time comes from the injected clock.

use std::collections::BTreeSet;
use std::fs;
use std::sync::atomic::Ordering;

use homeostat_model::Labels;

use crate::block::{Block, BlockMeta, write_block_with};
use crate::db::merge_series;
use crate::wal::{Wal, record};
use crate::{Tsdb, TsdbError};

impl Tsdb {
    /// Applies retention, cuts the head while it spans more than 1.5 block
    /// durations, and compacts. Every step runs whatever the others did, so
    /// on a full disk a failing cut (retried on the next run) never keeps
    /// retention from freeing space; the first error is returned.
    pub fn run_maintenance(&self) -> Result<(), TsdbError> {
        let _one_at_a_time = self.maintenance.lock();
        let mut first: Option<TsdbError> = None;
        let mut step = |name: &'static str, r: Result<(), TsdbError>| {
            if let Err(e) = r {
                tracing::warn!(step = name, error = %e, "storage maintenance step failed");
                first.get_or_insert(e);
            }
        };
        step("retention", self.apply_retention());
        // Retention may just have freed the space a read-only WAL waits for;
        // the write state reports a failure, so it is not one of maintenance.
        if let Err(e) = self.try_resume_writes() {
            tracing::debug!(error = %e, "storage still read-only");
        }
        step("head cut", self.cut_head());
        step("compaction", self.compact());
        first.map_or(Ok(()), Err)
    }

    fn cut_head(&self) -> Result<(), TsdbError> {
        let bd = self.opts.block_duration_ms;
        while let Some((lo, hi)) = self.head.time_range() {
            if hi - lo <= bd + bd / 2 {
                break;
            }
            let start = lo.div_euclid(bd) * bd;
            self.persist_head_range(start, start + bd)?;
        }
        Ok(())
    }

    /// Persists every head sample before `end` as a block and drops it from
    /// the head and (via a checkpoint) from the WAL.
    fn persist_head_range(&self, start: i64, end: i64) -> Result<(), TsdbError> {
        // Appends re-check the lower bound under the WAL lock (append.rs), so
        // once it is raised here no append can add a sample before `end`.
        // Raised only after the roll succeeded: a cut that fails there (full
        // disk) refuses nothing. If the block write fails later, the bound
        // stays raised and the samples stay in the head until a retry.
        let closed_segment = {
            let mut wal = self.wal.lock();
            let closed = wal.roll()?;
            self.min_valid_time.fetch_max(end, Ordering::SeqCst);
            closed
        };
        // Copy first and drop from the head only once the block is visible:
        // a query (head first, then blocks) sees every sample at any moment,
        // and a failed block write loses nothing.
        let mut series: Vec<homeostat_model::TimeSeries> = Vec::new();
        for s in self.head.all_series() {
            let mut samples = Vec::new();
            s.data.lock().samples(i64::MIN, end - 1, &mut samples);
            if !samples.is_empty() {
                series.push(homeostat_model::TimeSeries {
                    labels: s.labels(),
                    samples,
                });
            }
        }
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        let n = series.iter().map(|s| s.samples.len()).sum::<usize>();
        let meta = write_block_with(
            &self.opts.dir,
            (start.min(series_min(&series)), end, 1),
            vec![],
            series.into_iter(),
            &self.opts.faults,
        )?;
        let block = Block::open(&self.opts.dir.join(&meta.id))?;
        self.blocks.write().add(block);
        for s in self.head.all_series() {
            s.data.lock().split_off_before(end);
        }
        let removed = self.head.gc();
        tracing::info!(block = %meta.id, min_time = start, max_time = end, samples = n, series_removed = removed, "head cut into block");
        self.checkpoint_wal(closed_segment, end)
    }

    /// Rewrites WAL segments up to `upto` as a checkpoint with the live series
    /// and only the samples at or after `keep_from`.
    fn checkpoint_wal(&self, upto: u64, keep_from: i64) -> Result<(), TsdbError> {
        let live: Vec<_> = self.head.all_series();
        let live_ids: std::collections::HashMap<u64, Labels> =
            live.iter().map(|s| (s.id, s.labels())).collect();
        let mut buf = Vec::new();
        let refs: Vec<(u64, &Labels)> = live_ids.iter().map(|(id, l)| (*id, l)).collect();
        record::encode_series(&mut buf, &refs);
        let mut kept = Vec::new();
        // Head ids are stable for live series, and a live series' samples in the
        // old segments are exactly its samples there with t >= keep_from.
        // Segments <= upto are closed, so this runs without the WAL lock and
        // appends continue meanwhile.
        let wal_dir = self.opts.dir.join("wal");
        Wal::for_each_record_upto(&wal_dir, upto, |rec| {
            if let record::Record::Samples(list) = rec {
                kept.extend(
                    list.into_iter()
                        .filter(|(id, t, _)| *t >= keep_from && live_ids.contains_key(id)),
                );
            }
        })?;
        if !kept.is_empty() {
            record::encode_samples(&mut buf, &kept);
        }
        Wal::checkpoint(&wal_dir, upto, &buf)
    }

    fn compaction_ranges(&self) -> Vec<i64> {
        let bd = self.opts.block_duration_ms;
        let cap = (self.opts.retention_ms / 10).min(31 * 86_400_000);
        let mut out = Vec::new();
        let mut r = bd * 3;
        while r <= cap {
            out.push(r);
            r *= 3;
        }
        out
    }

    /// Merges overlapping blocks, then groups of blocks filling a larger
    /// aligned range once that range is complete.
    fn compact(&self) -> Result<(), TsdbError> {
        loop {
            let metas: Vec<BlockMeta> = self
                .blocks
                .read()
                .all()
                .iter()
                .map(|b| b.meta().clone())
                .collect();
            let Some(group) = plan(&metas, &self.compaction_ranges()) else {
                return Ok(());
            };
            self.merge_blocks(&group)?;
        }
    }

    fn merge_blocks(&self, ids: &BTreeSet<String>) -> Result<(), TsdbError> {
        let blocks: Vec<_> = self
            .blocks
            .read()
            .all()
            .iter()
            .filter(|b| ids.contains(&b.meta().id))
            .cloned()
            .collect();
        let mut sources = Vec::new();
        let mut per_block = Vec::new();
        let (mut lo, mut hi, mut level) = (i64::MAX, i64::MIN, 0);
        // Newest block first so that its value wins on identical timestamps.
        for b in blocks.iter().rev() {
            let m = b.meta();
            lo = lo.min(m.min_time);
            hi = hi.max(m.max_time);
            level = level.max(m.level);
            sources.extend(m.sources.iter().cloned());
            per_block.push(b.all_series()?);
        }
        sources.sort();
        sources.dedup();
        let merged = merge_series(per_block);
        let meta = write_block_with(
            &self.opts.dir,
            (lo, hi, level + 1),
            sources,
            merged.into_iter(),
            &self.opts.faults,
        )?;
        let new_block = Block::open(&self.opts.dir.join(&meta.id))?;
        let gone = {
            let mut set = self.blocks.write();
            set.add(new_block);
            set.remove(ids)
        };
        for b in gone {
            fs::remove_dir_all(b.dir()).map_err(|e| TsdbError::io(b.dir(), e))?;
        }
        self.compactions.fetch_add(1, Ordering::Relaxed);
        tracing::info!(block = %meta.id, merged = ids.len(), level = level + 1, "blocks compacted");
        Ok(())
    }

    fn apply_retention(&self) -> Result<(), TsdbError> {
        let cutoff = self.clock.now_millis() - self.opts.retention_ms;
        let expired: BTreeSet<String> = self
            .blocks
            .read()
            .all()
            .iter()
            .filter(|b| b.meta().max_time <= cutoff)
            .map(|b| b.meta().id.clone())
            .collect();
        if expired.is_empty() {
            return Ok(());
        }
        let gone = self.blocks.write().remove(&expired);
        for b in gone {
            tracing::info!(block = %b.meta().id, max_time = b.meta().max_time, "block past retention deleted");
            fs::remove_dir_all(b.dir()).map_err(|e| TsdbError::io(b.dir(), e))?;
        }
        Ok(())
    }
}

fn series_min(series: &[homeostat_model::TimeSeries]) -> i64 {
    series
        .iter()
        .filter_map(|s| s.samples.first().map(|x| x.t))
        .min()
        .unwrap_or(i64::MAX)
}

/// Chooses the next group of blocks to merge: first any overlapping blocks,
/// then, for each range size, the blocks inside one aligned window when a
/// newer block shows the window is complete.
pub fn plan(metas: &[BlockMeta], ranges: &[i64]) -> Option<BTreeSet<String>> {
    let mut sorted: Vec<&BlockMeta> = metas.iter().collect();
    sorted.sort_by_key(|m| m.min_time);
    for w in sorted.windows(2) {
        if w[1].min_time < w[0].max_time {
            return Some([w[0].id.clone(), w[1].id.clone()].into_iter().collect());
        }
    }
    let newest = sorted.iter().map(|m| m.max_time).max()?;
    for &r in ranges {
        let mut groups: std::collections::BTreeMap<i64, Vec<&BlockMeta>> = Default::default();
        for m in &sorted {
            let w = m.min_time.div_euclid(r) * r;
            if m.max_time <= w + r {
                groups.entry(w).or_default().push(m);
            }
        }
        for (w, g) in groups {
            if g.len() > 1 && newest >= w + r {
                return Some(g.iter().map(|m| m.id.clone()).collect());
            }
        }
    }
    None
}
