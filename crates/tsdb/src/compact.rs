//! Merging blocks into one: series are matched by labels, samples merged by
//! time, identical timestamps deduplicated and re-chunked by
//! [`write_block`]. Which blocks to merge is decided by [`crate::plan`].
//!
//! The merge holds every sample of the input blocks in memory at once; that
//! is bounded by the compaction range cap (10% of retention, at most 31 days)
//! but is the known cost of this simple design (see the helper report).

use std::path::Path;

use crate::TsdbError;
use crate::block::{Block, BlockMeta, write_block};
use crate::db::merge_series;

/// Merges `blocks` into one new block under `parent` and returns its meta.
///
/// On identical timestamps the block later in `blocks` wins (callers pass
/// blocks oldest first). The new block spans the union of the inputs' time
/// ranges, its level is one above the highest input level and its sources
/// are the union of the inputs' sources. The inputs are left in place.
pub fn compact(parent: &Path, blocks: &[&Block]) -> Result<BlockMeta, TsdbError> {
    if blocks.is_empty() {
        return Err(TsdbError::InvalidOption(
            "compact needs at least one block".to_string(),
        ));
    }
    let (mut lo, mut hi, mut level) = (i64::MAX, i64::MIN, 0);
    let mut sources = Vec::new();
    let mut per_block = Vec::with_capacity(blocks.len());
    // merge_series keeps the first source's sample on a tie, so feed the
    // newest block first.
    for b in blocks.iter().rev() {
        let m = b.meta();
        lo = lo.min(m.min_time);
        hi = hi.max(m.max_time);
        level = level.max(m.level);
        if m.sources.is_empty() {
            sources.push(m.id.clone());
        } else {
            sources.extend(m.sources.iter().cloned());
        }
        per_block.push(b.all_series()?);
    }
    sources.sort();
    sources.dedup();
    let merged = merge_series(per_block);
    write_block(parent, lo, hi, level + 1, sources, merged.into_iter())
}

#[cfg(test)]
mod tests {
    use super::*;
    use homeostat_model::{Labels, Sample, TimeSeries};
    use homeostat_storage::SelectRequest;
    use proptest::prelude::*;

    fn ts(job: &str, samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries {
            labels: Labels::from_pairs(&[("__name__", "up"), ("job", job)]),
            samples: samples.iter().map(|&(t, v)| Sample::new(t, v)).collect(),
        }
    }

    fn block(dir: &Path, lo: i64, hi: i64, series: Vec<TimeSeries>) -> Block {
        let meta = write_block(dir, lo, hi, 1, vec![], series.into_iter()).unwrap();
        Block::open(&dir.join(&meta.id)).unwrap()
    }

    fn all(b: &Block) -> Vec<TimeSeries> {
        b.select(&SelectRequest::new(vec![], i64::MIN, i64::MAX))
            .unwrap()
    }

    #[test]
    fn merges_adjacent_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let a = block(dir.path(), 0, 100, vec![ts("a", &[(0, 1.0), (50, 2.0)])]);
        let b = block(
            dir.path(),
            100,
            200,
            vec![ts("a", &[(100, 3.0)]), ts("b", &[(150, 9.0)])],
        );
        let meta = compact(dir.path(), &[&a, &b]).unwrap();
        assert_eq!((meta.min_time, meta.max_time, meta.level), (0, 200, 2));
        assert_eq!(meta.num_series, 2);
        assert_eq!(meta.num_samples, 4);
        let mut want_sources = vec![a.meta().id.clone(), b.meta().id.clone()];
        want_sources.sort();
        assert_eq!(meta.sources, want_sources);
        let c = Block::open(&dir.path().join(&meta.id)).unwrap();
        assert_eq!(
            all(&c),
            vec![
                ts("a", &[(0, 1.0), (50, 2.0), (100, 3.0)]),
                ts("b", &[(150, 9.0)])
            ]
        );
    }

    #[test]
    fn overlapping_blocks_dedup_with_later_block_winning() {
        let dir = tempfile::tempdir().unwrap();
        let a = block(
            dir.path(),
            0,
            100,
            vec![ts("a", &[(0, 1.0), (10, 2.0), (20, 3.0)])],
        );
        let b = block(dir.path(), 5, 100, vec![ts("a", &[(10, 20.0), (15, 15.0)])]);
        let meta = compact(dir.path(), &[&a, &b]).unwrap();
        let c = Block::open(&dir.path().join(&meta.id)).unwrap();
        assert_eq!(
            all(&c),
            vec![ts("a", &[(0, 1.0), (10, 20.0), (15, 15.0), (20, 3.0)])]
        );
        assert_eq!(meta.num_samples, 4);
    }

    #[test]
    fn rechunks_long_series_and_levels_up() {
        let dir = tempfile::tempdir().unwrap();
        let long: Vec<(i64, f64)> = (0..1000).map(|i| (i * 10, i as f64)).collect();
        let a = block(dir.path(), 0, 5_000, vec![ts("a", &long[..500])]);
        let b = block(dir.path(), 5_000, 10_000, vec![ts("a", &long[500..])]);
        let m1 = compact(dir.path(), &[&a, &b]).unwrap();
        assert_eq!(m1.num_chunks, 1000u64.div_ceil(120));
        let c = Block::open(&dir.path().join(&m1.id)).unwrap();
        let m2 = compact(dir.path(), &[&c]).unwrap();
        assert_eq!(m2.level, 3);
        assert_eq!(m2.sources, m1.sources);
        assert_eq!(
            all(&Block::open(&dir.path().join(&m2.id)).unwrap()),
            vec![ts("a", &long)]
        );
    }

    #[test]
    fn empty_input_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(compact(dir.path(), &[]).is_err());
    }

    fn arb_series() -> impl Strategy<Value = Vec<TimeSeries>> {
        let one = (
            0u8..6,
            proptest::collection::btree_map(0i64..2_000, any::<u64>(), 1..300),
        );
        proptest::collection::vec(one, 1..8).prop_map(|raw| {
            let mut by: std::collections::BTreeMap<Labels, Vec<Sample>> = Default::default();
            for (job, points) in raw {
                let labels = Labels::from_pairs(&[("__name__", "m"), ("job", &job.to_string())]);
                by.insert(
                    labels,
                    points
                        .into_iter()
                        .map(|(t, bits)| Sample::new(t * 997, f64::from_bits(bits)))
                        .collect(),
                );
            }
            by.into_iter()
                .map(|(labels, samples)| TimeSeries { labels, samples })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn block_round_trip_and_compaction_match_a_model(a in arb_series(), b in arb_series()) {
            let dir = tempfile::tempdir().unwrap();
            let ba = block(dir.path(), 0, 2_000_000, a.clone());
            let bb = block(dir.path(), 0, 2_000_000, b.clone());
            prop_assert_eq!(all(&ba), a.clone());
            let meta = compact(dir.path(), &[&ba, &bb]).unwrap();
            // Model: later block wins on identical timestamps.
            let mut model: std::collections::BTreeMap<Labels, std::collections::BTreeMap<i64, u64>> =
                Default::default();
            for s in a.iter().chain(b.iter()) {
                let e = model.entry(s.labels.clone()).or_default();
                for x in &s.samples {
                    e.insert(x.t, x.v.to_bits());
                }
            }
            let want: Vec<TimeSeries> = model
                .into_iter()
                .map(|(labels, m)| TimeSeries {
                    labels,
                    samples: m.into_iter().map(|(t, v)| Sample::new(t, f64::from_bits(v))).collect(),
                })
                .collect();
            let c = Block::open(&dir.path().join(&meta.id)).unwrap();
            prop_assert_eq!(all(&c), want);
        }
    }
}
