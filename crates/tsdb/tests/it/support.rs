use std::path::Path;
use std::sync::Arc;

use homeostat_model::{FakeClock, Labels, Sample, TimeSeries};
use homeostat_storage::{Matcher, Querier, SelectRequest};
use homeostat_tsdb::{FsyncPolicy, Tsdb, TsdbOptions};

pub fn opts(dir: &Path) -> TsdbOptions {
    TsdbOptions {
        dir: dir.to_path_buf(),
        wal_fsync: FsyncPolicy::Never,
        ..TsdbOptions::default()
    }
}

pub fn open(dir: &Path, clock: &FakeClock) -> Tsdb {
    Tsdb::open(opts(dir), Arc::new(clock.clone())).unwrap()
}

pub fn ts(pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
    TimeSeries {
        labels: Labels::from_pairs(pairs),
        samples: samples.iter().map(|&(t, v)| Sample::new(t, v)).collect(),
    }
}

pub fn all(db: &impl Querier) -> Vec<TimeSeries> {
    db.select(&SelectRequest::new(vec![], i64::MIN, i64::MAX))
        .unwrap()
}

pub fn select(db: &impl Querier, matchers: Vec<Matcher>) -> Vec<TimeSeries> {
    db.select(&SelectRequest::new(matchers, i64::MIN, i64::MAX))
        .unwrap()
}
