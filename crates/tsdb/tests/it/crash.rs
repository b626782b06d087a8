use std::fs::{self, OpenOptions};
use std::io::Write;

use homeostat_model::FakeClock;
use homeostat_storage::Appender;

use crate::support::{all, open, ts};

fn segments(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn drop_without_flush_then_reopen_finds_every_accepted_sample() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let db = open(dir.path(), &clock);
    let mut accepted = 0;
    for i in 0..50i64 {
        let batch: Vec<_> = (0..20)
            .map(|s| {
                let job = format!("j{s}");
                ts(
                    &[("__name__", "m"), ("job", &job)],
                    &[(i * 10, (i * s) as f64)],
                )
            })
            .collect();
        accepted += db.append(&batch).unwrap().accepted;
    }
    let before = all(&db);
    drop(db);
    let db = open(dir.path(), &clock);
    let after = all(&db);
    assert_eq!(after, before);
    assert_eq!(
        after.iter().map(|s| s.samples.len() as u64).sum::<u64>(),
        accepted
    );
    // Appends continue after replay with the same ordering rules.
    let r = db
        .append(&[ts(
            &[("__name__", "m"), ("job", "j1")],
            &[(5, 1.0), (10_000, 1.0)],
        )])
        .unwrap();
    assert_eq!((r.accepted, r.rejected_total()), (1, 1));
}

#[test]
fn torn_last_record_is_cut_and_everything_before_replays() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let db = open(dir.path(), &clock);
    for t in 0..10 {
        db.append(&[ts(&[("__name__", "m")], &[(t, t as f64)])])
            .unwrap();
    }
    drop(db);
    let seg = segments(dir.path()).pop().unwrap();
    let len = fs::metadata(&seg).unwrap().len();
    let f = OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 5).unwrap();
    drop(f);
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(b"\x02garbage after a torn write").unwrap();
    drop(f);

    let db = open(dir.path(), &clock);
    let got = all(&db);
    assert_eq!(got[0].samples.len(), 9, "all but the torn last sample");
    db.append(&[ts(&[("__name__", "m")], &[(9, 9.0)])]).unwrap();
    drop(db);
    let db = open(dir.path(), &clock);
    assert_eq!(all(&db)[0].samples.len(), 10);
}

#[test]
fn corruption_in_an_older_segment_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let db = open(dir.path(), &clock);
    db.append(&[ts(&[("__name__", "m")], &[(1, 1.0), (2, 2.0)])])
        .unwrap();
    drop(db);
    // The reopen starts a newer segment, so the first one is now "older".
    let db = open(dir.path(), &clock);
    db.append(&[ts(&[("__name__", "m")], &[(3, 3.0)])]).unwrap();
    drop(db);
    let first = segments(dir.path()).remove(0);
    let mut bytes = fs::read(&first).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0xff;
    fs::write(&first, bytes).unwrap();
    let err =
        homeostat_tsdb::Tsdb::open(crate::support::opts(dir.path()), std::sync::Arc::new(clock))
            .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("00000001") && msg.contains("offset"), "{msg}");
}
