//! Aggregation operators with `by`/`without`.

use std::collections::HashMap;

use homeostat_model::{Label, Labels, METRIC_NAME};
use promql_parser::parser::token::*;
use promql_parser::parser::{AggregateExpr, LabelModifier};

use super::{Evaluator, Series, Steps, Val};
use crate::QueryError;
use crate::mathx::{format_value, kahan_inc, mean, quantile, ratio_offset};

struct Group {
    labels: Labels,
    members: Vec<usize>,
}

fn group_labels(labels: &Labels, modifier: &Option<LabelModifier>) -> Labels {
    match modifier {
        None => Labels::empty(),
        Some(LabelModifier::Include(by)) => Labels::from_sorted_unchecked(
            labels
                .iter()
                .filter(|l| by.labels.contains(&l.name))
                .cloned()
                .collect(),
        ),
        Some(LabelModifier::Exclude(without)) => Labels::from_sorted_unchecked(
            labels
                .iter()
                .filter(|l| l.name != METRIC_NAME && !without.labels.contains(&l.name))
                .cloned()
                .collect(),
        ),
    }
}

fn make_groups(series: &[Series], modifier: &Option<LabelModifier>) -> Vec<Group> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (i, s) in series.iter().enumerate() {
        let key = group_labels(&s.labels, modifier);
        match index.get(&key) {
            Some(&g) => groups[g].members.push(i),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push(Group {
                    labels: key,
                    members: vec![i],
                });
            }
        }
    }
    groups
}

/// Go's container/heap over `(value, series index)` with Prometheus's order
/// for `topk`/`bottomk`, so that ties pick the same series as Prometheus.
struct KHeap {
    items: Vec<(f64, usize)>,
    bottom: bool,
}

impl KHeap {
    fn less(&self, i: usize, j: usize) -> bool {
        let (a, b) = (self.items[i].0, self.items[j].0);
        if self.bottom {
            // Max-heap with NaN as the largest.
            if a.is_nan() {
                return true;
            }
            a > b
        } else {
            if a.is_nan() {
                return true;
            }
            a < b
        }
    }
    fn up(&mut self, mut j: usize) {
        while j > 0 {
            let i = (j - 1) / 2;
            if !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            j = i;
        }
    }
    fn down(&mut self, i0: usize) -> bool {
        let n = self.items.len();
        let mut i = i0;
        loop {
            let j1 = 2 * i + 1;
            if j1 >= n {
                break;
            }
            let mut j = j1;
            let j2 = j1 + 1;
            if j2 < n && self.less(j2, j1) {
                j = j2;
            }
            if !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            i = j;
        }
        i > i0
    }
    fn push(&mut self, item: (f64, usize)) {
        self.items.push(item);
        let n = self.items.len() - 1;
        self.up(n);
    }
    fn fix0(&mut self) {
        if !self.down(0) {
            self.up(0);
        }
    }
    /// Sorted best-first, as Prometheus returns them.
    fn into_sorted(mut self) -> Vec<(f64, usize)> {
        // Reverse order of `less`, insertion sort (stable like Go's for small inputs).
        let n = self.items.len();
        for i in 1..n {
            let mut j = i;
            while j > 0 && self.less(j - 1, j) {
                self.items.swap(j, j - 1);
                j -= 1;
            }
        }
        self.items
    }
}

impl Evaluator<'_> {
    pub(crate) fn eval_aggregate(
        &mut self,
        a: &AggregateExpr,
        steps: &Steps,
    ) -> Result<Val, QueryError> {
        let op = a.op.id();
        match op {
            T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO => {
                return self.eval_aggregate_k(a, steps);
            }
            T_COUNT_VALUES => return self.eval_count_values(a, steps),
            _ => {}
        }
        let param = match (&a.param, op) {
            (Some(p), T_QUANTILE) => Some(self.eval_scalar(p, steps)?),
            _ => None,
        };
        let input = self.eval_vector(&a.expr, steps)?;
        let groups = make_groups(&input, &a.modifier);
        if let Some(q) = &param {
            for &q in q {
                if q.is_nan() || !(0.0..=1.0).contains(&q) {
                    self.annotations.warn(format!(
                        "quantile value should be between 0 and 1, got {}",
                        format_value(q)
                    ));
                }
            }
        }
        let mut out = Vec::with_capacity(groups.len());
        let mut buf: Vec<f64> = Vec::new();
        for g in groups {
            let keeps_name = g.labels.get(METRIC_NAME).is_some();
            let drop_name = keeps_name && g.members.iter().any(|&m| input[m].drop_name);
            let mut vals = vec![None; steps.n];
            for (i, slot) in vals.iter_mut().enumerate() {
                buf.clear();
                buf.extend(g.members.iter().filter_map(|&m| input[m].vals[i]));
                if buf.is_empty() {
                    continue;
                }
                *slot = Some(match op {
                    T_SUM => {
                        let (mut s, mut c) = (0.0, 0.0);
                        for &v in &buf {
                            (s, c) = kahan_inc(v, s, c);
                        }
                        s + c
                    }
                    T_AVG => mean(buf.iter().copied()),
                    T_COUNT => buf.len() as f64,
                    T_GROUP => 1.0,
                    T_MIN => buf
                        .iter()
                        .skip(1)
                        .fold(buf[0], |m, &v| if m > v || m.is_nan() { v } else { m }),
                    T_MAX => buf
                        .iter()
                        .skip(1)
                        .fold(buf[0], |m, &v| if m < v || m.is_nan() { v } else { m }),
                    T_STDDEV => stdvar(&buf).sqrt(),
                    T_STDVAR => stdvar(&buf),
                    T_QUANTILE => {
                        let q = param.as_ref().map_or(f64::NAN, |p| p[i]);
                        quantile(q, &mut buf)
                    }
                    _ => {
                        return Err(QueryError::Execution(format!(
                            "unsupported aggregation {}",
                            promql_parser::parser::token::TokenType::new(op)
                        )));
                    }
                });
            }
            out.push(Series {
                labels: g.labels,
                drop_name,
                vals,
            });
        }
        Ok(Val::Vector(out))
    }

    fn eval_count_values(&mut self, a: &AggregateExpr, steps: &Steps) -> Result<Val, QueryError> {
        let Some(p) = &a.param else {
            return Err(QueryError::BadData(
                "count_values needs a label name".into(),
            ));
        };
        let label = self.eval_string(p, steps)?;
        if !homeostat_model::is_valid_label_name(&label) {
            return Err(QueryError::Execution(format!(
                "invalid label name {label:?}"
            )));
        }
        let input = self.eval_vector(&a.expr, steps)?;
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut out: Vec<Series> = Vec::new();
        for i in 0..steps.n {
            for s in &input {
                let Some(v) = s.vals[i] else { continue };
                let mut labels: Vec<Label> = s
                    .labels
                    .iter()
                    .filter(|l| l.name != label)
                    .cloned()
                    .collect();
                labels.push(Label::new(label.clone(), format_value(v)));
                labels.sort_by(|a, b| a.name.cmp(&b.name));
                let with_value = Labels::from_sorted_unchecked(labels);
                // The value label is always part of the group.
                let key = match &a.modifier {
                    Some(LabelModifier::Include(by)) => {
                        let mut by = by.clone();
                        by.labels.push(label.clone());
                        group_labels(&with_value, &Some(LabelModifier::Include(by)))
                    }
                    None => Labels::from_sorted_unchecked(vec![Label::new(
                        label.clone(),
                        format_value(v),
                    )]),
                    other => group_labels(&with_value, other),
                };
                let idx = *index.entry(key.clone()).or_insert_with(|| {
                    out.push(Series {
                        labels: key,
                        drop_name: false,
                        vals: vec![None; steps.n],
                    });
                    out.len() - 1
                });
                let slot = &mut out[idx].vals[i];
                *slot = Some(slot.unwrap_or(0.0) + 1.0);
            }
        }
        Ok(Val::Vector(out))
    }

    fn eval_aggregate_k(&mut self, a: &AggregateExpr, steps: &Steps) -> Result<Val, QueryError> {
        let op = a.op.id();
        let Some(p) = &a.param else {
            return Err(QueryError::BadData(format!(
                "{} needs a parameter",
                promql_parser::parser::token::TokenType::new(op)
            )));
        };
        let param = self.eval_scalar(p, steps)?;
        for &k in &param {
            if k.is_nan() {
                return Err(QueryError::Execution(if op == T_LIMIT_RATIO {
                    "Ratio value is NaN".into()
                } else {
                    "Parameter value is NaN".into()
                }));
            }
            if op != T_LIMIT_RATIO && k.abs() >= i64::MAX as f64 {
                return Err(QueryError::Execution(format!(
                    "Scalar value {} overflows int64",
                    format_value(k)
                )));
            }
            if op == T_LIMIT_RATIO && !(-1.0..=1.0).contains(&k) {
                let capped = k.clamp(-1.0, 1.0);
                self.annotations.warn(format!(
                    "ratio value should be between -1 and 1, got {}, capping to {}",
                    format_value(k),
                    format_value(capped)
                ));
            }
        }
        let input = self.eval_vector(&a.expr, steps)?;
        let groups = make_groups(&input, &a.modifier);
        // Output series in first-selected order (Prometheus's order for instant queries).
        let mut order: Vec<usize> = Vec::new();
        let mut outv: HashMap<usize, Vec<Option<f64>>> = HashMap::new();
        let mut put = |idx: usize, i: usize, v: f64, order: &mut Vec<usize>| {
            outv.entry(idx).or_insert_with(|| {
                order.push(idx);
                vec![None; steps.n]
            })[i] = Some(v);
        };
        let offsets: Vec<f64> = if op == T_LIMIT_RATIO {
            input.iter().map(|s| ratio_offset(&s.labels)).collect()
        } else {
            Vec::new()
        };
        for g in &groups {
            for (i, &kf) in param.iter().enumerate().take(steps.n) {
                match op {
                    T_LIMIT_RATIO => {
                        let r = kf.clamp(-1.0, 1.0);
                        for &m in &g.members {
                            let Some(v) = input[m].vals[i] else { continue };
                            let off = offsets[m];
                            if (r >= 0.0 && off < r) || (r < 0.0 && off >= 1.0 + r) {
                                put(m, i, v, &mut order);
                            }
                        }
                    }
                    T_LIMITK => {
                        let k = kf as i64;
                        if k < 1 {
                            continue;
                        }
                        let mut taken = 0;
                        for &m in &g.members {
                            if taken >= k {
                                break;
                            }
                            if let Some(v) = input[m].vals[i] {
                                put(m, i, v, &mut order);
                                taken += 1;
                            }
                        }
                    }
                    _ => {
                        let k = kf as i64;
                        if k < 1 {
                            continue;
                        }
                        let bottom = op == T_BOTTOMK;
                        let mut heap = KHeap {
                            items: Vec::new(),
                            bottom,
                        };
                        for &m in &g.members {
                            let Some(v) = input[m].vals[i] else { continue };
                            if (heap.items.len() as i64) < k {
                                heap.push((v, m));
                                continue;
                            }
                            let top = heap.items[0].0;
                            let better = if bottom {
                                top > v || (top.is_nan() && !v.is_nan())
                            } else {
                                top < v || (top.is_nan() && !v.is_nan())
                            };
                            if better {
                                heap.items[0] = (v, m);
                                if k > 1 {
                                    heap.fix0();
                                }
                            }
                        }
                        for (v, m) in heap.into_sorted() {
                            put(m, i, v, &mut order);
                        }
                    }
                }
            }
        }
        let out = order
            .into_iter()
            .map(|m| Series {
                labels: input[m].labels.clone(),
                drop_name: input[m].drop_name,
                vals: outv.remove(&m).unwrap_or_default(),
            })
            .collect();
        Ok(Val::Vector(out))
    }
}

/// Welford's variance, as Prometheus computes it.
fn stdvar(vals: &[f64]) -> f64 {
    let mut count = 1.0;
    let mut mean = vals[0];
    let mut value = if vals[0].is_nan() || vals[0].is_infinite() {
        f64::NAN
    } else {
        0.0
    };
    for &f in &vals[1..] {
        count += 1.0;
        let delta = f - mean;
        mean += delta / count;
        value += delta * (f - mean);
    }
    value / count
}
