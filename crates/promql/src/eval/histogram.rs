//! `histogram_quantile` over classic histograms (`le`-labelled bucket series).

use std::collections::HashMap;

use homeostat_model::{Labels, METRIC_NAME};

use super::{Evaluator, Series, Steps};
use crate::QueryError;
use crate::mathx::format_value;

/// Bucket counts within this relative difference are treated as equal
/// (float noise from `rate()`), as Prometheus does.
const SMALL_DELTA: f64 = 1e-12;

fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < eps * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

/// Returns the quantile and whether the buckets had to be forced monotonic.
pub(crate) fn bucket_quantile(q: f64, buckets: &mut [(f64, f64)]) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    let Some(mut merged) = normalize(buckets) else {
        return (f64::NAN, false);
    };
    let mut forced = false;
    let mut prev = merged[0].1;
    for b in merged.iter_mut().skip(1) {
        let curr = b.1;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA) {
            b.1 = prev;
            continue;
        }
        if curr < prev {
            b.1 = prev;
            forced = true;
            continue;
        }
        prev = curr;
    }
    if merged.len() < 2 {
        return (f64::NAN, forced);
    }
    let observations = merged[merged.len() - 1].1;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let search = &merged[..merged.len() - 1];
    let b = search.partition_point(|x| x.1 < rank);
    if b == merged.len() - 1 {
        return (merged[merged.len() - 2].0, forced);
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return (merged[0].0, forced);
    }
    let mut start = 0.0;
    let end = merged[b].0;
    let mut count = merged[b].1;
    if b > 0 {
        start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    (start + (end - start) * (rank / count), forced)
}

/// Sorts by upper bound and merges buckets with equal bounds; `None` when
/// there is no `+Inf` bucket.
fn normalize(buckets: &mut [(f64, f64)]) -> Option<Vec<(f64, f64)>> {
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return None;
    }
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(ub, c) in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == ub => last.1 += c,
            _ => merged.push((ub, c)),
        }
    }
    Some(merged)
}

/// Estimated observations at or below `x`. The first bucket starts at 0
/// when its bound is positive; inside a bucket of infinite width nothing is
/// interpolated and `x` counts as sitting at the bucket's finite edge.
fn rank_at(x: f64, buckets: &[(f64, f64)]) -> f64 {
    let mut prev = 0.0;
    for (i, &(ub, c)) in buckets.iter().enumerate() {
        let lb = if i == 0 {
            if ub > 0.0 { 0.0 } else { f64::NEG_INFINITY }
        } else {
            buckets[i - 1].0
        };
        if x <= lb {
            return prev;
        }
        if x < ub {
            if lb == f64::NEG_INFINITY {
                return c;
            }
            if ub == f64::INFINITY {
                return prev;
            }
            return prev + (c - prev) * (x - lb) / (ub - lb);
        }
        prev = c;
    }
    prev
}

/// Share of observations between `lower` and `upper` in a classic histogram.
pub(crate) fn bucket_fraction(lower: f64, upper: f64, buckets: &mut [(f64, f64)]) -> f64 {
    let Some(merged) = normalize(buckets) else {
        return f64::NAN;
    };
    let count = merged[merged.len() - 1].1;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    (rank_at(upper, &merged) - rank_at(lower, &merged)) / count
}

impl Evaluator<'_> {
    pub(crate) fn histogram_fraction(
        &mut self,
        lower: &[f64],
        upper: &[f64],
        input: Vec<Series>,
        steps: &Steps,
    ) -> Result<Vec<Series>, QueryError> {
        let groups = self.bucket_groups(&input);
        let mut out = Vec::with_capacity(groups.len());
        let mut buckets: Vec<(f64, f64)> = Vec::new();
        for (labels, members) in groups {
            let mut vals = vec![None; steps.n];
            for (i, slot) in vals.iter_mut().enumerate() {
                buckets.clear();
                buckets.extend(
                    members
                        .iter()
                        .filter_map(|&(ub, s)| input[s].vals[i].map(|c| (ub, c))),
                );
                if buckets.is_empty() {
                    continue;
                }
                *slot = Some(bucket_fraction(lower[i], upper[i], &mut buckets));
            }
            out.push(Series {
                labels,
                drop_name: true,
                vals,
            });
        }
        Ok(out)
    }

    /// Bucket series grouped by their labels without `le` (the name is kept
    /// until the query ends, so different histograms stay apart).
    fn bucket_groups(&mut self, input: &[Series]) -> Vec<(Labels, Vec<(f64, usize)>)> {
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut groups: Vec<(Labels, Vec<(f64, usize)>)> = Vec::new();
        for (i, s) in input.iter().enumerate() {
            let le = s.labels.get("le").unwrap_or("");
            let Some(ub) = parse_le(le) else {
                self.annotations.warn(format!(
                    "bucket label \"le\" is missing or has a malformed value of {le:?} for metric name {:?}",
                    s.labels.get(METRIC_NAME).unwrap_or("")
                ));
                continue;
            };
            let key = Labels::from_sorted_unchecked(
                s.labels
                    .iter()
                    .filter(|l| l.name != "le")
                    .cloned()
                    .collect(),
            );
            let g = *index.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push((ub, i));
        }
        groups
    }

    pub(crate) fn histogram_quantile(
        &mut self,
        q: &[f64],
        input: Vec<Series>,
        steps: &Steps,
    ) -> Result<Vec<Series>, QueryError> {
        for &q in q {
            if q.is_nan() || !(0.0..=1.0).contains(&q) {
                self.annotations.warn(format!(
                    "quantile value should be between 0 and 1, got {}",
                    format_value(q)
                ));
            }
        }
        let groups = self.bucket_groups(&input);
        let mut out = Vec::with_capacity(groups.len());
        let mut buckets: Vec<(f64, f64)> = Vec::new();
        for (labels, members) in groups {
            let mut vals = vec![None; steps.n];
            for (i, slot) in vals.iter_mut().enumerate() {
                buckets.clear();
                buckets.extend(
                    members
                        .iter()
                        .filter_map(|&(ub, s)| input[s].vals[i].map(|c| (ub, c))),
                );
                if buckets.is_empty() {
                    continue;
                }
                let (v, forced) = bucket_quantile(q[i], &mut buckets);
                if forced {
                    self.annotations.info(format!(
                        "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {:?}",
                        labels.get(METRIC_NAME).unwrap_or("")
                    ));
                }
                *slot = Some(v);
            }
            out.push(Series {
                labels,
                drop_name: true,
                vals,
            });
        }
        Ok(out)
    }
}

fn parse_le(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    s.parse::<f64>().ok()
}
