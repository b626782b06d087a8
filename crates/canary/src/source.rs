//! Canary judgments over PromQL: each metric is a query with a `{{.group}}`
//! placeholder (filled with the baseline's and the canary's group value,
//! escaped to stay inside a PromQL string literal) or
//! a pair of queries, evaluated as range queries over the lookback; every
//! finite point of every returned series is a sample.

use std::time::Duration;

use homeostat_model::template::{Escape, Template};
use homeostat_model::{Timestamp, parse_duration};
use homeostat_promql::{Engine, QueryParams, Value};
use homeostat_storage::Querier;
use serde::{Deserialize, Serialize};

use crate::judge::{Direction, JudgeConfig, Judgment, MetricSamples, MetricSpec, judge};

/// One metric of a judgment request, as written (API body or YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricQuery {
    pub name: String,
    /// PromQL with `{{.group}}` where the group's label value goes.
    pub query: Option<String>,
    /// Or one query per side.
    pub baseline_query: Option<String>,
    pub canary_query: Option<String>,
    #[serde(default = "default_group")]
    pub group: String,
    #[serde(default)]
    pub direction: Direction,
    #[serde(default)]
    pub critical: bool,
    #[serde(default)]
    pub allowed_increase: f64,
    #[serde(default)]
    pub allowed_decrease: f64,
    #[serde(default = "default_min_samples")]
    pub min_samples: usize,
    #[serde(default)]
    pub allow_no_data: bool,
}

/// The placeholder of a metric's `query`.
const GROUP: &str = "group";

fn default_group() -> String {
    "default".into()
}
fn default_min_samples() -> usize {
    5
}

/// A judgment request: the metrics, which groups are compared, over what
/// lookback at what resolution, and the judge's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeRequest {
    pub metrics: Vec<MetricQuery>,
    /// `{{.group}}` value of the baseline (default `baseline`).
    #[serde(default = "baseline")]
    pub baseline: String,
    /// `{{.group}}` value of the canary (default `canary`).
    #[serde(default = "canary")]
    pub canary: String,
    /// How far back each judgment reads (default 10m).
    #[serde(default = "lookback")]
    pub lookback: String,
    /// Resolution of the samples (default 30s).
    #[serde(default = "step")]
    pub step: String,
    #[serde(default)]
    pub config: JudgeConfig,
}

fn baseline() -> String {
    "baseline".into()
}
fn canary() -> String {
    "canary".into()
}
fn lookback() -> String {
    "10m".into()
}
fn step() -> String {
    "30s".into()
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct RequestError {
    pub field: String,
    pub problem: String,
}

fn bad(field: impl Into<String>, problem: impl Into<String>) -> RequestError {
    RequestError {
        field: field.into(),
        problem: problem.into(),
    }
}

/// A checked request: the two queries of every metric, durations parsed.
#[derive(Debug, Clone)]
pub struct PreparedJudge {
    pub specs: Vec<MetricSpec>,
    /// (baseline query, canary query) per metric.
    pub queries: Vec<(String, String)>,
    pub lookback: Duration,
    pub step: Duration,
    pub config: JudgeConfig,
}

/// Most points a side may read per metric: a lookback/step beyond this is
/// a mistake, not a judgment.
const MAX_POINTS: u64 = 11_000;

impl JudgeRequest {
    pub fn prepare(&self) -> Result<PreparedJudge, RequestError> {
        self.config
            .validate()
            .map_err(|e| bad("config", e.to_string()))?;
        let lookback =
            parse_duration(&self.lookback).map_err(|e| bad("lookback", e.to_string()))?;
        let step = parse_duration(&self.step).map_err(|e| bad("step", e.to_string()))?;
        if step.is_zero() || lookback < step {
            return Err(bad("step", "must be positive and at most the lookback"));
        }
        if lookback.as_millis() as u64 / step.as_millis() as u64 > MAX_POINTS {
            return Err(bad(
                "step",
                format!("lookback/step gives more than {MAX_POINTS} points; use a coarser step"),
            ));
        }
        if self.metrics.is_empty() {
            return Err(bad("metrics", "no metrics to judge"));
        }
        if self.baseline == self.canary {
            return Err(bad("canary", "the canary and baseline groups are the same"));
        }
        let mut specs = Vec::new();
        let mut queries = Vec::new();
        for (i, m) in self.metrics.iter().enumerate() {
            let at = format!("metrics[{i}]");
            let pair = match (&m.query, &m.baseline_query, &m.canary_query) {
                (Some(q), None, None) => {
                    let field = format!("{at}.query");
                    let template =
                        Template::parse(q, &[GROUP]).map_err(|e| bad(&field, e.to_string()))?;
                    if !template.uses(GROUP) {
                        return Err(bad(
                            field,
                            "no {{.group}} placeholder: baseline and canary would read the same series; add it or give baseline_query and canary_query",
                        ));
                    }
                    // The group values come from the request: escaped, they
                    // stay inside the label matcher's string literal.
                    let fill = |group: &str| {
                        template
                            .render(&[(GROUP, group)], Escape::PromqlString)
                            .map_err(|e| bad(&field, e.to_string()))
                    };
                    (fill(&self.baseline)?, fill(&self.canary)?)
                }
                (None, Some(b), Some(c)) => (b.clone(), c.clone()),
                _ => {
                    return Err(bad(
                        &at,
                        "give either `query` with {{.group}} or both `baseline_query` and `canary_query`",
                    ));
                }
            };
            for (side, q) in [("baseline", &pair.0), ("canary", &pair.1)] {
                homeostat_promql::parse(q).map_err(|e| {
                    bad(
                        format!("{at}.query"),
                        format!("the {side} query is not valid PromQL: {e}"),
                    )
                })?;
            }
            let spec = MetricSpec {
                name: m.name.clone(),
                group: m.group.clone(),
                direction: m.direction,
                critical: m.critical,
                allowed_increase: m.allowed_increase,
                allowed_decrease: m.allowed_decrease,
                min_samples: m.min_samples,
                allow_no_data: m.allow_no_data,
            };
            spec.validate(&at).map_err(|e| bad(&at, e.to_string()))?;
            specs.push(spec);
            queries.push(pair);
        }
        Ok(PreparedJudge {
            specs,
            queries,
            lookback,
            step,
            config: self.config.clone(),
        })
    }
}

fn samples(
    engine: &Engine,
    q: &dyn Querier,
    expr: &str,
    start: Timestamp,
    end: Timestamp,
    step: Duration,
) -> Result<Vec<f64>, String> {
    let out = engine
        .range_query(q, expr, start, end, step, &QueryParams::default())
        .map_err(|e| e.to_string())?;
    Ok(match out.value {
        Value::Matrix(series) => series
            .iter()
            .flat_map(|s| s.samples.iter().map(|p| p.v))
            .filter(|v| v.is_finite())
            .collect(),
        Value::Scalar { v, .. } => vec![v],
        _ => Vec::new(),
    })
}

/// Judges the canary at `now` over `[now − lookback, now]`. A query that
/// fails is reported as that metric having no data (with the error in its
/// reason), never as a pass.
pub fn judge_now(engine: &Engine, q: &dyn Querier, p: &PreparedJudge, now: Timestamp) -> Judgment {
    let start = now - p.lookback.as_millis() as i64;
    let mut errors = Vec::new();
    let data: Vec<MetricSamples> = p
        .queries
        .iter()
        .enumerate()
        .map(|(i, (b, c))| {
            let mut get = |expr: &str| {
                samples(engine, q, expr, start, now, p.step).unwrap_or_else(|e| {
                    errors.push((i, e));
                    Vec::new()
                })
            };
            MetricSamples {
                baseline: get(b),
                canary: get(c),
            }
        })
        .collect();
    let mut j = match judge(&p.config, &p.specs, &data) {
        Ok(j) => j,
        Err(e) => crate::judge::score(&p.config, Vec::new(), &[]).with_reason(e.to_string()),
    };
    for (i, e) in errors {
        if let Some(m) = j.metrics.get_mut(i) {
            m.reason = format!("{}; query failed: {e}", m.reason);
        }
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str, canary: &str) -> JudgeRequest {
        JudgeRequest {
            metrics: vec![MetricQuery {
                name: "errors".into(),
                query: Some(query.into()),
                baseline_query: None,
                canary_query: None,
                group: default_group(),
                direction: Direction::default(),
                critical: false,
                allowed_increase: 0.0,
                allowed_decrease: 0.0,
                min_samples: default_min_samples(),
                allow_no_data: false,
            }],
            baseline: baseline(),
            canary: canary.into(),
            lookback: lookback(),
            step: step(),
            config: JudgeConfig::default(),
        }
    }

    #[test]
    fn group_values_stay_inside_the_string_literal() {
        let p = request(r#"errors{track="{{ .group }}"}"#, "x\"} or vector(1) #")
            .prepare()
            .unwrap();
        assert_eq!(p.queries[0].0, r#"errors{track="baseline"}"#);
        assert_eq!(p.queries[0].1, r#"errors{track="x\x22} or vector(1) #"}"#);
        // Prometheus' parser reads the value back unchanged.
        let expr = promql_parser::parser::parse(&p.queries[0].1).unwrap();
        let promql_parser::parser::Expr::VectorSelector(vs) = expr else {
            panic!("not a selector: {expr:?}");
        };
        let track = vs.matchers.matchers.iter().find(|m| m.name == "track");
        assert_eq!(track.map(|m| m.value.as_str()), Some("x\"} or vector(1) #"));
    }

    #[test]
    fn an_unknown_placeholder_is_an_error_naming_it() {
        let e = request(r#"errors{track="{{.grup}}"}"#, "canary")
            .prepare()
            .unwrap_err();
        assert_eq!(e.field, "metrics[0].query");
        assert!(e.problem.contains("{{.grup}}"), "{e}");
    }
}
