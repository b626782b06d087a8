//! `services:`: the services whose golden signals (latency, traffic,
//! errors, saturation) are recorded and shown in the console. Their
//! `depends_on` lists are checked in `dependencies.rs`, once the SLOs are
//! loaded.

use std::collections::BTreeMap;

use homeostat_model::FieldError;
use serde::Deserialize;

/// `services: [{name, convention, selector, saturation, depends_on}]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSection {
    pub name: String,
    /// `prometheus` (`http_requests_total`, `http_request_duration_seconds`,
    /// label `code`; the default) or `opentelemetry`
    /// (`http_server_request_duration_seconds`, `http_response_status_code`).
    pub convention: Option<String>,
    /// Label matchers without braces selecting the service's series, e.g. `job="checkout"`.
    #[serde(default)]
    pub selector: String,
    /// PromQL for the saturation ratio (0..1), e.g. CPU used over the limit.
    pub saturation: Option<String>,
    /// Services this one calls (names from `services:` or the SLO files):
    /// their deploys are suspects in its incidents, transitively.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// The team that owns the service: its toil counts for the team, set
    /// against the on-call schedule of the same name (docs/toil.md).
    pub team: Option<String>,
}

/// `services[].team`: service → team, for the toil ledger.
pub(super) fn teams(list: &[ServiceSection]) -> BTreeMap<String, String> {
    list.iter()
        .filter_map(|s| Some((s.name.clone(), s.team.clone()?)))
        .collect()
}

/// Validates `services:`: names are label values, selectors and saturation
/// queries must parse, and no service is declared twice.
pub(super) fn validate(
    list: &[ServiceSection],
) -> Result<Vec<homeostat_slo::ServiceSignals>, FieldError> {
    let mut out: Vec<homeostat_slo::ServiceSignals> = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let signals = s
            .validate(&out)
            .map_err(|e| e.under(&format!("services[{i}]")))?;
        out.push(signals);
    }
    Ok(out)
}

impl ServiceSection {
    /// One entry, given the ones before it.
    fn validate(
        &self,
        before: &[homeostat_slo::ServiceSignals],
    ) -> Result<homeostat_slo::ServiceSignals, FieldError> {
        if self.name.trim().is_empty() {
            return Err(FieldError::new("name", "missing service name"));
        }
        if self.team.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(FieldError::new("team", "empty team name")
                .with_fix("name the owning team, or leave team out"));
        }
        if before.iter().any(|o| o.service == self.name) {
            return Err(FieldError::new(
                "name",
                format!("service {:?} is declared twice", self.name),
            ));
        }
        let convention = match self.convention.as_deref() {
            None | Some("prometheus") => homeostat_slo::Convention::Prometheus,
            Some("opentelemetry") => homeostat_slo::Convention::OpenTelemetry,
            Some(other) => {
                return Err(
                    FieldError::new("convention", format!("unknown convention {other:?}"))
                        .with_fix("use prometheus or opentelemetry"),
                );
            }
        };
        if !self.selector.trim().is_empty() {
            let q = format!("up{{{}}}", self.selector);
            homeostat_promql::parse(&q).map_err(|e| {
                FieldError::new(
                    "selector",
                    format!("{:?} is not a label selector: {e}", self.selector),
                )
            })?;
        }
        if let Some(q) = &self.saturation {
            homeostat_promql::parse(q)
                .map_err(|e| FieldError::new("saturation", format!("invalid PromQL: {e}")))?;
        }
        Ok(homeostat_slo::ServiceSignals {
            service: self.name.clone(),
            convention,
            selector: self.selector.clone(),
            saturation: self.saturation.clone(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::tests::parse;

    #[test]
    fn services_declare_golden_signals_and_errors_name_the_entry() {
        let c = parse(
            "services: [{name: checkout, selector: 'job=\"checkout\"', saturation: 'avg(x)'}, {name: api, convention: opentelemetry}]",
        )
        .unwrap();
        assert_eq!(c.services.len(), 2);
        assert_eq!(
            c.services[1].convention,
            homeostat_slo::Convention::OpenTelemetry
        );
        for (yaml, field) in [
            ("services: [{name: ''}]", "services[0].name"),
            ("services: [{name: a}, {name: a}]", "services[1].name"),
            (
                "services: [{name: a, convention: zipkin}]",
                "services[0].convention",
            ),
            (
                "services: [{name: a, selector: 'job='}]",
                "services[0].selector",
            ),
            (
                "services: [{name: a, saturation: 'sum('}]",
                "services[0].saturation",
            ),
            ("services: [{name: a, lables: {}}]", "lables"),
        ] {
            let e = parse(yaml).unwrap_err().to_string();
            assert!(e.contains(field), "{yaml}: {e}");
        }
    }
}
