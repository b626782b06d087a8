//! Integration tests of the embedded store through its public API.
#![allow(clippy::unwrap_used)]

mod append;
mod block_format;
mod concurrent;
mod crash;
mod disk;
mod format;
mod measure;
mod model;
mod support;

use std::sync::Arc;

use homeostat_model::{FakeClock, Labels, Sample, TimeSeries, stale_nan};
use homeostat_storage::{
    Appender, MatchOp, Matcher, MemStorage, Querier, RejectReason, SelectRequest,
};
use homeostat_tsdb::{FsyncPolicy, Tsdb, TsdbOptions};
use proptest::prelude::*;

const H: i64 = 3_600_000;

fn opts(dir: &std::path::Path) -> TsdbOptions {
    TsdbOptions {
        dir: dir.to_path_buf(),
        wal_fsync: FsyncPolicy::Never,
        ..Default::default()
    }
}

fn ts(pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
    TimeSeries {
        labels: Labels::from_pairs(pairs),
        samples: samples.iter().map(|&(t, v)| Sample::new(t, v)).collect(),
    }
}

fn all(db: &Tsdb) -> Vec<TimeSeries> {
    db.select(&SelectRequest::new(vec![], i64::MIN, i64::MAX))
        .unwrap()
}

#[test]
fn append_select_and_every_rejection_reason() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let db = Tsdb::open(
        TsdbOptions {
            max_series: Some(2),
            ..opts(dir.path())
        },
        Arc::new(clock),
    )
    .unwrap();
    let r = db
        .append(&[
            ts(
                &[("__name__", "up"), ("job", "a")],
                &[(1000, 1.0), (2000, 1.0)],
            ),
            ts(
                &[("__name__", "up"), ("job", "b")],
                &[(1000, 0.0), (2000, stale_nan())],
            ),
        ])
        .unwrap();
    assert_eq!(r.accepted, 4);
    let r = db
        .append(&[
            ts(
                &[("__name__", "up"), ("job", "a")],
                &[(1500, 1.0), (2000, 1.0), (2000, 7.0), (3000, 1.0)],
            ),
            ts(&[("__name__", "up"), ("job", "c")], &[(1000, 1.0)]),
        ])
        .unwrap();
    assert_eq!(
        r.accepted, 1,
        "only t=3000 is new; t=2000 same value is an idempotent retry"
    );
    assert_eq!(r.rejected[&RejectReason::OutOfOrder], 1);
    assert_eq!(r.rejected[&RejectReason::DuplicateTimestamp], 1);
    assert_eq!(r.rejected[&RejectReason::SeriesLimit], 1);
    assert!(r.first_rejection.unwrap().contains("job=\"a\""));
    let m = Matcher::new(MatchOp::Equal, "job", "b").unwrap();
    let got = db.select(&SelectRequest::new(vec![m], 0, 10_000)).unwrap();
    assert_eq!(got.len(), 1);
    assert!(
        homeostat_model::is_stale_nan(got[0].samples[1].v),
        "stale markers are stored bit-exact"
    );
    assert_eq!(
        db.label_values("job", &[], 0, 10_000).unwrap(),
        vec!["a", "b"]
    );
    assert_eq!(
        db.stats().samples_rejected_total[&RejectReason::SeriesLimit],
        1
    );
}

#[test]
fn crash_without_flush_keeps_every_accepted_sample() {
    let dir = tempfile::tempdir().unwrap();
    let expected = MemStorage::new();
    {
        let db = Tsdb::open(opts(dir.path()), Arc::new(FakeClock::new(0))).unwrap();
        for i in 0..50 {
            let batch: Vec<TimeSeries> = (0..20)
                .map(|s| {
                    ts(
                        &[("__name__", "m"), ("s", &s.to_string())],
                        &[(i * 10_000, (i * s) as f64)],
                    )
                })
                .collect();
            db.append(&batch).unwrap();
            expected.append(&batch).unwrap();
        }
        // Dropped without flush or sync: as if the process died.
    }
    let db = Tsdb::open(opts(dir.path()), Arc::new(FakeClock::new(0))).unwrap();
    let want = expected
        .select(&SelectRequest::new(vec![], i64::MIN, i64::MAX))
        .unwrap();
    assert_eq!(all(&db), want);
}

#[test]
fn a_second_process_cannot_open_the_same_dir() {
    let dir = tempfile::tempdir().unwrap();
    let _db = Tsdb::open(opts(dir.path()), Arc::new(FakeClock::new(0))).unwrap();
    let err = Tsdb::open(opts(dir.path()), Arc::new(FakeClock::new(0))).unwrap_err();
    assert!(err.to_string().contains("locked"), "{err}");
}

/// Writes `hours` of 10 s samples for `n` series starting at t=0.
fn fill(db: &Tsdb, n: usize, from_h: i64, to_h: i64) -> MemStorage {
    let model = MemStorage::new();
    let mut t = from_h * H;
    while t < to_h * H {
        let batch: Vec<TimeSeries> = (0..n)
            .map(|s| {
                ts(
                    &[("__name__", "m"), ("s", &s.to_string())],
                    &[(t, (t / 10_000) as f64 + s as f64)],
                )
            })
            .collect();
        db.append(&batch).unwrap();
        model.append(&batch).unwrap();
        t += 10_000;
    }
    model
}

#[test]
fn head_cut_into_blocks_survives_reopen_and_queries_span_both() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(5 * H);
    let model = {
        let db = Tsdb::open(opts(dir.path()), Arc::new(clock.clone())).unwrap();
        let model = fill(&db, 5, 0, 5);
        db.run_maintenance().unwrap();
        let st = db.stats();
        assert!(st.blocks >= 1, "{st:?}");
        assert!(st.head_min_time >= 2 * H, "{st:?}");
        assert_eq!(
            all(&db),
            model
                .select(&SelectRequest::new(vec![], i64::MIN, i64::MAX))
                .unwrap()
        );
        // Samples for the persisted range are now refused as too old.
        let r = db
            .append(&[ts(&[("__name__", "m"), ("s", "0")], &[(10, 1.0)])])
            .unwrap();
        assert_eq!(r.rejected[&RejectReason::TooOld], 1);
        model
    };
    let db = Tsdb::open(opts(dir.path()), Arc::new(clock)).unwrap();
    assert_eq!(
        all(&db),
        model
            .select(&SelectRequest::new(vec![], i64::MIN, i64::MAX))
            .unwrap()
    );
    let wal_files = std::fs::read_dir(dir.path().join("wal")).unwrap().count();
    assert!(
        wal_files <= 4,
        "old WAL segments were replaced by a checkpoint ({wal_files} entries)"
    );
}

#[test]
fn compaction_and_retention_on_a_fake_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let o = TsdbOptions {
        retention_ms: 72 * H,
        ..opts(dir.path())
    };
    let db = Tsdb::open(o, Arc::new(clock.clone())).unwrap();
    let model = fill(&db, 3, 0, 10);
    clock.set(10 * H);
    db.run_maintenance().unwrap();
    let st = db.stats();
    assert!(
        st.compactions_total >= 1,
        "2 h blocks merged into a 6 h block: {st:?}"
    );
    assert_eq!(
        all(&db),
        model
            .select(&SelectRequest::new(vec![], i64::MIN, i64::MAX))
            .unwrap()
    );
    clock.set(90 * H);
    db.run_maintenance().unwrap();
    let st = db.stats();
    assert_eq!(
        st.blocks, 0,
        "everything persisted is past 72 h retention: {st:?}"
    );
    assert!(
        all(&db)
            .iter()
            .all(|s| s.samples.iter().all(|x| x.t >= 8 * H))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn matches_the_in_memory_model_across_reopen(
        ops in proptest::collection::vec((0usize..4, 0i64..400, any::<i16>()), 1..120)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let model = MemStorage::new();
        {
            let db = Tsdb::open(opts(dir.path()), Arc::new(FakeClock::new(0))).unwrap();
            for (s, t, v) in &ops {
                let b = [ts(&[("__name__", "m"), ("s", &s.to_string())], &[(*t * 1000, *v as f64)])];
                let a = db.append(&b).unwrap();
                let m = model.append(&b).unwrap();
                prop_assert_eq!(a.accepted, m.accepted);
            }
        }
        let db = Tsdb::open(opts(dir.path()), Arc::new(FakeClock::new(0))).unwrap();
        let re = Matcher::new(MatchOp::RegexMatch, "s", "1|2").unwrap();
        for req in [SelectRequest::new(vec![], i64::MIN, i64::MAX), SelectRequest::new(vec![re], 50_000, 300_000)] {
            prop_assert_eq!(db.select(&req).unwrap(), model.select(&req).unwrap());
        }
    }
}
