//! Judgments on fixed samples: a 5× error rate fails, an identical canary
//! passes, an empty one is NoData.
#![allow(clippy::unwrap_used)]

mod scipy;

use homeostat_canary::{
    Classification, Direction, JudgeConfig, MetricSamples, MetricSpec, Verdict, judge,
};

/// `n` uniform values in [0, 1) from a small LCG (no rand dependency, the
/// same values on every run).
pub fn uniform(seed: u64, n: usize) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

/// Deterministic noise around `level`.
fn series(level: f64, n: usize, seed: u64) -> Vec<f64> {
    uniform(seed, n)
        .into_iter()
        .map(|u| level * (0.8 + 0.4 * u))
        .collect()
}

fn errors_spec() -> MetricSpec {
    MetricSpec {
        direction: Direction::Increase,
        critical: true,
        allowed_increase: 0.1,
        ..MetricSpec::new("error_ratio")
    }
}

fn latency_spec() -> MetricSpec {
    MetricSpec {
        group: "latency".into(),
        direction: Direction::Increase,
        allowed_increase: 0.2,
        ..MetricSpec::new("p99_latency")
    }
}

#[test]
fn five_times_the_error_rate_fails() {
    let samples = vec![
        MetricSamples {
            baseline: series(0.01, 30, 1),
            canary: series(0.05, 30, 2),
        },
        MetricSamples {
            baseline: series(0.2, 30, 3),
            canary: series(0.2, 30, 4),
        },
    ];
    let j = judge(
        &JudgeConfig::default(),
        &[errors_spec(), latency_spec()],
        &samples,
    )
    .unwrap();
    assert_eq!(
        j.metrics[0].classification,
        Classification::High,
        "{:?}",
        j.metrics[0]
    );
    assert_eq!(j.verdict, Verdict::Fail);
    assert!(
        j.reason.contains("critical metric failed: error_ratio"),
        "{}",
        j.reason
    );
    let rel = j.metrics[0].relative_shift.unwrap();
    assert!((3.0..5.0).contains(&rel), "{rel}");
}

#[test]
fn an_identical_canary_passes() {
    let b = series(0.01, 30, 7);
    let samples = vec![
        MetricSamples {
            baseline: b.clone(),
            canary: b,
        },
        MetricSamples {
            baseline: series(0.2, 30, 3),
            canary: series(0.2, 30, 4),
        },
    ];
    let j = judge(
        &JudgeConfig::default(),
        &[errors_spec(), latency_spec()],
        &samples,
    )
    .unwrap();
    assert_eq!(j.verdict, Verdict::Pass, "{j:?}");
    assert_eq!(j.score, 100.0);
}

#[test]
fn an_empty_canary_is_no_data_never_a_pass() {
    let samples = vec![
        MetricSamples {
            baseline: series(0.01, 30, 1),
            canary: vec![],
        },
        MetricSamples {
            baseline: series(0.2, 30, 3),
            canary: vec![f64::NAN; 4],
        },
    ];
    let j = judge(
        &JudgeConfig::default(),
        &[errors_spec(), latency_spec()],
        &samples,
    )
    .unwrap();
    assert_eq!(j.metrics[0].classification, Classification::NoData);
    assert_eq!(j.metrics[0].reason, "no data for the canary");
    assert_eq!(j.verdict, Verdict::NoData);
    assert_eq!(j.score, 0.0);
}

#[test]
fn too_few_samples_is_explicit_and_counts_against_the_score() {
    let specs = [MetricSpec::new("a"), MetricSpec::new("b")];
    let samples = vec![
        MetricSamples {
            baseline: series(1.0, 30, 1),
            canary: series(1.0, 30, 2),
        },
        MetricSamples {
            baseline: series(1.0, 30, 1),
            canary: series(1.0, 3, 2),
        },
    ];
    let j = judge(&JudgeConfig::default(), &specs, &samples).unwrap();
    assert_eq!(j.metrics[1].classification, Classification::TooFewSamples);
    assert_eq!(j.score, 50.0);
    assert_eq!(j.verdict, Verdict::Fail);

    // Unless the metric allows missing data: then it is left out.
    let specs = [
        MetricSpec::new("a"),
        MetricSpec {
            allow_no_data: true,
            ..MetricSpec::new("b")
        },
    ];
    let j = judge(&JudgeConfig::default(), &specs, &samples).unwrap();
    assert_eq!(j.verdict, Verdict::Pass);
}

#[test]
fn direction_and_tolerance() {
    // Throughput down 50 %: bad only when a decrease is bad.
    let b = series(100.0, 30, 1);
    let c = series(50.0, 30, 2);
    let down_is_bad = MetricSpec {
        direction: Direction::Decrease,
        ..MetricSpec::new("rps")
    };
    let up_is_bad = MetricSpec {
        direction: Direction::Increase,
        ..MetricSpec::new("rps")
    };
    let s = [MetricSamples {
        baseline: b.clone(),
        canary: c.clone(),
    }];
    assert_eq!(
        judge(&JudgeConfig::default(), &[down_is_bad], &s)
            .unwrap()
            .metrics[0]
            .classification,
        Classification::Low
    );
    assert_eq!(
        judge(&JudgeConfig::default(), &[up_is_bad], &s)
            .unwrap()
            .metrics[0]
            .classification,
        Classification::Pass
    );
    // +10 % is significant but tolerated at 20 %.
    let s = [MetricSamples {
        baseline: b.clone(),
        canary: b.iter().map(|v| v * 1.1).collect(),
    }];
    let tolerant = MetricSpec {
        allowed_increase: 0.2,
        ..MetricSpec::new("lat")
    };
    let j = judge(&JudgeConfig::default(), &[tolerant], &s).unwrap();
    assert_eq!(
        j.metrics[0].classification,
        Classification::Pass,
        "{:?}",
        j.metrics[0]
    );
    assert!(j.metrics[0].reason.contains("within tolerance"));
}

#[test]
fn weighted_groups_and_marginal() {
    let config = JudgeConfig {
        group_weights: [("a".to_string(), 3.0), ("b".to_string(), 1.0)].into(),
        ..JudgeConfig::default()
    };
    let specs = [
        MetricSpec {
            group: "a".into(),
            ..MetricSpec::new("a1")
        },
        MetricSpec {
            group: "b".into(),
            ..MetricSpec::new("b1")
        },
    ];
    let same = MetricSamples {
        baseline: series(1.0, 30, 1),
        canary: series(1.0, 30, 2),
    };
    let worse = MetricSamples {
        baseline: series(1.0, 30, 1),
        canary: series(3.0, 30, 2),
    };
    let j = judge(&config, &specs, &[same, worse]).unwrap();
    assert_eq!(j.score, 75.0);
    assert_eq!(j.verdict, Verdict::Marginal);
}

#[test]
fn bad_configs_are_refused_with_the_field() {
    let s = [MetricSamples::default()];
    let e = judge(
        &JudgeConfig {
            confidence: 98.0,
            ..JudgeConfig::default()
        },
        &[MetricSpec::new("a")],
        &s,
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("confidence: 98 is not a fraction"), "{e}");
    let e = judge(
        &JudgeConfig::default(),
        &[MetricSpec {
            allowed_increase: -1.0,
            ..MetricSpec::new("a")
        }],
        &s,
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("metrics[0].allowed_increase"), "{e}");
    let e = judge(
        &JudgeConfig::default(),
        &[MetricSpec::new("a"), MetricSpec::new("a")],
        &s,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("listed twice"), "{e}");
    let e = judge(
        &JudgeConfig {
            marginal_threshold: 99.0,
            ..JudgeConfig::default()
        },
        &[MetricSpec::new("a")],
        &s,
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("marginal_threshold"), "{e}");
}
