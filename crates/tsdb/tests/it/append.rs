use homeostat_model::{FakeClock, Sample, stale_nan};
use homeostat_storage::{Appender, MatchOp, Matcher, Querier, RejectReason, SelectRequest};
use homeostat_tsdb::{Tsdb, TsdbOptions};

use crate::support::{all, open, opts, select, ts};

#[test]
fn append_select_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), &FakeClock::new(0));
    let batch = vec![
        ts(&[("__name__", "up"), ("job", "b")], &[(1, 1.0), (2, 0.0)]),
        ts(
            &[("__name__", "up"), ("job", "a")],
            &[(1, 1.0), (3, stale_nan())],
        ),
    ];
    let r = db.append(&batch).unwrap();
    assert_eq!(r.accepted, 4);
    let got = all(&db);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0], batch[1],
        "sorted by labels, stale NaN kept bit for bit"
    );
    assert_eq!(got[1], batch[0]);
    let ranged = db.select(&SelectRequest::new(vec![], 2, 2)).unwrap();
    assert_eq!(ranged.len(), 1);
    assert_eq!(ranged[0].samples, vec![Sample::new(2, 0.0)]);
    assert_eq!(db.label_values("job", &[], 0, 10).unwrap(), vec!["a", "b"]);
    assert_eq!(db.label_names(&[], 0, 10).unwrap(), vec!["__name__", "job"]);
    assert_eq!(db.series(&[], 3, 3).unwrap().len(), 1);
    let stats = db.stats();
    assert_eq!(stats.head_series, 2);
    assert_eq!(stats.samples_appended_total, 4);
    assert_eq!((stats.head_min_time, stats.head_max_time), (1, 3));
    assert!(stats.wal_bytes > 0);
}

#[test]
fn every_rejection_reason_is_counted_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.max_series = Some(1);
    let db = Tsdb::open(o, std::sync::Arc::new(FakeClock::new(0))).unwrap();
    let a = &[("__name__", "up"), ("job", "a")];
    assert_eq!(db.append(&[ts(a, &[(10, 1.0)])]).unwrap().accepted, 1);
    let r = db
        .append(&[
            ts(a, &[(5, 1.0), (10, 1.0), (10, 2.0), (11, 1.0)]),
            ts(&[("__name__", "up"), ("job", "b")], &[(1, 1.0), (2, 1.0)]),
        ])
        .unwrap();
    assert_eq!(
        r.accepted, 1,
        "only t=11; t=10 with the same value is idempotent"
    );
    assert_eq!(r.rejected[&RejectReason::OutOfOrder], 1);
    assert_eq!(r.rejected[&RejectReason::DuplicateTimestamp], 1);
    assert_eq!(r.rejected[&RejectReason::SeriesLimit], 2);
    let why = r.first_rejection.unwrap();
    assert!(why.contains("up{") && why.contains("at 5"), "{why}");
    let stats = db.stats();
    assert_eq!(stats.samples_appended_total, 2);
    assert_eq!(stats.samples_rejected_total[&RejectReason::SeriesLimit], 2);
    assert_eq!(stats.samples_rejected_total[&RejectReason::OutOfOrder], 1);
}

#[test]
fn matchers_follow_prometheus_semantics() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), &FakeClock::new(0));
    db.append(&[
        ts(&[("__name__", "up"), ("job", "a")], &[(1, 1.0)]),
        ts(&[("__name__", "up"), ("job", "b")], &[(1, 1.0)]),
        ts(&[("__name__", "up")], &[(1, 1.0)]),
        ts(&[("__name__", "down"), ("job", "a")], &[(1, 1.0)]),
    ])
    .unwrap();
    let m = |op, n: &str, v: &str| Matcher::new(op, n, v).unwrap();
    let count = |ms: Vec<Matcher>| select(&db, ms).len();
    let up = || Matcher::equal("__name__", "up");
    assert_eq!(count(vec![up(), m(MatchOp::Equal, "job", "a")]), 1);
    assert_eq!(count(vec![up(), m(MatchOp::NotEqual, "job", "a")]), 2);
    assert_eq!(count(vec![up(), m(MatchOp::Equal, "job", "")]), 1);
    assert_eq!(count(vec![up(), m(MatchOp::NotEqual, "job", "")]), 2);
    assert_eq!(count(vec![m(MatchOp::RegexMatch, "job", "a|b")]), 3);
    assert_eq!(count(vec![up(), m(MatchOp::RegexNoMatch, "job", "a")]), 2);
    assert_eq!(count(vec![m(MatchOp::RegexMatch, "__name__", ".+")]), 4);
    assert_eq!(count(vec![m(MatchOp::Equal, "nope", "x")]), 0);
}

#[test]
fn max_samples_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), &FakeClock::new(0));
    db.append(&[ts(&[("__name__", "up")], &[(1, 1.0), (2, 1.0), (3, 1.0)])])
        .unwrap();
    let mut req = SelectRequest::new(vec![], 0, 10);
    req.max_samples = Some(2);
    assert!(db.select(&req).is_err());
    req.max_samples = Some(3);
    assert_eq!(db.select(&req).unwrap()[0].samples.len(), 3);
}

#[test]
fn a_second_open_of_the_same_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let _db = open(dir.path(), &clock);
    let err = Tsdb::open(
        TsdbOptions {
            dir: dir.path().to_path_buf(),
            ..TsdbOptions::default()
        },
        std::sync::Arc::new(clock),
    )
    .unwrap_err();
    assert!(err.to_string().contains("locked"), "{err}");
}
