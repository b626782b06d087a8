//! WAL segment files: `<wal dir>/<sequence, 8 digits>`, each starting with
//! a header (`HSWAL` magic + format version) followed by framed records.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::record::{RawRecord, parse_frame};
use crate::TsdbError;

pub(crate) const MAGIC: &[u8; 5] = b"HSWAL";
pub(crate) const VERSION: u8 = 1;
pub(crate) const HEADER_LEN: u64 = 8;

fn header() -> [u8; HEADER_LEN as usize] {
    [
        MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], MAGIC[4], VERSION, 0, 0,
    ]
}

pub(crate) fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:08}"))
}

/// Sequence numbers of the segments in `dir`, ascending; other files are ignored.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<u64>, TsdbError> {
    let mut seqs = Vec::new();
    for entry in fs::read_dir(dir).map_err(TsdbError::io(dir))? {
        let entry = entry.map_err(TsdbError::io(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.len() == 8
            && let Ok(seq) = name.parse::<u64>()
        {
            seqs.push(seq);
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

/// Creates a new segment with its header written and synced.
pub(crate) fn create_segment(dir: &Path, seq: u64) -> Result<File, TsdbError> {
    let path = segment_path(dir, seq);
    let mut f = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)
        .map_err(TsdbError::io(&path))?;
    f.write_all(&header()).map_err(TsdbError::io(&path))?;
    f.sync_all().map_err(TsdbError::io(&path))?;
    // Make the new file's directory entry durable too.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(f)
}

/// The valid records of a segment and, if scanning stopped early, where and why.
pub(crate) struct Scan<'a> {
    pub records: Vec<RawRecord<'a>>,
    pub error: Option<(u64, String)>,
}

/// Splits a segment's bytes into records, stopping at the first invalid one.
pub(crate) fn scan(data: &[u8]) -> Scan<'_> {
    let mut records = Vec::new();
    if data.len() < HEADER_LEN as usize {
        return Scan {
            records,
            error: Some((
                0,
                format!("truncated segment header ({} bytes)", data.len()),
            )),
        };
    }
    if &data[..5] != MAGIC {
        return Scan {
            records,
            error: Some((0, "bad segment magic".to_string())),
        };
    }
    if data[5] != VERSION {
        return Scan {
            records,
            error: Some((5, format!("unsupported wal format version {}", data[5]))),
        };
    }
    let mut off = HEADER_LEN as usize;
    while off < data.len() {
        match parse_frame(&data[off..]) {
            Ok((typ, payload, used)) => {
                records.push(RawRecord {
                    offset: off as u64,
                    typ,
                    payload,
                });
                off += used;
            }
            Err(e) => {
                return Scan {
                    records,
                    error: Some((off as u64, e)),
                };
            }
        }
    }
    Scan {
        records,
        error: None,
    }
}
