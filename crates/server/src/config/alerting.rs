//! `alerting:`: the external Alertmanagers the rule engine's alerts are
//! posted to, and how the queue in front of them behaves.

use std::time::Duration;

use homeostat_model::FieldError;
use serde::Deserialize;

use super::{duration_or, http_url, positive};

/// `alerting: {alertmanagers: [{url: http://host:9093}]}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingSection {
    #[serde(default)]
    pub alertmanagers: Vec<AlertmanagerSection>,
    /// How often a still-firing alert is re-sent. Defaults to 1m.
    pub resend_delay: Option<String>,
    /// Most alerts waiting to be sent; the oldest are dropped beyond it. Defaults to 10000.
    pub queue_capacity: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerSection {
    /// Base URL; alerts are posted to `<url>/api/v2/alerts`.
    pub url: String,
    /// Per-request deadline. Defaults to 10s.
    pub timeout: Option<String>,
}

/// The validated `alerting` section.
#[derive(Debug, Clone)]
pub struct AlertingConfig {
    pub alertmanagers: Vec<AlertmanagerConfig>,
    pub resend_delay: Duration,
    pub queue_capacity: usize,
}

#[derive(Debug, Clone)]
pub struct AlertmanagerConfig {
    /// Without a trailing slash.
    pub url: String,
    pub timeout: Duration,
}

impl AlertingSection {
    pub(super) fn validate(&self) -> Result<AlertingConfig, FieldError> {
        let mut alertmanagers = Vec::new();
        for (i, am) in self.alertmanagers.iter().enumerate() {
            let field = format!("alerting.alertmanagers[{i}]");
            let url = am.url.trim_end_matches('/').to_string();
            if !http_url(&url) {
                return Err(FieldError::new(
                    format!("{field}.url"),
                    format!("{:?} is not an http(s) URL like http://host:9093", am.url),
                ));
            }
            alertmanagers.push(AlertmanagerConfig {
                url,
                timeout: duration_or(&format!("{field}.timeout"), &am.timeout, "10s")?,
            });
        }
        Ok(AlertingConfig {
            alertmanagers,
            resend_delay: duration_or("alerting.resend_delay", &self.resend_delay, "1m")?,
            queue_capacity: positive(
                "alerting.queue_capacity",
                self.queue_capacity.unwrap_or(10_000),
            )?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::tests::parse;
    use super::*;

    #[test]
    fn rules_and_alerting() {
        let c = parse("{}").unwrap();
        assert!(c.rule_files.is_empty() && c.alerting.alertmanagers.is_empty());
        assert_eq!(c.evaluation_interval, Duration::from_secs(60));
        assert_eq!(c.alerting.resend_delay, Duration::from_secs(60));
        let c = parse(
            "global: {evaluation_interval: 15s}\nrule_files: ['rules/*.yml']\nslo_files: [slo.yaml]\nalerting: {alertmanagers: [{url: 'http://am:9093/'}]}",
        )
        .unwrap();
        assert_eq!(c.evaluation_interval, Duration::from_secs(15));
        assert_eq!(c.rule_files, vec!["rules/*.yml".to_string()]);
        assert_eq!(c.alerting.alertmanagers[0].url, "http://am:9093");
        assert_eq!(c.alerting.alertmanagers[0].timeout, Duration::from_secs(10));
        let e = parse("alerting: {alertmanagers: [{url: 'am:9093'}]}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("alerting.alertmanagers[0].url"), "{e}");
        let e = parse("alerting: {alertmanager: []}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("alertmanager"), "{e}");
        let e = parse("alerting: {queue_capacity: 0}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("alerting.queue_capacity"), "{e}");
    }
}
