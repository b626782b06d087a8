//! One canary judgment, Kayenta-style: each metric's canary samples are
//! compared with the baseline's (Mann-Whitney U, Hodges-Lehmann shift),
//! classified, and the classifications are scored per weighted group.
//!
//! Missing data is never a pass: a metric without samples is `NoData`, one
//! with fewer than `min_samples` is `TooFewSamples`, and both count against
//! the score unless the metric says `allow_no_data`. A run where no metric
//! had data is `NoData`, not `Pass`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::mann_whitney::{Alternative, Method, hodges_lehmann, mann_whitney_u, median};

/// Which change of a metric is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// An increase is bad (errors, latency).
    Increase,
    /// A decrease is bad (throughput, success ratio).
    Decrease,
    /// Any significant change is bad.
    #[default]
    Either,
}

/// How one metric is judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    pub name: String,
    /// Scoring group; metrics without one are in `default`.
    #[serde(default = "default_group")]
    pub group: String,
    #[serde(default)]
    pub direction: Direction,
    /// A critical metric that fails fails the whole run.
    #[serde(default)]
    pub critical: bool,
    /// Tolerated increase of the canary over the baseline median, as a
    /// fraction (0.1 = 10 %), even when statistically significant.
    #[serde(default)]
    pub allowed_increase: f64,
    /// Tolerated decrease, as a fraction.
    #[serde(default)]
    pub allowed_decrease: f64,
    /// Fewer samples on either side than this is `TooFewSamples`.
    #[serde(default = "default_min_samples")]
    pub min_samples: usize,
    /// Leave the metric out of the score when it has no data, instead of
    /// counting it as failed.
    #[serde(default)]
    pub allow_no_data: bool,
}

fn default_group() -> String {
    "default".into()
}
fn default_min_samples() -> usize {
    5
}

impl MetricSpec {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            group: default_group(),
            direction: Direction::Either,
            critical: false,
            allowed_increase: 0.0,
            allowed_decrease: 0.0,
            min_samples: default_min_samples(),
            allow_no_data: false,
        }
    }
}

/// Run-wide settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeConfig {
    /// Confidence of the test, a fraction: 0.98 flags changes with p < 0.02.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Group weights; groups not listed weigh 1.
    #[serde(default)]
    pub group_weights: BTreeMap<String, f64>,
    /// Score (0–100) at or above which the canary passes.
    #[serde(default = "default_pass")]
    pub pass_threshold: f64,
    /// Score at or above which it is marginal (below: fail).
    #[serde(default = "default_marginal")]
    pub marginal_threshold: f64,
}

fn default_confidence() -> f64 {
    0.98
}
fn default_pass() -> f64 {
    95.0
}
fn default_marginal() -> f64 {
    75.0
}

impl Default for JudgeConfig {
    fn default() -> Self {
        Self {
            confidence: default_confidence(),
            group_weights: BTreeMap::new(),
            pass_threshold: default_pass(),
            marginal_threshold: default_marginal(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JudgeError {
    #[error("{field}: {problem}; {fix}")]
    Invalid {
        field: String,
        problem: String,
        fix: &'static str,
    },
}

fn invalid(field: impl Into<String>, problem: String, fix: &'static str) -> JudgeError {
    JudgeError::Invalid {
        field: field.into(),
        problem,
        fix,
    }
}

impl JudgeConfig {
    pub fn validate(&self) -> Result<(), JudgeError> {
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(invalid(
                "confidence",
                format!("{} is not a fraction between 0 and 1", self.confidence),
                "use e.g. 0.98 for 98 %",
            ));
        }
        for (field, v) in [
            ("pass_threshold", self.pass_threshold),
            ("marginal_threshold", self.marginal_threshold),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return Err(invalid(
                    field,
                    format!("{v} is outside 0..100"),
                    "scores are percentages",
                ));
            }
        }
        if self.marginal_threshold > self.pass_threshold {
            return Err(invalid(
                "marginal_threshold",
                format!(
                    "{} is above pass_threshold {}",
                    self.marginal_threshold, self.pass_threshold
                ),
                "set marginal_threshold at or below pass_threshold",
            ));
        }
        for (g, w) in &self.group_weights {
            if !(w.is_finite() && *w >= 0.0) {
                return Err(invalid(
                    format!("group_weights.{g}"),
                    format!("weight {w} is not a non-negative number"),
                    "use a weight such as 1 or 2.5",
                ));
            }
        }
        Ok(())
    }
}

impl MetricSpec {
    pub fn validate(&self, at: &str) -> Result<(), JudgeError> {
        if self.name.trim().is_empty() {
            return Err(invalid(
                format!("{at}.name"),
                "missing metric name".into(),
                "name every metric",
            ));
        }
        for (f, v) in [
            ("allowed_increase", self.allowed_increase),
            ("allowed_decrease", self.allowed_decrease),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid(
                    format!("{at}.{f}"),
                    format!("{v} is not a non-negative fraction"),
                    "use e.g. 0.1 to tolerate a 10 % change",
                ));
            }
        }
        if self.min_samples == 0 {
            return Err(invalid(
                format!("{at}.min_samples"),
                "0 would judge metrics without data".into(),
                "use at least 1 (default 5)",
            ));
        }
        Ok(())
    }
}

/// A metric's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Classification {
    Pass,
    /// The canary is significantly higher, beyond the tolerance, and an
    /// increase is bad for this metric.
    High,
    /// Significantly lower, beyond the tolerance, and a decrease is bad.
    Low,
    /// No samples on one side.
    NoData,
    /// Some samples, but fewer than `min_samples` on one side.
    TooFewSamples,
}

impl Classification {
    fn failed(self) -> bool {
        matches!(self, Classification::High | Classification::Low)
    }
    fn missing(self) -> bool {
        matches!(self, Classification::NoData | Classification::TooFewSamples)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricResult {
    pub name: String,
    pub group: String,
    pub critical: bool,
    pub classification: Classification,
    /// Why, in words.
    pub reason: String,
    pub baseline_count: usize,
    pub canary_count: usize,
    pub baseline_median: Option<f64>,
    pub canary_median: Option<f64>,
    /// Hodges-Lehmann estimate of canary − baseline.
    pub shift: Option<f64>,
    /// The shift relative to the baseline median (0.5 = +50 %).
    pub relative_shift: Option<f64>,
    pub p_value: Option<f64>,
}

/// Classifies one metric. Non-finite samples (NaN from a 0/0 rate) are
/// dropped first, as the points a query could not compute.
pub fn classify(
    spec: &MetricSpec,
    baseline: &[f64],
    canary: &[f64],
    confidence: f64,
) -> MetricResult {
    let b: Vec<f64> = baseline.iter().copied().filter(|v| v.is_finite()).collect();
    let c: Vec<f64> = canary.iter().copied().filter(|v| v.is_finite()).collect();
    let mut r = MetricResult {
        name: spec.name.clone(),
        group: spec.group.clone(),
        critical: spec.critical,
        classification: Classification::Pass,
        reason: String::new(),
        baseline_count: b.len(),
        canary_count: c.len(),
        baseline_median: median(&b),
        canary_median: median(&c),
        shift: None,
        relative_shift: None,
        p_value: None,
    };
    if b.is_empty() || c.is_empty() {
        r.classification = Classification::NoData;
        r.reason = match (b.is_empty(), c.is_empty()) {
            (true, true) => "no data for baseline or canary".into(),
            (true, false) => "no data for the baseline".into(),
            _ => "no data for the canary".into(),
        };
        return r;
    }
    if b.len() < spec.min_samples || c.len() < spec.min_samples {
        r.classification = Classification::TooFewSamples;
        r.reason = format!(
            "{} baseline and {} canary samples; at least {} each are needed",
            b.len(),
            c.len(),
            spec.min_samples
        );
        return r;
    }
    let Ok(test) = mann_whitney_u(&c, &b, Alternative::TwoSided, Method::Auto) else {
        // Unreachable with non-empty finite samples; report rather than pass.
        r.classification = Classification::NoData;
        r.reason = "the test could not be computed".into();
        return r;
    };
    let mut shift = hodges_lehmann(&c, &b).unwrap_or(0.0);
    if shift == 0.0 {
        // Mostly-zero metrics (error rates) can differ with a zero median
        // shift; the mean difference then carries the direction.
        shift = mean(&c) - mean(&b);
    }
    let base = r.baseline_median.unwrap_or(0.0).abs();
    let base = if base > 0.0 {
        base
    } else {
        mean(&b.iter().map(|v| v.abs()).collect::<Vec<_>>())
    };
    let relative = if base > 0.0 {
        shift / base
    } else if shift == 0.0 {
        0.0
    } else {
        shift.signum() * f64::INFINITY
    };
    r.shift = Some(shift);
    r.relative_shift = relative.is_finite().then_some(relative);
    r.p_value = Some(test.p_value);
    let alpha = 1.0 - confidence;
    let significant = test.p_value < alpha;
    let pct = |x: f64| {
        if x.is_finite() {
            format!("{:+.1} %", x * 100.0)
        } else {
            "from zero".into()
        }
    };
    if !significant {
        r.reason = format!(
            "no significant difference (p = {:.4} ≥ {alpha:.4})",
            test.p_value
        );
    } else if shift > 0.0 && relative > spec.allowed_increase {
        if spec.direction == Direction::Decrease {
            r.reason = format!("higher ({}), and only a decrease is bad", pct(relative));
        } else {
            r.classification = Classification::High;
            r.reason = format!(
                "canary higher by {} (p = {:.2e}), beyond the {} tolerated",
                pct(relative),
                test.p_value,
                pct(spec.allowed_increase)
            );
        }
    } else if shift < 0.0 && -relative > spec.allowed_decrease {
        if spec.direction == Direction::Increase {
            r.reason = format!("lower ({}), and only an increase is bad", pct(relative));
        } else {
            r.classification = Classification::Low;
            r.reason = format!(
                "canary lower by {} (p = {:.2e}), beyond the {} tolerated",
                pct(relative),
                test.p_value,
                pct(-spec.allowed_decrease)
            );
        }
    } else {
        r.reason = format!("significant but within tolerance ({})", pct(relative));
    }
    r
}

fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        0.0
    } else {
        x.iter().sum::<f64>() / x.len() as f64
    }
}

/// The run's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Pass,
    Marginal,
    Fail,
    /// Nothing could be judged (no metric had data, or a critical metric
    /// had none): neither a pass nor a fail, and callers must not treat it
    /// as a pass.
    NoData,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupScore {
    pub group: String,
    pub weight: f64,
    /// 0–100; `None` when every metric of the group was left out.
    pub score: Option<f64>,
    pub passed: usize,
    pub counted: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgment {
    pub verdict: Verdict,
    /// 0–100.
    pub score: f64,
    pub reason: String,
    pub groups: Vec<GroupScore>,
    pub metrics: Vec<MetricResult>,
}

/// Judges classified metrics.
pub fn score(config: &JudgeConfig, metrics: Vec<MetricResult>, specs: &[MetricSpec]) -> Judgment {
    let allow_missing = |name: &str| {
        specs
            .iter()
            .find(|s| s.name == name)
            .is_some_and(|s| s.allow_no_data)
    };
    let mut groups: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for m in &metrics {
        let e = groups.entry(m.group.as_str()).or_default();
        if m.classification.missing() && allow_missing(&m.name) {
            continue;
        }
        e.1 += 1;
        if m.classification == Classification::Pass {
            e.0 += 1;
        }
    }
    let group_scores: Vec<GroupScore> = groups
        .iter()
        .map(|(g, &(passed, counted))| GroupScore {
            group: g.to_string(),
            weight: config.group_weights.get(*g).copied().unwrap_or(1.0),
            score: (counted > 0).then(|| 100.0 * passed as f64 / counted as f64),
            passed,
            counted,
        })
        .collect();
    let (num, den) = group_scores
        .iter()
        .filter_map(|g| g.score.map(|s| (s * g.weight, g.weight)))
        .fold((0.0, 0.0), |(a, b), (x, w)| (a + x, b + w));
    let score = if den > 0.0 { num / den } else { 0.0 };
    let all_missing = metrics.iter().all(|m| m.classification.missing());
    let critical_failed: Vec<&str> = metrics
        .iter()
        .filter(|m| m.critical && m.classification.failed())
        .map(|m| m.name.as_str())
        .collect();
    let critical_missing: Vec<&str> = metrics
        .iter()
        .filter(|m| m.critical && m.classification.missing())
        .map(|m| m.name.as_str())
        .collect();
    let (verdict, score, reason) = if metrics.is_empty() || all_missing {
        (
            Verdict::NoData,
            0.0,
            "no metric had enough data to judge".to_string(),
        )
    } else if !critical_failed.is_empty() {
        (
            Verdict::Fail,
            0.0,
            format!("critical metric failed: {}", critical_failed.join(", ")),
        )
    } else if !critical_missing.is_empty() {
        (
            Verdict::NoData,
            score,
            format!(
                "critical metric without enough data: {}",
                critical_missing.join(", ")
            ),
        )
    } else if score >= config.pass_threshold {
        (
            Verdict::Pass,
            score,
            format!(
                "score {score:.1} ≥ pass threshold {}",
                config.pass_threshold
            ),
        )
    } else if score >= config.marginal_threshold {
        (
            Verdict::Marginal,
            score,
            format!(
                "score {score:.1} is between the marginal ({}) and pass ({}) thresholds",
                config.marginal_threshold, config.pass_threshold
            ),
        )
    } else {
        (
            Verdict::Fail,
            score,
            format!(
                "score {score:.1} < marginal threshold {}",
                config.marginal_threshold
            ),
        )
    };
    Judgment {
        verdict,
        score,
        reason,
        groups: group_scores,
        metrics,
    }
}

impl Judgment {
    /// The same judgment with another reason (a judgment that could not run).
    pub fn with_reason(mut self, reason: String) -> Self {
        self.reason = reason;
        self
    }
}

/// Samples of one metric on both sides.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricSamples {
    pub baseline: Vec<f64>,
    pub canary: Vec<f64>,
}

/// Validates, classifies every metric and scores the run.
pub fn judge(
    config: &JudgeConfig,
    specs: &[MetricSpec],
    samples: &[MetricSamples],
) -> Result<Judgment, JudgeError> {
    config.validate()?;
    if specs.is_empty() {
        return Err(invalid(
            "metrics",
            "no metrics to judge".into(),
            "list at least one metric",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, s) in specs.iter().enumerate() {
        s.validate(&format!("metrics[{i}]"))?;
        if !seen.insert(s.name.as_str()) {
            return Err(invalid(
                format!("metrics[{i}].name"),
                format!("metric {:?} is listed twice", s.name),
                "give every metric a unique name",
            ));
        }
    }
    let empty = MetricSamples::default();
    let results = specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let d = samples.get(i).unwrap_or(&empty);
            classify(s, &d.baseline, &d.canary, config.confidence)
        })
        .collect();
    Ok(score(config, results, specs))
}
