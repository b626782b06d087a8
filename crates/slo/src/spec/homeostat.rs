//! homeostat's own concise format, `apiVersion: homeostat/v1`
//! (`docs/slo-spec.md`): a service with SLOs that may use a latency SLI,
//! calendar periods and timeslice budgeting.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{AlertTier, Budgeting, Calendar, CalendarUnit, DocCtx, Sli, SloSpec, SpecFormat};
use crate::error::SpecError;
use homeostat_model::gofmt::format_g;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    #[allow(dead_code)]
    #[serde(rename = "apiVersion")]
    api_version: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    slos: Vec<SloDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SloDoc {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    objective: Option<f64>,
    period: Option<serde_norway::Value>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    sli: Option<SliDoc>,
    budgeting: Option<serde_norway::Value>,
    #[serde(default)]
    alerting: AlertingDoc,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SliDoc {
    events: Option<EventsDoc>,
    raw: Option<RawDoc>,
    latency: Option<LatencyDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsDoc {
    #[serde(default)]
    error_query: String,
    #[serde(default)]
    total_query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDoc {
    #[serde(default)]
    error_ratio_query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyDoc {
    #[serde(default)]
    metric: String,
    threshold: Option<serde_norway::Value>,
    #[serde(default)]
    selector: String,
    buckets: Option<Vec<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarDoc {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    time_zone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodDoc {
    calendar: CalendarDoc,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetingDoc {
    timeslices: Option<SliceDoc>,
    ratio_timeslices: Option<SliceDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SliceDoc {
    #[serde(default)]
    slice: String,
    target: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertingDoc {
    #[serde(default)]
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    runbook_url: Option<String>,
    #[serde(default)]
    page: TierDoc,
    #[serde(default)]
    ticket: TierDoc,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TierDoc {
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

const SLI_FIX: &str = "set one of `sli.events` (error_query, total_query), `sli.raw` (error_ratio_query) or `sli.latency` (metric, threshold)";

pub(super) fn load(chunk: &str, ctx: &DocCtx<'_>) -> Result<Vec<SloSpec>, SpecError> {
    let doc: Doc = serde_norway::from_str(chunk).map_err(|e| ctx.yaml_error(&e))?;
    ctx.check_service(&doc.service, &doc.labels, doc.slos.len())?;
    let mut out = Vec::with_capacity(doc.slos.len());
    for (i, slo) in doc.slos.into_iter().enumerate() {
        let at = |f: &str| format!("slos[{i}].{f}");
        let objective = ctx.check_slo(i, &slo.name, slo.objective, &slo.labels)?;
        let (period, calendar) = period(ctx, &at("period"), slo.period)?;
        let sli = sli(ctx, &at("sli"), slo.sli)?;
        let budgeting = budgeting(ctx, &at("budgeting"), slo.budgeting)?;
        let (page, ticket) = alerting(ctx, &at("alerting"), slo.alerting)?;
        let mut labels = doc.labels.clone();
        labels.extend(slo.labels);
        out.push(SloSpec {
            file: ctx.file.to_string(),
            document: ctx.document,
            format: SpecFormat::HomeostatV1,
            id: format!("{}-{}", doc.service, slo.name),
            service: doc.service.clone(),
            name: slo.name,
            description: slo.description,
            objective,
            period,
            calendar,
            budgeting,
            labels,
            sli,
            page,
            ticket,
        });
    }
    Ok(out)
}

/// Deserializes a sub-tree read as a `Value`, naming `path` on error.
fn typed<T: DeserializeOwned>(
    ctx: &DocCtx<'_>,
    path: &str,
    value: serde_norway::Value,
    fix: &str,
) -> Result<T, SpecError> {
    serde_norway::from_value(value).map_err(|e| ctx.invalid(path, e.to_string(), fix))
}

pub(super) fn duration(ctx: &DocCtx<'_>, path: &str, s: &str) -> Result<Duration, SpecError> {
    homeostat_model::parse_duration(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            ctx.invalid(
                path,
                format!("invalid duration {s:?}"),
                "use a Prometheus duration such as 1m, 30d or 4w",
            )
        })
}

/// Checks an IANA time zone name.
pub(super) fn time_zone(ctx: &DocCtx<'_>, path: &str, zone: &str) -> Result<(), SpecError> {
    zone.parse::<chrono_tz::Tz>().map(|_| ()).map_err(|_| {
        ctx.invalid(
            path,
            format!("unknown time zone {zone:?}"),
            "use an IANA time zone name such as `UTC`, `Europe/Paris` or `America/New_York`",
        )
    })
}

fn period(
    ctx: &DocCtx<'_>,
    path: &str,
    value: Option<serde_norway::Value>,
) -> Result<(Option<Duration>, Option<Calendar>), SpecError> {
    const FIX: &str = "use a rolling period such as `period: 30d`, or `period: {calendar: {unit: month, time_zone: Europe/Paris}}`";
    let value = match value {
        None => return Ok((None, None)),
        Some(serde_norway::Value::String(s)) => {
            if let Some(e) = calendar_spelling(ctx, path, &s) {
                return Err(e);
            }
            return Ok((Some(duration(ctx, path, &s)?), None));
        }
        Some(v) => v,
    };
    let doc: PeriodDoc = typed(ctx, path, value, FIX)?;
    let unit = match doc.calendar.unit.as_str() {
        "month" => CalendarUnit::Month,
        "week" => CalendarUnit::Week,
        other => {
            return Err(ctx.invalid(
                &format!("{path}.calendar.unit"),
                format!("calendar unit {other:?} is not supported"),
                "use `unit: month` or `unit: week`",
            ));
        }
    };
    let zone = doc.calendar.time_zone.unwrap_or_else(|| "UTC".into());
    time_zone(ctx, &format!("{path}.calendar.time_zone"), &zone)?;
    Ok((
        Some(unit.fixed_length()),
        Some(Calendar {
            unit,
            time_zone: zone,
        }),
    ))
}

/// A period written as a calendar length (`1M`, `month`, `1 week`) rather
/// than a duration: a month has no fixed length, so the fix is the calendar
/// form, which the spec supports for months and weeks.
fn calendar_spelling(ctx: &DocCtx<'_>, path: &str, s: &str) -> Option<SpecError> {
    let unit = s
        .trim()
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
    let count = s.trim()[..s.trim().len() - unit.len()].trim();
    if !(count.is_empty() || count == "1") {
        // `3M` has no calendar equivalent either; say what is possible.
        let lower = unit.to_ascii_lowercase();
        if unit == "M" || lower.starts_with("mo") || unit == "Q" || unit == "Y" {
            return Some(ctx.invalid(
                path,
                format!("{s:?} is not a duration: months have no fixed length"),
                "use a rolling period in days (`period: 90d`), or one calendar month with `period: {calendar: {unit: month}}`",
            ));
        }
        return None;
    }
    let lower = unit.to_ascii_lowercase();
    let calendar = match (unit, lower.as_str()) {
        ("M", _) | (_, "mo" | "mon" | "month" | "months" | "monthly") => "month",
        (_, "week" | "weeks" | "weekly") => "week",
        ("Q" | "Y", _) | (_, "quarter" | "quarterly" | "year" | "yearly") => {
            return Some(ctx.invalid(
                path,
                format!("{s:?} is not a duration, and calendar periods are months or weeks"),
                "use a rolling period (`period: 90d`, `period: 365d`), or `period: {calendar: {unit: month}}`",
            ));
        }
        _ => return None,
    };
    Some(ctx.invalid(
        path,
        format!("{s:?} is not a duration: a calendar {calendar} has no fixed length"),
        format!(
            "for a calendar {calendar} write `period: {{calendar: {{unit: {calendar}}}}}` (optionally with `time_zone`); for a rolling period write e.g. `period: 30d`"
        ),
    ))
}

fn sli(ctx: &DocCtx<'_>, path: &str, doc: Option<SliDoc>) -> Result<Sli, SpecError> {
    let Some(doc) = doc else {
        return Err(ctx.invalid(path, "missing SLI", SLI_FIX));
    };
    let set = [
        doc.events.is_some(),
        doc.raw.is_some(),
        doc.latency.is_some(),
    ];
    if set.iter().filter(|s| **s).count() > 1 {
        return Err(ctx.invalid(
            path,
            "more than one of `events`, `raw` and `latency` is set",
            "keep only one of them",
        ));
    }
    if let Some(e) = doc.events {
        ctx.check_query(&format!("{path}.events.error_query"), &e.error_query)?;
        ctx.check_query(&format!("{path}.events.total_query"), &e.total_query)?;
        return Ok(Sli::Events {
            error_query: e.error_query,
            total_query: e.total_query,
        });
    }
    if let Some(r) = doc.raw {
        ctx.check_query(
            &format!("{path}.raw.error_ratio_query"),
            &r.error_ratio_query,
        )?;
        return Ok(Sli::Raw {
            error_ratio_query: r.error_ratio_query,
        });
    }
    match doc.latency {
        Some(l) => latency(ctx, &format!("{path}.latency"), l),
        None => Err(ctx.invalid(path, "empty SLI", SLI_FIX)),
    }
}

fn latency(ctx: &DocCtx<'_>, path: &str, l: LatencyDoc) -> Result<Sli, SpecError> {
    let metric = l.metric.strip_suffix("_bucket").unwrap_or(&l.metric);
    if metric.is_empty() || !homeostat_model::is_valid_metric_name(metric) {
        return Err(ctx.invalid(
            &format!("{path}.metric"),
            if l.metric.is_empty() {
                "missing histogram metric".to_string()
            } else {
                format!("{:?} is not a valid metric name", l.metric)
            },
            "set `metric: http_request_duration_seconds` (the histogram whose `_bucket` series are read)",
        ));
    }
    let at = format!("{path}.threshold");
    let threshold = match l.threshold.as_ref().and_then(serde_norway::Value::as_f64) {
        Some(t) if t.is_finite() && t > 0.0 => t,
        _ => {
            return Err(ctx.invalid(
                &at,
                match &l.threshold {
                    None => "missing threshold".to_string(),
                    Some(v) => format!("threshold {} is not a positive number of seconds", yaml_inline(v)),
                },
                "give the threshold in seconds exactly as one of the histogram's bucket boundaries (`le`), e.g. `threshold: 0.3`",
            ));
        }
    };
    if let Some(buckets) = &l.buckets
        && !buckets.contains(&threshold)
    {
        let list: Vec<String> = buckets.iter().map(|b| format_g(*b, None)).collect();
        return Err(ctx.invalid(
            &at,
            format!(
                "threshold {} is not a bucket boundary of {metric} (buckets {})",
                format_g(threshold, None),
                list.join(", ")
            ),
            "use one of the listed boundaries, or add the threshold to the histogram's buckets in the instrumented service",
        ));
    }
    let selector = l.selector.trim();
    let matchers = selector
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(selector)
        .trim()
        .trim_end_matches(',')
        .to_string();
    let sel_path = format!("{path}.selector");
    let names_le = matchers.split(',').any(|m| {
        m.trim_start()
            .strip_prefix("le")
            .is_some_and(|r| r.trim_start().starts_with(['=', '!']))
    });
    if names_le {
        return Err(ctx.invalid(
            &sel_path,
            "the selector matches on `le`",
            "leave `le` out: it comes from `threshold`",
        ));
    }
    let probe = format!("{metric}_bucket{{{matchers}}}");
    if let Err(e) = promql_parser::parser::parse(&probe) {
        return Err(ctx.invalid(
            &sel_path,
            format!("invalid label selector: {}", e.trim()),
            "write label matchers such as `{job=\"api\", route!=\"/health\"}`",
        ));
    }
    Ok(Sli::Latency {
        metric: metric.to_string(),
        matchers,
        le_match: le_matcher(threshold),
    })
}

/// The `le` matcher (operator and value) for a bucket boundary. Client libraries write
/// Go's shortest form (`1`, `0.3`); Prometheus 3 normalises integers to
/// `1.0` on scrape, so both forms are matched when they differ.
fn le_matcher(threshold: f64) -> String {
    let go = format_g(threshold, None);
    if go.contains(['.', 'e']) {
        format!("=\"{go}\"")
    } else {
        format!("=~\"{go}|{go}.0\"")
    }
}

fn yaml_inline(v: &serde_norway::Value) -> String {
    serde_norway::to_string(v)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| format!("{v:?}"))
}

fn budgeting(
    ctx: &DocCtx<'_>,
    path: &str,
    value: Option<serde_norway::Value>,
) -> Result<Budgeting, SpecError> {
    const FIX: &str =
        "use `budgeting: occurrences` or `budgeting: {timeslices: {slice: 1m, target: 0.95}}`";
    let value = match value {
        None => return Ok(Budgeting::Occurrences),
        Some(serde_norway::Value::String(s)) if s == "occurrences" => {
            return Ok(Budgeting::Occurrences);
        }
        Some(serde_norway::Value::String(s)) => {
            return Err(ctx.invalid(path, format!("unknown budgeting method {s:?}"), FIX));
        }
        Some(v) => v,
    };
    let doc: BudgetingDoc = typed(ctx, path, value, FIX)?;
    match (doc.timeslices, doc.ratio_timeslices) {
        (Some(t), None) => {
            let p = format!("{path}.timeslices");
            let slice = duration(ctx, &format!("{p}.slice"), &t.slice)?;
            let target = match t.target {
                Some(x) if x > 0.0 && x < 1.0 => x,
                other => {
                    return Err(ctx.invalid(
                        &format!("{p}.target"),
                        match other {
                            None => "missing slice target".to_string(),
                            Some(x) => format!("slice target {x} is out of range"),
                        },
                        "give the good ratio a slice needs to count as good, above 0 and below 1, e.g. `target: 0.95`",
                    ));
                }
            };
            Ok(Budgeting::Timeslices { slice, target })
        }
        (None, Some(r)) => {
            let p = format!("{path}.ratio_timeslices");
            if r.target.is_some() {
                return Err(ctx.invalid(
                    &format!("{p}.target"),
                    "ratio timeslices have no slice target",
                    "remove `target`, or use `timeslices`",
                ));
            }
            let slice = duration(ctx, &format!("{p}.slice"), &r.slice)?;
            Ok(Budgeting::RatioTimeslices { slice })
        }
        _ => Err(ctx.invalid(path, "give exactly one budgeting method", FIX)),
    }
}

fn alerting(
    ctx: &DocCtx<'_>,
    path: &str,
    a: AlertingDoc,
) -> Result<(Option<AlertTier>, Option<AlertTier>), SpecError> {
    ctx.check_labels(&format!("{path}.labels"), &a.labels, "label")?;
    ctx.check_labels(&format!("{path}.annotations"), &a.annotations, "annotation")?;
    let mut annotations = a.annotations.clone();
    if let Some(url) = &a.runbook_url {
        annotations.insert("runbook_url".into(), url.clone());
    }
    let tier = |t: TierDoc, key: &str| -> Result<Option<AlertTier>, SpecError> {
        if t.disable {
            return Ok(None);
        }
        ctx.check_labels(&format!("{path}.{key}.labels"), &t.labels, "label")?;
        ctx.check_labels(
            &format!("{path}.{key}.annotations"),
            &t.annotations,
            "annotation",
        )?;
        if !homeostat_model::is_valid_metric_name(&a.name) || a.name.contains(':') {
            return Err(ctx.invalid(
                &format!("{path}.name"),
                if a.name.is_empty() {
                    format!("missing alert name while `{key}` is enabled")
                } else {
                    format!("{:?} is not a valid alert name", a.name)
                },
                format!(
                    "set `alerting.name: MyServiceHighErrorRate`, or `alerting.{key}.disable: true`"
                ),
            ));
        }
        let mut labels = a.labels.clone();
        labels.extend(t.labels);
        let mut all = annotations.clone();
        all.extend(t.annotations);
        Ok(Some(AlertTier {
            name: a.name.clone(),
            labels,
            annotations: all,
        }))
    };
    Ok((tier(a.page, "page")?, tier(a.ticket, "ticket")?))
}
