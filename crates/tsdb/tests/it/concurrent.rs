//! Appends from several threads, racing a head cut, lose nothing.

use std::sync::Arc;

use homeostat_model::FakeClock;
use homeostat_storage::Appender;

use crate::support::{all, open, ts};

#[test]
fn parallel_appends_and_a_racing_head_cut_keep_every_accepted_sample() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let db = Arc::new(open(dir.path(), &clock));
    let threads: Vec<_> = (0..4)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut accepted = 0;
                for i in 0..400i64 {
                    let t = i * 60_000;
                    // Half the series are shared between workers, half private.
                    let batch: Vec<_> = (0..10)
                        .map(|s| {
                            let name = if s % 2 == 0 {
                                format!("shared{s}")
                            } else {
                                format!("w{w}_{s}")
                            };
                            ts(&[("__name__", "m"), ("s", &name)], &[(t, t as f64)])
                        })
                        .collect();
                    accepted += db.append(&batch).unwrap().accepted;
                }
                accepted
            })
        })
        .collect();
    // 400 minutes of data: maintenance cuts 2h blocks while workers append.
    while !threads.iter().all(|t| t.is_finished()) {
        db.run_maintenance().unwrap();
    }
    db.run_maintenance().unwrap();
    assert!(db.stats().blocks > 0, "the head was cut at least once");
    let accepted: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let stored: u64 = all(&*db).iter().map(|s| s.samples.len() as u64).sum();
    assert_eq!(stored, accepted);
    assert!(accepted > 0);
    let before = all(&*db);
    drop(db);
    let db = open(dir.path(), &clock);
    assert_eq!(all(&db), before);
}

#[test]
fn queries_racing_a_head_cut_never_miss_a_sample() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let db = Arc::new(open(dir.path(), &clock));
    for i in 0..600i64 {
        let batch: Vec<_> = (0..5)
            .map(|s| {
                ts(
                    &[("__name__", "m"), ("s", &s.to_string())],
                    &[(i * 60_000, 1.0)],
                )
            })
            .collect();
        db.append(&batch).unwrap();
    }
    let total = 600 * 5;
    let reader = {
        let db = db.clone();
        std::thread::spawn(move || {
            for _ in 0..200 {
                let n: usize = all(&*db).iter().map(|s| s.samples.len()).sum();
                assert_eq!(n, total);
            }
        })
    };
    db.run_maintenance().unwrap();
    reader.join().unwrap();
    assert!(db.stats().blocks >= 2);
    let n: usize = all(&*db).iter().map(|s| s.samples.len()).sum();
    assert_eq!(n, total);
}
