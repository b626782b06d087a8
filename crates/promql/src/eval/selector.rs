//! Reading from storage: instant selectors with lookback and staleness,
//! range selectors, and subqueries.

use homeostat_model::{Sample, Timestamp, is_stale_nan};
use homeostat_storage::{MatchOp, Matcher, SelectRequest, StorageError};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{Expr, VectorSelector};

use super::{Evaluator, RangeArg, RawSeries, Series, Steps, Val, duration_ms};
use crate::QueryError;

/// Converts a parsed selector into storage matchers: one list per `or` branch.
pub fn selector_matchers(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>, QueryError> {
    let convert = |ms: &[promql_parser::label::Matcher]| -> Result<Vec<Matcher>, QueryError> {
        let mut out = Vec::with_capacity(ms.len() + 1);
        if let Some(name) = &vs.name {
            out.push(Matcher::equal("__name__", name.clone()));
        }
        for m in ms {
            let op = match m.op {
                PMatchOp::Equal => MatchOp::Equal,
                PMatchOp::NotEqual => MatchOp::NotEqual,
                PMatchOp::Re(_) => MatchOp::RegexMatch,
                PMatchOp::NotRe(_) => MatchOp::RegexNoMatch,
            };
            out.push(
                Matcher::new(op, m.name.clone(), m.value.clone())
                    .map_err(|e| QueryError::BadData(e.to_string()))?,
            );
        }
        Ok(out)
    };
    if vs.matchers.or_matchers.is_empty() {
        Ok(vec![convert(&vs.matchers.matchers)?])
    } else {
        vs.matchers
            .or_matchers
            .iter()
            .map(|branch| {
                let mut all = vs.matchers.matchers.clone();
                all.extend(branch.iter().cloned());
                convert(&all)
            })
            .collect()
    }
}

impl Evaluator<'_> {
    /// All series matching `vs` with their samples in `[mint, maxt]`, stale
    /// markers included, sorted by labels.
    fn select(
        &mut self,
        vs: &VectorSelector,
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<RawSeries>, QueryError> {
        let branches = selector_matchers(vs)?;
        let several = branches.len() > 1;
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<RawSeries> = Vec::new();
        for matchers in branches {
            let req = SelectRequest {
                matchers,
                mint,
                maxt,
                max_samples: Some(self.remaining_samples()),
            };
            let series = self.querier.select(&req).map_err(|e| match e {
                StorageError::LimitExceeded { .. } => {
                    super::too_many_samples(self.max_samples_limit())
                }
                e => QueryError::Storage(e),
            })?;
            let n: usize = series.iter().map(|s| s.samples.len()).sum();
            self.add_loaded(n)?;
            for s in series {
                // `{a="1" or b="2"}`: a series matching both branches counts once.
                if several && !seen.insert(s.labels.clone()) {
                    continue;
                }
                out.push(RawSeries {
                    labels: s.labels,
                    drop_name: false,
                    samples: s.samples,
                });
            }
        }
        if several {
            out.sort_by(|a, b| a.labels.cmp(&b.labels));
        }
        Ok(out)
    }

    fn max_samples_limit(&self) -> usize {
        self.max_samples
    }

    pub(crate) fn eval_vector_selector(
        &mut self,
        vs: &VectorSelector,
        steps: &Steps,
    ) -> Result<Vec<Series>, QueryError> {
        self.instant_selector(vs, steps, false, |s| s.v)
    }

    /// Per step, the timestamp of the sample an instant selector reads (for `timestamp()`).
    pub(crate) fn eval_selector_timestamps(
        &mut self,
        vs: &VectorSelector,
        steps: &Steps,
    ) -> Result<Vec<Series>, QueryError> {
        self.instant_selector(vs, steps, true, |s| s.t as f64 / 1000.0)
    }

    /// Reads an instant selector: per step, `value` of the newest sample
    /// within the lookback window, absent when that sample is a stale marker.
    fn instant_selector(
        &mut self,
        vs: &VectorSelector,
        steps: &Steps,
        drop_name: bool,
        value: impl Fn(&Sample) -> f64,
    ) -> Result<Vec<Series>, QueryError> {
        let times = self.eval_times(steps, &vs.at, &vs.offset);
        let (Some(&lo), Some(&hi)) = (times.iter().min(), times.iter().max()) else {
            return Ok(Vec::new());
        };
        let lookback = self.lookback;
        let raw = self.select(vs, lo - lookback + 1, hi)?;
        Ok(raw
            .into_iter()
            .map(|r| Series {
                vals: times
                    .iter()
                    .map(|&t| latest_before(&r.samples, t, lookback).map(&value))
                    .collect(),
                labels: r.labels,
                drop_name,
            })
            .filter(|s| !s.is_empty())
            .collect())
    }

    /// A matrix selector or subquery as the argument of a range function.
    pub(crate) fn eval_range_arg(
        &mut self,
        expr: &Expr,
        steps: &Steps,
    ) -> Result<RangeArg, QueryError> {
        match expr {
            Expr::Paren(p) => self.eval_range_arg(&p.expr, steps),
            Expr::MatrixSelector(ms) => {
                let range = duration_ms(&ms.range);
                let window_ends = self.eval_times(steps, &ms.vs.at, &ms.vs.offset);
                let lo = window_ends.iter().copied().min().unwrap_or(steps.start);
                let hi = window_ends.iter().copied().max().unwrap_or(steps.start);
                let mut series = self.select(&ms.vs, lo - range + 1, hi)?;
                for s in &mut series {
                    s.samples.retain(|p| !is_stale_nan(p.v));
                }
                series.retain(|s| !s.samples.is_empty());
                Ok(RangeArg {
                    series,
                    range,
                    window_ends,
                })
            }
            Expr::Subquery(sq) => {
                let range = duration_ms(&sq.range);
                let window_ends = self.eval_times(steps, &sq.at, &sq.offset);
                let lo = window_ends.iter().copied().min().unwrap_or(steps.start);
                let hi = window_ends.iter().copied().max().unwrap_or(steps.start);
                let interval = sq
                    .step
                    .as_ref()
                    .map(duration_ms)
                    .filter(|s| *s > 0)
                    .unwrap_or(self.subquery_step);
                // The first step after `lo - range` that is a multiple of the
                // interval, so that results do not shift as time passes.
                let first = lo - range;
                let mut start = interval * (first / interval);
                if start <= first {
                    start += interval;
                }
                let inner = Steps::new(start, hi, interval);
                let inner = if start > hi {
                    Steps {
                        start,
                        step: interval,
                        n: 0,
                    }
                } else {
                    inner
                };
                let series = if inner.n == 0 {
                    Vec::new()
                } else {
                    match self.eval(&sq.expr, &inner)? {
                        Val::Scalar(v) => vec![RawSeries {
                            labels: homeostat_model::Labels::empty(),
                            drop_name: false,
                            samples: v
                                .iter()
                                .enumerate()
                                .map(|(i, v)| Sample::new(inner.ts(i), *v))
                                .collect(),
                        }],
                        Val::Vector(vs) => vs
                            .into_iter()
                            .map(|s| RawSeries {
                                samples: s
                                    .vals
                                    .iter()
                                    .enumerate()
                                    .filter_map(|(i, v)| v.map(|v| Sample::new(inner.ts(i), v)))
                                    .collect(),
                                labels: s.labels,
                                drop_name: s.drop_name,
                            })
                            .filter(|s| !s.samples.is_empty())
                            .collect(),
                        _ => {
                            return Err(QueryError::Execution(
                                "subquery is only allowed on instant vector or scalar expressions"
                                    .into(),
                            ));
                        }
                    }
                };
                Ok(RangeArg {
                    series,
                    range,
                    window_ends,
                })
            }
            other => Err(QueryError::Execution(format!(
                "expected a range vector argument, got {other}"
            ))),
        }
    }
}

/// The newest sample at or before `t` within the lookback window, unless it is a stale marker.
fn latest_before(samples: &[Sample], t: Timestamp, lookback: i64) -> Option<&Sample> {
    let idx = samples.partition_point(|s| s.t <= t);
    let s = samples[..idx].last()?;
    if s.t <= t - lookback || is_stale_nan(s.v) {
        return None;
    }
    Some(s)
}
