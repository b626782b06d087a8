//! OpenSLO `openslo/v1alpha` `SLO` documents, mapped as Sloth maps them:
//! every objective becomes one SLO `<name>-<index>` whose SLI is the raw
//! error ratio `1 - good/total`, with alerts disabled (v1alpha has none).

use std::time::Duration;

use serde::Deserialize;

use super::{Budgeting, DocCtx, Sli, SloSpec, SpecFormat};
use crate::error::SpecError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SloDoc {
    #[allow(dead_code)]
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    name: String,
    #[allow(dead_code)]
    #[serde(default)]
    display_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    service: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    budgeting_method: String,
    #[serde(default)]
    objectives: Vec<Objective>,
    #[serde(default)]
    time_windows: Vec<TimeWindow>,
    indicator: Option<serde_norway::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Objective {
    ratio_metrics: Option<RatioMetrics>,
    target: Option<f64>,
    #[allow(dead_code)]
    display_name: Option<String>,
    #[allow(dead_code)]
    value: Option<f64>,
    #[allow(dead_code)]
    op: Option<String>,
    #[allow(dead_code)]
    time_slice_target: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RatioMetrics {
    good: Metric,
    total: Metric,
    #[allow(dead_code)]
    incremental: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metric {
    #[serde(default)]
    source: String,
    #[serde(default)]
    query_type: String,
    #[serde(default)]
    query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TimeWindow {
    count: u64,
    unit: String,
    #[allow(dead_code)]
    is_rolling: Option<bool>,
    calendar: Option<serde_norway::Value>,
}

pub(super) fn load(chunk: &str, ctx: &DocCtx<'_>) -> Result<Vec<SloSpec>, SpecError> {
    let doc: SloDoc = serde_norway::from_str(chunk).map_err(|e| ctx.yaml_error(&e))?;
    if doc.kind != "SLO" {
        return Err(ctx.invalid(
            "kind",
            format!("openslo/v1alpha kind {:?} is not supported", doc.kind),
            "use `kind: SLO` with `ratioMetrics` objectives",
        ));
    }
    if doc.metadata.name.trim().is_empty() {
        return Err(ctx.invalid("metadata.name", "missing SLO name", "set `metadata.name`"));
    }
    if doc.spec.service.trim().is_empty() {
        return Err(ctx.invalid("spec.service", "missing service", "set `spec.service`"));
    }
    if doc.spec.indicator.is_some() {
        return Err(ctx.invalid(
            "spec.indicator",
            "threshold indicators are not supported",
            "use `ratioMetrics` (good and total queries) in each objective",
        ));
    }
    if !matches!(doc.spec.budgeting_method.as_str(), "" | "Occurrences") {
        return Err(ctx.invalid(
            "spec.budgetingMethod",
            format!(
                "budgeting method {:?} is not supported",
                doc.spec.budgeting_method
            ),
            "use `budgetingMethod: Occurrences`",
        ));
    }
    let period = match doc.spec.time_windows.as_slice() {
        [w] => window(w, ctx)?,
        _ => {
            return Err(ctx.invalid(
                "spec.timeWindows",
                format!("{} time windows given", doc.spec.time_windows.len()),
                "give exactly one rolling window, e.g. `- count: 30\n    unit: Day`",
            ));
        }
    };
    if doc.spec.objectives.is_empty() {
        return Err(ctx.invalid(
            "spec.objectives",
            "no objectives",
            "add at least one objective",
        ));
    }
    let mut out = Vec::new();
    for (i, o) in doc.spec.objectives.into_iter().enumerate() {
        let at = |f: &str| format!("spec.objectives[{i}].{f}");
        let target = o
            .target
            .ok_or_else(|| ctx.invalid(&at("target"), "missing target", "set `target: 0.999`"))?;
        if !(target > 0.0 && target < 1.0) {
            return Err(ctx.invalid(
                &at("target"),
                format!("target {target} is out of range"),
                "use a ratio above 0 and below 1, e.g. 0.999",
            ));
        }
        let ratio = o.ratio_metrics.ok_or_else(|| {
            ctx.invalid(
                &at("ratioMetrics"),
                "missing ratioMetrics",
                "set `ratioMetrics.good` and `ratioMetrics.total`",
            )
        })?;
        for (name, m) in [("good", &ratio.good), ("total", &ratio.total)] {
            let path = at(&format!("ratioMetrics.{name}"));
            if m.source != "prometheus" && m.source != "sloth" {
                return Err(ctx.invalid(
                    &format!("{path}.source"),
                    format!("source {:?} is not supported", m.source),
                    "use `source: prometheus`",
                ));
            }
            if m.query_type != "promql" {
                return Err(ctx.invalid(
                    &format!("{path}.queryType"),
                    format!("query type {:?} is not supported", m.query_type),
                    "use `queryType: promql`",
                ));
            }
            ctx.check_query(&format!("{path}.query"), &m.query)?;
        }
        let error_ratio_query = format!(
            "\n  1 - (\n    (\n      {}\n    )\n    /\n    (\n      {}\n    )\n  )\n",
            ratio.good.query, ratio.total.query
        );
        let name = format!("{}-{i}", doc.metadata.name);
        out.push(SloSpec {
            file: ctx.file.to_string(),
            document: ctx.document,
            format: SpecFormat::OpenSloV1Alpha,
            id: format!("{}-{name}", doc.spec.service),
            service: doc.spec.service.clone(),
            name,
            description: doc.spec.description.clone(),
            objective: target * 100.0,
            period: Some(period),
            calendar: None,
            budgeting: Budgeting::Occurrences,
            labels: Default::default(),
            sli: Sli::Raw { error_ratio_query },
            page: None,
            ticket: None,
        });
    }
    Ok(out)
}

fn window(w: &TimeWindow, ctx: &DocCtx<'_>) -> Result<Duration, SpecError> {
    if w.calendar.is_some() {
        return Err(ctx.invalid(
            "spec.timeWindows[0].calendar",
            "calendar windows are not supported yet",
            "use a rolling window (`count` and `unit` only)",
        ));
    }
    let unit_secs = match w.unit.as_str() {
        "Second" => 1,
        "Minute" => 60,
        "Hour" => 3600,
        "Day" => 86_400,
        "Week" => 7 * 86_400,
        other => {
            return Err(ctx.invalid(
                "spec.timeWindows[0].unit",
                format!("unit {other:?} is not supported"),
                "use Second, Minute, Hour, Day or Week",
            ));
        }
    };
    if w.count == 0 {
        return Err(ctx.invalid(
            "spec.timeWindows[0].count",
            "count is 0",
            "use e.g. `count: 30`",
        ));
    }
    w.count
        .checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(|| {
            ctx.invalid(
                "spec.timeWindows[0].count",
                "window too long",
                "use e.g. `count: 30`",
            )
        })
}
