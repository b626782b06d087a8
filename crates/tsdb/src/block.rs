//! Immutable on-disk blocks. A block covers `[min_time, max_time)` and lives
//! in `<data>/<id>/`:
//! - `meta.json`: [`BlockMeta`], with a format `version` (2).
//! - `chunks`: header `HSCHK` + version byte, then per chunk
//!   `u32 len | u32 crc32 | bytes` (little endian; bytes as in [`crate::chunk`]).
//! - `index`: header `HSIDX` + version byte, then LEB128 varints: the sorted
//!   symbol table (count, then length + UTF-8 bytes each), the series count,
//!   each series as label (name, value) symbol refs and its chunk refs
//!   (min time as a zig-zag delta from the previous chunk's max time, max
//!   minus min, offset gap after the previous chunk, length), and a crc32 of
//!   everything before it. Postings are rebuilt in memory when the block is
//!   opened; in memory series keep symbol refs, not strings.
//!
//! Blocks are written to `<id>.tmp` and renamed, so a crash never leaves a
//! partial block behind. Chunk bytes are read on demand with positional reads.
//! `tests/fixtures/block-v2` pins the format (see `tests/it/block_format.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use homeostat_model::{Label, Labels, Sample, TimeSeries};
use homeostat_storage::{Matcher, SelectRequest, StorageError};
use serde::{Deserialize, Serialize};

use crate::TsdbError;
use crate::chunk::{self, MAX_SAMPLES_PER_CHUNK, XorEncoder};
use crate::faults::{FaultPoint, Faults};
use crate::head::postings::Postings;
use crate::varint::{self, VarintError, put_uvarint, unzigzag, zigzag};

/// Version 2: 4-bit first delta-of-delta bucket and integer value deltas in
/// chunks, varint index.
pub const BLOCK_FORMAT_VERSION: u32 = 2;
const CHUNKS_MAGIC: &[u8; 6] = b"HSCHK\x02";
const INDEX_MAGIC: &[u8; 6] = b"HSIDX\x02";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockMeta {
    pub id: String,
    pub min_time: i64,
    /// Exclusive.
    pub max_time: i64,
    pub num_series: u64,
    pub num_samples: u64,
    pub num_chunks: u64,
    pub level: u32,
    pub sources: Vec<String>,
    pub version: u32,
}

#[derive(Debug, Clone)]
pub struct ChunkRef {
    pub min_t: i64,
    pub max_t: i64,
    offset: u64,
    len: u32,
}

#[derive(Debug)]
struct BlockSeries {
    /// (name, value) refs into [`Block::symbols`]: label strings are stored
    /// once per block, not once per series.
    labels: Box<[(u32, u32)]>,
    chunks: Vec<ChunkRef>,
}

/// An opened block: index in memory, chunk bytes read on demand.
#[derive(Debug)]
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    symbols: Vec<String>,
    series: Vec<BlockSeries>,
    postings: Postings,
    chunks: File,
    size: u64,
}

/// A sortable unique id: the block's start time, then the first sequence
/// number with no block (or half-written block) of that name under `parent`.
/// Derived from the data and the directory, never from the wall clock.
fn new_block_id(parent: &Path, min_time: i64) -> String {
    let mut seq = 0u32;
    loop {
        let id = format!("{:016x}{seq:08x}", min_time.max(0));
        if !parent.join(&id).exists() && !parent.join(format!("{id}.tmp")).exists() {
            return id;
        }
        seq += 1;
    }
}

fn corrupt(path: &Path, offset: u64, detail: impl Into<String>) -> TsdbError {
    TsdbError::Corrupt {
        path: path.display().to_string(),
        offset,
        detail: detail.into(),
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Encodes samples into chunks of at most [`MAX_SAMPLES_PER_CHUNK`].
pub fn encode_chunks(samples: &[Sample]) -> Vec<(i64, i64, Vec<u8>)> {
    samples
        .chunks(MAX_SAMPLES_PER_CHUNK)
        .map(|part| {
            let mut e = XorEncoder::new();
            for s in part {
                e.append(s.t, s.v);
            }
            (e.min_time(), e.max_time(), e.finish())
        })
        .collect()
}

/// Writes a block of `series` (sorted by labels, samples in time order and
/// inside `[min_time, max_time)`) under `parent`. Returns its meta.
pub fn write_block(
    parent: &Path,
    min_time: i64,
    max_time: i64,
    level: u32,
    sources: Vec<String>,
    series: impl Iterator<Item = TimeSeries>,
) -> Result<BlockMeta, TsdbError> {
    let span = (min_time, max_time, level);
    write_block_with(parent, span, sources, series, &Faults::default())
}

/// [`write_block`] with injectable failures; `span` is (min time, max
/// time, level). A failed write removes its temporary directory.
pub(crate) fn write_block_with(
    parent: &Path,
    (min_time, max_time, level): (i64, i64, u32),
    sources: Vec<String>,
    series: impl Iterator<Item = TimeSeries>,
    faults: &Faults,
) -> Result<BlockMeta, TsdbError> {
    let id = new_block_id(parent, min_time);
    let tmp = parent.join(format!("{id}.tmp"));
    let mut chunk_bytes: Vec<u8> = CHUNKS_MAGIC.to_vec();
    let mut symbols: BTreeMap<String, u32> = BTreeMap::new();
    let mut entries: Vec<(Labels, Vec<ChunkRef>)> = Vec::new();
    let (mut num_samples, mut num_chunks) = (0u64, 0u64);
    for ts in series {
        if ts.samples.is_empty() {
            continue;
        }
        num_samples += ts.samples.len() as u64;
        let mut refs = Vec::new();
        for (lo, hi, data) in encode_chunks(&ts.samples) {
            let offset = chunk_bytes.len() as u64;
            put_u32(&mut chunk_bytes, data.len() as u32);
            put_u32(&mut chunk_bytes, crc32fast::hash(&data));
            chunk_bytes.extend_from_slice(&data);
            refs.push(ChunkRef {
                min_t: lo,
                max_t: hi,
                offset,
                len: data.len() as u32,
            });
            num_chunks += 1;
        }
        for l in ts.labels.iter() {
            symbols.entry(l.name.clone()).or_insert(0);
            symbols.entry(l.value.clone()).or_insert(0);
        }
        entries.push((ts.labels, refs));
    }
    for (i, v) in symbols.values_mut().enumerate() {
        *v = i as u32;
    }
    // Varints and deltas keep the index near 60 bytes a series: chunk
    // times are stored relative to the previous chunk, offsets relative to
    // where the previous chunk ended (0 for the contiguous file we write).
    let mut index: Vec<u8> = INDEX_MAGIC.to_vec();
    put_uvarint(&mut index, symbols.len() as u64);
    for s in symbols.keys() {
        put_uvarint(&mut index, s.len() as u64);
        index.extend_from_slice(s.as_bytes());
    }
    put_uvarint(&mut index, entries.len() as u64);
    let mut prev_end = CHUNKS_MAGIC.len() as u64;
    for (labels, refs) in &entries {
        put_uvarint(&mut index, labels.len() as u64);
        for l in labels.iter() {
            put_uvarint(&mut index, u64::from(symbols[&l.name]));
            put_uvarint(&mut index, u64::from(symbols[&l.value]));
        }
        put_uvarint(&mut index, refs.len() as u64);
        let mut prev_t = 0i64;
        for r in refs {
            put_uvarint(&mut index, zigzag(r.min_t.wrapping_sub(prev_t)));
            put_uvarint(&mut index, zigzag(r.max_t.wrapping_sub(r.min_t)));
            put_uvarint(&mut index, r.offset - prev_end);
            put_uvarint(&mut index, u64::from(r.len));
            prev_t = r.max_t;
            prev_end = r.offset + 8 + u64::from(r.len);
        }
    }
    let crc = crc32fast::hash(&index);
    put_u32(&mut index, crc);
    let meta = BlockMeta {
        id: id.clone(),
        min_time,
        max_time,
        num_series: entries.len() as u64,
        num_samples,
        num_chunks,
        level,
        sources: if sources.is_empty() {
            vec![id.clone()]
        } else {
            sources
        },
        version: BLOCK_FORMAT_VERSION,
    };
    let meta_json =
        serde_json::to_vec_pretty(&meta).map_err(|e| corrupt(&tmp, 0, e.to_string()))?;
    let files = [
        ("chunks", &chunk_bytes),
        ("index", &index),
        ("meta.json", &meta_json),
    ];
    if let Err(e) = write_files(&tmp, &files, faults) {
        // A full disk is the usual cause: give the space back at once
        // rather than at the next start.
        if let Err(e2) = fs::remove_dir_all(&tmp) {
            tracing::error!(dir = %tmp.display(), error = %e2, "could not remove a half-written block");
        }
        return Err(e);
    }
    let dst = parent.join(&id);
    fs::rename(&tmp, &dst).map_err(|e| TsdbError::io(&dst, e))?;
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(|e| TsdbError::io(parent, e))?;
    Ok(meta)
}

/// Writes and fsyncs the files of a block in `tmp`, then `tmp` itself, so
/// the rename that publishes the block only ever exposes complete files.
fn write_files(tmp: &Path, files: &[(&str, &Vec<u8>)], faults: &Faults) -> Result<(), TsdbError> {
    fs::create_dir_all(tmp).map_err(|e| TsdbError::io(tmp, e))?;
    for (name, data) in files {
        let p = tmp.join(name);
        let mut f = File::create(&p).map_err(|e| TsdbError::io(&p, e))?;
        faults
            .check(FaultPoint::BlockWrite)
            .and_then(|()| f.write_all(data))
            .and_then(|_| f.sync_all())
            .map_err(|e| TsdbError::io(&p, e))?;
    }
    File::open(tmp)
        .and_then(|d| d.sync_all())
        .map_err(|e| TsdbError::io(tmp, e))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TsdbError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(corrupt(self.path, self.pos as u64, "index truncated"));
        };
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn uvarint(&mut self) -> Result<u64, TsdbError> {
        match varint::uvarint(&self.buf[self.pos..]) {
            Ok((v, n)) => {
                self.pos += n;
                Ok(v)
            }
            Err(VarintError::Truncated) => {
                Err(corrupt(self.path, self.buf.len() as u64, "index truncated"))
            }
            Err(VarintError::Overlong) => Err(corrupt(
                self.path,
                (self.pos + varint::MAX_LEN) as u64,
                "varint too long",
            )),
        }
    }
    fn count(&mut self) -> Result<usize, TsdbError> {
        let v = self.uvarint()?;
        // Every counted item takes at least one byte, so a larger count is
        // corrupt; this also bounds the allocations made from it.
        if v > (self.buf.len() - self.pos) as u64 {
            return Err(corrupt(
                self.path,
                self.pos as u64,
                "count exceeds index size",
            ));
        }
        Ok(v as usize)
    }
}

impl Block {
    pub fn open(dir: &Path) -> Result<Block, TsdbError> {
        let meta_path = dir.join("meta.json");
        let raw = fs::read(&meta_path).map_err(|e| TsdbError::io(&meta_path, e))?;
        let meta: BlockMeta =
            serde_json::from_slice(&raw).map_err(|e| corrupt(&meta_path, 0, e.to_string()))?;
        if meta.version != BLOCK_FORMAT_VERSION {
            return Err(corrupt(
                &meta_path,
                0,
                format!("unsupported block format version {}", meta.version),
            ));
        }
        let index_path = dir.join("index");
        let buf = fs::read(&index_path).map_err(|e| TsdbError::io(&index_path, e))?;
        if buf.len() < INDEX_MAGIC.len() + 4 || &buf[..INDEX_MAGIC.len()] != INDEX_MAGIC {
            return Err(corrupt(&index_path, 0, "bad index header"));
        }
        let (body, crc) = buf.split_at(buf.len() - 4);
        if crc32fast::hash(body) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
            return Err(corrupt(&index_path, 0, "index checksum mismatch"));
        }
        let mut r = Reader {
            buf: body,
            pos: INDEX_MAGIC.len(),
            path: &index_path,
        };
        let nsym = r.count()?;
        let mut symbols = Vec::with_capacity(nsym);
        for _ in 0..nsym {
            let n = r.count()?;
            let s = std::str::from_utf8(r.take(n)?)
                .map_err(|_| corrupt(&index_path, r.pos as u64, "symbol not UTF-8"))?;
            symbols.push(s.to_string());
        }
        let sym = |i: u64, pos: usize| {
            symbols
                .get(i as usize)
                .cloned()
                .ok_or_else(|| corrupt(&index_path, pos as u64, "symbol ref out of range"))
        };
        let nseries = r.count()?;
        let mut series = Vec::with_capacity(nseries);
        let mut prev_end = CHUNKS_MAGIC.len() as u64;
        let mut postings = Postings::default();
        for id in 0..nseries {
            let nl = r.count()?;
            let mut labels = Vec::with_capacity(nl);
            let mut refs = Vec::with_capacity(nl);
            for _ in 0..nl {
                let (n, v) = (r.uvarint()?, r.uvarint()?);
                // Both fit u32 once sym() has found them in the table.
                refs.push((n as u32, v as u32));
                labels.push(Label {
                    name: sym(n, r.pos)?,
                    value: sym(v, r.pos)?,
                });
            }
            let labels = Labels::new(labels)
                .map_err(|e| corrupt(&index_path, r.pos as u64, e.to_string()))?;
            // Labels::new sorts by name; keep the refs in the same order.
            refs.sort_by(|a, b| symbols[a.0 as usize].cmp(&symbols[b.0 as usize]));
            let refs = refs.into_boxed_slice();
            let nc = r.count()?;
            let mut chunks = Vec::with_capacity(nc);
            let mut prev_t = 0i64;
            for _ in 0..nc {
                let min_t = prev_t.wrapping_add(unzigzag(r.uvarint()?));
                let max_t = min_t.wrapping_add(unzigzag(r.uvarint()?));
                let offset = prev_end.checked_add(r.uvarint()?);
                let len = u32::try_from(r.uvarint()?).ok();
                let (Some(offset), Some(len)) = (offset, len) else {
                    return Err(corrupt(
                        &index_path,
                        r.pos as u64,
                        "chunk reference out of range",
                    ));
                };
                prev_end = offset.saturating_add(8 + u64::from(len));
                prev_t = max_t;
                chunks.push(ChunkRef {
                    min_t,
                    max_t,
                    offset,
                    len,
                });
            }
            postings.add(id as u64, &labels);
            series.push(BlockSeries {
                labels: refs,
                chunks,
            });
        }
        let chunks_path = dir.join("chunks");
        let chunks = File::open(&chunks_path).map_err(|e| TsdbError::io(&chunks_path, e))?;
        let mut magic = [0u8; 6];
        chunks
            .read_exact_at(&mut magic, 0)
            .map_err(|e| TsdbError::io(&chunks_path, e))?;
        if &magic != CHUNKS_MAGIC {
            return Err(corrupt(&chunks_path, 0, "bad chunks header"));
        }
        let size = ["chunks", "index", "meta.json"]
            .iter()
            .filter_map(|f| fs::metadata(dir.join(f)).ok())
            .map(|m| m.len())
            .sum();
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            symbols,
            series,
            postings,
            chunks,
            size,
        })
    }

    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn size_bytes(&self) -> u64 {
        self.size
    }

    fn labels(&self, i: usize) -> Labels {
        Labels::from_sorted_unchecked(
            self.series[i]
                .labels
                .iter()
                .map(|&(n, v)| Label {
                    name: self.symbols[n as usize].clone(),
                    value: self.symbols[v as usize].clone(),
                })
                .collect(),
        )
    }

    fn read_chunk(&self, c: &ChunkRef) -> Result<Vec<Sample>, TsdbError> {
        let path = self.dir.join("chunks");
        let mut buf = vec![0u8; 8 + c.len as usize];
        self.chunks
            .read_exact_at(&mut buf, c.offset)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    corrupt(&path, c.offset, "chunk past the end of the file")
                }
                _ => TsdbError::io(&path, e),
            })?;
        let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let data = &buf[8..];
        if crc32fast::hash(data) != crc {
            return Err(corrupt(&path, c.offset, "chunk checksum mismatch"));
        }
        chunk::decode_all(data).map_err(|e| corrupt(&path, c.offset, e.to_string()))
    }

    /// All samples of series `i` within `[mint, maxt]`.
    fn series_samples(&self, i: usize, mint: i64, maxt: i64) -> Result<Vec<Sample>, TsdbError> {
        let mut out = Vec::new();
        for c in self.series[i]
            .chunks
            .iter()
            .filter(|c| c.max_t >= mint && c.min_t <= maxt)
        {
            out.extend(
                self.read_chunk(c)?
                    .into_iter()
                    .filter(|s| s.t >= mint && s.t <= maxt),
            );
        }
        Ok(out)
    }

    pub fn select(&self, req: &SelectRequest) -> Result<Vec<TimeSeries>, TsdbError> {
        let mut out = Vec::new();
        let mut loaded = 0usize;
        for id in self.postings.select(&req.matchers) {
            let samples = self.series_samples(id as usize, req.mint, req.maxt)?;
            loaded += samples.len();
            if let Some(max) = req.max_samples
                && loaded > max
            {
                return Err(TsdbError::Storage(StorageError::LimitExceeded {
                    limit: "max_samples",
                    detail: format!("query would load more than {max} samples"),
                }));
            }
            if !samples.is_empty() {
                out.push(TimeSeries {
                    labels: self.labels(id as usize),
                    samples,
                });
            }
        }
        Ok(out)
    }

    pub fn series(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, TsdbError> {
        Ok(self
            .postings
            .select(matchers)
            .into_iter()
            .map(|id| id as usize)
            .filter(|&i| {
                self.series[i]
                    .chunks
                    .iter()
                    .any(|c| c.max_t >= mint && c.min_t <= maxt)
            })
            .map(|i| self.labels(i))
            .collect())
    }

    /// Label names of the series selected by `matchers` that have data in
    /// `[mint, maxt]`, sorted.
    pub fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, TsdbError> {
        let names: BTreeSet<String> = self
            .series(matchers, mint, maxt)?
            .iter()
            .flat_map(|l| l.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
            .collect();
        Ok(names.into_iter().collect())
    }

    /// Values of label `name` among the series selected by `matchers` that
    /// have data in `[mint, maxt]`, sorted.
    pub fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, TsdbError> {
        let values: BTreeSet<String> = self
            .series(matchers, mint, maxt)?
            .iter()
            .filter_map(|l| l.get(name).map(str::to_string))
            .collect();
        Ok(values.into_iter().collect())
    }

    /// Every series with all its samples, in label order (for compaction).
    pub fn all_series(&self) -> Result<Vec<TimeSeries>, TsdbError> {
        (0..self.series.len())
            .map(|i| {
                Ok(TimeSeries {
                    labels: self.labels(i),
                    samples: self.series_samples(i, i64::MIN, i64::MAX)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use homeostat_storage::MatchOp;

    fn series(n: usize, points: i64) -> Vec<TimeSeries> {
        let mut v: Vec<TimeSeries> = (0..n)
            .map(|i| TimeSeries {
                labels: Labels::from_pairs(&[
                    ("__name__", "m"),
                    ("i", &i.to_string()),
                    ("odd", if i % 2 == 1 { "y" } else { "" }),
                ]),
                samples: (0..points)
                    .map(|k| Sample::new(k * 10_000, (k * i as i64) as f64))
                    .collect(),
            })
            .collect();
        v.sort_by(|a, b| a.labels.cmp(&b.labels));
        v
    }

    #[test]
    fn write_open_select_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let input = series(20, 500);
        let meta = write_block(
            dir.path(),
            0,
            5_000_000,
            1,
            vec![],
            input.clone().into_iter(),
        )
        .unwrap();
        assert_eq!(meta.num_samples, 20 * 500);
        let b = Block::open(&dir.path().join(&meta.id)).unwrap();
        let all = b
            .select(&SelectRequest::new(vec![], i64::MIN, i64::MAX))
            .unwrap();
        assert_eq!(all, input);
        let odd = Matcher::new(MatchOp::Equal, "odd", "y").unwrap();
        let got = b
            .select(&SelectRequest::new(vec![odd], 10_000, 20_000))
            .unwrap();
        assert_eq!(got.len(), 10);
        assert!(got.iter().all(|s| s.samples.len() == 2));
        let mut limited = SelectRequest::new(vec![], i64::MIN, i64::MAX);
        limited.max_samples = Some(100);
        assert!(b.select(&limited).is_err());
    }

    #[test]
    fn corruption_is_reported_not_panicked() {
        let dir = tempfile::tempdir().unwrap();
        let meta = write_block(
            dir.path(),
            0,
            5_000_000,
            1,
            vec![],
            series(5, 200).into_iter(),
        )
        .unwrap();
        let bdir = dir.path().join(&meta.id);
        let idx = bdir.join("index");
        let mut data = fs::read(&idx).unwrap();
        data[20] ^= 0x55;
        fs::write(&idx, &data).unwrap();
        assert!(matches!(Block::open(&bdir), Err(TsdbError::Corrupt { .. })));
        data[20] ^= 0x55;
        fs::write(&idx, &data).unwrap();
        let ch = bdir.join("chunks");
        let mut c = fs::read(&ch).unwrap();
        let n = c.len();
        c[n - 3] ^= 0xff;
        fs::write(&ch, &c).unwrap();
        let b = Block::open(&bdir).unwrap();
        assert!(
            b.select(&SelectRequest::new(vec![], i64::MIN, i64::MAX))
                .is_err()
        );
        fs::write(&idx, &data[..10]).unwrap();
        assert!(Block::open(&bdir).is_err());
    }

    #[test]
    fn matchers_follow_prometheus_semantics() {
        let dir = tempfile::tempdir().unwrap();
        let mut input: Vec<TimeSeries> = [
            &[("__name__", "up"), ("a", "x")][..],
            &[("__name__", "up"), ("a", "y")][..],
            &[("__name__", "up")][..],
            &[("__name__", "down"), ("a", "x"), ("b", "1")][..],
        ]
        .iter()
        .map(|pairs| TimeSeries {
            labels: Labels::from_pairs(pairs),
            samples: vec![Sample::new(10, 1.0)],
        })
        .collect();
        input.sort_by(|a, b| a.labels.cmp(&b.labels));
        let meta = write_block(dir.path(), 0, 100, 1, vec![], input.into_iter()).unwrap();
        let b = Block::open(&dir.path().join(&meta.id)).unwrap();
        let check = |ms: &[(MatchOp, &str, &str)], want: &[&str]| {
            let ms: Vec<Matcher> = ms
                .iter()
                .map(|&(op, n, v)| Matcher::new(op, n, v).unwrap())
                .collect();
            let mut got: Vec<String> = b
                .series(&ms, 0, 100)
                .unwrap()
                .iter()
                .map(|l| l.to_string())
                .collect();
            got.sort();
            let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            want.sort();
            assert_eq!(got, want, "matchers {ms:?}");
        };
        use MatchOp::*;
        let (ux, uy, u, dx) = (
            r#"up{a="x"}"#,
            r#"up{a="y"}"#,
            "up{}",
            r#"down{a="x", b="1"}"#,
        );
        check(&[], &[ux, uy, u, dx]);
        check(&[(Equal, "a", "x")], &[ux, dx]);
        check(&[(Equal, "__name__", "up"), (Equal, "a", "x")], &[ux]);
        check(&[(NotEqual, "a", "x")], &[uy, u]);
        check(&[(Equal, "a", "")], &[u]);
        check(&[(NotEqual, "a", "")], &[ux, uy, dx]);
        check(&[(RegexMatch, "a", ".*")], &[ux, uy, u, dx]);
        check(&[(RegexMatch, "a", ".+")], &[ux, uy, dx]);
        check(&[(RegexMatch, "a", "x|y")], &[ux, uy, dx]);
        check(&[(RegexMatch, "a", "x|")], &[ux, u, dx]);
        check(&[(RegexNoMatch, "a", "x")], &[uy, u]);
        check(&[(RegexNoMatch, "a", ".*")], &[]);
        check(&[(Equal, "b", "1"), (NotEqual, "a", "x")], &[]);
        check(&[(Equal, "nope", "v")], &[]);
        check(
            &[(Equal, "__name__", "up"), (RegexNoMatch, "a", "y|")],
            &[ux],
        );
        assert_eq!(
            b.label_names(&[], 0, 100).unwrap(),
            vec!["__name__", "a", "b"]
        );
        assert_eq!(b.label_values("a", &[], 0, 100).unwrap(), vec!["x", "y"]);
        let up = Matcher::new(Equal, "__name__", "down").unwrap();
        assert_eq!(b.label_values("a", &[up], 0, 100).unwrap(), vec!["x"]);
        assert!(b.series(&[], 11, 100).unwrap().is_empty());
    }

    #[test]
    fn every_flipped_or_truncated_index_byte_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let meta = write_block(
            dir.path(),
            0,
            5_000_000,
            1,
            vec![],
            series(3, 130).into_iter(),
        )
        .unwrap();
        let bdir = dir.path().join(&meta.id);
        let idx = bdir.join("index");
        let good = fs::read(&idx).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x41;
            fs::write(&idx, &bad).unwrap();
            assert!(
                matches!(Block::open(&bdir), Err(TsdbError::Corrupt { .. })),
                "flip at {i}"
            );
            fs::write(&idx, &good[..i]).unwrap();
            assert!(Block::open(&bdir).is_err(), "truncated to {i}");
        }
        fs::write(&idx, &good).unwrap();
        let ch = bdir.join("chunks");
        let chunks = fs::read(&ch).unwrap();
        // The length prefixes duplicate the index and are not read; every
        // other byte is covered by a checksum or the header check.
        for i in (0..chunks.len()).step_by(7) {
            let mut bad = chunks.clone();
            bad[i] ^= 0x41;
            fs::write(&ch, &bad).unwrap();
            if let Ok(b) = Block::open(&bdir) {
                let _ = b.select(&SelectRequest::new(vec![], i64::MIN, i64::MAX));
            }
            fs::write(&ch, &chunks[..i]).unwrap();
            if let Ok(b) = Block::open(&bdir) {
                assert!(
                    b.select(&SelectRequest::new(vec![], i64::MIN, i64::MAX))
                        .is_err(),
                    "truncated to {i}"
                );
            }
        }
    }
}
