//! One rule group: its rules' state and one evaluation at a timestamp.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use homeostat_model::{Label, Labels, METRIC_NAME, Sample, TimeSeries, Timestamp, stale_nan};
use homeostat_promql::{Engine, QueryParams, Value};
use homeostat_storage::{Appender, Matcher, Querier, SelectRequest};

use crate::alert::{Alert, AlertState, Notification};
use crate::file::{GroupSpec, RuleKind, RuleSpec};
use crate::snapshot::{AlertSnapshot, GroupSnapshot, Health, RuleSnapshot};
use crate::template::{TemplateData, expand};
use crate::{EvalError, ManagerOptions};

/// What a group needs to evaluate: the engine, where to read and write, and
/// the settings shared by every group.
pub struct EvalContext<'a> {
    pub engine: &'a Engine,
    pub querier: &'a dyn Querier,
    pub appender: &'a dyn Appender,
    pub opts: &'a ManagerOptions,
}

type LabelMap = BTreeMap<String, String>;

#[derive(Debug)]
struct RuleState {
    spec: RuleSpec,
    health: Health,
    last_error: Option<String>,
    last_eval: Option<Timestamp>,
    eval_seconds: f64,
    /// Alerting rules: alerts by label set (pending, firing, or resolved and
    /// kept for sending).
    active: BTreeMap<LabelMap, Alert>,
    /// Series written by the previous evaluation, to stale-mark the ones that vanish.
    prev_series: BTreeSet<Labels>,
}

/// A rule group with the state of its rules.
#[derive(Debug)]
pub struct Group {
    spec: GroupSpec,
    interval: Duration,
    rules: Vec<RuleState>,
    last_eval: Option<Timestamp>,
    eval_seconds: f64,
    /// The first evaluation of this process; `ALERTS_FOR_STATE` written
    /// before it is what `for` state is restored from.
    first_eval: Option<Timestamp>,
}

impl Group {
    pub fn new(spec: GroupSpec, default_interval: Duration) -> Self {
        let interval = spec.interval.unwrap_or(default_interval);
        let rules = spec
            .rules
            .iter()
            .map(|r| RuleState {
                spec: r.clone(),
                health: Health::Unknown,
                last_error: None,
                last_eval: None,
                eval_seconds: 0.0,
                active: BTreeMap::new(),
                prev_series: BTreeSet::new(),
            })
            .collect();
        Self {
            spec,
            interval,
            rules,
            last_eval: None,
            eval_seconds: 0.0,
            first_eval: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }
    pub fn file(&self) -> &str {
        &self.spec.file
    }
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The evaluation timestamp at or after `now`: multiples of the interval
    /// shifted by a per-group offset (a hash of file and name), so groups
    /// spread over the interval as Prometheus's do.
    pub fn next_eval_at(&self, now: Timestamp) -> Timestamp {
        let iv = (self.interval.as_millis() as i64).max(1);
        let offset = (fnv(self.spec.file.as_bytes(), self.spec.name.as_bytes()) % iv as u64) as i64;
        let base = now - offset;
        let aligned = base.div_euclid(iv) * iv + offset;
        if aligned < now { aligned + iv } else { aligned }
    }

    /// Evaluates every rule in order at `ts`, appends recorded series and
    /// `ALERTS`/`ALERTS_FOR_STATE`, and returns the alerts due for sending.
    pub fn eval(&mut self, ts: Timestamp, ctx: &EvalContext<'_>) -> Vec<Notification> {
        let started = Instant::now();
        let first = self.first_eval.is_none();
        if first {
            self.first_eval = Some(ts);
        }
        let t = ts - self.spec.query_offset.as_millis() as i64;
        let mut out = Vec::new();
        for i in 0..self.rules.len() {
            let rule_started = Instant::now();
            let result = {
                let rule = &mut self.rules[i];
                match rule.spec.kind {
                    RuleKind::Recording => eval_recording(rule, &self.spec, t, ctx),
                    RuleKind::Alerting => eval_alerting(rule, &self.spec, t, ctx),
                }
            };
            let rule = &mut self.rules[i];
            rule.last_eval = Some(ts);
            match result {
                Ok(series) => {
                    rule.health = Health::Ok;
                    rule.last_error = None;
                    write_with_staleness(rule, series, t, ctx);
                    // As in Prometheus, a failed evaluation sends nothing.
                    if rule.spec.kind == RuleKind::Alerting {
                        out.extend(collect_sends(rule, t, self.interval, ctx.opts));
                    }
                }
                Err(e) => {
                    tracing::warn!(group = %self.spec.name, rule = %rule.spec.name, error = %e, "rule evaluation failed");
                    rule.health = Health::Err;
                    rule.last_error = Some(e.to_string());
                }
            }
            rule.eval_seconds = rule_started.elapsed().as_secs_f64();
        }
        if first && ctx.opts.restore_for_state {
            self.restore_for_state(ts, ctx);
        }
        self.last_eval = Some(ts);
        self.eval_seconds = started.elapsed().as_secs_f64();
        out
    }

    /// Restores `active_at` of pending alerts from the `ALERTS_FOR_STATE`
    /// series written before this process started, with Prometheus's rule:
    /// only alerts active within `outage_tolerance`, only rules whose `for`
    /// is at least the grace period, and never firing sooner than the grace
    /// period after the restart.
    fn restore_for_state(&mut self, ts: Timestamp, ctx: &EvalContext<'_>) {
        let Some(start) = self.first_eval else { return };
        let tolerance = ctx.opts.outage_tolerance.as_millis() as i64;
        let grace = ctx.opts.for_grace_period.as_millis() as i64;
        for rule in &mut self.rules {
            let hold = rule.spec.for_.as_millis() as i64;
            if rule.spec.kind != RuleKind::Alerting || hold < grace || hold == 0 {
                continue;
            }
            for alert in rule.active.values_mut() {
                if alert.state != AlertState::Pending {
                    continue;
                }
                let mut matchers = vec![Matcher::equal(METRIC_NAME, "ALERTS_FOR_STATE")];
                matchers.extend(alert.labels.iter().map(|(k, v)| Matcher::equal(k, v)));
                let req = SelectRequest::new(matchers, ts - tolerance, start - 1);
                let series = match ctx.querier.select(&req) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(rule = %rule.spec.name, error = %e, "cannot read ALERTS_FOR_STATE to restore alert state");
                        continue;
                    }
                };
                let exact = series.iter().find(|s| {
                    s.labels.len() == alert.labels.len() + 1
                        && alert.labels.iter().all(|(k, v)| s.labels.get(k) == Some(v))
                });
                let Some(last) = exact.and_then(|s| s.samples.iter().rev().find(|x| !x.v.is_nan()))
                else {
                    continue;
                };
                let down_at = last.t / 1000 * 1000;
                let mut active_at = (last.v as i64) * 1000;
                let remaining = hold - (down_at - active_at);
                if remaining <= 0 {
                    // Was already due to fire; keep the original time.
                } else if remaining < grace {
                    active_at = ts + grace - hold;
                } else {
                    active_at += ts - down_at;
                }
                tracing::info!(rule = %rule.spec.name, active_at, "restored alert for-state");
                alert.active_at = active_at;
            }
        }
    }

    /// Carries state over from the group this one replaces at a reload, as
    /// Prometheus does: a rule with the same kind, name and labels keeps its
    /// alerts (so a pending `for` is not restarted and a firing alert does
    /// not re-fire) and the series it wrote (so vanished ones are still
    /// stale-marked). The first-evaluation mark is kept too, so `for` state
    /// is not "restored" a second time from `ALERTS_FOR_STATE`.
    pub fn take_state_from(&mut self, old: &mut Group) {
        self.first_eval = old.first_eval;
        self.last_eval = old.last_eval;
        for rule in &mut self.rules {
            let Some(prev) = old.rules.iter_mut().find(|o| {
                o.spec.kind == rule.spec.kind
                    && o.spec.name == rule.spec.name
                    && o.spec.labels == rule.spec.labels
            }) else {
                continue;
            };
            rule.active = std::mem::take(&mut prev.active);
            rule.prev_series = std::mem::take(&mut prev.prev_series);
            rule.health = prev.health;
            rule.last_error = prev.last_error.take();
            rule.last_eval = prev.last_eval;
        }
    }

    /// Stale-marks every series this group's rules wrote last, for a group
    /// removed at a reload (Prometheus does the same), so queries stop
    /// seeing its results after the lookback instead of five minutes of
    /// frozen values.
    pub fn stale_all(&mut self, ts: Timestamp, appender: &dyn Appender) {
        let series: Vec<TimeSeries> = self
            .rules
            .iter_mut()
            .flat_map(|r| std::mem::take(&mut r.prev_series))
            .map(|labels| TimeSeries {
                labels,
                samples: vec![Sample::new(ts, stale_nan())],
            })
            .collect();
        if series.is_empty() {
            return;
        }
        if let Err(e) = appender.append(&series) {
            tracing::warn!(group = %self.spec.name, error = %e, "stale-marking a removed group's series failed");
        }
    }

    pub fn spec(&self) -> &GroupSpec {
        &self.spec
    }

    /// Active alerts of every alerting rule (pending and firing).
    pub fn active_alerts(&self) -> Vec<AlertSnapshot> {
        self.rules
            .iter()
            .flat_map(|r| r.active.values())
            .filter(|a| a.state != AlertState::Inactive)
            .map(AlertSnapshot::from)
            .collect()
    }

    pub fn snapshot(&self) -> GroupSnapshot {
        GroupSnapshot {
            name: self.spec.name.clone(),
            file: self.spec.file.clone(),
            interval: self.interval,
            limit: self.spec.limit,
            last_evaluation: self.last_eval,
            evaluation_seconds: self.eval_seconds,
            rules: self
                .rules
                .iter()
                .map(|r| {
                    let alerts: Vec<AlertSnapshot> = r
                        .active
                        .values()
                        .filter(|a| a.state != AlertState::Inactive)
                        .map(AlertSnapshot::from)
                        .collect();
                    let state = alerts
                        .iter()
                        .map(|a| a.state)
                        .max()
                        .unwrap_or(AlertState::Inactive);
                    RuleSnapshot {
                        kind: r.spec.kind,
                        name: r.spec.name.clone(),
                        query: r.spec.expr.clone(),
                        duration: r.spec.for_,
                        keep_firing_for: r.spec.keep_firing_for,
                        labels: r.spec.labels.clone(),
                        annotations: r.spec.annotations.clone(),
                        state,
                        alerts,
                        health: r.health,
                        last_error: r.last_error.clone(),
                        last_evaluation: r.last_eval,
                        evaluation_seconds: r.eval_seconds,
                    }
                })
                .collect(),
        }
    }
}

fn fnv(a: &[u8], b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in a.iter().chain([0xffu8].iter()).chain(b) {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The query result as (labels, value) pairs; a scalar is one sample
/// without labels, as in Prometheus.
fn query(
    expr: &str,
    t: Timestamp,
    ctx: &EvalContext<'_>,
) -> Result<Vec<(LabelMap, f64)>, EvalError> {
    let out = ctx
        .engine
        .instant_query(ctx.querier, expr, t, &QueryParams::default())
        .map_err(|e| EvalError::Query(e.to_string()))?;
    match out.value {
        Value::Vector(v) => Ok(v
            .into_iter()
            .map(|s| {
                let m = s
                    .labels
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect();
                (m, s.v)
            })
            .collect()),
        Value::Scalar { v, .. } => Ok(vec![(LabelMap::new(), v)]),
        other => Err(EvalError::Result(format!(
            "rule result is not a vector or scalar: {}",
            other.type_name()
        ))),
    }
}

fn to_labels(m: &LabelMap) -> Result<Labels, EvalError> {
    Labels::new(
        m.iter()
            .map(|(k, v)| Label::new(k.clone(), v.clone()))
            .collect(),
    )
    .map_err(|e| EvalError::Result(e.to_string()))
}

fn eval_recording(
    rule: &mut RuleState,
    group: &GroupSpec,
    t: Timestamp,
    ctx: &EvalContext<'_>,
) -> Result<Vec<TimeSeries>, EvalError> {
    let samples = query(&rule.spec.expr, t, ctx)?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(samples.len());
    for (mut m, v) in samples {
        m.insert(METRIC_NAME.to_string(), rule.spec.name.clone());
        for (k, val) in group.labels.iter().chain(&rule.spec.labels) {
            m.insert(k.clone(), val.clone());
        }
        let labels = to_labels(&m)?;
        if !seen.insert(labels.clone()) {
            return Err(EvalError::DuplicateLabels { what: "rule" });
        }
        out.push(TimeSeries {
            labels,
            samples: vec![Sample::new(t, v)],
        });
    }
    if group.limit > 0 && out.len() > group.limit {
        return Err(EvalError::SeriesLimit {
            limit: group.limit,
            count: out.len(),
        });
    }
    Ok(out)
}

fn expand_all(templates: &LabelMap, data: &TemplateData<'_>) -> LabelMap {
    templates
        .iter()
        .map(|(k, tmpl)| {
            let v =
                expand(tmpl, data).unwrap_or_else(|e| format!("<error expanding template: {e}>"));
            (k.clone(), v)
        })
        .collect()
}

fn eval_alerting(
    rule: &mut RuleState,
    group: &GroupSpec,
    t: Timestamp,
    ctx: &EvalContext<'_>,
) -> Result<Vec<TimeSeries>, EvalError> {
    let samples = query(&rule.spec.expr, t, ctx)?;
    let mut results: BTreeMap<LabelMap, (LabelMap, f64)> = BTreeMap::new();
    let mut rule_templates = group.labels.clone();
    rule_templates.extend(rule.spec.labels.clone());
    for (mut m, v) in samples {
        m.remove(METRIC_NAME);
        let data = TemplateData {
            labels: &m,
            value: v,
            external_labels: &ctx.opts.external_labels,
            external_url: &ctx.opts.external_url,
        };
        let extra = expand_all(&rule_templates, &data);
        let annotations = expand_all(&rule.spec.annotations, &data);
        let mut labels = m.clone();
        labels.extend(extra);
        labels.retain(|_, v| !v.is_empty());
        labels.insert("alertname".into(), rule.spec.name.clone());
        if results.insert(labels, (annotations, v)).is_some() {
            return Err(EvalError::DuplicateLabels { what: "alert" });
        }
    }
    let mut seen = BTreeSet::new();
    for (labels, (annotations, v)) in &results {
        seen.insert(labels.clone());
        match rule.active.get_mut(labels) {
            Some(a) if a.state != AlertState::Inactive => {
                a.value = *v;
                a.annotations = annotations.clone();
            }
            _ => {
                rule.active.insert(
                    labels.clone(),
                    Alert {
                        labels: labels.clone(),
                        annotations: annotations.clone(),
                        state: AlertState::Pending,
                        value: *v,
                        active_at: t,
                        fired_at: None,
                        resolved_at: None,
                        last_sent_at: None,
                        valid_until: None,
                        keep_firing_since: None,
                    },
                );
            }
        }
    }
    let hold = rule.spec.for_.as_millis() as i64;
    let keep = rule.spec.keep_firing_for.as_millis() as i64;
    let retention = crate::RESOLVED_RETENTION.as_millis() as i64;
    let mut active_count = 0;
    rule.active.retain(|labels, a| {
        if !seen.contains(labels) {
            let mut keep_firing = false;
            if a.state == AlertState::Firing && keep > 0 {
                let since = *a.keep_firing_since.get_or_insert(t);
                keep_firing = t - since < keep;
            }
            if !keep_firing {
                if a.state == AlertState::Pending
                    || a.resolved_at.is_some_and(|r| t - r > retention)
                {
                    return false;
                }
                if a.state != AlertState::Inactive {
                    a.state = AlertState::Inactive;
                    a.resolved_at = Some(t);
                }
                return true;
            }
        } else {
            a.keep_firing_since = None;
        }
        active_count += 1;
        if a.state == AlertState::Pending && t - a.active_at >= hold {
            a.state = AlertState::Firing;
            a.fired_at = Some(t);
        }
        true
    });
    if group.limit > 0 && active_count > group.limit {
        rule.active.clear();
        return Err(EvalError::AlertLimit {
            limit: group.limit,
            count: active_count,
        });
    }
    let mut out = Vec::new();
    for a in rule
        .active
        .values()
        .filter(|a| a.state != AlertState::Inactive)
    {
        let mut m = a.labels.clone();
        m.insert(METRIC_NAME.into(), "ALERTS".into());
        m.insert("alertstate".into(), a.state.as_str().into());
        out.push(TimeSeries {
            labels: to_labels(&m)?,
            samples: vec![Sample::new(t, 1.0)],
        });
        let mut m = a.labels.clone();
        m.insert(METRIC_NAME.into(), "ALERTS_FOR_STATE".into());
        out.push(TimeSeries {
            labels: to_labels(&m)?,
            samples: vec![Sample::new(t, (a.active_at / 1000) as f64)],
        });
    }
    Ok(out)
}

/// Appends this evaluation's series and stale markers for the series the
/// previous evaluation wrote that are gone now.
fn write_with_staleness(
    rule: &mut RuleState,
    mut series: Vec<TimeSeries>,
    t: Timestamp,
    ctx: &EvalContext<'_>,
) {
    let now: BTreeSet<Labels> = series.iter().map(|s| s.labels.clone()).collect();
    for gone in rule.prev_series.difference(&now) {
        series.push(TimeSeries {
            labels: gone.clone(),
            samples: vec![Sample::new(t, stale_nan())],
        });
    }
    rule.prev_series = now;
    if series.is_empty() {
        return;
    }
    match ctx.appender.append(&series) {
        Ok(report) if report.rejected_total() > 0 => {
            tracing::warn!(rule = %rule.spec.name, rejected = report.rejected_total(), example = ?report.first_rejection, "rule results rejected by storage");
        }
        Ok(_) => {}
        Err(e) => {
            rule.health = Health::Err;
            rule.last_error = Some(EvalError::Append(e.to_string()).to_string());
        }
    }
}

/// Prometheus's `sendAlerts`: firing alerts every resend delay, resolved ones
/// once more, each valid for four evaluations (or resend delays).
fn collect_sends(
    rule: &mut RuleState,
    t: Timestamp,
    interval: Duration,
    opts: &ManagerOptions,
) -> Vec<Notification> {
    let resend = opts.resend_delay.as_millis() as i64;
    let delta = resend.max(interval.as_millis() as i64);
    let mut out = Vec::new();
    for a in rule.active.values_mut() {
        if !a.needs_sending(t, resend) {
            continue;
        }
        a.last_sent_at = Some(t);
        a.valid_until = Some(t + 4 * delta);
        let mut labels = opts.external_labels.clone();
        labels.extend(a.labels.clone());
        out.push(Notification {
            labels,
            annotations: a.annotations.clone(),
            // Prometheus's `StartsAt: alert.FiredAt`: the alert as
            // Alertmanager sees it begins when it fired, not when its
            // condition first held.
            starts_at: a.fired_at.unwrap_or(a.active_at),
            pending_since: a.active_at,
            ends_at: a.resolved_at.unwrap_or(t + 4 * delta),
            generator_url: generator_url(&opts.external_url, &rule.spec.expr),
        });
    }
    out
}

fn generator_url(base: &str, expr: &str) -> String {
    let mut enc = String::new();
    for b in expr.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                enc.push(b as char)
            }
            b' ' => enc.push('+'),
            _ => enc.push_str(&format!("%{b:02X}")),
        }
    }
    format!(
        "{}/graph?g0.expr={enc}&g0.tab=1",
        base.trim_end_matches('/')
    )
}
