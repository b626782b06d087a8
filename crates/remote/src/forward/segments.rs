//! The forwarding queue on disk: numbered segment files of CRC-framed
//! records, and the persisted read position.
//!
//! A record is `len u32 | crc32 u32 | samples u32 | payload` (little endian);
//! the CRC covers the sample count and the payload, a remote-write body
//! (snappy protobuf) of the appended batch. Records are written with one
//! write(2) each, so an accepted batch survives a kill of the process; a
//! torn record at the tail (power loss mid-write) is cut off on open.
//! Writing always starts a fresh segment after open, so the reader never
//! races a writer that is extending a segment it recovered.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const HEADER: usize = 12;
/// A single record larger than this is refused as corrupt on read; appends
/// never produce one (batches are split by the callers' request limits).
const MAX_RECORD: u32 = 256 << 20;

/// Where the sender is: the next unread byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Cursor {
    pub seg: u64,
    pub off: u64,
}

/// One record read back.
pub(crate) struct Record {
    pub samples: u32,
    pub payload: Vec<u8>,
}

pub(crate) fn seg_path(dir: &Path, seg: u64) -> PathBuf {
    dir.join(format!("{seg:016}.seg"))
}

fn position_path(dir: &Path) -> PathBuf {
    dir.join("position")
}

/// Segment numbers present in `dir`, ascending.
pub(crate) fn list(dir: &Path) -> io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        let name = e?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name.strip_suffix(".seg").and_then(|s| s.parse().ok()) {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

pub(crate) fn encode_record(samples: u32, payload: &[u8]) -> Vec<u8> {
    let mut h = crc32fast::Hasher::new();
    h.update(&samples.to_le_bytes());
    h.update(payload);
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(&samples.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Reads the record at the reader's position; `None` at a clean end, an
/// `InvalidData` error for a torn or corrupt record.
fn read_record(r: &mut impl Read) -> io::Result<Option<Record>> {
    let mut head = [0u8; HEADER];
    let mut got = 0;
    while got < HEADER {
        let n = r.read(&mut head[got..])?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(io::Error::new(io::ErrorKind::InvalidData, "torn header"))
            };
        }
        got += n;
    }
    let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let (len, crc, samples) = (word(0), word(4), word(8));
    if len > MAX_RECORD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "record too long",
        ));
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "torn payload"))?;
    let mut h = crc32fast::Hasher::new();
    h.update(&samples.to_le_bytes());
    h.update(&payload);
    if h.finalize() != crc {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "checksum mismatch",
        ));
    }
    Ok(Some(Record { samples, payload }))
}

/// Scans a segment: the length of its valid prefix and the samples in
/// records at or after `from`.
pub(crate) fn scan(path: &Path, from: u64) -> io::Result<(u64, u64)> {
    let mut r = io::BufReader::new(File::open(path)?);
    let (mut valid, mut samples) = (0u64, 0u64);
    loop {
        match read_record(&mut r) {
            Ok(Some(rec)) => {
                if valid >= from {
                    samples += u64::from(rec.samples);
                }
                valid += (HEADER + rec.payload.len()) as u64;
            }
            Ok(None) => return Ok((valid, samples)),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => return Ok((valid, samples)),
            Err(e) => return Err(e),
        }
    }
}

/// Reads records from `at` in segment `at.seg` up to byte `limit` (the
/// writer's committed length, or the file's end for a finished segment),
/// stopping once `max_samples` are collected. Returns the records and the
/// position after the last one.
pub(crate) fn read_from(
    dir: &Path,
    at: Cursor,
    limit: u64,
    max_samples: u64,
) -> io::Result<(Vec<Record>, Cursor)> {
    let mut f = File::open(seg_path(dir, at.seg))?;
    f.seek(SeekFrom::Start(at.off))?;
    let mut r = io::BufReader::new(f).take(limit.saturating_sub(at.off));
    let mut out = Vec::new();
    let mut pos = at;
    let mut samples = 0u64;
    while samples < max_samples {
        match read_record(&mut r) {
            Ok(Some(rec)) => {
                pos.off += (HEADER + rec.payload.len()) as u64;
                samples += u64::from(rec.samples);
                out.push(rec);
            }
            Ok(None) => break,
            // Cut off on open; only a concurrent truncation gets here. The
            // rest of the segment is unreadable, so the reader moves on.
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                pos.off = limit;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok((out, pos))
}

pub(crate) fn load_position(dir: &Path) -> io::Result<Option<Cursor>> {
    let text = match fs::read_to_string(position_path(dir)) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut it = text.split_whitespace().map(str::parse::<u64>);
    match (it.next(), it.next()) {
        (Some(Ok(seg)), Some(Ok(off))) => Ok(Some(Cursor { seg, off })),
        _ => Ok(None),
    }
}

/// Replaces the position file atomically (write + rename), so a crash
/// leaves the old or the new position, never a torn one.
pub(crate) fn store_position(dir: &Path, c: Cursor) -> io::Result<()> {
    let tmp = dir.join("position.tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(format!("{} {}\n", c.seg, c.off).as_bytes())?;
    drop(f);
    fs::rename(tmp, position_path(dir))
}

/// Opens a new, empty segment for appending.
pub(crate) fn create(dir: &Path, seg: u64) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(seg_path(dir, seg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_torn_tails_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = create(dir.path(), 1).unwrap();
        let a = encode_record(3, b"hello");
        let b = encode_record(2, b"world!");
        f.write_all(&a).unwrap();
        f.write_all(&b).unwrap();
        f.write_all(&encode_record(9, b"torn")[..10]).unwrap();
        let p = seg_path(dir.path(), 1);
        let (valid, samples) = scan(&p, 0).unwrap();
        assert_eq!(valid, (a.len() + b.len()) as u64);
        assert_eq!(samples, 5);
        assert_eq!(scan(&p, a.len() as u64).unwrap().1, 2);
        let (recs, pos) = read_from(dir.path(), Cursor { seg: 1, off: 0 }, valid, 1).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].payload, b"hello");
        assert_eq!(pos.off, a.len() as u64);
        let (recs, pos) = read_from(dir.path(), pos, valid, 100).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(pos.off, valid);
        assert_eq!(list(dir.path()).unwrap(), vec![1]);
        assert_eq!(load_position(dir.path()).unwrap(), None);
        store_position(dir.path(), Cursor { seg: 4, off: 7 }).unwrap();
        assert_eq!(
            load_position(dir.path()).unwrap(),
            Some(Cursor { seg: 4, off: 7 })
        );
    }
}
