//! Random appends across reopens must read back exactly like `MemStorage`.

use homeostat_model::{FakeClock, Sample, TimeSeries};
use homeostat_storage::{Appender, MemStorage};
use proptest::prelude::*;

use crate::support::{all, open, ts};

/// Batches of (series number, samples as (t, small value)).
type Batches = Vec<Vec<(u8, Vec<(i64, i8)>)>>;

fn batches() -> impl Strategy<Value = Batches> {
    prop::collection::vec(
        prop::collection::vec(
            (0u8..6, prop::collection::vec((0i64..200, -3i8..3), 0..8)),
            1..5,
        ),
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn reopened_store_equals_the_model(batches in batches(), reopen_every in 1usize..4) {
        let dir = tempfile::tempdir().unwrap();
        let clock = FakeClock::new(0);
        let model = MemStorage::new();
        let mut db = open(dir.path(), &clock);
        for (i, batch) in batches.iter().enumerate() {
            let batch: Vec<TimeSeries> = batch
                .iter()
                .map(|(s, samples)| {
                    let mut t = ts(&[("__name__", "m"), ("s", &s.to_string())], &[]);
                    t.samples = samples.iter().map(|&(t, v)| Sample::new(t, v as f64)).collect();
                    t
                })
                .collect();
            let want = model.append(&batch).unwrap();
            let got = db.append(&batch).unwrap();
            prop_assert_eq!(got.accepted, want.accepted);
            prop_assert_eq!(got.rejected, want.rejected);
            if i % reopen_every == 0 {
                drop(db);
                db = open(dir.path(), &clock);
            }
        }
        prop_assert_eq!(all(&db), all(&model));
    }
}
