//! Functions over range vectors: rates with Prometheus's extrapolation, the
//! `*_over_time` family, regression and smoothing.

use homeostat_model::Sample;

use crate::mathx::{kahan_inc, quantile};

/// What a range function needs besides the window's samples.
pub(crate) struct Window<'a> {
    pub samples: &'a [Sample],
    /// Window end (after offset) and length, in milliseconds.
    pub end: i64,
    pub range: i64,
    /// The step's own time, ignoring `@` and offset (predict_linear's intercept).
    pub step_time: i64,
}

/// rate/increase/delta: the change over the window, extrapolated to its
/// edges when the samples come close enough to them.
pub(crate) fn extrapolated_rate(w: &Window, is_counter: bool, is_rate: bool) -> Option<f64> {
    let s = w.samples;
    if s.len() < 2 {
        return None;
    }
    let range_start = w.end - w.range;
    let range_end = w.end;
    let first = s[0];
    let last = s[s.len() - 1];
    let mut result = last.v - first.v;
    if is_counter {
        let mut prev = first.v;
        for p in &s[1..] {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }
    let mut to_start = (first.t - range_start) as f64 / 1000.0;
    let mut to_end = (range_end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg_step = sampled / (s.len() - 1) as f64;
    let threshold = avg_step * 1.1;
    if to_start >= threshold {
        to_start = avg_step / 2.0;
    }
    if is_counter && result > 0.0 && first.v >= 0.0 {
        // A counter starts at zero: do not extrapolate below it.
        let to_zero = sampled * (first.v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg_step / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= w.range as f64 / 1000.0;
    }
    Some(result * factor)
}

/// irate/idelta: from the last two samples only.
pub(crate) fn instant_value(w: &Window, is_rate: bool) -> Option<f64> {
    let s = w.samples;
    if s.len() < 2 {
        return None;
    }
    let last = s[s.len() - 1];
    let prev = s[s.len() - 2];
    let mut v = if is_rate && last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

/// Least-squares slope and intercept, with x in seconds relative to `intercept_time`.
pub(crate) fn linear_regression(s: &[Sample], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = s[0].v;
    let mut const_y = true;
    for (i, p) in s.iter().enumerate() {
        if const_y && i > 0 && p.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_time) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(p.v, sy, cy);
        (sxy, cxy) = kahan_inc(x * p.v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

pub(crate) fn sum_over_time(s: &[Sample]) -> f64 {
    let (mut sum, mut c) = (0.0, 0.0);
    for p in s {
        (sum, c) = kahan_inc(p.v, sum, c);
    }
    sum + c
}

pub(crate) fn avg_over_time(s: &[Sample]) -> f64 {
    crate::mathx::mean(s.iter().map(|p| p.v))
}

pub(crate) fn stdvar_over_time(s: &[Sample]) -> f64 {
    let (mut count, mut mean, mut cmean, mut aux, mut caux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for p in s {
        count += 1.0;
        let delta = p.v - (mean + cmean);
        (mean, cmean) = kahan_inc(delta / count, mean, cmean);
        (aux, caux) = kahan_inc(delta * (p.v - (mean + cmean)), aux, caux);
    }
    (aux + caux) / count
}

/// The last sample winning `better(candidate, current)`.
pub(crate) fn compare_over_time(s: &[Sample], better: impl Fn(f64, f64) -> bool) -> Sample {
    let mut best = s[0];
    for p in &s[1..] {
        if better(p.v, best.v) {
            best = *p;
        }
    }
    best
}

pub(crate) fn mad_over_time(s: &[Sample]) -> f64 {
    let mut vals: Vec<f64> = s.iter().map(|p| p.v).collect();
    let median = quantile(0.5, &mut vals);
    let mut dev: Vec<f64> = vals.iter().map(|v| (v - median).abs()).collect();
    quantile(0.5, &mut dev)
}

pub(crate) fn resets(s: &[Sample]) -> f64 {
    s.windows(2).filter(|w| w[1].v < w[0].v).count() as f64
}

pub(crate) fn changes(s: &[Sample]) -> f64 {
    s.windows(2)
        .filter(|w| w[1].v != w[0].v && !(w[1].v.is_nan() && w[0].v.is_nan()))
        .count() as f64
}

/// Holt's linear (double exponential) smoothing; `None` below two samples.
pub(crate) fn double_exponential_smoothing(s: &[Sample], sf: f64, tf: f64) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, s[0].v);
    let mut b = s[1].v - s[0].v;
    for (i, p) in s.iter().enumerate().skip(1) {
        let x = sf * p.v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}

/// Kahan-summed blocks of a series, so that sums over long windows cost
/// O(block + window / block) instead of O(window). Only built for series of
/// finite values whose total cannot overflow, where the result matches the
/// sample-by-sample sum to within rounding.
pub(crate) struct BlockSums {
    sums: Vec<f64>,
}

impl BlockSums {
    pub const BLOCK: usize = 64;

    pub fn new(samples: &[Sample]) -> Option<BlockSums> {
        let mut abs = 0.0f64;
        for s in samples {
            if !s.v.is_finite() {
                return None;
            }
            abs += s.v.abs();
        }
        if abs >= 1e300 {
            return None;
        }
        Some(BlockSums {
            sums: samples.chunks(Self::BLOCK).map(sum_over_time).collect(),
        })
    }

    /// Sum of `samples[lo..hi]`.
    pub fn sum(&self, samples: &[Sample], lo: usize, hi: usize) -> f64 {
        let b = Self::BLOCK;
        let first_full = lo.div_ceil(b);
        let last_full = hi / b;
        let (mut s, mut c) = (0.0, 0.0);
        if first_full >= last_full {
            for p in &samples[lo..hi] {
                (s, c) = kahan_inc(p.v, s, c);
            }
            return s + c;
        }
        for p in &samples[lo..first_full * b] {
            (s, c) = kahan_inc(p.v, s, c);
        }
        for &block in &self.sums[first_full..last_full] {
            (s, c) = kahan_inc(block, s, c);
        }
        for p in &samples[last_full * b..hi] {
            (s, c) = kahan_inc(p.v, s, c);
        }
        s + c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_sums_agree_with_direct_sums() {
        let samples: Vec<Sample> = (0..1000)
            .map(|i| Sample::new(i, ((i * 7919) % 1000) as f64 * 0.37 - 100.0))
            .collect();
        let b = BlockSums::new(&samples).expect("finite");
        for (lo, hi) in [
            (0, 1000),
            (3, 997),
            (64, 128),
            (65, 127),
            (10, 20),
            (500, 1000),
        ] {
            let direct = sum_over_time(&samples[lo..hi]);
            let fast = b.sum(&samples, lo, hi);
            assert!(
                (direct - fast).abs() <= 1e-9 * direct.abs().max(1.0),
                "{lo}..{hi}: {direct} vs {fast}"
            );
        }
        assert!(BlockSums::new(&[Sample::new(0, f64::NAN)]).is_none());
    }
}
