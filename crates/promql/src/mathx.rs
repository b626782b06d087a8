//! Numeric helpers shared by aggregations and functions, matching
//! Prometheus's floating-point behaviour where results depend on it.

use homeostat_model::Labels;

/// Kahan–Neumaier compensated addition: returns the new sum and compensation.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Prometheus's mean: Kahan-compensated direct sum while it does not
/// overflow, incremental mean from there on.
pub(crate) fn mean(vals: impl IntoIterator<Item = f64>) -> f64 {
    let mut vals = vals.into_iter();
    let Some(first) = vals.next() else {
        return f64::NAN;
    };
    let mut sum = first;
    let mut c = 0.0;
    let mut count = 1.0;
    let mut incremental = false;
    let mut mean = 0.0;
    for f in vals {
        count += 1.0;
        if !incremental {
            let (ns, nc) = kahan_inc(f, sum, c);
            if !ns.is_infinite() {
                sum = ns;
                c = nc;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        if mean.is_infinite() {
            if f.is_infinite() && (mean > 0.0) == (f > 0.0) {
                continue;
            }
            if !f.is_infinite() && !f.is_nan() {
                continue;
            }
        }
        let current = mean + c;
        (mean, c) = kahan_inc(f / count - current / count, mean, c);
    }
    if incremental {
        mean + c
    } else {
        (sum + c) / count
    }
}

/// The φ-quantile of `vals` by linear interpolation between closest ranks.
/// Sorts `vals` in place (NaN first, as Prometheus orders them).
pub(crate) fn quantile(q: f64, vals: &mut [f64]) -> f64 {
    if vals.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    vals.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = vals.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    vals[lower as usize] * (1.0 - weight) + vals[upper as usize] * weight
}

/// Prometheus's value format, `strconv.FormatFloat(v, 'f', -1, 64)`: label
/// values (`count_values`), annotations and the HTTP API.
pub fn format_value(v: f64) -> String {
    homeostat_model::gofmt::format_f(v, None)
}

/// Prometheus's label-set hash (xxhash64 over `name 0xff value 0xff …`).
pub(crate) fn prometheus_hash(labels: &Labels) -> u64 {
    let mut b = Vec::with_capacity(256);
    for l in labels {
        b.extend_from_slice(l.name.as_bytes());
        b.push(0xff);
        b.extend_from_slice(l.value.as_bytes());
        b.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&b, 0)
}

/// Where a series falls in `[0, 1)` for `limit_ratio`, stable across queries.
pub(crate) fn ratio_offset(labels: &Labels) -> f64 {
    prometheus_hash(labels) as f64 / u64::MAX as f64
}
