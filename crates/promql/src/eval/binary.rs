//! Binary operators: arithmetic, comparison (filtering or `bool`), set
//! operators, and vector matching with `on`/`ignoring`/`group_*`.

use std::collections::HashMap;

use homeostat_model::{Label, Labels, METRIC_NAME};
use promql_parser::parser::token::*;
use promql_parser::parser::{BinModifier, BinaryExpr, LabelModifier, VectorMatchCardinality};

use super::{Evaluator, Series, Steps, Val, merge_same_labels};
use crate::QueryError;

fn is_comparison(op: TokenId) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

/// Applies `op`; returns the value and whether a comparison holds.
pub(crate) fn apply(op: TokenId, l: f64, r: f64) -> (f64, bool) {
    match op {
        T_ADD => (l + r, true),
        T_SUB => (l - r, true),
        T_MUL => (l * r, true),
        T_DIV => (l / r, true),
        T_POW => (l.powf(r), true),
        T_MOD => (l % r, true),
        T_ATAN2 => (l.atan2(r), true),
        T_EQLC => (l, l == r),
        T_NEQ => (l, l != r),
        T_GTR => (l, l > r),
        T_LSS => (l, l < r),
        T_GTE => (l, l >= r),
        T_LTE => (l, l <= r),
        _ => (f64::NAN, false),
    }
}

/// How series are matched: the label names that identify a match group.
struct Matching<'a> {
    on: bool,
    names: Vec<&'a str>,
}

impl Matching<'_> {
    fn signature(&self, labels: &Labels) -> String {
        let mut key = String::new();
        if self.on {
            for n in &self.names {
                key.push_str(n);
                key.push('\u{ff}');
                key.push_str(labels.get(n).unwrap_or(""));
                key.push('\u{ff}');
            }
        } else {
            for l in labels {
                if l.name == METRIC_NAME || self.names.contains(&l.name.as_str()) {
                    continue;
                }
                key.push_str(&l.name);
                key.push('\u{ff}');
                key.push_str(&l.value);
                key.push('\u{ff}');
            }
        }
        key
    }

    fn match_labels(&self, labels: &Labels) -> Labels {
        let keep = |name: &str| {
            if self.on {
                self.names.contains(&name)
            } else {
                name != METRIC_NAME && !self.names.contains(&name)
            }
        };
        Labels::from_sorted_unchecked(labels.iter().filter(|l| keep(&l.name)).cloned().collect())
    }
}

fn matching(modifier: &Option<BinModifier>) -> Matching<'_> {
    match modifier.as_ref().and_then(|m| m.matching.as_ref()) {
        Some(LabelModifier::Include(ls)) => {
            let mut names: Vec<&str> = ls.labels.iter().map(String::as_str).collect();
            names.sort_unstable();
            names.dedup();
            Matching { on: true, names }
        }
        Some(LabelModifier::Exclude(ls)) => Matching {
            on: false,
            names: ls.labels.iter().map(String::as_str).collect(),
        },
        None => Matching {
            on: false,
            names: Vec::new(),
        },
    }
}

impl Evaluator<'_> {
    pub(crate) fn eval_binary(&mut self, b: &BinaryExpr, steps: &Steps) -> Result<Val, QueryError> {
        let op = b.op.id();
        let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
        let lhs = self.eval(&b.lhs, steps)?;
        let rhs = self.eval(&b.rhs, steps)?;
        match (lhs, rhs) {
            (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
                l.iter()
                    .zip(&r)
                    .map(|(&l, &r)| {
                        let (v, keep) = apply(op, l, r);
                        if is_comparison(op) {
                            if keep { 1.0 } else { 0.0 }
                        } else {
                            v
                        }
                    })
                    .collect(),
            )),
            (Val::Vector(v), Val::Scalar(s)) => {
                Ok(Val::Vector(vector_scalar(op, v, &s, false, return_bool)))
            }
            (Val::Scalar(s), Val::Vector(v)) => {
                Ok(Val::Vector(vector_scalar(op, v, &s, true, return_bool)))
            }
            (Val::Vector(l), Val::Vector(r)) => match op {
                T_LAND => Ok(Val::Vector(set_and(
                    l,
                    r,
                    &matching(&b.modifier),
                    steps,
                    false,
                ))),
                T_LUNLESS => Ok(Val::Vector(set_and(
                    l,
                    r,
                    &matching(&b.modifier),
                    steps,
                    true,
                ))),
                T_LOR => Ok(Val::Vector(set_or(l, r, &matching(&b.modifier), steps)?)),
                _ => Ok(Val::Vector(vector_vector(
                    op,
                    l,
                    r,
                    b.modifier.as_ref(),
                    return_bool,
                    steps,
                )?)),
            },
            _ => Err(QueryError::Execution(format!(
                "binary operator {} is not defined between these operand types",
                promql_parser::parser::token::TokenType::new(op)
            ))),
        }
    }
}

fn vector_scalar(
    op: TokenId,
    mut v: Vec<Series>,
    s: &[f64],
    swap: bool,
    return_bool: bool,
) -> Vec<Series> {
    let cmp = is_comparison(op);
    for series in &mut v {
        for (val, &sv) in series.vals.iter_mut().zip(s) {
            let Some(x) = *val else { continue };
            let (l, r) = if swap { (sv, x) } else { (x, sv) };
            let (mut out, keep) = apply(op, l, r);
            if cmp && swap {
                out = r;
            }
            *val = if return_bool {
                Some(if keep { 1.0 } else { 0.0 })
            } else if keep {
                Some(out)
            } else {
                None
            };
        }
        series.drop_name |= return_bool || !cmp;
    }
    v.retain(|s| !s.is_empty());
    v
}

/// Per match signature, whether any series with it has a value at each step.
fn presence(series: &[Series], m: &Matching, steps: &Steps) -> HashMap<String, Vec<bool>> {
    let mut out: HashMap<String, Vec<bool>> = HashMap::new();
    for s in series {
        let p = out
            .entry(m.signature(&s.labels))
            .or_insert_with(|| vec![false; steps.n]);
        for (i, v) in s.vals.iter().enumerate() {
            p[i] |= v.is_some();
        }
    }
    out
}

fn set_and(
    mut l: Vec<Series>,
    r: Vec<Series>,
    m: &Matching,
    steps: &Steps,
    unless: bool,
) -> Vec<Series> {
    let present = presence(&r, m, steps);
    for s in &mut l {
        let p = present.get(&m.signature(&s.labels));
        for (i, v) in s.vals.iter_mut().enumerate() {
            let matched = p.is_some_and(|p| p[i]);
            if matched == unless {
                *v = None;
            }
        }
    }
    l.retain(|s| !s.is_empty());
    l
}

fn set_or(
    l: Vec<Series>,
    mut r: Vec<Series>,
    m: &Matching,
    steps: &Steps,
) -> Result<Vec<Series>, QueryError> {
    let present = presence(&l, m, steps);
    for s in &mut r {
        if let Some(p) = present.get(&m.signature(&s.labels)) {
            for (i, v) in s.vals.iter_mut().enumerate() {
                if p[i] {
                    *v = None;
                }
            }
        }
    }
    let mut out = l;
    out.extend(r.into_iter().filter(|s| !s.is_empty()));
    merge_same_labels(out)
}

fn vector_vector(
    op: TokenId,
    lhs: Vec<Series>,
    rhs: Vec<Series>,
    modifier: Option<&BinModifier>,
    return_bool: bool,
    steps: &Steps,
) -> Result<Vec<Series>, QueryError> {
    let card = modifier
        .map(|m| &m.card)
        .unwrap_or(&VectorMatchCardinality::OneToOne);
    let owned = modifier.cloned();
    let m = matching(&owned);
    let one_to_many = matches!(card, VectorMatchCardinality::OneToMany(_));
    let include: Vec<&str> = card
        .labels()
        .map(|ls| ls.labels.iter().map(String::as_str).collect())
        .unwrap_or_default();
    // Work as many-to-one: `many` is the side whose labels the result keeps.
    let (many, one) = if one_to_many { (rhs, lhs) } else { (lhs, rhs) };
    let one_sigs: Vec<String> = one.iter().map(|s| m.signature(&s.labels)).collect();
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, sig) in one_sigs.iter().enumerate() {
        groups.entry(sig.as_str()).or_default().push(i);
    }
    // The "one" side must be unique per match group at every step.
    for members in groups.values().filter(|g| g.len() > 1) {
        for i in 0..steps.n {
            let present: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&j| one[j].vals[i].is_some())
                .collect();
            if present.len() > 1 {
                let side = if one_to_many { "left" } else { "right" };
                return Err(QueryError::Execution(format!(
                    "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                    m.match_labels(&one[present[0]].labels),
                    one[present[1]].labels,
                    one[present[0]].labels
                )));
            }
        }
    }
    let cmp = is_comparison(op);
    let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
    let mut out: Vec<Series> = Vec::new();
    let mut out_index: HashMap<(usize, usize), usize> = HashMap::new();
    // Steps already producing a result per match group (one-to-one) or per
    // (group, result labels) (many-to-one), to detect ambiguous matches.
    let mut used: HashMap<(String, Option<Labels>), Vec<bool>> = HashMap::new();
    for (li, ls) in many.iter().enumerate() {
        let sig = m.signature(&ls.labels);
        let Some(members) = groups.get(sig.as_str()) else {
            continue;
        };
        for i in 0..steps.n {
            let Some(lv) = ls.vals[i] else { continue };
            let Some(&ri) = members.iter().find(|&&j| one[j].vals[i].is_some()) else {
                continue;
            };
            let rv = one[ri].vals[i].unwrap_or(f64::NAN);
            let (fl, fr) = if one_to_many { (rv, lv) } else { (lv, rv) };
            let (v, keep) = apply(op, fl, fr);
            let v = if return_bool {
                if keep { 1.0 } else { 0.0 }
            } else if keep {
                v
            } else {
                continue;
            };
            let idx = match out_index.get(&(li, ri)) {
                Some(&idx) => idx,
                None => {
                    let labels =
                        result_labels(&ls.labels, &one[ri].labels, one_to_one, &m, &include);
                    out.push(Series {
                        labels,
                        drop_name: ls.drop_name || return_bool || !cmp,
                        vals: vec![None; steps.n],
                    });
                    out_index.insert((li, ri), out.len() - 1);
                    out.len() - 1
                }
            };
            let key = if one_to_one {
                (sig.clone(), None)
            } else {
                (sig.clone(), Some(out[idx].labels.clone()))
            };
            let u = used.entry(key).or_insert_with(|| vec![false; steps.n]);
            if u[i] {
                return Err(QueryError::Execution(if one_to_one {
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into()
                } else {
                    "multiple matches for labels: grouping labels must ensure unique matches".into()
                }));
            }
            u[i] = true;
            out[idx].vals[i] = Some(v);
        }
    }
    merge_same_labels(out)
}

fn result_labels(
    many: &Labels,
    one: &Labels,
    one_to_one: bool,
    m: &Matching,
    include: &[&str],
) -> Labels {
    let mut labels: Vec<Label> = if one_to_one {
        many.iter()
            .filter(|l| {
                if m.on {
                    m.names.contains(&l.name.as_str())
                } else {
                    !m.names.contains(&l.name.as_str())
                }
            })
            .cloned()
            .collect()
    } else {
        many.as_slice().to_vec()
    };
    for name in include {
        labels.retain(|l| l.name != *name);
        if let Some(v) = one.get(name) {
            labels.push(Label::new(*name, v));
        }
    }
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    Labels::from_sorted_unchecked(labels)
}
