//! The write-ahead log: every accepted sample is written here before the
//! head changes, so a restart rebuilds the head by replaying it.
//!
//! Truncation after a head cut: the writer rolls to a fresh segment, writes a
//! series record for every series still in the head (a checkpoint of the
//! series, not of samples), then deletes the older segments whose newest
//! sample is already persisted in a block. Replay therefore reads series
//! records from all segments before any samples (two passes), and skips
//! samples older than the newest block.

mod record;
mod segment;

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use homeostat_model::{Labels, Sample};
use parking_lot::Mutex;

pub(crate) use record::{TYPE_SAMPLES, TYPE_SERIES, encode_sample, encode_series, frame};
use record::{decode_samples, decode_series};
use segment::{HEADER_LEN, create_segment, list_segments, scan, segment_path};

use crate::{FsyncPolicy, TsdbError};

/// A closed segment kept on disk until its samples are all in blocks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SegmentInfo {
    pub seq: u64,
    pub bytes: u64,
    /// Newest sample timestamp in the segment (`i64::MIN` if none).
    pub max_t: i64,
}

#[derive(Debug)]
struct Writer {
    file: File,
    current: SegmentInfo,
    closed: Vec<SegmentInfo>,
    unsynced: bool,
}

#[derive(Debug)]
pub(crate) struct Wal {
    dir: PathBuf,
    policy: FsyncPolicy,
    segment_bytes: u64,
    writer: Mutex<Writer>,
}

impl Wal {
    /// Starts a new segment after the replayed ones; never appends to an old
    /// segment, whose tail may have been repaired.
    pub fn open(
        dir: &Path,
        replayed: Vec<SegmentInfo>,
        policy: FsyncPolicy,
        segment_bytes: u64,
    ) -> Result<Wal, TsdbError> {
        let seq = replayed.last().map_or(1, |s| s.seq + 1);
        let file = create_segment(dir, seq)?;
        Ok(Wal {
            dir: dir.to_path_buf(),
            policy,
            segment_bytes,
            writer: Mutex::new(Writer {
                file,
                current: SegmentInfo {
                    seq,
                    bytes: HEADER_LEN,
                    max_t: i64::MIN,
                },
                closed: replayed,
                unsynced: false,
            }),
        })
    }

    /// Writes framed records with one `write(2)`; returns once the bytes are
    /// in the OS page cache (and on disk with [`FsyncPolicy::Always`]).
    pub fn log(&self, buf: &[u8], max_t: i64) -> Result<(), TsdbError> {
        let mut w = self.writer.lock();
        if w.current.bytes + buf.len() as u64 > self.segment_bytes && w.current.bytes > HEADER_LEN {
            self.roll(&mut w)?;
        }
        let path = segment_path(&self.dir, w.current.seq);
        if let Err(e) = w.file.write_all(buf) {
            // Cut a partial record off again so later records do not follow garbage.
            let _ = w.file.set_len(w.current.bytes);
            return Err(TsdbError::io(path)(e));
        }
        w.current.bytes += buf.len() as u64;
        w.current.max_t = w.current.max_t.max(max_t);
        if self.policy == FsyncPolicy::Always {
            w.file.sync_data().map_err(TsdbError::io(&path))?;
        } else {
            w.unsynced = true;
        }
        Ok(())
    }

    fn roll(&self, w: &mut Writer) -> Result<(), TsdbError> {
        let path = segment_path(&self.dir, w.current.seq);
        w.file.sync_data().map_err(TsdbError::io(&path))?;
        let seq = w.current.seq + 1;
        w.file = create_segment(&self.dir, seq)?;
        let done = std::mem::replace(
            &mut w.current,
            SegmentInfo {
                seq,
                bytes: HEADER_LEN,
                max_t: i64::MIN,
            },
        );
        w.closed.push(done);
        w.unsynced = false;
        Ok(())
    }

    pub fn sync(&self) -> Result<(), TsdbError> {
        let mut w = self.writer.lock();
        if w.unsynced {
            let path = segment_path(&self.dir, w.current.seq);
            w.file.sync_data().map_err(TsdbError::io(path))?;
            w.unsynced = false;
        }
        Ok(())
    }

    /// Rolls to a new segment that starts with `series` (framed series
    /// records of every live series), then deletes closed segments whose
    /// samples are all older than `persisted_before`.
    pub fn truncate(
        &self,
        persisted_before: i64,
        series: impl FnOnce() -> Vec<u8>,
    ) -> Result<(), TsdbError> {
        let mut w = self.writer.lock();
        self.roll(&mut w)?;
        let records = series();
        if !records.is_empty() {
            let path = segment_path(&self.dir, w.current.seq);
            w.file.write_all(&records).map_err(TsdbError::io(&path))?;
            w.file.sync_data().map_err(TsdbError::io(&path))?;
            w.current.bytes += records.len() as u64;
        }
        let mut kept = Vec::new();
        for seg in std::mem::take(&mut w.closed) {
            if seg.max_t < persisted_before {
                let path = segment_path(&self.dir, seg.seq);
                fs::remove_file(&path).map_err(TsdbError::io(&path))?;
                tracing::debug!(segment = seg.seq, "deleted wal segment");
            } else {
                kept.push(seg);
            }
        }
        w.closed = kept;
        Ok(())
    }

    pub fn bytes(&self) -> u64 {
        let w = self.writer.lock();
        w.current.bytes + w.closed.iter().map(|s| s.bytes).sum::<u64>()
    }
}

/// What replay found in the WAL, delivered in log order.
pub(crate) trait ReplaySink {
    fn series(&mut self, id: u64, labels: Labels);
    fn sample(&mut self, id: u64, sample: Sample);
}

/// Replays every segment in `dir` into `sink`: first all series records,
/// then all samples. A damaged tail of the newest segment (a write torn by a
/// crash) is cut off with a warning; damage anywhere else is an error.
pub(crate) fn replay(
    dir: &Path,
    sink: &mut impl ReplaySink,
) -> Result<Vec<SegmentInfo>, TsdbError> {
    let seqs = list_segments(dir)?;
    let mut infos = Vec::with_capacity(seqs.len());
    for (i, &seq) in seqs.iter().enumerate() {
        let path = segment_path(dir, seq);
        let data = fs::read(&path).map_err(TsdbError::io(&path))?;
        let s = scan(&data);
        let mut bytes = data.len() as u64;
        if let Some((offset, detail)) = s.error {
            if i + 1 < seqs.len() {
                return Err(TsdbError::Corrupt {
                    path,
                    offset,
                    detail,
                });
            }
            tracing::warn!(segment = %path.display(), offset, %detail, "truncating torn wal tail");
            if offset < HEADER_LEN {
                fs::remove_file(&path).map_err(TsdbError::io(&path))?;
                continue;
            }
            let f = fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(TsdbError::io(&path))?;
            f.set_len(offset).map_err(TsdbError::io(&path))?;
            f.sync_all().map_err(TsdbError::io(&path))?;
            bytes = offset;
        }
        let mut max_t = i64::MIN;
        for r in &s.records {
            let corrupt = |detail| TsdbError::Corrupt {
                path: path.clone(),
                offset: r.offset,
                detail,
            };
            match r.typ {
                TYPE_SERIES => {
                    for (id, labels) in decode_series(r.payload).map_err(corrupt)? {
                        sink.series(id, labels);
                    }
                }
                _ => {
                    for (_, s) in decode_samples(r.payload).map_err(corrupt)? {
                        max_t = max_t.max(s.t);
                    }
                }
            }
        }
        infos.push(SegmentInfo { seq, bytes, max_t });
    }
    for info in &infos {
        let path = segment_path(dir, info.seq);
        let data = fs::read(&path).map_err(TsdbError::io(&path))?;
        for r in scan(&data).records.iter().filter(|r| r.typ == TYPE_SAMPLES) {
            let samples = decode_samples(r.payload).map_err(|detail| TsdbError::Corrupt {
                path: path.clone(),
                offset: r.offset,
                detail,
            })?;
            for (id, s) in samples {
                sink.sample(id, s);
            }
        }
    }
    Ok(infos)
}
