//! The evaluator: walks the syntax tree once per query, producing for each
//! node a dense table of values over the query's steps.

mod aggregate;
mod binary;
mod call;
mod function;
mod histogram;
mod range_fns;
mod selector;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use homeostat_model::{Labels, METRIC_NAME, Sample, Timestamp};
use homeostat_storage::Querier;
use promql_parser::parser::{AtModifier, Expr, Offset};

use crate::value::{InstantSample, RangeSeries, Value};
use crate::{Annotations, QueryError, QueryOutput};

pub(crate) struct Ctx {
    pub start: Timestamp,
    pub end: Timestamp,
    pub step: i64,
    pub lookback_ms: i64,
    pub max_samples: usize,
    pub deadline: Instant,
    pub timeout: Duration,
    pub subquery_step_ms: i64,
}

/// The evaluation times of one (sub)query: `start + i * step` for `i < n`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Steps {
    pub start: Timestamp,
    pub step: i64,
    pub n: usize,
}

impl Steps {
    pub fn new(start: Timestamp, end: Timestamp, step: i64) -> Self {
        let n = if step <= 0 || end <= start {
            1
        } else {
            ((end - start) / step + 1) as usize
        };
        Steps { start, step, n }
    }
    pub fn ts(&self, i: usize) -> Timestamp {
        self.start + self.step * i as i64
    }
}

/// An instant-vector series evaluated at every step; `None` where absent.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub labels: Labels,
    /// Delayed `__name__` removal: the name is dropped when the query ends,
    /// so `label_replace` and `by (__name__)` can still see it.
    pub drop_name: bool,
    pub vals: Vec<Option<f64>>,
}

impl Series {
    fn is_empty(&self) -> bool {
        self.vals.iter().all(Option::is_none)
    }
}

/// Raw samples of one series for range-vector functions.
#[derive(Debug, Clone)]
pub(crate) struct RawSeries {
    pub labels: Labels,
    pub drop_name: bool,
    pub samples: Vec<Sample>,
}

/// A range vector evaluated for every step: each step reads the window
/// `(end - range, end]` of every series, with `end = window_ends[step]`.
#[derive(Debug)]
pub(crate) struct RangeArg {
    pub series: Vec<RawSeries>,
    pub range: i64,
    pub window_ends: Vec<Timestamp>,
}

impl RangeArg {
    /// The samples of series `s` in the window of step `i`.
    pub fn window(&self, s: usize, i: usize) -> &[Sample] {
        let end = self.window_ends[i];
        let samples = &self.series[s].samples;
        let lo = samples.partition_point(|p| p.t <= end - self.range);
        let hi = samples.partition_point(|p| p.t <= end);
        &samples[lo..hi.max(lo)]
    }
}

/// Slides over one series' windows step by step: window ends only move
/// forward, so both bounds advance instead of being searched for again.
#[derive(Debug, Default)]
pub(crate) struct WindowCursor {
    lo: usize,
    hi: usize,
    last_end: Option<Timestamp>,
}

impl WindowCursor {
    pub fn window<'a>(&mut self, arg: &'a RangeArg, s: usize, i: usize) -> &'a [Sample] {
        let end = arg.window_ends[i];
        let samples = &arg.series[s].samples;
        if self.last_end.is_some_and(|last| end < last) {
            *self = WindowCursor::default();
        }
        self.last_end = Some(end);
        let start = end - arg.range;
        while self.lo < samples.len() && samples[self.lo].t <= start {
            self.lo += 1;
        }
        if self.hi < self.lo {
            self.hi = self.lo;
        }
        while self.hi < samples.len() && samples[self.hi].t <= end {
            self.hi += 1;
        }
        &samples[self.lo..self.hi]
    }

    /// Index range of the last window returned.
    pub fn bounds(&self) -> (usize, usize) {
        (self.lo, self.hi)
    }
}

#[derive(Debug)]
pub(crate) enum Val {
    Scalar(Vec<f64>),
    String(String),
    Vector(Vec<Series>),
    /// Only as the result of an instant query (`foo[5m]`, `foo[1h:1m]`).
    Matrix(Vec<RawSeries>),
}

pub(crate) struct Evaluator<'a> {
    querier: &'a dyn Querier,
    pub lookback: i64,
    max_samples: usize,
    samples_loaded: usize,
    deadline: Instant,
    timeout: Duration,
    subquery_step: i64,
    /// The outermost query's range, what `@ start()` and `@ end()` mean.
    query_start: Timestamp,
    query_end: Timestamp,
    pub annotations: Annotations,
}

pub(crate) fn evaluate(q: &dyn Querier, expr: &Expr, ctx: Ctx) -> Result<QueryOutput, QueryError> {
    let steps = Steps::new(ctx.start, ctx.end, ctx.step);
    let range_query = ctx.step > 0;
    if range_query {
        let vt = expr.value_type();
        use promql_parser::parser::value::ValueType;
        if !matches!(vt, ValueType::Vector | ValueType::Scalar) {
            return Err(QueryError::BadData(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                type_display(vt)
            )));
        }
    }
    let mut ev = Evaluator {
        querier: q,
        lookback: ctx.lookback_ms,
        max_samples: ctx.max_samples,
        samples_loaded: 0,
        deadline: ctx.deadline,
        timeout: ctx.timeout,
        subquery_step: ctx.subquery_step_ms,
        query_start: ctx.start,
        query_end: ctx.end,
        annotations: Annotations::default(),
    };
    let val = ev.eval(expr, &steps)?;
    let value = finish(val, &steps, range_query)?;
    Ok(QueryOutput {
        value,
        annotations: ev.annotations,
        samples_loaded: ev.samples_loaded,
    })
}

fn type_display(vt: promql_parser::parser::value::ValueType) -> &'static str {
    use promql_parser::parser::value::ValueType;
    match vt {
        ValueType::Vector => "instant vector",
        ValueType::Scalar => "scalar",
        ValueType::Matrix => "range vector",
        ValueType::String => "string",
    }
}

/// Drops the names marked for removal and converts to the API's value shape.
fn finish(val: Val, steps: &Steps, range_query: bool) -> Result<Value, QueryError> {
    let t = steps.start;
    Ok(match val {
        Val::Scalar(v) if !range_query => Value::Scalar { t, v: v[0] },
        Val::Scalar(v) => Value::Matrix(vec![RangeSeries {
            labels: Labels::empty(),
            samples: v
                .iter()
                .enumerate()
                .map(|(i, v)| Sample::new(steps.ts(i), *v))
                .collect(),
        }]),
        Val::String(s) => Value::String { t, s },
        Val::Vector(series) => {
            let series = drop_names(series);
            check_unique(series.iter().map(|s| &s.labels))?;
            if range_query {
                let mut out: Vec<RangeSeries> = series
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| RangeSeries {
                        samples: s
                            .vals
                            .iter()
                            .enumerate()
                            .filter_map(|(i, v)| v.map(|v| Sample::new(steps.ts(i), v)))
                            .collect(),
                        labels: s.labels,
                    })
                    .collect();
                out.sort_by(|a, b| a.labels.cmp(&b.labels));
                Value::Matrix(out)
            } else {
                Value::Vector(
                    series
                        .into_iter()
                        .filter_map(|s| {
                            s.vals[0].map(|v| InstantSample {
                                labels: s.labels,
                                t,
                                v,
                            })
                        })
                        .collect(),
                )
            }
        }
        Val::Matrix(raw) => {
            let raw: Vec<RawSeries> = raw
                .into_iter()
                .map(|mut r| {
                    if r.drop_name {
                        r.labels = without_name(&r.labels);
                    }
                    r
                })
                .collect();
            check_unique(raw.iter().map(|s| &s.labels))?;
            let mut out: Vec<RangeSeries> = raw
                .into_iter()
                .filter(|r| !r.samples.is_empty())
                .map(|r| RangeSeries {
                    labels: r.labels,
                    samples: r.samples,
                })
                .collect();
            out.sort_by(|a, b| a.labels.cmp(&b.labels));
            Value::Matrix(out)
        }
    })
}

fn drop_names(series: Vec<Series>) -> Vec<Series> {
    series
        .into_iter()
        .map(|mut s| {
            if s.drop_name {
                s.labels = without_name(&s.labels);
                s.drop_name = false;
            }
            s
        })
        .collect()
}

pub(crate) fn without_name(l: &Labels) -> Labels {
    if l.get(METRIC_NAME).is_none() {
        return l.clone();
    }
    Labels::from_sorted_unchecked(
        l.iter()
            .filter(|l| l.name != METRIC_NAME)
            .cloned()
            .collect(),
    )
}

fn check_unique<'a>(labels: impl Iterator<Item = &'a Labels>) -> Result<(), QueryError> {
    let mut seen = std::collections::HashSet::new();
    for l in labels {
        if !seen.insert(l) {
            return Err(dup_labelset());
        }
    }
    Ok(())
}

pub(crate) fn dup_labelset() -> QueryError {
    QueryError::Execution("vector cannot contain metrics with the same labelset".into())
}

/// Merges series with identical labels (e.g. after `or` or a relabelling);
/// two values for the same labels at the same step are an error, as in Prometheus.
pub(crate) fn merge_same_labels(series: Vec<Series>) -> Result<Vec<Series>, QueryError> {
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(series.len());
    let mut out: Vec<Series> = Vec::with_capacity(series.len());
    for s in series {
        if s.is_empty() {
            continue;
        }
        match index.get(&s.labels) {
            Some(&i) => {
                let target = &mut out[i];
                for (dst, src) in target.vals.iter_mut().zip(s.vals) {
                    if let Some(v) = src {
                        if dst.is_some() {
                            return Err(dup_labelset());
                        }
                        *dst = Some(v);
                    }
                }
                target.drop_name |= s.drop_name;
            }
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
        }
    }
    Ok(out)
}

pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
    }
}

pub(crate) fn duration_ms(d: &Duration) -> i64 {
    d.as_millis() as i64
}

impl Evaluator<'_> {
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    pub(crate) fn check_deadline(&self) -> Result<(), QueryError> {
        if Instant::now() > self.deadline {
            return Err(QueryError::Timeout(format!(
                "query timed out after {:?} (limit query.timeout)",
                self.timeout
            )));
        }
        Ok(())
    }

    /// The time each step reads at: the step's time (or the `@` time) minus the offset.
    pub(crate) fn eval_times(
        &self,
        steps: &Steps,
        at: &Option<AtModifier>,
        offset: &Option<Offset>,
    ) -> Vec<Timestamp> {
        let off = offset_ms(offset);
        let at = at.as_ref().map(|a| self.at_ms(a));
        (0..steps.n)
            .map(|i| at.unwrap_or_else(|| steps.ts(i)) - off)
            .collect()
    }

    fn at_ms(&self, at: &AtModifier) -> Timestamp {
        match at {
            AtModifier::Start => self.query_start,
            AtModifier::End => self.query_end,
            AtModifier::At(t) => match t.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => d.as_millis() as i64,
                Err(e) => -(e.duration().as_millis() as i64),
            },
        }
    }

    pub(crate) fn eval(&mut self, expr: &Expr, steps: &Steps) -> Result<Val, QueryError> {
        self.check_deadline()?;
        let val = self.eval_node(expr, steps)?;
        // Every intermediate result is held in memory: bound it like loaded samples.
        if let Val::Vector(v) = &val
            && v.len().saturating_mul(steps.n) > self.max_samples
        {
            return Err(too_many_samples(self.max_samples));
        }
        Ok(val)
    }

    fn eval_node(&mut self, expr: &Expr, steps: &Steps) -> Result<Val, QueryError> {
        match expr {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.val; steps.n])),
            Expr::StringLiteral(s) => Ok(Val::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, steps),
            Expr::Unary(u) => match self.eval(&u.expr, steps)? {
                Val::Scalar(v) => Ok(Val::Scalar(v.into_iter().map(|v| -v).collect())),
                Val::Vector(mut series) => {
                    for s in &mut series {
                        s.drop_name = true;
                        for v in s.vals.iter_mut().flatten() {
                            *v = -*v;
                        }
                    }
                    Ok(Val::Vector(series))
                }
                _ => Err(QueryError::Execution(
                    "unary expression only allowed on expressions of type scalar or vector".into(),
                )),
            },
            Expr::VectorSelector(vs) => Ok(Val::Vector(self.eval_vector_selector(vs, steps)?)),
            Expr::MatrixSelector(_) | Expr::Subquery(_) => {
                let arg = self.eval_range_arg(expr, steps)?;
                // Only an instant query can return a range vector.
                let series = (0..arg.series.len())
                    .map(|s| RawSeries {
                        labels: arg.series[s].labels.clone(),
                        drop_name: arg.series[s].drop_name,
                        samples: arg.window(s, 0).to_vec(),
                    })
                    .collect();
                Ok(Val::Matrix(series))
            }
            Expr::Binary(b) => self.eval_binary(b, steps),
            Expr::Aggregate(a) => self.eval_aggregate(a, steps),
            Expr::Call(c) => self.eval_call(c, steps),
            Expr::Extension(_) => Err(QueryError::Execution(
                "extension expressions are not supported".into(),
            )),
        }
    }

    /// Evaluates an argument that must be a scalar, per step.
    pub(crate) fn eval_scalar(
        &mut self,
        expr: &Expr,
        steps: &Steps,
    ) -> Result<Vec<f64>, QueryError> {
        match self.eval(expr, steps)? {
            Val::Scalar(v) => Ok(v),
            _ => Err(QueryError::Execution(format!(
                "expected a scalar argument, got {expr}"
            ))),
        }
    }

    pub(crate) fn eval_vector(
        &mut self,
        expr: &Expr,
        steps: &Steps,
    ) -> Result<Vec<Series>, QueryError> {
        match self.eval(expr, steps)? {
            Val::Vector(v) => Ok(v),
            _ => Err(QueryError::Execution(format!(
                "expected an instant vector argument, got {expr}"
            ))),
        }
    }

    pub(crate) fn eval_string(&mut self, expr: &Expr, steps: &Steps) -> Result<String, QueryError> {
        match self.eval(expr, steps)? {
            Val::String(s) => Ok(s),
            _ => Err(QueryError::Execution(format!(
                "expected a string argument, got {expr}"
            ))),
        }
    }

    pub(crate) fn add_loaded(&mut self, n: usize) -> Result<(), QueryError> {
        self.samples_loaded += n;
        if self.samples_loaded > self.max_samples {
            return Err(too_many_samples(self.max_samples));
        }
        Ok(())
    }

    pub(crate) fn remaining_samples(&self) -> usize {
        self.max_samples.saturating_sub(self.samples_loaded)
    }
}

pub(crate) fn too_many_samples(limit: usize) -> QueryError {
    QueryError::Limit(format!(
        "query processing would load too many samples into memory in query execution (limit max_samples={limit})"
    ))
}
