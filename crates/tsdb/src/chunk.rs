//! Gorilla-style XOR chunks, as Prometheus stores float samples: timestamps as
//! delta-of-delta in variable bit buckets, values as the XOR with the previous
//! value using a reusable leading/trailing-zero window. Realistic scrape data
//! (regular intervals, slowly moving values) costs one to two bytes a sample.
//!
//! Layout: `u16` sample count (big endian), then the bit stream:
//! first sample `t` as zig-zag varint and `v` as 64 raw bits; second sample's
//! delta as a varint; from the third on, delta-of-delta buckets. Values are
//! XOR-encoded, except that after an integral value a changed integral value
//! is stored as a bucketed integer delta (counters are mostly integers).

use homeostat_model::Sample;

use crate::varint::{self, unzigzag, zigzag};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("chunk too short: expected more bits at sample {0}")]
    Truncated(usize),
    #[error("chunk header missing")]
    NoHeader,
    #[error("invalid varint at sample {0}")]
    BadVarint(usize),
}

/// Samples per chunk before the head cuts a new one; bounds decode cost of a
/// point lookup and keeps chunk counts fitting the 2-byte header.
pub const MAX_SAMPLES_PER_CHUNK: usize = 120;

#[derive(Debug, Clone, Default)]
struct BitWriter {
    buf: Vec<u8>,
    /// Free bits remaining in the last byte (0 = need a new byte).
    free: u8,
}

impl BitWriter {
    fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.buf.push(0);
            self.free = 8;
        }
        if bit && let Some(last) = self.buf.last_mut() {
            *last |= 1 << (self.free - 1);
        }
        self.free -= 1;
    }

    fn write_bits(&mut self, value: u64, nbits: u8) {
        let mut n = nbits;
        while n > 0 {
            if self.free == 0 {
                self.buf.push(0);
                self.free = 8;
            }
            let take = n.min(self.free);
            let shift = n - take;
            let bits = ((value >> shift) & ((1u64 << take) - 1)) as u8;
            if let Some(last) = self.buf.last_mut() {
                *last |= bits << (self.free - take);
            }
            self.free -= take;
            n -= take;
        }
    }

    fn write_uvarint(&mut self, v: u64) {
        varint::encode_with(v, |b| self.write_bits(u64::from(b), 8));
    }
}

struct BitReader<'a> {
    buf: &'a [u8],
    pos: usize, // bit position
}

impl<'a> BitReader<'a> {
    fn read_bit(&mut self) -> Option<bool> {
        let byte = *self.buf.get(self.pos / 8)?;
        let bit = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Some(bit)
    }

    fn read_bits(&mut self, nbits: u8) -> Option<u64> {
        if self.pos + nbits as usize > self.buf.len() * 8 {
            return None;
        }
        // Whole bytes at a time: take what is left of the current byte, then
        // full bytes, then the head of the last one.
        let mut v = 0u64;
        let mut left = nbits as usize;
        while left > 0 {
            let byte = self.buf[self.pos / 8] as u64;
            let offset = self.pos % 8;
            let avail = 8 - offset;
            let take = avail.min(left);
            let bits = (byte >> (avail - take)) & ((1u64 << take) - 1);
            v = if take == 64 { bits } else { (v << take) | bits };
            self.pos += take;
            left -= take;
        }
        Some(v)
    }

    fn read_uvarint(&mut self) -> Option<u64> {
        // Both truncation and overlong input make the chunk unreadable; the
        // caller reports either as a bad varint at its sample.
        varint::decode_with(|| self.read_bits(8).map(|b| b as u8)).ok()
    }
}

/// Value-delta buckets after an integral value: (prefix, prefix length, value bits).
const VALUE_DELTA_BUCKETS: [(u64, u8, u8); 3] = [(0b0, 1, 7), (0b10, 2, 16), (0b11, 2, 64)];

/// Integral, finite, exactly representable as i64 and not `-0.0` (whose
/// integer delta would lose the sign).
fn is_int_like(v: f64) -> bool {
    v.is_finite()
        && v.fract() == 0.0
        && v.abs() < 9_007_199_254_740_992.0
        && !(v == 0.0 && v.is_sign_negative())
}

/// Delta-of-delta buckets: (prefix bits, prefix length, value bits). The
/// first bucket is narrower than Prometheus's 14 bits because scrape loops
/// jitter by a few milliseconds: a 0-3 ms wobble then costs 6 bits, not 16.
/// Changing this table changes the block format (bump `BLOCK_FORMAT_VERSION`).
const DOD_BUCKETS: [(u64, u8, u8); 4] = [
    (0b10, 2, 4),
    (0b110, 3, 14),
    (0b1110, 4, 20),
    (0b1111, 4, 64),
];

#[derive(Debug, Clone)]
pub struct XorEncoder {
    bits: BitWriter,
    count: usize,
    min_t: i64,
    t: i64,
    delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl XorEncoder {
    pub fn new() -> Self {
        Self {
            bits: BitWriter {
                buf: vec![0, 0],
                free: 0,
            },
            count: 0,
            min_t: 0,
            t: 0,
            delta: 0,
            v: 0,
            leading: 0xff,
            trailing: 0,
        }
    }

    /// Appends a sample; callers keep timestamps increasing and at most
    /// [`MAX_SAMPLES_PER_CHUNK`]-ish samples (the header holds up to 65535).
    pub fn append(&mut self, t: i64, v: f64) {
        let vb = v.to_bits();
        match self.count {
            0 => {
                self.bits.write_uvarint(zigzag(t));
                self.bits.write_bits(vb, 64);
                self.min_t = t;
            }
            1 => {
                self.delta = t.wrapping_sub(self.t);
                self.bits.write_uvarint(zigzag(self.delta));
                self.write_value(vb);
            }
            _ => {
                let delta = t.wrapping_sub(self.t);
                let dod = delta.wrapping_sub(self.delta);
                if dod == 0 {
                    self.bits.write_bit(false);
                } else {
                    let (prefix, plen, nbits) = DOD_BUCKETS
                        .iter()
                        .copied()
                        .find(|&(_, _, n)| {
                            // The decoder sign-extends, so the range is [-2^(n-1), 2^(n-1)).
                            n == 64 || (-(1i64 << (n - 1)) <= dod && dod < (1i64 << (n - 1)))
                        })
                        .unwrap_or(DOD_BUCKETS[3]);
                    self.bits.write_bits(prefix, plen);
                    let mask = if nbits == 64 {
                        u64::MAX
                    } else {
                        (1u64 << nbits) - 1
                    };
                    self.bits.write_bits(dod as u64 & mask, nbits);
                }
                self.delta = delta;
                self.write_value(vb);
            }
        }
        self.t = t;
        self.v = vb;
        self.count += 1;
        let n = (self.count as u16).to_be_bytes();
        self.bits.buf[0] = n[0];
        self.bits.buf[1] = n[1];
    }

    fn write_value(&mut self, vb: u64) {
        let x = vb ^ self.v;
        if x == 0 {
            self.bits.write_bit(false);
            return;
        }
        self.bits.write_bit(true);
        let prev = f64::from_bits(self.v);
        if is_int_like(prev) {
            // After an integral value, `0` + a bucketed integer delta or `1`
            // + the XOR encoding: counters then cost ~10 bits, not ~16.
            let cur = f64::from_bits(vb);
            if is_int_like(cur) {
                self.bits.write_bit(false);
                // Both magnitudes are below 2^53, so this cannot overflow.
                let d = cur as i64 - prev as i64;
                let (prefix, plen, nbits) = VALUE_DELTA_BUCKETS
                    .iter()
                    .copied()
                    .find(|&(_, _, n)| {
                        n == 64 || (-(1i64 << (n - 1)) <= d && d < (1i64 << (n - 1)))
                    })
                    .unwrap_or(VALUE_DELTA_BUCKETS[2]);
                self.bits.write_bits(prefix, plen);
                let mask = if nbits == 64 {
                    u64::MAX
                } else {
                    (1u64 << nbits) - 1
                };
                self.bits.write_bits(d as u64 & mask, nbits);
                return;
            }
            self.bits.write_bit(true);
        }
        self.write_xor(x);
    }

    fn write_xor(&mut self, x: u64) {
        let leading = (x.leading_zeros() as u8).min(31);
        let trailing = x.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            // Fits the previous window: reuse it.
            self.bits.write_bit(false);
            self.bits
                .write_bits(x >> self.trailing, 64 - self.leading - self.trailing);
        } else {
            self.leading = leading;
            self.trailing = trailing;
            self.bits.write_bit(true);
            self.bits.write_bits(leading as u64, 5);
            let sig = 64 - leading - trailing;
            // 64 significant bits is stored as 0 in 6 bits.
            self.bits.write_bits((sig % 64) as u64, 6);
            self.bits.write_bits(x >> trailing, sig);
        }
    }

    pub fn num_samples(&self) -> usize {
        self.count
    }
    pub fn min_time(&self) -> i64 {
        self.min_t
    }
    pub fn max_time(&self) -> i64 {
        self.t
    }
    pub fn bytes(&self) -> &[u8] {
        &self.bits.buf
    }
    pub fn finish(self) -> Vec<u8> {
        self.bits.buf
    }
}

/// Iterates a chunk's samples; any malformed input ends in an error item.
pub struct XorIter<'a> {
    r: BitReader<'a>,
    total: usize,
    read: usize,
    t: i64,
    delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
    failed: bool,
}

impl<'a> XorIter<'a> {
    pub fn new(data: &'a [u8]) -> Result<Self, ChunkError> {
        if data.len() < 2 {
            return Err(ChunkError::NoHeader);
        }
        let total = u16::from_be_bytes([data[0], data[1]]) as usize;
        Ok(Self {
            r: BitReader {
                buf: &data[2..],
                pos: 0,
            },
            total,
            read: 0,
            t: 0,
            delta: 0,
            v: 0,
            leading: 0,
            trailing: 0,
            failed: false,
        })
    }

    pub fn num_samples(&self) -> usize {
        self.total
    }

    fn next_sample(&mut self) -> Result<Sample, ChunkError> {
        let i = self.read;
        match i {
            0 => {
                self.t = unzigzag(self.r.read_uvarint().ok_or(ChunkError::BadVarint(i))?);
                self.v = self.r.read_bits(64).ok_or(ChunkError::Truncated(i))?;
            }
            1 => {
                self.delta = unzigzag(self.r.read_uvarint().ok_or(ChunkError::BadVarint(i))?);
                self.t = self.t.wrapping_add(self.delta);
                self.read_value(i)?;
            }
            _ => {
                let mut ones = 0u8;
                while ones < 4 {
                    if self.r.read_bit().ok_or(ChunkError::Truncated(i))? {
                        ones += 1;
                    } else {
                        break;
                    }
                }
                if ones > 0 {
                    let nbits = DOD_BUCKETS[ones as usize - 1].2;
                    let raw = self.r.read_bits(nbits).ok_or(ChunkError::Truncated(i))?;
                    let dod = if nbits == 64 {
                        raw as i64
                    } else {
                        // Sign-extend the n-bit two's complement value.
                        let shift = 64 - nbits as u32;
                        ((raw << shift) as i64) >> shift
                    };
                    self.delta = self.delta.wrapping_add(dod);
                }
                self.t = self.t.wrapping_add(self.delta);
                self.read_value(i)?;
            }
        }
        self.read += 1;
        Ok(Sample::new(self.t, f64::from_bits(self.v)))
    }

    fn read_value(&mut self, i: usize) -> Result<(), ChunkError> {
        if !self.r.read_bit().ok_or(ChunkError::Truncated(i))? {
            return Ok(());
        }
        let prev = f64::from_bits(self.v);
        if is_int_like(prev) && !self.r.read_bit().ok_or(ChunkError::Truncated(i))? {
            let nbits = if !self.r.read_bit().ok_or(ChunkError::Truncated(i))? {
                VALUE_DELTA_BUCKETS[0].2
            } else if !self.r.read_bit().ok_or(ChunkError::Truncated(i))? {
                VALUE_DELTA_BUCKETS[1].2
            } else {
                VALUE_DELTA_BUCKETS[2].2
            };
            let raw = self.r.read_bits(nbits).ok_or(ChunkError::Truncated(i))?;
            let d = if nbits == 64 {
                raw as i64
            } else {
                let shift = 64 - nbits as u32;
                ((raw << shift) as i64) >> shift
            };
            // Corrupt input may leave the exact range; it then decodes to some
            // float rather than panicking.
            self.v = ((prev as i64).wrapping_add(d) as f64).to_bits();
            return Ok(());
        }
        if self.r.read_bit().ok_or(ChunkError::Truncated(i))? {
            self.leading = self.r.read_bits(5).ok_or(ChunkError::Truncated(i))? as u8;
            let mut sig = self.r.read_bits(6).ok_or(ChunkError::Truncated(i))? as u8;
            if sig == 0 {
                sig = 64;
            }
            self.trailing = 64u8.saturating_sub(self.leading + sig);
        }
        let sig = 64u8.saturating_sub(self.leading + self.trailing);
        if sig == 0 {
            return Err(ChunkError::Truncated(i));
        }
        let bits = self.r.read_bits(sig).ok_or(ChunkError::Truncated(i))?;
        self.v ^= bits << self.trailing;
        Ok(())
    }
}

impl Iterator for XorIter<'_> {
    type Item = Result<Sample, ChunkError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.read >= self.total {
            return None;
        }
        let r = self.next_sample();
        self.failed = r.is_err();
        Some(r)
    }
}

/// Decodes a whole chunk.
pub fn decode_all(data: &[u8]) -> Result<Vec<Sample>, ChunkError> {
    XorIter::new(data)?.collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn encode(samples: &[Sample]) -> Vec<u8> {
        let mut e = XorEncoder::new();
        for s in samples {
            e.append(s.t, s.v);
        }
        e.finish()
    }

    #[test]
    fn realistic_counter_is_compact() {
        let mut samples = Vec::new();
        let mut v = 1000.0;
        for i in 0..MAX_SAMPLES_PER_CHUNK as i64 {
            // Scrape loops run on a ticker: most timestamps are exact, a few
            // are off by a millisecond or two; the request rate drifts slowly.
            let jitter = if i % 10 == 3 { 2 } else { 0 };
            v += 50.0 + (i / 40) as f64;
            samples.push(Sample::new(1_700_000_000_000 + i * 10_000 + jitter, v));
        }
        let bytes = encode(&samples);
        assert_eq!(decode_all(&bytes).unwrap(), samples);
        let per = bytes.len() as f64 / samples.len() as f64;
        assert!(per < 3.0, "{per} bytes/sample");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(XorIter::new(&[1]).is_err());
        assert!(decode_all(&[0, 5, 0xff]).is_err());
        assert!(decode_all(&[0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).is_err());
    }

    #[test]
    fn delta_of_delta_bucket_boundaries_round_trip() {
        for &b in &[4u32, 14, 20] {
            let edge = 1i64 << (b - 1);
            for dod in [edge - 1, edge, edge + 1, -edge - 1, -edge, -edge + 1] {
                let base = 1_000_000i64;
                let samples = vec![
                    Sample::new(0, 1.0),
                    Sample::new(base, 2.0),
                    Sample::new(2 * base + dod, 3.0),
                    Sample::new(3 * base + dod, 4.0),
                ];
                assert_eq!(decode_all(&encode(&samples)).unwrap(), samples, "dod {dod}");
            }
        }
    }

    #[test]
    fn jittered_scrapes_stay_small() {
        // A counter scraped every 10 s with 0-2 ms of jitter and a gauge that
        // moves every fourth scrape, as seen from a busy scrape loop.
        let mut rng = 42u64;
        let mut next = move || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            rng >> 33
        };
        let (mut c, mut g) = (0.0, 50.0);
        let (mut cs, mut gs) = (Vec::new(), Vec::new());
        for i in 0..MAX_SAMPLES_PER_CHUNK as i64 {
            let t = 1_700_000_000_000 + i * 10_000 + (next() % 3) as i64;
            c += (next() % 20) as f64;
            if next() % 4 == 0 {
                g += ((next() % 11) as f64 - 5.0) * 0.25;
            }
            cs.push(Sample::new(t, c));
            gs.push(Sample::new(t, g));
        }
        // A counter with random increments carries ~4 bits of entropy per
        // sample on its own, so it cannot reach the gauge's density.
        for (samples, limit) in [(cs, 2.5), (gs, 1.5)] {
            let bytes = encode(&samples);
            assert_eq!(decode_all(&bytes).unwrap(), samples);
            let per = bytes.len() as f64 / samples.len() as f64;
            println!("{per:.3} bytes/sample");
            assert!(per <= limit, "{per} bytes/sample");
        }
    }

    proptest! {
        #[test]
        fn garbage_after_an_integral_value_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..200), n in 0u16..400) {
            let mut bytes = encode(&[Sample::new(0, 5.0), Sample::new(10_000, 7.0)]);
            bytes[..2].copy_from_slice(&n.to_be_bytes());
            bytes.extend_from_slice(&tail);
            if let Ok(it) = XorIter::new(&bytes) {
                for _ in it {}
            }
        }

        #[test]
        fn integral_values_round_trip(vals in proptest::collection::vec(prop_oneof![
            -100i64..100,
            -70_000i64..70_000,
            any::<i64>(),
            Just((1i64 << 53) - 1),
            Just(-(1i64 << 53) + 1),
            Just(1i64 << 53),
        ], 1..200), mix in proptest::collection::vec(prop_oneof![
            Just(None), Just(None), Just(None),
            Just(Some(-0.0f64)), Just(Some(0.5)), Just(Some(f64::NAN)), Just(Some(f64::INFINITY)),
        ], 200)) {
            let samples: Vec<Sample> = vals
                .iter()
                .zip(&mix)
                .enumerate()
                .map(|(i, (&v, m))| Sample::new(i as i64 * 15_000, m.unwrap_or(v as f64)))
                .collect();
            prop_assert_eq!(decode_all(&encode(&samples)).unwrap(), samples);
        }

        #[test]
        fn round_trips(start in -1_000_000_000_000i64..2_000_000_000_000,
                       deltas in proptest::collection::vec(1i64..100_000_000, 0..200),
                       values in proptest::collection::vec(any::<u64>(), 200)) {
            let mut t = start;
            let mut samples = vec![];
            for (i, d) in std::iter::once(0).chain(deltas).enumerate() {
                t += d;
                samples.push(Sample::new(t, f64::from_bits(values[i])));
            }
            prop_assert_eq!(decode_all(&encode(&samples)).unwrap(), samples);
        }

        #[test]
        fn special_values_round_trip(vals in proptest::collection::vec(prop_oneof![
            Just(f64::NAN), Just(homeostat_model::stale_nan()), Just(f64::INFINITY),
            Just(f64::NEG_INFINITY), Just(-0.0), Just(0.0), any::<f64>()], 1..150)) {
            let samples: Vec<Sample> = vals.iter().enumerate().map(|(i, v)| Sample::new(i as i64 * 15_000, *v)).collect();
            prop_assert_eq!(decode_all(&encode(&samples)).unwrap(), samples);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(it) = XorIter::new(&bytes) { for _ in it {} }
        }
    }
}
