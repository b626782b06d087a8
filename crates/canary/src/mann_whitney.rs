//! The Mann-Whitney U test and the Hodges-Lehmann shift estimate.
//!
//! The p-values follow `scipy.stats.mannwhitneyu` (the reference our
//! interop test compares against): average ranks for ties; the asymptotic
//! method with the tie-corrected variance and a 0.5 continuity correction
//! applied to the survival function; the exact method from the null
//! distribution of U; `auto` picks exact only when a sample has at most 8
//! values and there are no ties.

use serde::{Deserialize, Serialize};

/// Which alternative hypothesis the p-value is for, about the first sample
/// relative to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    #[default]
    TwoSided,
    /// The first sample tends to be greater.
    Greater,
    /// The first sample tends to be smaller.
    Less,
}

/// How the p-value is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Exact for small samples without ties, asymptotic otherwise.
    #[default]
    Auto,
    Exact,
    Asymptotic,
}

/// The outcome of one test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MannWhitney {
    /// U of the first sample: the number of pairs (x, y) with x > y, ties
    /// counting one half.
    pub u1: f64,
    pub p_value: f64,
    /// The method used (never `Auto`).
    pub method: Method,
}

/// Beyond this many cells (or 1,000 values, where the counts leave f64's
/// range) the exact null distribution is not built; the asymptotic method
/// is accurate long before.
const EXACT_MAX_CELLS: usize = 250_000;
const EXACT_MAX_VALUES: usize = 1_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TestError {
    #[error("sample {which} is empty")]
    Empty { which: &'static str },
    #[error("sample {which} holds a value that is not a finite number at index {index}")]
    NotFinite { which: &'static str, index: usize },
    #[error(
        "the exact method is limited to samples whose sizes multiply to at most {EXACT_MAX_CELLS} and add up to at most {EXACT_MAX_VALUES}; use the asymptotic method"
    )]
    TooLargeForExact,
}

fn check(x: &[f64], which: &'static str) -> Result<(), TestError> {
    if x.is_empty() {
        return Err(TestError::Empty { which });
    }
    match x.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(TestError::NotFinite { which, index }),
        None => Ok(()),
    }
}

/// Average ranks (1-based) of the concatenation of `x` and `y`, and the
/// sizes of every group of tied values.
fn ranks(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let all: Vec<f64> = x.iter().chain(y).copied().collect();
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| all[a].total_cmp(&all[b]));
    let mut rank = vec![0.0; all.len()];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && all[order[j]] == all[order[i]] {
            j += 1;
        }
        // Positions i..j (0-based) share the mean of ranks i+1..=j.
        let avg = (i + 1 + j) as f64 / 2.0;
        for &k in &order[i..j] {
            rank[k] = avg;
        }
        ties.push(j - i);
        i = j;
    }
    (rank, ties)
}

/// Runs the test of `x` against `y`.
pub fn mann_whitney_u(
    x: &[f64],
    y: &[f64],
    alternative: Alternative,
    method: Method,
) -> Result<MannWhitney, TestError> {
    check(x, "x")?;
    check(y, "y")?;
    let (n1, n2) = (x.len(), y.len());
    let (rank, ties) = ranks(x, y);
    let r1: f64 = rank[..n1].iter().sum();
    let u1 = r1 - (n1 * (n1 + 1)) as f64 / 2.0;
    let u2 = (n1 * n2) as f64 - u1;
    let (u, factor) = match alternative {
        Alternative::Greater => (u1, 1.0),
        Alternative::Less => (u2, 1.0),
        Alternative::TwoSided => (u1.max(u2), 2.0),
    };
    let has_ties = ties.iter().any(|&t| t > 1);
    let method = match method {
        Method::Auto if (n1 > 8 && n2 > 8) || has_ties => Method::Asymptotic,
        Method::Auto => Method::Exact,
        m => m,
    };
    let p = match method {
        Method::Exact => {
            if n1 * n2 > EXACT_MAX_CELLS || n1 + n2 > EXACT_MAX_VALUES {
                return Err(TestError::TooLargeForExact);
            }
            // Like scipy, a fractional U (ties) is truncated.
            exact_sf(u.trunc() as usize, n1, n2)
        }
        _ => {
            let z = z_score(u, n1, n2, &ties);
            normal_sf(z)
        }
    };
    Ok(MannWhitney {
        u1,
        p_value: (p * factor).clamp(0.0, 1.0),
        method,
    })
}

/// The standardized statistic with the tie-corrected variance and the
/// continuity correction (always subtracted: the survival function is used).
fn z_score(u: f64, n1: usize, n2: usize, ties: &[usize]) -> f64 {
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let n = n1f + n2f;
    let mu = n1f * n2f / 2.0;
    let tie_term: f64 = ties
        .iter()
        .map(|&t| {
            let t = t as f64;
            t * t * t - t
        })
        .sum();
    let s = (n1f * n2f / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
    (u - mu - 0.5) / s
}

/// P(Z > z) for a standard normal Z, accurate in the tails.
fn normal_sf(z: f64) -> f64 {
    if z.is_nan() {
        // s = 0: every value tied; nothing to tell the samples apart.
        return 1.0;
    }
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

/// P(U ≥ u) under the null hypothesis, from the number of rank
/// arrangements giving each U (built with the classic recurrence
/// w(u; a, b) = w(u − b; a − 1, b) + w(u; a, b − 1)).
fn exact_sf(u: usize, n1: usize, n2: usize) -> f64 {
    let (a_max, b_max) = (n1.min(n2), n1.max(n2));
    let cells = a_max * b_max;
    if u > cells {
        return 0.0;
    }
    // By symmetry P(U ≥ u) = P(U ≤ cells − u); sum the shorter tail.
    let freqs = u_frequencies(a_max, b_max);
    let total: f64 = freqs.iter().sum();
    let k = cells - u;
    let tail: f64 = if k < u {
        freqs[..=k].iter().sum()
    } else {
        1.0 * total - freqs[..u].iter().sum::<f64>()
    };
    tail / total
}

/// Counts of arrangements for each U in 0..=a·b, for sample sizes a ≤ b.
fn u_frequencies(a: usize, b: usize) -> Vec<f64> {
    // prev[j] holds the distribution for sizes (i − 1, j); cur for (i, j).
    let mut prev: Vec<Vec<f64>> = (0..=b).map(|_| vec![1.0]).collect();
    for i in 1..=a {
        let mut cur: Vec<Vec<f64>> = Vec::with_capacity(b + 1);
        cur.push(vec![1.0]);
        for j in 1..=b {
            let mut w = vec![0.0; i * j + 1];
            // Largest value from the first sample: it beats all j others.
            for (u, &c) in prev[j].iter().enumerate() {
                w[u + j] += c;
            }
            // Largest value from the second sample.
            for (u, &c) in cur[j - 1].iter().enumerate() {
                w[u] += c;
            }
            cur.push(w);
        }
        prev = cur;
    }
    prev.pop().unwrap_or_else(|| vec![1.0])
}

/// The Hodges-Lehmann estimate of the shift of `x` relative to `y`: the
/// median of every pairwise difference x − y. `None` when a sample is
/// empty.
pub fn hodges_lehmann(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.is_empty() || y.is_empty() {
        return None;
    }
    let mut d: Vec<f64> = x
        .iter()
        .flat_map(|a| y.iter().map(move |b| a - b))
        .collect();
    d.sort_by(f64::total_cmp);
    let m = d.len();
    Some(if m % 2 == 1 {
        d[m / 2]
    } else {
        (d[m / 2 - 1] + d[m / 2]) / 2.0
    })
}

/// The median of `x` (`None` when empty).
pub fn median(x: &[f64]) -> Option<f64> {
    if x.is_empty() {
        return None;
    }
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len();
    Some(if m % 2 == 1 {
        v[m / 2]
    } else {
        (v[m / 2 - 1] + v[m / 2]) / 2.0
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn u_distribution_sums_to_the_binomial() {
        let f = u_frequencies(3, 4);
        assert_eq!(f.len(), 13);
        assert_eq!(f.iter().sum::<f64>(), 35.0);
        // Symmetric around m·n/2.
        for u in 0..f.len() {
            assert_eq!(f[u], f[f.len() - 1 - u]);
        }
    }

    #[test]
    fn separated_samples() {
        // scipy.stats.mannwhitneyu([4,5,6],[1,2,3]) → U=9, p=0.1 (exact).
        let r = mann_whitney_u(
            &[4.0, 5.0, 6.0],
            &[1.0, 2.0, 3.0],
            Alternative::TwoSided,
            Method::Auto,
        )
        .unwrap();
        assert_eq!(r.u1, 9.0);
        assert!((r.p_value - 0.1).abs() < 1e-12, "{r:?}");
        assert_eq!(r.method, Method::Exact);
    }

    #[test]
    fn all_tied_is_not_significant() {
        let r =
            mann_whitney_u(&[1.0; 10], &[1.0; 10], Alternative::TwoSided, Method::Auto).unwrap();
        assert_eq!(r.p_value, 1.0);
    }

    #[test]
    fn bad_samples_are_errors() {
        assert!(matches!(
            mann_whitney_u(&[], &[1.0], Alternative::TwoSided, Method::Auto),
            Err(TestError::Empty { which: "x" })
        ));
        assert!(matches!(
            mann_whitney_u(&[1.0], &[f64::NAN], Alternative::TwoSided, Method::Auto),
            Err(TestError::NotFinite {
                which: "y",
                index: 0
            })
        ));
    }

    #[test]
    fn hodges_lehmann_is_the_median_pairwise_difference() {
        assert_eq!(
            hodges_lehmann(&[10.0, 11.0, 12.0], &[1.0, 2.0, 3.0]),
            Some(9.0)
        );
        assert_eq!(hodges_lehmann(&[1.0], &[]), None);
    }
}
