//! Sloth's `prometheus/v1` spec, read as Sloth reads it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{AlertTier, Budgeting, DocCtx, Sli, SloSpec, SpecFormat};
use crate::error::SpecError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecV1 {
    #[allow(dead_code)]
    version: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    slos: Vec<SloV1>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SloV1 {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    objective: Option<f64>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    sli: Option<SliV1>,
    #[serde(default)]
    alerting: AlertingV1,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SliV1 {
    events: Option<EventsV1>,
    raw: Option<RawV1>,
    plugin: Option<serde_norway::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsV1 {
    #[serde(default)]
    error_query: String,
    #[serde(default)]
    total_query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawV1 {
    #[serde(default)]
    error_ratio_query: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertingV1 {
    #[serde(default)]
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    page_alert: TierV1,
    #[serde(default)]
    ticket_alert: TierV1,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TierV1 {
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

pub(super) fn load(chunk: &str, ctx: &DocCtx<'_>) -> Result<Vec<SloSpec>, SpecError> {
    let spec: SpecV1 = serde_norway::from_str(chunk).map_err(|e| ctx.yaml_error(&e))?;
    ctx.check_service(&spec.service, &spec.labels, spec.slos.len())?;
    let mut out = Vec::with_capacity(spec.slos.len());
    for (i, slo) in spec.slos.into_iter().enumerate() {
        let at = |f: &str| format!("slos[{i}].{f}");
        let objective = ctx.check_slo(i, &slo.name, slo.objective, &slo.labels)?;
        let sli = match slo.sli {
            None => {
                return Err(ctx.invalid(
                    &at("sli"),
                    "missing SLI",
                    "set `sli.events` (error_query, total_query) or `sli.raw` (error_ratio_query)",
                ));
            }
            Some(SliV1 {
                plugin: Some(_), ..
            }) => {
                return Err(ctx.invalid(
                    &at("sli.plugin"),
                    "Sloth SLI plugins are Go code and cannot run in homeostat",
                    "replace the plugin with the `sli.events` or `sli.raw` queries it generates",
                ));
            }
            Some(SliV1 {
                events: Some(_),
                raw: Some(_),
                ..
            }) => {
                return Err(ctx.invalid(
                    &at("sli"),
                    "both `events` and `raw` are set",
                    "keep only one of them",
                ));
            }
            Some(SliV1 {
                events: Some(e), ..
            }) => {
                ctx.check_query(&at("sli.events.error_query"), &e.error_query)?;
                ctx.check_query(&at("sli.events.total_query"), &e.total_query)?;
                Sli::Events {
                    error_query: e.error_query,
                    total_query: e.total_query,
                }
            }
            Some(SliV1 { raw: Some(r), .. }) => {
                ctx.check_query(&at("sli.raw.error_ratio_query"), &r.error_ratio_query)?;
                Sli::Raw {
                    error_ratio_query: r.error_ratio_query,
                }
            }
            Some(_) => {
                return Err(ctx.invalid(
                    &at("sli"),
                    "empty SLI",
                    "set `sli.events` (error_query, total_query) or `sli.raw` (error_ratio_query)",
                ));
            }
        };
        let a = slo.alerting;
        ctx.check_labels(&at("alerting.labels"), &a.labels, "label")?;
        ctx.check_labels(&at("alerting.annotations"), &a.annotations, "annotation")?;
        let tier = |t: TierV1, key: &str| -> Result<Option<AlertTier>, SpecError> {
            if t.disable {
                return Ok(None);
            }
            ctx.check_labels(&at(&format!("alerting.{key}.labels")), &t.labels, "label")?;
            ctx.check_labels(
                &at(&format!("alerting.{key}.annotations")),
                &t.annotations,
                "annotation",
            )?;
            if !homeostat_model::is_valid_metric_name(&a.name) || a.name.contains(':') {
                return Err(ctx.invalid(
                    &at("alerting.name"),
                    if a.name.is_empty() {
                        format!("missing alert name while `{key}` is enabled")
                    } else {
                        format!("{:?} is not a valid alert name", a.name)
                    },
                    format!("set `alerting.name: MyServiceHighErrorRate`, or `alerting.{key}.disable: true`"),
                ));
            }
            let mut labels = a.labels.clone();
            labels.extend(t.labels);
            let mut annotations = a.annotations.clone();
            annotations.extend(t.annotations);
            Ok(Some(AlertTier {
                name: a.name.clone(),
                labels,
                annotations,
            }))
        };
        let page = tier(a.page_alert, "page_alert")?;
        let ticket = tier(a.ticket_alert, "ticket_alert")?;
        let mut labels = spec.labels.clone();
        labels.extend(slo.labels);
        out.push(SloSpec {
            file: ctx.file.to_string(),
            document: ctx.document,
            format: SpecFormat::SlothV1,
            id: format!("{}-{}", spec.service, slo.name),
            service: spec.service.clone(),
            name: slo.name,
            description: slo.description,
            objective,
            period: None,
            calendar: None,
            budgeting: Budgeting::Occurrences,
            labels,
            sli,
            page,
            ticket,
        });
    }
    Ok(out)
}
