//! The Mann-Whitney p-values against `scipy.stats.mannwhitneyu` on fixed
//! samples: same statistic, p-values within 1e-9, for every method and
//! alternative. scipy comes from PyPI (scripts/install-peers.sh); without it
//! the test fails under CI=true and is skipped otherwise.

use std::process::Command;

use homeostat_canary::{Alternative, Method, mann_whitney_u};

/// Fixed cases: small without ties (exact), ties, large, separated,
/// identical, heavy tails.
fn cases() -> Vec<(Vec<f64>, Vec<f64>)> {
    let lcg = |seed: u64, n: usize, scale: f64, shift: f64| -> Vec<f64> {
        crate::uniform(seed, n)
            .into_iter()
            .map(|u| shift + scale * u)
            .collect()
    };
    let round = |v: Vec<f64>| {
        v.into_iter()
            .map(|x| (x * 4.0).round() / 4.0)
            .collect::<Vec<_>>()
    };
    vec![
        (vec![4.0, 5.0, 6.0], vec![1.0, 2.0, 3.0]),
        (vec![1.1, 2.3, 0.7, 5.2], vec![3.3, 4.4, 0.1, 2.9, 6.6]),
        (lcg(1, 7, 1.0, 0.0), lcg(2, 8, 1.0, 0.3)),
        (lcg(3, 8, 1.0, 0.0), lcg(4, 6, 2.0, -0.5)),
        (round(lcg(5, 12, 3.0, 0.0)), round(lcg(6, 15, 3.0, 0.5))),
        (lcg(7, 30, 0.01, 0.01), lcg(8, 30, 0.01, 0.05)),
        (lcg(9, 100, 1.0, 0.0), lcg(10, 120, 1.0, 0.05)),
        (vec![0.0; 20], [vec![0.0; 18], vec![1.0, 2.0]].concat()),
        (
            vec![1.0, 1.0, 2.0, 2.0, 3.0],
            vec![1.0, 2.0, 2.0, 3.0, 3.0, 3.0],
        ),
        (
            lcg(11, 50, 1.0, 0.0)
                .iter()
                .map(|x| x.powi(8) * 1e6)
                .collect(),
            lcg(12, 40, 1.0, 0.0)
                .iter()
                .map(|x| x.powi(8) * 1e6)
                .collect(),
        ),
        (lcg(13, 9, 1.0, 0.0), lcg(14, 9, 1.0, 0.9)),
    ]
}

fn fmt(v: &[f64]) -> String {
    format!(
        "[{}]",
        v.iter()
            .map(|x| format!("{x:?}"))
            .collect::<Vec<_>>()
            .join(",")
    )
}

#[test]
fn p_values_match_scipy() {
    let probe = Command::new("python3")
        .args(["-c", "import scipy.stats"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "scipy is missing (scripts/install-peers.sh installs it)"
        );
        eprintln!("skip: scipy is not installed");
        return;
    }
    let methods = [
        ("auto", Method::Auto),
        ("exact", Method::Exact),
        ("asymptotic", Method::Asymptotic),
    ];
    let alts = [
        ("two-sided", Alternative::TwoSided),
        ("greater", Alternative::Greater),
        ("less", Alternative::Less),
    ];
    let mut script = String::from("from scipy.stats import mannwhitneyu\n");
    let mut ours = Vec::new();
    for (x, y) in cases() {
        for (mname, m) in methods {
            for (aname, a) in alts {
                script.push_str(&format!(
                    "r = mannwhitneyu({}, {}, alternative='{aname}', method='{mname}')\nprint(repr(float(r.statistic)), repr(float(r.pvalue)))\n",
                    fmt(&x),
                    fmt(&y)
                ));
                ours.push((x.len(), y.len(), mname, aname, mann_whitney_u(&x, &y, a, m)));
            }
        }
    }
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), ours.len());
    let mut worst: f64 = 0.0;
    for (line, (n1, n2, m, a, r)) in lines.iter().zip(&ours) {
        let mut it = line
            .split_whitespace()
            .map(|v| v.parse::<f64>().unwrap_or(f64::NAN));
        let (u, p) = (it.next().unwrap_or(f64::NAN), it.next().unwrap_or(f64::NAN));
        let r = r
            .as_ref()
            .unwrap_or_else(|e| panic!("{n1}×{n2} {m} {a}: {e}"));
        assert_eq!(r.u1, u, "{n1}×{n2} {m} {a}: U");
        let d = (r.p_value - p).abs();
        worst = worst.max(d);
        assert!(
            d <= 1e-9,
            "{n1}×{n2} {m} {a}: p {} vs scipy {p} (diff {d:e})",
            r.p_value
        );
    }
    eprintln!(
        "{} cases, largest p-value difference from scipy {worst:e}",
        ours.len()
    );
}
