use serde::{Deserialize, Serialize};

use crate::Labels;

/// Milliseconds since the Unix epoch, as Prometheus stores them.
pub type Timestamp = i64;

/// Prometheus's stale marker: a NaN with a fixed bit pattern, distinct from
/// ordinary NaN values that a target may legitimately expose.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One float sample.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Sample {
    pub t: Timestamp,
    pub v: f64,
}

impl Sample {
    pub fn new(t: Timestamp, v: f64) -> Self {
        Self { t, v }
    }
}

/// Bit-exact comparison, so that NaN samples (and stale markers) compare equal
/// to themselves in tests and dedup logic.
impl PartialEq for Sample {
    fn eq(&self, other: &Self) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

/// A series with samples in ascending time order: the unit of ingestion.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSeries {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_is_a_distinct_nan() {
        assert!(stale_nan().is_nan());
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
        assert_eq!(Sample::new(1, stale_nan()), Sample::new(1, stale_nan()));
    }
}
