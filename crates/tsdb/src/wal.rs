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

use crate::TsdbError;
use crate::options::FsyncPolicy;
use record::Record;

pub const SEGMENT_MAGIC: &[u8; 5] = b"HSWAL";
pub const FORMAT_VERSION: u8 = 1;
const HEADER: [u8; 8] = [b'H', b'S', b'W', b'A', b'L', FORMAT_VERSION, 0, 0];

pub struct Wal {
    dir: PathBuf,
    segment: u64,
    file: File,
    segment_bytes: u64,
    max_segment_bytes: u64,
    policy: FsyncPolicy,
    dirty: bool,
    pub fsyncs: u64,
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
        if tolerate_torn_tail {
            tracing::warn!(segment = %path.display(), "wal segment header incomplete, rewriting it");
            fs::write(path, HEADER).map_err(|e| TsdbError::io(path, e))?;
            return Ok(());
        }
        return Err(corrupt(0, "segment shorter than its header".into()));
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
        let wal = Self::open_with(dir, policy, max_segment_bytes, |r| records.push(r))?;
        Ok((wal, records))
    }

    /// Opens the WAL in `dir`, handing every record to `replay` in log order
    /// with only one segment decoded in memory at a time.
    pub fn open_with(
        dir: &Path,
        policy: FsyncPolicy,
        max_segment_bytes: u64,
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
        let next = segments.last().copied().unwrap_or(after) + 1;
        let mut wal = Wal {
            dir: dir.to_path_buf(),
            segment: next,
            file: Self::create_segment(dir, next)?,
            segment_bytes: HEADER.len() as u64,
            max_segment_bytes,
            policy,
            dirty: false,
            fsyncs: 0,
        };
        wal.sync()?;
        Ok(wal)
    }

    fn create_segment(dir: &Path, n: u64) -> Result<File, TsdbError> {
        let path = dir.join(segment_name(n));
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(|e| TsdbError::io(&path, e))?;
        f.write_all(&HEADER).map_err(|e| TsdbError::io(&path, e))?;
        f.sync_all().map_err(|e| TsdbError::io(&path, e))?;
        sync_dir(dir)?;
        Ok(f)
    }

    /// Writes already framed records. Returns once the bytes are handed to the
    /// OS (and fsynced under [`FsyncPolicy::Always`]).
    pub fn write(&mut self, framed: &[u8]) -> Result<(), TsdbError> {
        if framed.is_empty() {
            return Ok(());
        }
        if self.segment_bytes + framed.len() as u64 > self.max_segment_bytes
            && self.segment_bytes > HEADER.len() as u64
        {
            self.roll()?;
        }
        let path = self.dir.join(segment_name(self.segment));
        if let Err(e) = self.file.write_all(framed) {
            // Cut a partial record off again: anything written after it would
            // otherwise be lost when replay repairs the torn tail.
            let end = self.segment_bytes;
            let rewound = self
                .file
                .set_len(end)
                .and_then(|()| self.file.seek(SeekFrom::Start(end)));
            if let Err(e2) = rewound {
                tracing::error!(segment = %path.display(), error = %e2, "could not cut a failed wal write");
            }
            return Err(TsdbError::io(&path, e));
        }
        self.segment_bytes += framed.len() as u64;
        self.dirty = true;
        if self.policy == FsyncPolicy::Always {
            self.sync()?;
        }
        Ok(())
    }

    pub fn sync(&mut self) -> Result<(), TsdbError> {
        if self.dirty {
            let path = self.dir.join(segment_name(self.segment));
            self.file.sync_data().map_err(|e| TsdbError::io(&path, e))?;
            self.fsyncs += 1;
            self.dirty = false;
        }
        Ok(())
    }

    /// Closes the current segment and starts the next; returns the closed one's number.
    pub fn roll(&mut self) -> Result<u64, TsdbError> {
        self.dirty = true;
        self.sync()?;
        let closed = self.segment;
        self.segment += 1;
        self.file = Self::create_segment(&self.dir, self.segment)?;
        self.segment_bytes = HEADER.len() as u64;
        Ok(closed)
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
        let mut f = File::create(&seg).map_err(|e| TsdbError::io(&seg, e))?;
        f.write_all(&HEADER)
            .and_then(|_| f.write_all(framed))
            .map_err(|e| TsdbError::io(&seg, e))?;
        f.sync_all().map_err(|e| TsdbError::io(&seg, e))?;
        sync_dir(&tmp)?;
        fs::rename(&tmp, &final_dir).map_err(|e| TsdbError::io(&final_dir, e))?;
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
