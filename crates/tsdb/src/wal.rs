//! The write-ahead log. Every accepted sample is written here (with
//! `write(2)`) before the head changes and before the append is acknowledged,
//! so it survives a crash of the process; fsync follows [`FsyncPolicy`].
//!
//! Layout under `<data>/wal/`: numbered segment files (`00000001`, …), each
//! starting with an 8-byte header (`HSWAL`, format version, two zero bytes),
//! then framed records (see `record.rs`). After the head is cut into a block,
//! a checkpoint directory `checkpoint.<n>` holds the live series and the
//! samples still in the head that were in segments `<= n`; those segments are
//! then deleted. Replay reads the newest checkpoint, then later segments.

pub mod record;

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::faults::{FaultPoint, Faults, is_out_of_space};
use crate::options::FsyncPolicy;
use crate::{TsdbError, WriteHealth};
use record::Record;

pub const SEGMENT_MAGIC: &[u8; 5] = b"HSWAL";
pub const FORMAT_VERSION: u8 = 1;
const HEADER: [u8; 8] = [b'H', b'S', b'W', b'A', b'L', FORMAT_VERSION, 0, 0];

pub struct Wal {
    dir: PathBuf,
    /// The segment being written, or (with no `file`) the last one on disk.
    segment: u64,
    /// `None` only when the WAL opened read-only (no space for a new segment).
    file: Option<File>,
    segment_bytes: u64,
    max_segment_bytes: u64,
    policy: FsyncPolicy,
    dirty: bool,
    pub fsyncs: u64,
    faults: Faults,
    health: WriteHealth,
}

/// How a WAL is written; `Wal::open` takes the defaults for the last two.
#[derive(Debug, Clone)]
pub struct WalOptions {
    pub policy: FsyncPolicy,
    pub max_segment_bytes: u64,
    pub faults: Faults,
    pub health: WriteHealth,
}

fn segment_name(n: u64) -> String {
    format!("{n:08}")
}

/// Segment numbers present in `dir`, ascending.
fn list_segments(dir: &Path) -> Result<Vec<u64>, TsdbError> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| TsdbError::io(dir, e))? {
        let e = e.map_err(|e| TsdbError::io(dir, e))?;
        if let Some(n) = e.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn latest_checkpoint(dir: &Path) -> Result<Option<(u64, PathBuf)>, TsdbError> {
    let mut best = None;
    for e in fs::read_dir(dir).map_err(|e| TsdbError::io(dir, e))? {
        let e = e.map_err(|e| TsdbError::io(dir, e))?;
        let name = e.file_name();
        let Some(s) = name.to_str() else { continue };
        if s.ends_with(".tmp") {
            // A checkpoint interrupted by a crash; its segments were not deleted.
            let _ = fs::remove_dir_all(e.path());
            continue;
        }
        if let Some(n) = s
            .strip_prefix("checkpoint.")
            .and_then(|n| n.parse::<u64>().ok())
            && best.as_ref().is_none_or(|(b, _)| n > *b)
        {
            best = Some((n, e.path()));
        }
    }
    Ok(best)
}

fn sync_dir(dir: &Path) -> Result<(), TsdbError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| TsdbError::io(dir, e))
}

/// Reads every record of one segment file. `tolerate_torn_tail`: a record cut
/// short at the very end (a crash mid-write) is dropped and the file truncated
/// to the last whole record; anywhere else it is corruption.
fn read_segment(
    path: &Path,
    tolerate_torn_tail: bool,
    out: &mut Vec<Record>,
) -> Result<(), TsdbError> {
    let data = fs::read(path).map_err(|e| TsdbError::io(path, e))?;
    let corrupt = |offset: usize, detail: String| TsdbError::Corrupt {
        path: path.display().to_string(),
        offset: offset as u64,
        detail,
    };
    if data.len() < HEADER.len() {
        // No record fits before the header ends, so nothing is lost by
        // removing it (a crash or a full disk while creating the segment).
        // Removing rather than rewriting the header works on a full disk too.
        tracing::warn!(segment = %path.display(), bytes = data.len(), "removing a wal segment shorter than its header (created by a crash or on a full disk)");
        fs::remove_file(path).map_err(|e| TsdbError::io(path, e))?;
        return Ok(());
    }
    if &data[..5] != SEGMENT_MAGIC {
        return Err(corrupt(0, "not a homeostat wal segment (bad magic)".into()));
    }
    if data[5] != FORMAT_VERSION {
        return Err(corrupt(
            5,
            format!("unsupported wal format version {}", data[5]),
        ));
    }
    let mut off = HEADER.len();
    while off < data.len() {
        match record::decode(&data[off..]) {
            Ok((rec, n)) => {
                out.push(rec);
                off += n;
            }
            Err(e) => {
                // In the newest segment nothing valid can follow a write torn
                // by a crash (appends are sequential and we never reopen an old
                // segment for writing), so whatever follows the first bad
                // record is the torn write plus leftovers: cut it off.
                if tolerate_torn_tail {
                    tracing::warn!(
                        segment = %path.display(), offset = off, dropped_bytes = data.len() - off,
                        "wal ends in a torn record (crash during write); truncating it"
                    );
                    let f = OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(|e| TsdbError::io(path, e))?;
                    f.set_len(off as u64).map_err(|e| TsdbError::io(path, e))?;
                    f.sync_all().map_err(|e| TsdbError::io(path, e))?;
                    return Ok(());
                }
                return Err(corrupt(off, format!("{e:?}")));
            }
        }
    }
    Ok(())
}

impl Wal {
    /// Opens the WAL in `dir`, returning it with every record to replay, in order.
    pub fn open(
        dir: &Path,
        policy: FsyncPolicy,
        max_segment_bytes: u64,
    ) -> Result<(Wal, Vec<Record>), TsdbError> {
        let mut records = Vec::new();
        let opts = WalOptions {
            policy,
            max_segment_bytes,
            faults: Faults::default(),
            health: WriteHealth::default(),
        };
        let wal = Self::open_with(dir, opts, |r| records.push(r))?;
        Ok((wal, records))
    }

    /// Opens the WAL in `dir`, handing every record to `replay` in log order
    /// with only one segment decoded in memory at a time.
    /// Without space for a fresh segment it opens read-only (see
    /// [`crate::WriteState::ReadOnly`]) instead of failing, so the store
    /// still serves what it has.
    pub fn open_with(
        dir: &Path,
        opts: WalOptions,
        mut replay: impl FnMut(Record),
    ) -> Result<Wal, TsdbError> {
        fs::create_dir_all(dir).map_err(|e| TsdbError::io(dir, e))?;
        let mut records = Vec::new();
        let checkpoint = latest_checkpoint(dir)?;
        let after = match &checkpoint {
            Some((n, path)) => {
                for seg in list_segments(path)? {
                    read_segment(&path.join(segment_name(seg)), false, &mut records)?;
                    records.drain(..).for_each(&mut replay);
                }
                *n
            }
            None => 0,
        };
        let segments: Vec<u64> = list_segments(dir)?
            .into_iter()
            .filter(|&s| s > after)
            .collect();
        for (i, seg) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            read_segment(&dir.join(segment_name(*seg)), last, &mut records)?;
            records.drain(..).for_each(&mut replay);
        }
        // Always start a fresh segment: the old tail may have been truncated.
        let last = segments.last().copied().unwrap_or(after);
        let mut wal = Wal {
            dir: dir.to_path_buf(),
            segment: last,
            file: None,
            segment_bytes: HEADER.len() as u64,
            max_segment_bytes: opts.max_segment_bytes,
            policy: opts.policy,
            dirty: false,
            fsyncs: 0,
            faults: opts.faults,
            health: opts.health,
        };
        match wal.start_segment() {
            Ok(()) => {}
            Err((e, true)) => wal.health.read_only(wal.out_of_space(&e)),
            Err((e, false)) => return Err(e),
        }
        Ok(wal)
    }

    /// What a full disk under this WAL means for the operator.
    fn out_of_space(&self, e: &TsdbError) -> String {
        format!(
            "no space left on device in {} ({e}); free space there or shorten storage.retention, and writes resume on their own",
            self.dir.display()
        )
    }

    /// Creates segment `self.segment + 1` and makes it current. On failure
    /// nothing changes, no partial file stays behind, and the flag says
    /// whether the disk was full.
    fn start_segment(&mut self) -> Result<(), (TsdbError, bool)> {
        let n = self.segment + 1;
        let f = Self::create_segment(&self.dir, n, &self.faults)?;
        self.file = Some(f);
        self.segment = n;
        self.segment_bytes = HEADER.len() as u64;
        Ok(())
    }

    fn create_segment(dir: &Path, n: u64, faults: &Faults) -> Result<File, (TsdbError, bool)> {
        let path = dir.join(segment_name(n));
        let fail = |e: std::io::Error| {
            let full = is_out_of_space(&e);
            (TsdbError::io(&path, e), full)
        };
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(fail)?;
        let written = faults
            .check(FaultPoint::WalCreate)
            .and_then(|()| f.write_all(&HEADER))
            .and_then(|()| f.sync_all());
        if let Err(e) = written {
            // An empty segment would be replayed as damage once later segments
            // follow it; remove it while we still know it holds nothing.
            drop(f);
            if let Err(e2) = fs::remove_file(&path) {
                tracing::error!(segment = %path.display(), error = %e2, "could not remove a wal segment whose creation failed");
            }
            return Err(fail(e));
        }
        sync_dir(dir).map_err(|e| (e, false))?;
        Ok(f)
    }

    /// Writes already framed records. Returns once the bytes are handed to the
    /// OS (and fsynced under [`FsyncPolicy::Always`]).
    /// An error answers the append, and the store stops taking writes:
    /// read-only when the disk is full, failed for any other error.
    pub fn write(&mut self, framed: &[u8]) -> Result<(), TsdbError> {
        self.health.check()?;
        if framed.is_empty() {
            return Ok(());
        }
        if self.segment_bytes + framed.len() as u64 > self.max_segment_bytes
            && self.segment_bytes > HEADER.len() as u64
            && let Err(e) = self.roll()
        {
            // An oversized segment is harmless; an fsync failure is not.
            self.health.check()?;
            tracing::warn!(error = %e, "could not start a new wal segment; the current one grows");
        }
        let path = self.dir.join(segment_name(self.segment));
        let Some(file) = self.file.as_mut() else {
            return Err(TsdbError::WriteFailed("the wal has no open segment".into()));
        };
        if let Err(e) = self
            .faults
            .check(FaultPoint::WalWrite)
            .and_then(|()| file.write_all(framed))
        {
            // Cut a partial record off again: anything written after it would
            // otherwise be lost when replay repairs the torn tail.
            let end = self.segment_bytes;
            let rewound = file
                .set_len(end)
                .and_then(|()| file.seek(SeekFrom::Start(end)));
            let err = TsdbError::io(&path, e);
            match rewound {
                Err(e2) => self.health.failed(format!(
                    "{err}, and cutting the partial record failed: {e2}; a restart replays the wal up to the last whole record"
                )),
                Ok(_) if matches!(&err, TsdbError::Io { source, .. } if is_out_of_space(source)) => {
                    self.health.read_only(self.out_of_space(&err))
                }
                Ok(_) => self.health.failed(format!(
                    "wal write failed: {err}; writes are refused until a restart replays and re-verifies the wal"
                )),
            }
            self.health.check()?;
            return Err(err);
        }
        self.segment_bytes += framed.len() as u64;
        self.dirty = true;
        if self.policy == FsyncPolicy::Always {
            self.sync()?;
        }
        Ok(())
    }

    /// After a failed fsync the kernel may have dropped the dirty pages and
    /// a second fsync would report success for data that is gone (the
    /// lesson PostgreSQL learnt in 2018), so a failure is final: the store
    /// refuses writes until a restart replays the WAL from disk.
    pub fn sync(&mut self) -> Result<(), TsdbError> {
        if matches!(self.health.get(), crate::WriteState::Failed(_)) {
            return Ok(()); // reported once when it happened
        }
        let Some(file) = self.file.as_ref() else {
            return Ok(());
        };
        if self.dirty {
            let path = self.dir.join(segment_name(self.segment));
            if let Err(e) = self
                .faults
                .check(FaultPoint::WalFsync)
                .and_then(|()| file.sync_data())
            {
                let err = TsdbError::io(&path, e);
                self.health.failed(format!(
                    "wal fsync failed: {err}; acknowledged samples may not be on disk, so writes are refused until a restart replays and re-verifies the wal"
                ));
                return self.health.check();
            }
            self.fsyncs += 1;
            self.dirty = false;
        }
        Ok(())
    }

    /// Closes the current segment and starts the next; returns the closed
    /// one's number. When it fails the current segment stays in use. A
    /// read-only WAL becomes writable again here: the old segment is on
    /// disk and a new one could be created.
    pub fn roll(&mut self) -> Result<u64, TsdbError> {
        if let crate::WriteState::Failed(why) = self.health.get() {
            return Err(TsdbError::WriteFailed(why));
        }
        self.dirty = self.file.is_some();
        self.sync()?;
        let closed = self.segment;
        self.start_segment().map_err(|(e, _)| e)?;
        self.health.resumed();
        Ok(closed)
    }

    /// Tries to leave the read-only state (a no-op otherwise).
    pub fn try_resume(&mut self) -> Result<(), TsdbError> {
        if let crate::WriteState::ReadOnly(_) = self.health.get() {
            self.roll()?;
        }
        Ok(())
    }

    /// Replaces segments `<= upto` (and older checkpoints) with a checkpoint
    /// holding `framed` records. The checkpoint is complete on disk before
    /// anything is deleted, so a crash at any point loses nothing.
    pub fn checkpoint(dir: &Path, upto: u64, framed: &[u8]) -> Result<(), TsdbError> {
        let final_dir = dir.join(format!("checkpoint.{upto:08}"));
        let tmp = dir.join(format!("checkpoint.{upto:08}.tmp"));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).map_err(|e| TsdbError::io(&tmp, e))?;
        let seg = tmp.join(segment_name(0));
        let written = File::create(&seg)
            .and_then(|mut f| {
                f.write_all(&HEADER)?;
                f.write_all(framed)?;
                f.sync_all()
            })
            .map_err(|e| TsdbError::io(&seg, e))
            .and_then(|()| sync_dir(&tmp))
            .and_then(|()| fs::rename(&tmp, &final_dir).map_err(|e| TsdbError::io(&final_dir, e)));
        if let Err(e) = written {
            // Free the space now; the segments it would replace are still there.
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        sync_dir(dir)?;
        for seg in list_segments(dir)? {
            if seg <= upto {
                let p = dir.join(segment_name(seg));
                fs::remove_file(&p).map_err(|e| TsdbError::io(&p, e))?;
            }
        }
        for e in fs::read_dir(dir)
            .map_err(|e| TsdbError::io(dir, e))?
            .flatten()
        {
            let name = e.file_name();
            if let Some(n) = name
                .to_str()
                .and_then(|s| s.strip_prefix("checkpoint."))
                .and_then(|n| n.parse::<u64>().ok())
                && n < upto
            {
                let _ = fs::remove_dir_all(e.path());
            }
        }
        sync_dir(dir)
    }

    /// Visits the records of the latest checkpoint and of segments `<= upto`
    /// (all closed), one segment in memory at a time.
    pub fn for_each_record_upto(
        dir: &Path,
        upto: u64,
        mut f: impl FnMut(Record),
    ) -> Result<(), TsdbError> {
        let mut paths = Vec::new();
        let after = match latest_checkpoint(dir)? {
            Some((n, cp)) => {
                for seg in list_segments(&cp)? {
                    paths.push(cp.join(segment_name(seg)));
                }
                n
            }
            None => 0,
        };
        for seg in list_segments(dir)? {
            if seg > after && seg <= upto {
                paths.push(dir.join(segment_name(seg)));
            }
        }
        for p in paths {
            let mut recs = Vec::new();
            read_segment(&p, false, &mut recs)?;
            recs.into_iter().for_each(&mut f);
        }
        Ok(())
    }

    /// Total bytes of segments and checkpoints on disk.
    pub fn size_bytes(&self) -> u64 {
        fn walk(p: &Path) -> u64 {
            fs::read_dir(p)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| match e.metadata() {
                            Ok(m) if m.is_dir() => walk(&e.path()),
                            Ok(m) => m.len(),
                            Err(_) => 0,
                        })
                        .sum()
                })
                .unwrap_or(0)
        }
        walk(&self.dir)
    }

    pub fn segment_count(&self) -> u64 {
        list_segments(&self.dir)
            .map(|s| s.len() as u64)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use homeostat_model::Labels;

    use super::*;

    fn write_some(wal: &mut Wal, id: u64, t: i64) {
        let l = Labels::from_pairs(&[("__name__", "m"), ("i", &id.to_string())]);
        let mut buf = Vec::new();
        record::encode_series(&mut buf, &[(id, &l)]);
        record::encode_samples(&mut buf, &[(id, t, 1.0)]);
        wal.write(&buf).unwrap();
    }

    #[test]
    fn replays_and_truncates_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut wal, recs) = Wal::open(dir.path(), FsyncPolicy::Never, 1 << 20).unwrap();
            assert!(recs.is_empty());
            write_some(&mut wal, 1, 10);
            write_some(&mut wal, 2, 20);
        }
        // Simulate a crash mid-write: chop the last record.
        let seg = dir.path().join(segment_name(1));
        let len = fs::metadata(&seg).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(len - 5)
            .unwrap();
        let (mut wal, recs) = Wal::open(dir.path(), FsyncPolicy::Never, 1 << 20).unwrap();
        assert_eq!(
            recs.len(),
            3,
            "the torn samples record is dropped, everything before stays"
        );
        write_some(&mut wal, 3, 30);
        drop(wal);
        let (_, recs) = Wal::open(dir.path(), FsyncPolicy::Never, 1 << 20).unwrap();
        assert_eq!(recs.len(), 5);
    }

    #[test]
    fn garbage_appended_at_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut wal, _) = Wal::open(dir.path(), FsyncPolicy::Always, 1 << 20).unwrap();
            write_some(&mut wal, 1, 10);
        }
        let seg = dir.path().join(segment_name(1));
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[0x10, 0, 0, 0, 1, 2, 3, 4, 2, 9, 9]).unwrap();
        drop(f);
        let (_, recs) = Wal::open(dir.path(), FsyncPolicy::Never, 1 << 20).unwrap();
        assert_eq!(recs.len(), 2);
    }

    #[test]
    fn corruption_in_an_older_segment_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut wal, _) = Wal::open(dir.path(), FsyncPolicy::Never, 1 << 20).unwrap();
            write_some(&mut wal, 1, 10);
            wal.roll().unwrap();
            write_some(&mut wal, 2, 20);
        }
        let seg = dir.path().join(segment_name(1));
        let mut data = fs::read(&seg).unwrap();
        data[12] ^= 0xff;
        fs::write(&seg, data).unwrap();
        let err = Wal::open(dir.path(), FsyncPolicy::Never, 1 << 20)
            .err()
            .unwrap();
        assert!(err.to_string().contains("00000001"), "{err}");
    }

    #[test]
    fn checkpoint_replaces_old_segments() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path(), FsyncPolicy::Never, 1 << 20).unwrap();
        write_some(&mut wal, 1, 10);
        let closed = wal.roll().unwrap();
        write_some(&mut wal, 2, 20);
        let mut keep = Vec::new();
        let l = Labels::from_pairs(&[("__name__", "m"), ("i", "1")]);
        record::encode_series(&mut keep, &[(1, &l)]);
        Wal::checkpoint(dir.path(), closed, &keep).unwrap();
        drop(wal);
        let (_, recs) = Wal::open(dir.path(), FsyncPolicy::Never, 1 << 20).unwrap();
        assert_eq!(recs.len(), 3, "checkpoint series + segment 2's two records");
        assert!(!dir.path().join(segment_name(1)).exists());
    }
}
