//! One in-memory series: closed XOR chunks plus the chunk being appended to.

use std::collections::HashSet;
use std::sync::Arc;

use homeostat_model::{Label, Labels, Sample};
use parking_lot::Mutex;

use crate::chunk::{self, MAX_SAMPLES_PER_CHUNK, XorEncoder};

#[derive(Debug)]
pub struct ClosedChunk {
    pub min_t: i64,
    pub max_t: i64,
    pub data: Box<[u8]>,
}

#[derive(Debug, Default)]
pub struct SeriesData {
    pub closed: Vec<ClosedChunk>,
    pub open: Option<XorEncoder>,
    pub last: Option<Sample>,
    /// A series record for this series is in the WAL.
    pub logged: bool,
    /// Garbage collection removed the series from the head; an appender
    /// still holding it must look its labels up again.
    pub deleted: bool,
}

/// Label names and values shared by all series: most strings (`job`,
/// `instance`, metric names) repeat across thousands of series, so each
/// series holds only pointers. Lives under the head's index lock.
#[derive(Debug, Default)]
pub struct Interner(HashSet<Arc<str>>);

impl Interner {
    pub fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(found) = self.0.get(s) {
            return found.clone();
        }
        let new: Arc<str> = Arc::from(s);
        self.0.insert(new.clone());
        new
    }

    /// Forgets strings no series refers to any more.
    pub fn gc(&mut self) {
        self.0.retain(|s| Arc::strong_count(s) > 1);
    }
}

#[derive(Debug)]
pub struct MemSeries {
    pub id: u64,
    /// `Labels::stable_hash` of the labels, the key of the head's hash map.
    pub hash: u64,
    labels: Box<[(Arc<str>, Arc<str>)]>,
    pub data: Mutex<SeriesData>,
}

impl MemSeries {
    pub fn new(id: u64, labels: &Labels, interner: &mut Interner) -> Self {
        Self {
            id,
            hash: labels.stable_hash(),
            labels: labels
                .iter()
                .map(|l| (interner.intern(&l.name), interner.intern(&l.value)))
                .collect(),
            data: Mutex::default(),
        }
    }

    /// The label set, built on demand (queries, WAL series records).
    pub fn labels(&self) -> Labels {
        Labels::from_sorted_unchecked(
            self.labels
                .iter()
                .map(|(n, v)| Label::new(n.as_ref(), v.as_ref()))
                .collect(),
        )
    }

    pub fn has_labels(&self, labels: &Labels) -> bool {
        self.labels.len() == labels.len()
            && self
                .labels
                .iter()
                .zip(labels.iter())
                .all(|((n, v), l)| n.as_ref() == l.name && v.as_ref() == l.value)
    }

    pub fn label_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.labels.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }
}

impl SeriesData {
    /// Appends a sample known to be newer than `last`.
    pub fn push(&mut self, s: Sample) {
        let enc = self.open.get_or_insert_with(XorEncoder::new);
        enc.append(s.t, s.v);
        if enc.num_samples() >= MAX_SAMPLES_PER_CHUNK
            && let Some(full) = self.open.take()
        {
            self.closed.push(ClosedChunk {
                min_t: full.min_time(),
                max_t: full.max_time(),
                data: full.finish().into_boxed_slice(),
            });
        }
        self.last = Some(s);
    }

    pub fn min_time(&self) -> Option<i64> {
        self.closed
            .first()
            .map(|c| c.min_t)
            .or_else(|| self.open.as_ref().map(|e| e.min_time()))
    }

    pub fn chunk_count(&self) -> usize {
        self.closed.len() + usize::from(self.open.is_some())
    }

    /// Samples with `mint <= t <= maxt`. Our own chunks failing to decode is a
    /// bug; the broken chunk is skipped and logged rather than taking the query down.
    pub fn samples(&self, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        let open = self
            .open
            .as_ref()
            .map(|e| (e.min_time(), e.max_time(), e.bytes()));
        let chunks = self
            .closed
            .iter()
            .map(|c| (c.min_t, c.max_t, &c.data[..]))
            .chain(open);
        for (lo, hi, data) in chunks {
            if hi < mint || lo > maxt {
                continue;
            }
            let iter = match chunk::XorIter::new(data) {
                Ok(it) => it,
                Err(e) => {
                    tracing::error!(error = %e, "head chunk failed to decode");
                    continue;
                }
            };
            // Decode straight into `out`; a chunk wholly inside the range needs no filtering.
            let inside = lo >= mint && hi <= maxt;
            for s in iter {
                match s {
                    Ok(s) if inside || (s.t >= mint && s.t <= maxt) => out.push(s),
                    Ok(s) if s.t > maxt => break,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "head chunk failed to decode");
                        break;
                    }
                }
            }
        }
    }

    /// Removes and returns every sample older than `before`, keeping the rest.
    pub fn split_off_before(&mut self, before: i64) -> Vec<Sample> {
        if self.min_time().is_none_or(|t| t >= before) {
            return Vec::new();
        }
        let mut all = Vec::new();
        self.samples(i64::MIN, i64::MAX, &mut all);
        let keep_from = all.partition_point(|s| s.t < before);
        let keep = all.split_off(keep_from);
        let (last, logged) = (self.last, self.logged);
        *self = SeriesData {
            logged,
            ..SeriesData::default()
        };
        for s in keep {
            self.push(s);
        }
        self.last = last;
        all
    }
}
