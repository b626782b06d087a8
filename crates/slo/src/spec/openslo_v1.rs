//! OpenSLO `openslo/v1`: `SLO`, `SLI`, `AlertPolicy`, `AlertCondition` and
//! `DataSource` documents, inline or referenced by name across every file
//! loaded together. `Service` and `AlertNotificationTarget` documents are
//! accepted and not used. What is mapped and what is not: `docs/slo-spec.md`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::homeostat::time_zone;
use super::{AlertTier, Budgeting, Calendar, CalendarUnit, DocCtx, Sli, SloSpec, SpecFormat};
use crate::error::SpecError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Typed<S> {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: Metadata,
    spec: S,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    name: String,
    #[allow(dead_code)]
    display_name: Option<String>,
    labels: Option<BTreeMap<String, serde_norway::Value>>,
    #[allow(dead_code)]
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SloDoc {
    #[serde(default)]
    description: String,
    #[serde(default)]
    service: String,
    indicator: Option<InlineSli>,
    indicator_ref: Option<String>,
    #[serde(default)]
    time_window: Vec<TimeWindow>,
    #[serde(default)]
    budgeting_method: String,
    #[serde(default)]
    objectives: Vec<Objective>,
    #[serde(default)]
    alert_policies: Vec<PolicyEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InlineSli {
    #[allow(dead_code)]
    #[serde(default)]
    metadata: Metadata,
    spec: SliDoc,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SliDoc {
    #[allow(dead_code)]
    description: Option<String>,
    threshold_metric: Option<serde_norway::Value>,
    ratio_metric: Option<RatioMetric>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RatioMetric {
    #[allow(dead_code)]
    counter: Option<bool>,
    good: Option<MetricHolder>,
    bad: Option<MetricHolder>,
    total: Option<MetricHolder>,
    raw_type: Option<String>,
    raw: Option<MetricHolder>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MetricHolder {
    metric_source: MetricSource,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MetricSource {
    metric_source_ref: Option<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
    #[serde(default)]
    spec: BTreeMap<String, serde_norway::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TimeWindow {
    #[serde(default)]
    duration: String,
    is_rolling: Option<bool>,
    calendar: Option<CalendarDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CalendarDoc {
    #[allow(dead_code)]
    start_time: Option<String>,
    time_zone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Objective {
    #[allow(dead_code)]
    display_name: Option<String>,
    #[allow(dead_code)]
    name: Option<String>,
    op: Option<String>,
    value: Option<f64>,
    target: Option<f64>,
    target_percent: Option<f64>,
    time_slice_target: Option<f64>,
    time_slice_window: Option<String>,
    indicator: Option<serde_norway::Value>,
    indicator_ref: Option<String>,
    #[allow(dead_code)]
    composite_weight: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PolicyEntry {
    alert_policy_ref: Option<String>,
    #[allow(dead_code)]
    api_version: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    metadata: Metadata,
    spec: Option<PolicyDoc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PolicyDoc {
    #[allow(dead_code)]
    description: Option<String>,
    #[allow(dead_code)]
    alert_when_no_data: Option<bool>,
    #[allow(dead_code)]
    alert_when_resolved: Option<bool>,
    #[allow(dead_code)]
    alert_when_breaching: Option<bool>,
    #[serde(default)]
    conditions: Vec<ConditionEntry>,
    #[allow(dead_code)]
    notification_targets: Option<serde_norway::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConditionEntry {
    condition_ref: Option<String>,
    #[allow(dead_code)]
    api_version: Option<String>,
    #[allow(dead_code)]
    kind: Option<String>,
    #[allow(dead_code)]
    metadata: Option<serde_norway::Value>,
    spec: Option<ConditionDoc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConditionDoc {
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    severity: String,
    condition: Condition,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Condition {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    op: String,
    threshold: f64,
    #[serde(default)]
    lookback_window: String,
    #[allow(dead_code)]
    alert_after: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DataSourceDoc {
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(rename = "type", default)]
    type_: String,
    #[allow(dead_code)]
    connection_details: Option<serde_norway::Value>,
}

enum Parsed {
    Slo(Box<Typed<SloDoc>>),
    Sli(Box<Typed<SliDoc>>),
    Policy(Box<Typed<PolicyDoc>>),
    Condition(Box<Typed<ConditionDoc>>),
    DataSource(Box<Typed<DataSourceDoc>>),
    Ignored,
}

/// One parsed `openslo/v1` document and where it came from.
pub(super) struct Entry {
    file: String,
    document: usize,
    first_line: usize,
    kind: String,
    name: String,
    parsed: Parsed,
}

impl Entry {
    fn ctx(&self) -> DocCtx<'_> {
        DocCtx {
            file: &self.file,
            document: self.document,
            first_line: self.first_line,
        }
    }
}

fn parse<S: DeserializeOwned>(chunk: &str, ctx: &DocCtx<'_>) -> Result<Typed<S>, SpecError> {
    serde_norway::from_str(chunk).map_err(|e| ctx.yaml_error(&e))
}

/// Parses one document; references are resolved by [`resolve`].
pub(super) fn parse_document(chunk: &str, ctx: &DocCtx<'_>) -> Result<Entry, SpecError> {
    #[derive(Deserialize)]
    struct Head {
        #[serde(default)]
        kind: String,
    }
    let head: Head = serde_norway::from_str(chunk).map_err(|e| ctx.yaml_error(&e))?;
    let parsed = match head.kind.as_str() {
        "SLO" => Parsed::Slo(Box::new(parse(chunk, ctx)?)),
        "SLI" => Parsed::Sli(Box::new(parse(chunk, ctx)?)),
        "AlertPolicy" => Parsed::Policy(Box::new(parse(chunk, ctx)?)),
        "AlertCondition" => Parsed::Condition(Box::new(parse(chunk, ctx)?)),
        "DataSource" => Parsed::DataSource(Box::new(parse(chunk, ctx)?)),
        "Service" | "AlertNotificationTarget" => Parsed::Ignored,
        other => {
            return Err(ctx.invalid(
                "kind",
                format!("openslo/v1 kind {other:?} is not supported"),
                "use SLO, SLI, AlertPolicy, AlertCondition, DataSource, Service or AlertNotificationTarget",
            ));
        }
    };
    let name = match &parsed {
        Parsed::Slo(t) => t.metadata.name.clone(),
        Parsed::Sli(t) => t.metadata.name.clone(),
        Parsed::Policy(t) => t.metadata.name.clone(),
        Parsed::Condition(t) => t.metadata.name.clone(),
        Parsed::DataSource(t) => t.metadata.name.clone(),
        Parsed::Ignored => String::new(),
    };
    if name.trim().is_empty() && !matches!(parsed, Parsed::Ignored) {
        return Err(ctx.invalid(
            "metadata.name",
            format!("missing {} name", head.kind),
            "set `metadata.name`",
        ));
    }
    Ok(Entry {
        file: ctx.file.to_string(),
        document: ctx.document,
        first_line: ctx.first_line,
        kind: head.kind,
        name,
        parsed,
    })
}

/// Resolves references across all entries and maps every `SLO` document.
pub(super) fn resolve(entries: &[Entry]) -> Result<Vec<SloSpec>, SpecError> {
    let mut by_name: HashMap<(&str, &str), &Entry> = HashMap::new();
    for e in entries {
        if matches!(e.parsed, Parsed::Ignored) {
            continue;
        }
        if let Some(first) = by_name.insert((&e.kind, &e.name), e) {
            return Err(e.ctx().invalid(
                "metadata.name",
                format!(
                    "duplicate {} name {:?} (also in {} document {})",
                    e.kind,
                    e.name,
                    first.file,
                    first.document + 1
                ),
                format!("give every {} its own name", e.kind),
            ));
        }
    }
    let r = Resolver { by_name };
    let mut out = Vec::new();
    for e in entries {
        if let Parsed::Slo(slo) = &e.parsed {
            out.extend(r.slo(&e.ctx(), slo)?);
        }
    }
    Ok(out)
}

struct Resolver<'a> {
    by_name: HashMap<(&'a str, &'a str), &'a Entry>,
}

impl<'a> Resolver<'a> {
    fn find(
        &self,
        ctx: &DocCtx<'_>,
        path: &str,
        kind: &str,
        name: &str,
    ) -> Result<&'a Entry, SpecError> {
        self.by_name.get(&(kind, name)).copied().ok_or_else(|| {
            ctx.invalid(
                path,
                format!("no {kind} named {name:?} in the loaded files"),
                format!(
                    "add a `kind: {kind}` document with `metadata.name: {name}` to the files loaded together, or define it inline"
                ),
            )
        })
    }

    fn slo(&self, ctx: &DocCtx<'_>, doc: &Typed<SloDoc>) -> Result<Vec<SloSpec>, SpecError> {
        let s = &doc.spec;
        if s.service.trim().is_empty() {
            return Err(ctx.invalid("spec.service", "missing service", "set `spec.service`"));
        }
        let sli_doc = match (&s.indicator, &s.indicator_ref) {
            (Some(i), None) => i.spec.clone(),
            (None, Some(name)) => {
                let e = self.find(ctx, "spec.indicatorRef", "SLI", name)?;
                match &e.parsed {
                    Parsed::Sli(t) => t.spec.clone(),
                    _ => unreachable_kind(ctx)?,
                }
            }
            _ => {
                return Err(ctx.invalid(
                    "spec.indicator",
                    "give exactly one of `indicator` and `indicatorRef`",
                    "inline the SLI under `spec.indicator` or name it with `spec.indicatorRef`",
                ));
            }
        };
        let sli_path = match s.indicator_ref {
            Some(_) => "spec.indicatorRef",
            None => "spec.indicator.spec",
        };
        let sli = self.sli(ctx, sli_path, &sli_doc)?;
        let (period, calendar) = time_window(ctx, &s.time_window)?;
        let (page, ticket) = self.alerts(ctx, &s.alert_policies)?;
        let mut labels = BTreeMap::new();
        for (k, v) in doc.metadata.labels.iter().flatten() {
            let value = match v {
                serde_norway::Value::String(s) => s.clone(),
                serde_norway::Value::Sequence(vs) => vs
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                other => format!("{other:?}"),
            };
            labels.insert(k.clone(), value);
        }
        ctx.check_labels("metadata.labels", &labels, "label")?;
        if s.objectives.is_empty() {
            return Err(ctx.invalid(
                "spec.objectives",
                "no objectives",
                "add at least one objective with `target: 0.999`",
            ));
        }
        let mut out = Vec::new();
        for (i, o) in s.objectives.iter().enumerate() {
            let at = |f: &str| format!("spec.objectives[{i}].{f}");
            if o.indicator.is_some() || o.indicator_ref.is_some() {
                return Err(ctx.invalid(
                    &at("indicator"),
                    "composite SLOs (an indicator per objective) are not supported",
                    "write one SLO per indicator",
                ));
            }
            if o.op.is_some() || o.value.is_some() {
                return Err(ctx.invalid(
                    &at("op"),
                    "`op` and `value` belong to threshold metrics, which are not supported",
                    "remove them and use a `ratioMetric` SLI",
                ));
            }
            let objective = match (o.target, o.target_percent) {
                // `target` is a ratio; 99.9 there is a percentage written
                // in the wrong field (1.2 is more likely a typo: out of range).
                (Some(t), None) if (50.0..100.0).contains(&t) => {
                    let ratio = (t / 100.0 * 1e9).round() / 1e9;
                    return Err(ctx.invalid(
                        &at("target"),
                        format!("target {t} is a percentage, not a ratio"),
                        format!("target is a ratio: write {ratio} (or `targetPercent: {t}`)"),
                    ));
                }
                (Some(t), None) => {
                    ctx.check_objective(&at("target"), t * 100.0, "%")?;
                    t * 100.0
                }
                (None, Some(p)) => {
                    ctx.check_percent_field(&at("targetPercent"), p)?;
                    p
                }
                _ => {
                    return Err(ctx.invalid(
                        &at("target"),
                        "give exactly one of `target` and `targetPercent`",
                        "set e.g. `target: 0.999`",
                    ));
                }
            };
            let budgeting = budgeting(ctx, &s.budgeting_method, o, &at)?;
            let name = if s.objectives.len() == 1 {
                doc.metadata.name.clone()
            } else {
                format!("{}-{i}", doc.metadata.name)
            };
            out.push(SloSpec {
                file: ctx.file.to_string(),
                document: ctx.document,
                format: SpecFormat::OpenSloV1,
                id: format!("{}-{name}", s.service),
                service: s.service.clone(),
                name,
                description: s.description.clone(),
                objective,
                period: Some(period),
                calendar: calendar.clone(),
                budgeting,
                labels: labels.clone(),
                sli: sli.clone(),
                page: page.clone(),
                ticket: ticket.clone(),
            });
        }
        Ok(out)
    }

    fn sli(&self, ctx: &DocCtx<'_>, path: &str, sli: &SliDoc) -> Result<Sli, SpecError> {
        if sli.threshold_metric.is_some() {
            return Err(ctx.invalid(
                &format!("{path}.thresholdMetric"),
                "threshold metrics are not supported",
                "use a `ratioMetric` (good/total, bad/total or raw)",
            ));
        }
        let Some(r) = &sli.ratio_metric else {
            return Err(ctx.invalid(
                &format!("{path}.ratioMetric"),
                "missing ratioMetric",
                "set `ratioMetric` with `good` and `total` (or `bad` and `total`)",
            ));
        };
        let rp = format!("{path}.ratioMetric");
        let q = |key: &str, m: &Option<MetricHolder>| -> Result<Option<String>, SpecError> {
            match m {
                None => Ok(None),
                Some(m) => self
                    .query(ctx, &format!("{rp}.{key}.metricSource"), &m.metric_source)
                    .map(Some),
            }
        };
        let (good, bad, total, raw) = (
            q("good", &r.good)?,
            q("bad", &r.bad)?,
            q("total", &r.total)?,
            q("raw", &r.raw)?,
        );
        match (good, bad, total, raw) {
            (Some(good), None, Some(total), None) => Ok(Sli::Events {
                error_query: format!("({total}) - ({good})"),
                total_query: total,
            }),
            (None, Some(bad), Some(total), None) => Ok(Sli::Events {
                error_query: bad,
                total_query: total,
            }),
            (None, None, None, Some(raw)) => match r.raw_type.as_deref() {
                Some("failure") => Ok(Sli::Raw {
                    error_ratio_query: raw,
                }),
                Some("success") => Ok(Sli::Raw {
                    error_ratio_query: format!("1 - ({raw})"),
                }),
                other => Err(ctx.invalid(
                    &format!("{rp}.rawType"),
                    format!("rawType {other:?} is not success or failure"),
                    "set `rawType: success` (the raw query is the good ratio) or `rawType: failure`",
                )),
            },
            _ => Err(ctx.invalid(
                &rp,
                "unsupported combination of good, bad, total and raw",
                "give `good` and `total`, `bad` and `total`, or `raw` with `rawType`",
            )),
        }
    }

    fn query(&self, ctx: &DocCtx<'_>, path: &str, m: &MetricSource) -> Result<String, SpecError> {
        let mut kind = m.type_.clone();
        if let Some(name) = &m.metric_source_ref {
            let e = self.find(ctx, &format!("{path}.metricSourceRef"), "DataSource", name)?;
            if let (None, Parsed::DataSource(d)) = (&kind, &e.parsed) {
                kind = Some(d.spec.type_.clone());
            }
        }
        let kind = kind.unwrap_or_default();
        let promlike = [
            "prometheus",
            "thanos",
            "mimir",
            "cortex",
            "victoriametrics",
            "homeostat",
        ];
        if !promlike.contains(&kind.to_ascii_lowercase().as_str()) {
            return Err(ctx.invalid(
                &format!("{path}.type"),
                format!("metric source type {kind:?} is not supported"),
                "use `type: Prometheus` (or a DataSource of that type): homeostat evaluates PromQL",
            ));
        }
        let query = ["query", "promql"]
            .iter()
            .find_map(|k| m.spec.get(*k).and_then(|v| v.as_str()))
            .ok_or_else(|| {
                ctx.invalid(
                    &format!("{path}.spec.query"),
                    "missing query",
                    "set `spec.query` to a PromQL query using `[{{.window}}]`",
                )
            })?;
        ctx.check_query(&format!("{path}.spec.query"), query)?;
        Ok(query.to_string())
    }

    fn alerts(
        &self,
        ctx: &DocCtx<'_>,
        policies: &[PolicyEntry],
    ) -> Result<(Option<AlertTier>, Option<AlertTier>), SpecError> {
        let (mut page, mut ticket) = (None, None);
        for (i, p) in policies.iter().enumerate() {
            let at = format!("spec.alertPolicies[{i}]");
            let (name, policy, pctx_entry) = match (&p.alert_policy_ref, &p.spec) {
                (Some(r), None) => {
                    let e = self.find(ctx, &format!("{at}.alertPolicyRef"), "AlertPolicy", r)?;
                    match &e.parsed {
                        Parsed::Policy(t) => (t.metadata.name.clone(), t.spec.clone(), Some(e)),
                        _ => unreachable_kind(ctx)?,
                    }
                }
                (None, Some(spec))
                    if p.kind.as_deref().unwrap_or("AlertPolicy") == "AlertPolicy" =>
                {
                    (p.metadata.name.clone(), spec.clone(), None)
                }
                _ => {
                    return Err(ctx.invalid(
                        &at,
                        "an alert policy needs either `alertPolicyRef` or an inline `kind: AlertPolicy` with `spec`",
                        "name an AlertPolicy document with `alertPolicyRef: <name>`, or inline it",
                    ));
                }
            };
            let alert = alert_name(&name);
            if !homeostat_model::is_valid_metric_name(&alert) {
                return Err(ctx.invalid(
                    &format!("{at}.metadata.name"),
                    format!("alert policy name {name:?} does not make an alert name"),
                    "name the policy with letters, digits and `-`, e.g. `checkout-availability`",
                ));
            }
            let pctx = pctx_entry.map(Entry::ctx);
            let pctx = pctx.as_ref().unwrap_or(ctx);
            let ppath = if pctx_entry.is_some() {
                "spec".to_string()
            } else {
                format!("{at}.spec")
            };
            for (j, c) in policy.conditions.iter().enumerate() {
                let cat = format!("{ppath}.conditions[{j}]");
                let (cond, cctx_entry) = match (&c.condition_ref, &c.spec) {
                    (Some(r), None) => {
                        let e =
                            self.find(pctx, &format!("{cat}.conditionRef"), "AlertCondition", r)?;
                        match &e.parsed {
                            Parsed::Condition(t) => (t.spec.clone(), Some(e)),
                            _ => unreachable_kind(ctx)?,
                        }
                    }
                    (None, Some(spec)) => (spec.clone(), None),
                    _ => {
                        return Err(pctx.invalid(
                            &cat,
                            "a condition needs either `conditionRef` or an inline `spec`",
                            "name an AlertCondition document with `conditionRef: <name>`, or inline it",
                        ));
                    }
                };
                let cctx = cctx_entry.map(Entry::ctx);
                let cctx = cctx.as_ref().unwrap_or(pctx);
                let cpath = if cctx_entry.is_some() {
                    "spec.condition".to_string()
                } else {
                    format!("{cat}.spec.condition")
                };
                let k = &cond.condition;
                if !k.kind.eq_ignore_ascii_case("burnrate") {
                    return Err(cctx.invalid(
                        &format!("{cpath}.kind"),
                        format!("condition kind {:?} is not supported", k.kind),
                        "use `kind: burnrate`",
                    ));
                }
                if !matches!(k.op.as_str(), "gt" | "gte") {
                    return Err(cctx.invalid(
                        &format!("{cpath}.op"),
                        format!("op {:?} cannot alert on a fast burn", k.op),
                        "use `op: gte` (or `gt`)",
                    ));
                }
                if !(k.threshold.is_finite() && k.threshold > 0.0) {
                    return Err(cctx.invalid(
                        &format!("{cpath}.threshold"),
                        format!("burn-rate threshold {} is not positive", k.threshold),
                        "use a burn rate such as 14.4 or 6",
                    ));
                }
                let lookback =
                    shorthand(cctx, &format!("{cpath}.lookbackWindow"), &k.lookback_window)?;
                let slot = if lookback <= Duration::from_secs(6 * 3600) {
                    &mut page
                } else {
                    &mut ticket
                };
                if slot.is_none() {
                    let mut labels = BTreeMap::new();
                    if !cond.severity.is_empty() {
                        labels.insert("severity".to_string(), cond.severity.clone());
                    }
                    *slot = Some(AlertTier {
                        name: alert.clone(),
                        labels,
                        annotations: BTreeMap::new(),
                    });
                }
            }
        }
        Ok((page, ticket))
    }
}

fn unreachable_kind<T>(ctx: &DocCtx<'_>) -> Result<T, SpecError> {
    Err(ctx.invalid(
        "kind",
        "internal: reference resolved to another kind",
        "report this",
    ))
}

/// `checkout-availability` → `CheckoutAvailability`.
fn alert_name(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|c| c.to_ascii_uppercase().to_string() + cs.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// OpenSLO duration shorthand with units s, m, h, d, w (M, Q and Y are
/// calendar units and refused here).
fn shorthand(ctx: &DocCtx<'_>, path: &str, s: &str) -> Result<Duration, SpecError> {
    let bad = || {
        ctx.invalid(
            path,
            format!("invalid duration {s:?}"),
            "use a number and one of s, m, h, d, w, e.g. `28d` or `1h`",
        )
    };
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let unit = match &s[digits.len()..] {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    match n.checked_mul(unit) {
        Some(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(bad()),
    }
}

fn time_window(
    ctx: &DocCtx<'_>,
    windows: &[TimeWindow],
) -> Result<(Duration, Option<Calendar>), SpecError> {
    let [w] = windows else {
        return Err(ctx.invalid(
            "spec.timeWindow",
            format!("{} time windows given", windows.len()),
            "give exactly one, e.g. `- duration: 28d\n    isRolling: true`",
        ));
    };
    let calendar = w.calendar.is_some() || w.is_rolling == Some(false);
    if !calendar {
        if w.duration.ends_with(['M', 'Q', 'Y']) {
            return Err(ctx.invalid(
                "spec.timeWindow[0].duration",
                format!("rolling window {:?} has no fixed length", w.duration),
                "use days or weeks for a rolling window (e.g. `30d`), or a calendar window for `1M`",
            ));
        }
        return Ok((
            shorthand(ctx, "spec.timeWindow[0].duration", &w.duration)?,
            None,
        ));
    }
    let unit = match w.duration.as_str() {
        "1M" => CalendarUnit::Month,
        "1w" => CalendarUnit::Week,
        other => {
            return Err(ctx.invalid(
                "spec.timeWindow[0].duration",
                format!("calendar window {other:?} is not supported"),
                "use `1M` (a calendar month) or `1w` (a calendar week)",
            ));
        }
    };
    let zone = w
        .calendar
        .as_ref()
        .and_then(|c| c.time_zone.clone())
        .unwrap_or_else(|| "UTC".into());
    time_zone(ctx, "spec.timeWindow[0].calendar.timeZone", &zone)?;
    Ok((
        unit.fixed_length(),
        Some(Calendar {
            unit,
            time_zone: zone,
        }),
    ))
}

fn budgeting(
    ctx: &DocCtx<'_>,
    method: &str,
    o: &Objective,
    at: &dyn Fn(&str) -> String,
) -> Result<Budgeting, SpecError> {
    let slice = || -> Result<Duration, SpecError> {
        let s = o.time_slice_window.as_deref().ok_or_else(|| {
            ctx.invalid(
                &at("timeSliceWindow"),
                format!("{method} budgeting needs a slice length"),
                "set `timeSliceWindow: 1m`",
            )
        })?;
        shorthand(ctx, &at("timeSliceWindow"), s)
    };
    match method {
        "" | "Occurrences" => Ok(Budgeting::Occurrences),
        "Timeslices" => {
            let target = o
                .time_slice_target
                .filter(|t| *t > 0.0 && *t < 1.0)
                .ok_or_else(|| {
                    ctx.invalid(
                        &at("timeSliceTarget"),
                        "missing or out-of-range slice target",
                        "set `timeSliceTarget` above 0 and below 1, e.g. 0.95",
                    )
                })?;
            Ok(Budgeting::Timeslices {
                slice: slice()?,
                target,
            })
        }
        "RatioTimeslices" => Ok(Budgeting::RatioTimeslices { slice: slice()? }),
        other => Err(ctx.invalid(
            "spec.budgetingMethod",
            format!("budgeting method {other:?} is not supported"),
            "use Occurrences, Timeslices or RatioTimeslices",
        )),
    }
}
