//! Persisted-format compatibility: a block written by an earlier build is
//! checked in and must keep opening with the same content. Regenerate only on
//! a deliberate format change (bumping the version): `UPDATE_FIXTURES=1 cargo test -p homeostat-tsdb format`.

use std::path::PathBuf;

use homeostat_model::{Labels, Sample, TimeSeries};
use homeostat_storage::{MatchOp, Matcher, SelectRequest};
use homeostat_tsdb::block::{BLOCK_FORMAT_VERSION, Block, write_block};

fn fixture_series() -> Vec<TimeSeries> {
    let mut v: Vec<TimeSeries> = (0..3)
        .map(|i| TimeSeries {
            labels: Labels::from_pairs(&[
                ("__name__", "fixture_total"),
                ("i", &i.to_string()),
                ("job", "compat"),
            ]),
            samples: (0..150)
                .map(|k| Sample::new(1_700_000_000_000 + k * 15_000, (k * (i + 1)) as f64))
                .collect(),
        })
        .collect();
    v.push(TimeSeries {
        labels: Labels::from_pairs(&[("__name__", "fixture_gauge"), ("job", "compat")]),
        samples: vec![
            Sample::new(1_700_000_000_000, 0.5),
            Sample::new(1_700_000_015_000, homeostat_model::stale_nan()),
        ],
    });
    v.sort_by(|a, b| a.labels.cmp(&b.labels));
    v
}

#[test]
fn checked_in_block_still_opens() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/blocks");
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        write_block(
            &dir,
            1_700_000_000_000,
            1_700_007_200_000,
            1,
            vec![],
            fixture_series().into_iter(),
        )
        .unwrap();
    }
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(entries.len(), 1, "exactly one fixture block");
    let block = Block::open(&entries[0].path()).unwrap();
    assert_eq!(block.meta().version, BLOCK_FORMAT_VERSION);
    let all = block
        .select(&SelectRequest::new(vec![], i64::MIN, i64::MAX))
        .unwrap();
    assert_eq!(all, fixture_series());
    let m = Matcher::new(MatchOp::RegexMatch, "i", "1|2").unwrap();
    assert_eq!(
        block
            .select(&SelectRequest::new(vec![m], i64::MIN, i64::MAX))
            .unwrap()
            .len(),
        2
    );
}
