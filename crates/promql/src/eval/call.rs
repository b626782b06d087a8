//! Function calls: dispatch, per-element math, time, labels and sorting.

use chrono::{TimeZone, Utc};
use homeostat_model::{Label, Labels, METRIC_NAME, is_valid_label_name};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{Call, Expr};

use super::function::{DateFn, Function, RangeFn};
use super::range_fns::{self as rf, Window};
use super::{Evaluator, RangeArg, Series, Steps, Val, WindowCursor, merge_same_labels};
use crate::QueryError;
use crate::mathx::{format_value, quantile};

fn unwrap_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unwrap_parens(&p.expr),
        e => e,
    }
}

/// Labels `absent()` reports: the selector's equality matchers.
fn absent_labels(e: &Expr) -> Labels {
    let vs = match e {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::empty(),
    };
    let mut out: Vec<Label> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if matches!(m.op, PMatchOp::Equal) && !seen.contains(&m.name.as_str()) {
            out.retain(|l| l.name != m.name);
            out.push(Label::new(m.name.clone(), m.value.clone()));
            seen.push(&m.name);
        } else {
            out.retain(|l| l.name != m.name);
        }
    }
    out.retain(|l| !l.value.is_empty());
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Labels::from_sorted_unchecked(out)
}

/// Natural ordering: digit runs compare as numbers.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.is_empty(), b.is_empty()) {
            (true, true) => return std::cmp::Ordering::Equal,
            (true, false) => return std::cmp::Ordering::Less,
            (false, true) => return std::cmp::Ordering::Greater,
            _ => {}
        }
        let ad = a.starts_with(|c: char| c.is_ascii_digit());
        let bd = b.starts_with(|c: char| c.is_ascii_digit());
        let split = |s: &str, digits: bool| -> usize {
            s.find(|c: char| c.is_ascii_digit() != digits)
                .unwrap_or(s.len())
        };
        let (ca, cb) = (split(a, ad), split(b, bd));
        let (pa, pb) = (&a[..ca], &b[..cb]);
        let ord = if ad && bd {
            let ta = pa.trim_start_matches('0');
            let tb = pb.trim_start_matches('0');
            ta.len()
                .cmp(&tb.len())
                .then_with(|| ta.cmp(tb))
                .then_with(|| pa.len().cmp(&pb.len()))
        } else {
            pa.cmp(pb)
        };
        if ord != std::cmp::Ordering::Equal {
            return ord;
        }
        a = &a[ca..];
        b = &b[cb..];
    }
}

impl Evaluator<'_> {
    pub(crate) fn eval_call(&mut self, c: &Call, steps: &Steps) -> Result<Val, QueryError> {
        let name = c.func.name;
        let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
        let arg = |i: usize| -> Result<&Expr, QueryError> {
            args.get(i).copied().ok_or_else(|| {
                QueryError::BadData(format!("missing argument {} of {name}()", i + 1))
            })
        };
        let Some(func) = Function::parse(name) else {
            return Err(unsupported(name));
        };
        match func {
            Function::Time => {
                return Ok(Val::Scalar(
                    (0..steps.n).map(|i| steps.ts(i) as f64 / 1000.0).collect(),
                ));
            }
            Function::Pi => return Ok(Val::Scalar(vec![std::f64::consts::PI; steps.n])),
            Function::Vector => {
                let v = self.eval_scalar(arg(0)?, steps)?;
                return Ok(Val::Vector(vec![Series {
                    labels: Labels::empty(),
                    drop_name: false,
                    vals: v.into_iter().map(Some).collect(),
                }]));
            }
            Function::Scalar => {
                let v = self.eval_vector(arg(0)?, steps)?;
                return Ok(Val::Scalar(
                    (0..steps.n)
                        .map(|i| {
                            let mut it = v.iter().filter_map(|s| s.vals[i]);
                            match (it.next(), it.next()) {
                                (Some(x), None) => x,
                                _ => f64::NAN,
                            }
                        })
                        .collect(),
                ));
            }
            Function::Absent => {
                let e = arg(0)?;
                let v = self.eval_vector(e, steps)?;
                let vals = (0..steps.n)
                    .map(|i| (!v.iter().any(|s| s.vals[i].is_some())).then_some(1.0))
                    .collect();
                return Ok(Val::Vector(vec![Series {
                    labels: absent_labels(e),
                    drop_name: false,
                    vals,
                }]));
            }
            Function::Timestamp => {
                let e = unwrap_parens(arg(0)?);
                if let Expr::VectorSelector(vs) = e {
                    return Ok(Val::Vector(self.eval_selector_timestamps(vs, steps)?));
                }
                let mut v = self.eval_vector(e, steps)?;
                for s in &mut v {
                    s.drop_name = true;
                    for (i, val) in s.vals.iter_mut().enumerate() {
                        if val.is_some() {
                            *val = Some(steps.ts(i) as f64 / 1000.0);
                        }
                    }
                }
                return Ok(Val::Vector(v));
            }
            Function::LabelReplace => return self.label_replace(&args, steps),
            Function::LabelJoin => return self.label_join(&args, steps),
            Function::Sort { desc } => {
                let mut v = self.eval_vector(arg(0)?, steps)?;
                if steps.n == 1 {
                    v.sort_by(|a, b| {
                        let (x, y) = (a.vals[0].unwrap_or(f64::NAN), b.vals[0].unwrap_or(f64::NAN));
                        match (x.is_nan(), y.is_nan()) {
                            (true, true) => std::cmp::Ordering::Equal,
                            (true, false) => std::cmp::Ordering::Greater,
                            (false, true) => std::cmp::Ordering::Less,
                            _ if desc => y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal),
                            _ => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
                        }
                    });
                }
                return Ok(Val::Vector(v));
            }
            Function::SortByLabel { desc } => {
                let mut v = self.eval_vector(arg(0)?, steps)?;
                let mut names = Vec::new();
                for e in &args[1..] {
                    names.push(self.eval_string(e, steps)?);
                }
                v.sort_by(|a, b| {
                    let mut ord = std::cmp::Ordering::Equal;
                    for n in &names {
                        ord = natural_cmp(
                            a.labels.get(n).unwrap_or(""),
                            b.labels.get(n).unwrap_or(""),
                        );
                        if ord != std::cmp::Ordering::Equal {
                            break;
                        }
                    }
                    let ord = ord.then_with(|| a.labels.cmp(&b.labels));
                    if desc { ord.reverse() } else { ord }
                });
                return Ok(Val::Vector(v));
            }
            Function::HistogramQuantile => {
                let q = self.eval_scalar(arg(0)?, steps)?;
                let v = self.eval_vector(arg(1)?, steps)?;
                return Ok(Val::Vector(self.histogram_quantile(&q, v, steps)?));
            }
            Function::HistogramFraction => {
                let lo = self.eval_scalar(arg(0)?, steps)?;
                let hi = self.eval_scalar(arg(1)?, steps)?;
                let v = self.eval_vector(arg(2)?, steps)?;
                return Ok(Val::Vector(self.histogram_fraction(&lo, &hi, v, steps)?));
            }
            Function::NativeHistogramOnly => {
                // Native histograms only: float samples are ignored.
                for e in &args {
                    self.eval(e, steps)?;
                }
                return Ok(Val::Vector(Vec::new()));
            }
            Function::Round => {
                let mut v = self.eval_vector(arg(0)?, steps)?;
                let to = match args.get(1) {
                    Some(e) => self.eval_scalar(e, steps)?,
                    None => vec![1.0; steps.n],
                };
                for s in &mut v {
                    s.drop_name = true;
                    for (i, val) in s.vals.iter_mut().enumerate() {
                        if let Some(x) = val {
                            let inv = 1.0 / to[i];
                            *x = (*x * inv + 0.5).floor() / inv;
                        }
                    }
                }
                return Ok(Val::Vector(v));
            }
            Function::Clamp | Function::ClampMin | Function::ClampMax => {
                let mut v = self.eval_vector(arg(0)?, steps)?;
                let (lo, hi) = match func {
                    Function::Clamp => (
                        Some(self.eval_scalar(arg(1)?, steps)?),
                        Some(self.eval_scalar(arg(2)?, steps)?),
                    ),
                    Function::ClampMin => (Some(self.eval_scalar(arg(1)?, steps)?), None),
                    _ => (None, Some(self.eval_scalar(arg(1)?, steps)?)),
                };
                for s in &mut v {
                    s.drop_name = true;
                    for (i, val) in s.vals.iter_mut().enumerate() {
                        let Some(x) = *val else { continue };
                        let lo = lo.as_ref().map(|l| l[i]);
                        let hi = hi.as_ref().map(|h| h[i]);
                        *val = match (lo, hi) {
                            (Some(l), Some(h)) if h < l => None,
                            (Some(l), Some(h)) => Some(l.max(h.min(x))),
                            (Some(l), None) => Some(l.max(x)),
                            (None, Some(h)) => Some(h.min(x)),
                            (None, None) => Some(x),
                        };
                    }
                }
                v.retain(|s| !s.is_empty());
                return Ok(Val::Vector(v));
            }
            Function::Math(f) => {
                let mut v = self.eval_vector(arg(0)?, steps)?;
                for s in &mut v {
                    s.drop_name = true;
                    for x in s.vals.iter_mut().flatten() {
                        *x = f.apply(*x);
                    }
                }
                return Ok(Val::Vector(v));
            }
            Function::Date(f) => return self.eval_date_call(f, &args, steps),
            Function::AbsentOverTime | Function::Range(_) => {}
        }
        self.eval_range_call(c, func, &args, steps)
    }

    fn eval_date_call(
        &mut self,
        f: DateFn,
        args: &[&Expr],
        steps: &Steps,
    ) -> Result<Val, QueryError> {
        {
            let mut v = match args.first() {
                Some(e) => self.eval_vector(e, steps)?,
                None => vec![Series {
                    labels: Labels::empty(),
                    drop_name: false,
                    vals: (0..steps.n)
                        .map(|i| Some(steps.ts(i) as f64 / 1000.0))
                        .collect(),
                }],
            };
            for s in &mut v {
                s.drop_name = true;
                for x in s.vals.iter_mut().flatten() {
                    *x = match Utc.timestamp_opt(*x as i64, 0).single() {
                        Some(t) => f.apply(t),
                        None => f64::NAN,
                    };
                }
            }
            Ok(Val::Vector(v))
        }
    }

    fn eval_range_call(
        &mut self,
        c: &Call,
        func: Function,
        args: &[&Expr],
        steps: &Steps,
    ) -> Result<Val, QueryError> {
        let name = c.func.name;
        let Some(range_expr) = args.iter().copied().find(|e| {
            matches!(
                unwrap_parens(e),
                Expr::MatrixSelector(_) | Expr::Subquery(_)
            )
        }) else {
            return Err(unsupported(name));
        };
        // Scalar parameters other than the range vector.
        let mut params: Vec<Vec<f64>> = Vec::new();
        for e in args {
            if std::ptr::eq(*e, range_expr) {
                continue;
            }
            params.push(self.eval_scalar(e, steps)?);
        }
        let arg = self.eval_range_arg(range_expr, steps)?;
        let range_fn = match func {
            Function::Range(f) => f,
            Function::AbsentOverTime => {
                let vals = (0..steps.n)
                    .map(|i| {
                        (0..arg.series.len())
                            .all(|s| arg.window(s, i).is_empty())
                            .then_some(1.0)
                    })
                    .collect();
                return Ok(Val::Vector(vec![Series {
                    labels: absent_labels(unwrap_parens(range_expr)),
                    drop_name: false,
                    vals,
                }]));
            }
            _ => return Err(unsupported(name)),
        };
        match range_fn {
            RangeFn::QuantileOverTime => {
                for &q in &params[0] {
                    if q.is_nan() || !(0.0..=1.0).contains(&q) {
                        self.annotations.warn(format!(
                            "quantile value should be between 0 and 1, got {}",
                            format_value(q)
                        ));
                    }
                }
            }
            RangeFn::DoubleExponentialSmoothing => {
                for (&sf, &tf) in params[0].iter().zip(&params[1]) {
                    if sf <= 0.0 || sf >= 1.0 {
                        return Err(QueryError::Execution(format!(
                            "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
                        )));
                    }
                    if tf <= 0.0 || tf >= 1.0 {
                        return Err(QueryError::Execution(format!(
                            "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
                        )));
                    }
                }
            }
            _ => {}
        }
        let keep = func.keeps_name();
        let func = range_fn;
        let deadline = self.deadline();
        let timed_out = std::sync::atomic::AtomicBool::new(false);
        let compute = |s: usize| -> Option<Vec<Option<f64>>> {
            if s % 1024 == 1023 && std::time::Instant::now() > deadline {
                timed_out.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            if timed_out.load(std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            let mut vals = vec![None; steps.n];
            let mut any = false;
            let mut cursor = WindowCursor::default();
            let all = &arg.series[s].samples;
            let blocks = if matches!(func, RangeFn::SumOverTime | RangeFn::AvgOverTime)
                && all.len() >= 4 * rf::BlockSums::BLOCK
            {
                rf::BlockSums::new(all)
            } else {
                None
            };
            for (i, slot) in vals.iter_mut().enumerate() {
                let samples = cursor.window(&arg, s, i);
                if samples.is_empty() {
                    continue;
                }
                if let Some(b) = &blocks
                    && samples.len() >= 2 * rf::BlockSums::BLOCK
                {
                    let (lo, hi) = cursor.bounds();
                    let sum = b.sum(all, lo, hi);
                    *slot = Some(if func == RangeFn::AvgOverTime {
                        sum / samples.len() as f64
                    } else {
                        sum
                    });
                    any = true;
                    continue;
                }
                let w = Window {
                    samples,
                    end: arg.window_ends[i],
                    range: arg.range,
                    step_time: steps.ts(i),
                };
                *slot = range_value(func, &w, &params, i);
                any |= slot.is_some();
            }
            any.then_some(vals)
        };
        let n = arg.series.len();
        // Series are independent: large calls are split across the cores.
        let threads = if n.saturating_mul(steps.n) >= PARALLEL_WORK {
            std::thread::available_parallelism().map_or(1, |p| p.get().min(8))
        } else {
            1
        };
        let results: Vec<Option<Vec<Option<f64>>>> = if threads > 1 {
            let chunk = n.div_ceil(threads);
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let compute = &compute;
                        scope.spawn(move || {
                            (t * chunk..((t + 1) * chunk).min(n))
                                .map(compute)
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            })
        } else {
            (0..n).map(compute).collect()
        };
        if timed_out.into_inner() || results.len() != n {
            self.check_deadline()?;
            return Err(QueryError::Execution(
                "range function evaluation failed".into(),
            ));
        }
        let mut out = Vec::with_capacity(n);
        for (s, vals) in results.into_iter().enumerate() {
            let Some(vals) = vals else { continue };
            if func.expects_counter() {
                self.counter_name_info(&arg, s);
            }
            out.push(Series {
                labels: arg.series[s].labels.clone(),
                drop_name: arg.series[s].drop_name || !keep,
                vals,
            });
        }
        Ok(Val::Vector(out))
    }

    fn counter_name_info(&mut self, arg: &RangeArg, s: usize) {
        if let Some(name) = arg.series[s].labels.get(METRIC_NAME)
            && !["_total", "_sum", "_count", "_bucket"]
                .iter()
                .any(|suf| name.ends_with(suf))
        {
            self.annotations.info(format!(
                "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"
            ));
        }
    }

    fn label_replace(&mut self, args: &[&Expr], steps: &Steps) -> Result<Val, QueryError> {
        if args.len() != 5 {
            return Err(QueryError::BadData(
                "label_replace() takes 5 arguments".into(),
            ));
        }
        let v = self.eval_vector(args[0], steps)?;
        let dst = self.eval_string(args[1], steps)?;
        let repl = self.eval_string(args[2], steps)?;
        let src = self.eval_string(args[3], steps)?;
        let re_src = self.eval_string(args[4], steps)?;
        let re = regex::Regex::new(&format!("^(?s:{re_src})$")).map_err(|e| {
            QueryError::Execution(format!(
                "invalid regular expression in label_replace(): {re_src}: {e}"
            ))
        })?;
        if !is_valid_label_name(&dst) {
            return Err(QueryError::Execution(format!(
                "invalid destination label name in label_replace(): {dst}"
            )));
        }
        let mut out = Vec::with_capacity(v.len());
        for mut s in v {
            let value = s.labels.get(&src).unwrap_or("");
            if let Some(caps) = re.captures(value) {
                let mut res = String::new();
                caps.expand(&repl, &mut res);
                s.labels = set_label(&s.labels, &dst, &res);
                if dst == METRIC_NAME {
                    s.drop_name = false;
                }
            }
            out.push(s);
        }
        Ok(Val::Vector(merge_same_labels(out)?))
    }

    fn label_join(&mut self, args: &[&Expr], steps: &Steps) -> Result<Val, QueryError> {
        if args.len() < 3 {
            return Err(QueryError::BadData(
                "label_join() takes at least 3 arguments".into(),
            ));
        }
        let v = self.eval_vector(args[0], steps)?;
        let dst = self.eval_string(args[1], steps)?;
        let sep = self.eval_string(args[2], steps)?;
        let mut srcs = Vec::new();
        for e in &args[3..] {
            srcs.push(self.eval_string(e, steps)?);
        }
        if !is_valid_label_name(&dst) {
            return Err(QueryError::Execution(format!(
                "invalid destination label name in label_join(): {dst}"
            )));
        }
        let mut out = Vec::with_capacity(v.len());
        for mut s in v {
            let joined = srcs
                .iter()
                .map(|n| s.labels.get(n).unwrap_or(""))
                .collect::<Vec<_>>()
                .join(&sep);
            s.labels = set_label(&s.labels, &dst, &joined);
            if dst == METRIC_NAME {
                s.drop_name = false;
            }
            out.push(s);
        }
        Ok(Val::Vector(merge_same_labels(out)?))
    }
}

fn unsupported(name: &str) -> QueryError {
    QueryError::Execution(format!("function {name}() is not supported"))
}

pub(crate) fn set_label(labels: &Labels, name: &str, value: &str) -> Labels {
    let mut v: Vec<Label> = labels.iter().filter(|l| l.name != name).cloned().collect();
    if !value.is_empty() {
        v.push(Label::new(name, value));
        v.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Labels::from_sorted_unchecked(v)
}

/// Below this many windows (series × steps) a call runs on one thread.
const PARALLEL_WORK: usize = 200_000;

fn range_value(f: RangeFn, w: &Window, params: &[Vec<f64>], i: usize) -> Option<f64> {
    let s = w.samples;
    match f {
        RangeFn::Rate => rf::extrapolated_rate(w, true, true),
        RangeFn::Increase => rf::extrapolated_rate(w, true, false),
        RangeFn::Delta => rf::extrapolated_rate(w, false, false),
        RangeFn::Irate => rf::instant_value(w, true),
        RangeFn::Idelta => rf::instant_value(w, false),
        RangeFn::Deriv => (s.len() >= 2).then(|| rf::linear_regression(s, s[0].t).0),
        RangeFn::PredictLinear => (s.len() >= 2).then(|| {
            let (slope, intercept) = rf::linear_regression(s, w.step_time);
            slope * params[0][i] + intercept
        }),
        RangeFn::Resets => Some(rf::resets(s)),
        RangeFn::Changes => Some(rf::changes(s)),
        RangeFn::AvgOverTime => Some(rf::avg_over_time(s)),
        RangeFn::SumOverTime => Some(rf::sum_over_time(s)),
        RangeFn::CountOverTime => Some(s.len() as f64),
        RangeFn::MinOverTime => Some(rf::compare_over_time(s, |c, m| c < m || m.is_nan()).v),
        RangeFn::MaxOverTime => Some(rf::compare_over_time(s, |c, m| c > m || m.is_nan()).v),
        RangeFn::TsOfMinOverTime => {
            Some(rf::compare_over_time(s, |c, m| c <= m || m.is_nan()).t as f64 / 1000.0)
        }
        RangeFn::TsOfMaxOverTime => {
            Some(rf::compare_over_time(s, |c, m| c >= m || m.is_nan()).t as f64 / 1000.0)
        }
        RangeFn::LastOverTime => Some(s[s.len() - 1].v),
        RangeFn::FirstOverTime => Some(s[0].v),
        RangeFn::TsOfLastOverTime => Some(s[s.len() - 1].t as f64 / 1000.0),
        RangeFn::TsOfFirstOverTime => Some(s[0].t as f64 / 1000.0),
        RangeFn::PresentOverTime => Some(1.0),
        RangeFn::StddevOverTime => Some(rf::stdvar_over_time(s).sqrt()),
        RangeFn::StdvarOverTime => Some(rf::stdvar_over_time(s)),
        RangeFn::MadOverTime => Some(rf::mad_over_time(s)),
        RangeFn::QuantileOverTime => {
            let mut vals: Vec<f64> = s.iter().map(|p| p.v).collect();
            Some(quantile(params[0][i], &mut vals))
        }
        RangeFn::DoubleExponentialSmoothing => {
            rf::double_exponential_smoothing(s, params[0][i], params[1][i])
        }
    }
}
