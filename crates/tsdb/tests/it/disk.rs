//! Disk full and fsync failure, forced with injected faults: nothing is
//! acknowledged that did not reach the WAL, a failed fsync stops writes
//! until restart, a full disk makes the store read-only (and writable again
//! once space returns), and maintenance keeps freeing space when a cut fails.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use homeostat_model::{ErrorKind, FakeClock, TimeSeries};
use homeostat_storage::{Appender, StorageError};
use homeostat_tsdb::faults::{EIO, ENOSPC};
use homeostat_tsdb::{FaultPoint, Faults, FsyncPolicy, Tsdb, TsdbOptions, WriteState};

use crate::support::{all, opts, ts};

const H: i64 = 3_600_000;

fn open_with(dir: &Path, clock: &FakeClock, faults: &Faults, fsync: FsyncPolicy) -> Tsdb {
    let o = TsdbOptions {
        faults: faults.clone(),
        wal_fsync: fsync,
        retention_ms: 6 * H,
        ..opts(dir)
    };
    Tsdb::open(o, Arc::new(clock.clone())).unwrap()
}

fn batch(t: i64) -> Vec<TimeSeries> {
    (0..3)
        .map(|i| {
            ts(
                &[("__name__", "m"), ("i", &i.to_string())],
                &[(t, t as f64)],
            )
        })
        .collect()
}

fn count(db: &Tsdb) -> usize {
    all(db).iter().map(|s| s.samples.len()).sum()
}

fn refused(r: Result<homeostat_storage::AppendReport, StorageError>, needle: &str) {
    let e = r.expect_err("the append must be refused");
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.to_string().contains(needle), "{e}");
}

fn wal_files(dir: &Path) -> Vec<(String, u64)> {
    let mut v: Vec<_> = fs::read_dir(dir.join("wal"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_failed_fsync_refuses_writes_until_restart_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let faults = Faults::default();
    let db = open_with(dir.path(), &clock, &faults, FsyncPolicy::Always);
    assert_eq!(db.append(&batch(1000)).unwrap().accepted, 3);
    faults.fail(FaultPoint::WalFsync, EIO);
    refused(db.append(&batch(2000)), "fsync failed");
    assert!(matches!(db.write_state(), WriteState::Failed(_)));
    assert!(db.writable().is_err());
    // Even once the device seems fine again, retrying could report success
    // for pages the kernel dropped: writes stay refused, reads still work.
    faults.clear(FaultPoint::WalFsync);
    clock.advance(60_000);
    refused(db.append(&batch(3000)), "until restart");
    db.run_maintenance().unwrap();
    assert!(matches!(db.write_state(), WriteState::Failed(_)));
    assert!(db.stats().write_state != WriteState::Writable);
    assert_eq!(count(&db), 3, "the unacknowledged batch is not in the head");
    drop(db);
    let db = open_with(dir.path(), &clock, &faults, FsyncPolicy::Always);
    assert_eq!(db.write_state(), WriteState::Writable);
    // The refused batch reached the WAL's page cache before its fsync failed
    // and may replay; it was never acknowledged, so either is correct.
    assert!(count(&db) >= 3);
    assert_eq!(db.append(&batch(4000)).unwrap().accepted, 3);
}

#[test]
fn a_failed_background_fsync_stops_writes_too() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let faults = Faults::default();
    let every = std::time::Duration::from_secs(1);
    let db = open_with(dir.path(), &clock, &faults, FsyncPolicy::Interval(every));
    db.append(&batch(1000)).unwrap();
    faults.fail(FaultPoint::WalFsync, EIO);
    assert!(db.sync_wal().is_err());
    refused(db.append(&batch(2000)), "fsync failed");
}

#[test]
fn enospc_on_a_wal_write_is_read_only_until_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let faults = Faults::default();
    let db = open_with(dir.path(), &clock, &faults, FsyncPolicy::Never);
    assert_eq!(db.append(&batch(1000)).unwrap().accepted, 3);
    faults.fail(FaultPoint::WalWrite, ENOSPC);
    refused(db.append(&batch(2000)), "no space left on device");
    let WriteState::ReadOnly(why) = db.write_state() else {
        panic!("read-only expected, got {:?}", db.write_state())
    };
    assert!(
        why.contains(&dir.path().join("wal").display().to_string()),
        "{why}"
    );
    assert!(why.contains("retention"), "says what to do: {why}");
    assert_eq!(count(&db), 3, "nothing unacknowledged reached the head");
    // Still full: the retry (at most once a second) fails quietly.
    clock.advance(1000);
    refused(db.append(&batch(2000)), "read-only");
    // Space returns: the next append after a second resumes on a new segment.
    faults.clear(FaultPoint::WalWrite);
    refused(db.append(&batch(2000)), "read-only");
    clock.advance(1000);
    assert_eq!(db.append(&batch(2000)).unwrap().accepted, 3);
    assert_eq!(db.write_state(), WriteState::Writable);
    drop(db);
    let db = open_with(dir.path(), &clock, &faults, FsyncPolicy::Never);
    assert_eq!(count(&db), 6, "every acknowledged sample replays, no other");
}

#[test]
fn a_full_disk_at_open_starts_read_only_and_serves_reads() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let faults = Faults::default();
    let db = open_with(dir.path(), &clock, &faults, FsyncPolicy::Never);
    db.append(&batch(1000)).unwrap();
    drop(db);
    let before = wal_files(dir.path());
    faults.fail(FaultPoint::WalCreate, ENOSPC);
    let db = open_with(dir.path(), &clock, &faults, FsyncPolicy::Never);
    assert!(matches!(db.write_state(), WriteState::ReadOnly(_)));
    assert_eq!(count(&db), 3, "reads serve what was stored");
    refused(db.append(&batch(2000)), "no space left on device");
    assert_eq!(
        wal_files(dir.path()),
        before,
        "the segment that could not be written is gone, not left empty"
    );
    // Maintenance retries too (after retention may have freed space).
    faults.clear(FaultPoint::WalCreate);
    db.run_maintenance().unwrap();
    assert_eq!(db.write_state(), WriteState::Writable);
    db.append(&batch(2000)).unwrap();
    drop(db);
    let db = open_with(dir.path(), &clock, &faults, FsyncPolicy::Never);
    assert_eq!(count(&db), 6);
}

#[test]
fn empty_wal_segments_left_by_a_full_disk_or_crash_are_removed_on_replay() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let faults = Faults::default();
    let db = open_with(dir.path(), &clock, &faults, FsyncPolicy::Never);
    db.append(&batch(1000)).unwrap();
    drop(db);
    // One empty segment in the middle, one torn header at the end.
    let wal = dir.path().join("wal");
    let last: u64 = wal_files(dir.path()).last().unwrap().0.parse().unwrap();
    fs::write(wal.join(format!("{:08}", last + 1)), b"").unwrap();
    fs::write(wal.join(format!("{:08}", last + 2)), b"HSWAL\x01\0\0").unwrap();
    fs::write(wal.join(format!("{:08}", last + 3)), b"HSW").unwrap();
    let db = open_with(dir.path(), &clock, &faults, FsyncPolicy::Never);
    assert_eq!(count(&db), 3);
    assert!(
        wal_files(dir.path()).iter().all(|(_, len)| *len >= 8),
        "no segment shorter than its header stays: {:?}",
        wal_files(dir.path())
    );
    db.append(&batch(2000)).unwrap();
    drop(db);
    let db = open_with(dir.path(), &clock, &faults, FsyncPolicy::Never);
    assert_eq!(count(&db), 6);
}

fn fill_hours(db: &Tsdb, from_h: i64, to_h: i64) {
    for m in (from_h * 60)..(to_h * 60) {
        db.append(&batch(m * 60_000)).unwrap();
    }
}

#[test]
fn a_failing_head_cut_still_applies_retention_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let faults = Faults::default();
    let db = open_with(dir.path(), &clock, &faults, FsyncPolicy::Never);
    fill_hours(&db, 0, 4);
    clock.set(4 * H);
    db.run_maintenance().unwrap();
    assert!(db.stats().blocks >= 1, "{:?}", db.stats());
    fill_hours(&db, 4, 12);
    // Block writes fail (full disk); the first block is now past the 6 h
    // retention and must still be deleted to free space.
    faults.fail(FaultPoint::BlockWrite, ENOSPC);
    clock.set(12 * H);
    let err = db.run_maintenance().unwrap_err();
    assert!(err.to_string().contains("No space left"), "{err}");
    assert_eq!(db.stats().blocks, 0, "retention ran despite the failed cut");
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "half-written block removed: {leftovers:?}"
    );
    let stored = count(&db);
    assert_eq!(
        stored,
        3 * 60 * 12 - 3 * 60 * 2,
        "nothing lost from the head"
    );
    assert_eq!(
        db.write_state(),
        WriteState::Writable,
        "a failed cut refuses no write"
    );
    db.append(&batch(12 * H)).unwrap();
    // Space returns: the next run cuts the head.
    faults.clear(FaultPoint::BlockWrite);
    db.run_maintenance().unwrap();
    assert!(db.stats().blocks >= 1, "{:?}", db.stats());
    assert_eq!(count(&db), stored + 3);
}

#[test]
fn half_written_block_directories_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(0);
    let tmp = dir.path().join("000000000036ee8000000000.tmp");
    let no_meta = dir.path().join("000000000036ee8000000001");
    let foreign = dir.path().join("not-a-block");
    for d in [&tmp, &no_meta, &foreign] {
        fs::create_dir_all(d).unwrap();
        fs::write(d.join("chunks"), b"HSCHK\x02partial").unwrap();
    }
    let db = open_with(dir.path(), &clock, &Faults::default(), FsyncPolicy::Never);
    assert!(!tmp.exists(), "a *.tmp block is removed");
    assert!(
        !no_meta.exists(),
        "a block directory without meta.json is removed"
    );
    assert!(foreign.exists(), "directories that are not blocks stay");
    assert_eq!(db.stats().blocks, 0);
}
