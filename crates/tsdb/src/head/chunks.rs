//! The samples of one head series, cut into chunks of [`CHUNK_SAMPLES`].
//!
//! Chunks are kept behind this small type so that the encoding (plain
//! vectors until the XOR codec is wired in) is a one-file change.

use homeostat_model::Sample;

/// Samples per chunk, as in Prometheus: small enough for cheap partial
/// decodes, large enough for good XOR compression.
pub(crate) const CHUNK_SAMPLES: usize = 120;

#[derive(Debug, Default)]
struct Chunk {
    samples: Vec<Sample>,
}

impl Chunk {
    fn min_time(&self) -> i64 {
        self.samples.first().map_or(i64::MAX, |s| s.t)
    }
    fn max_time(&self) -> i64 {
        self.samples.last().map_or(i64::MIN, |s| s.t)
    }
}

#[derive(Debug, Default)]
pub(crate) struct SeriesChunks {
    closed: Vec<Chunk>,
    open: Chunk,
}

impl SeriesChunks {
    /// Appends a sample; the caller guarantees `t` is newer than every stored sample.
    pub fn push(&mut self, s: Sample) {
        if self.open.samples.len() >= CHUNK_SAMPLES {
            let full = std::mem::take(&mut self.open);
            self.closed.push(full);
        }
        self.open.samples.push(s);
    }

    pub fn is_empty(&self) -> bool {
        self.closed.is_empty() && self.open.samples.is_empty()
    }

    pub fn min_time(&self) -> i64 {
        self.closed
            .first()
            .map_or_else(|| self.open.min_time(), Chunk::min_time)
    }

    pub fn max_time(&self) -> i64 {
        self.open
            .max_time()
            .max(self.closed.last().map_or(i64::MIN, Chunk::max_time))
    }

    /// Appends the samples with `mint <= t <= maxt` to `out`.
    pub fn collect(&self, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        for c in self.closed.iter().chain(std::iter::once(&self.open)) {
            if c.samples.is_empty() || c.max_time() < mint || c.min_time() > maxt {
                continue;
            }
            out.extend(c.samples.iter().filter(|s| s.t >= mint && s.t <= maxt));
        }
    }

    /// Drops every sample older than `t` (after it was persisted in a block).
    pub fn drop_before(&mut self, t: i64) {
        self.closed.retain(|c| c.max_time() >= t);
        if let Some(first) = self.closed.first_mut() {
            first.samples.retain(|s| s.t >= t);
        } else {
            self.open.samples.retain(|s| s.t >= t);
        }
    }

    /// Approximate heap bytes held by the samples.
    pub fn mem_bytes(&self) -> usize {
        let per = std::mem::size_of::<Sample>();
        self.closed
            .iter()
            .chain(std::iter::once(&self.open))
            .map(|c| c.samples.capacity() * per + std::mem::size_of::<Chunk>())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_chunks_and_drops_old_samples() {
        let mut c = SeriesChunks::default();
        for t in 0..300 {
            c.push(Sample::new(t, t as f64));
        }
        assert_eq!(c.closed.len(), 2);
        let mut out = Vec::new();
        c.collect(100, 130, &mut out);
        assert_eq!(out.len(), 31);
        c.drop_before(150);
        assert_eq!(c.min_time(), 150);
        assert_eq!(c.max_time(), 299);
        c.drop_before(1000);
        assert!(c.is_empty());
    }
}
