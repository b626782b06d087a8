//! One in-memory series: closed XOR chunks plus the chunk being appended to.

use homeostat_model::{Labels, Sample};
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

#[derive(Debug)]
pub struct MemSeries {
    pub id: u64,
    pub labels: Labels,
    pub data: Mutex<SeriesData>,
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
            match chunk::decode_all(data) {
                Ok(samples) => {
                    out.extend(samples.into_iter().filter(|s| s.t >= mint && s.t <= maxt))
                }
                Err(e) => tracing::error!(error = %e, "head chunk failed to decode"),
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
        let last = self.last;
        *self = SeriesData::default();
        for s in keep {
            self.push(s);
        }
        self.last = last;
        all
    }
}
